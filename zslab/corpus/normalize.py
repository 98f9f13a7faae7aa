"""Steps that rewrite text into a canonical form, and the language filter.

- :class:`Normalize` (``normalize``): Unicode NFKC, control and format characters removed,
  full-width ASCII to half-width, whitespace tidied — while Chinese sentence punctuation stays
  full-width.
- :class:`TraditionalToSimplified` (``t2s``): OpenCC conversion (traditional → simplified by
  default).
- :class:`LanguageFilter` (``language``): langid.py language identification; keeps the
  languages asked for and records the language mix.

The character classes used by the filters (:data:`CJK_CHARS`) live here too, next to the
normalization that decides which characters a document is made of.
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, ClassVar

from zslab.corpus.core import DocumentStep, Drop, StepStats

__all__ = [
    "CJK_CHARS",
    "CJK_PUNCTUATION_KEPT",
    "CJK_RE",
    "LanguageFilter",
    "Normalize",
    "TraditionalToSimplified",
]

# Han ideographs (CJK Unified Ideographs, extensions A–H, compatibility ideographs), 々〆〇, and
# Japanese kana: the scripts written without spaces between words, where the filters count
# characters instead of words. Hangul is left out on purpose: Korean separates words by spaces.
CJK_CHARS = (
    "\u3005-\u3007"  # 々 〆 〇
    "\u3040-\u30ff"  # hiragana, katakana
    "\u31f0-\u31ff"  # katakana phonetic extensions
    "\u3400-\u4dbf"  # extension A
    "\u4e00-\u9fff"  # unified ideographs
    "\uf900-\ufaff"  # compatibility ideographs
    "\U00020000-\U000323af"  # extensions B–H, compatibility supplement
)
CJK_RE = re.compile(f"[{CJK_CHARS}]")

# Chinese punctuation that NFKC would turn into ASCII (，！？；：（）) or into three dots (…),
# and that Chinese text keeps full-width: Chinese typesetting uses these forms, and the
# zh_quality step counts ASCII punctuation as noise but not these. 。、「」『』《》 are not
# compatibility characters: NFKC leaves them alone anyway. The other full-width ASCII forms
# (Ａ１＃％～ and the rest) become ASCII.
CJK_PUNCTUATION_KEPT = "，！？；：（）…"

_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # what str.splitlines splits on
_CRLF_RE = re.compile("\r\n")
_LINE_BREAK_RE = re.compile(f"[{_LINE_BREAKS}]")
_SPACE_RUN_RE = re.compile(r"[ \t]{2,}")
_LINE_EDGE_RE = re.compile(r"[ \t]*\n[ \t]*")
_BLANK_LINES_RE = re.compile(r"\n{3,}")
_PROTECTED_RE = re.compile(f"([{CJK_PUNCTUATION_KEPT}])")


@functools.cache
def _removed_re() -> re.Pattern[str]:
    """Runs of control (Cc) and format (Cf) characters, less \\n and \\t.

    Computed once from :mod:`unicodedata` (format characters are all in the BMP, the SMP and
    the tag block) so it follows the interpreter's Unicode version; written as ranges, which
    the regex engine tests ten times faster than a class of single characters.
    """
    spans = (range(0x10000), range(0x10000, 0x20000), range(0xE0000, 0xE0080))
    ranges: list[list[int]] = []
    for span in spans:
        for cp in span:
            char = chr(cp)
            if unicodedata.category(char) in ("Cc", "Cf") and char not in "\n\t" + _LINE_BREAKS:
                if ranges and ranges[-1][1] == cp - 1:
                    ranges[-1][1] = cp
                else:
                    ranges.append([cp, cp])
    members = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}"
        for a, b in ranges
    )
    return re.compile(f"[{members}]+")


@functools.cache
def _half_width_table(keep_cjk_punctuation: bool) -> dict[int, str]:
    """Full-width ASCII (U+FF01–U+FF5E) and the ideographic space to their ASCII forms."""
    table = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)}
    table[0x3000] = " "
    if keep_cjk_punctuation:
        for char in CJK_PUNCTUATION_KEPT:
            table.pop(ord(char), None)
    return table


@functools.cache
def _half_width_re(keep_cjk_punctuation: bool) -> re.Pattern[str]:
    chars = "".join(re.escape(chr(cp)) for cp in _half_width_table(keep_cjk_punctuation))
    return re.compile(f"[{chars}]")


def _nfkc(text: str, keep_cjk_punctuation: bool) -> str:
    if unicodedata.is_normalized("NFKC", text):
        return text
    if not keep_cjk_punctuation or _PROTECTED_RE.search(text) is None:
        return unicodedata.normalize("NFKC", text)
    # Normalize the runs between the protected marks; the marks themselves stay as they are.
    parts = _PROTECTED_RE.split(text)
    parts[::2] = [unicodedata.normalize("NFKC", part) for part in parts[::2]]
    return "".join(parts)


@dataclass
class Normalize(DocumentStep):
    """Canonical text: NFKC, no control characters, half-width ASCII, tidy whitespace.

    In order:

    1. Line breaks (``\\r\\n``, ``\\r``, U+2028 and the others :meth:`str.splitlines` knows)
       become ``\\n``; other control (Cc) and format (Cf) characters — NUL, zero-width
       spaces, BOMs, soft hyphens, bidi marks — are removed. ``\\t`` stays.
    2. Full-width ASCII letters, digits and punctuation become ASCII and the ideographic
       space U+3000 becomes a space (NFKC does this too; this step also does it when
       ``nfkc`` is off).
    3. Unicode NFKC (``nfkc``): compatibility forms (ligatures, circled digits, half-width
       katakana, compatibility ideographs, non-breaking spaces) to their canonical form.
    4. Runs of two or more spaces/tabs become one space (a lone tab, as in a table, stays);
       lines are stripped; three or more line breaks (two or more blank lines) become one
       blank line; the text is stripped.

    With ``keep_cjk_punctuation`` (the default), the Chinese marks ``，！？；：（）…`` are
    kept as they are through steps 2 and 3, so Chinese text keeps its own punctuation
    (``。、「」『』《》`` are never touched by NFKC). The price: an English text typed with
    those full-width marks keeps them too. Turn it off to get ASCII ``,!?;:()`` and
    ``...``.
    """

    name: ClassVar[str] = "normalize"

    nfkc: bool = True
    keep_cjk_punctuation: bool = True

    def apply(self, text: str, stats: StepStats) -> str:
        out = text
        if "\r" in out:
            out = _CRLF_RE.sub("\n", out)
        out = _LINE_BREAK_RE.sub("\n", out)
        out = _removed_re().sub("", out)
        if _half_width_re(self.keep_cjk_punctuation).search(out) is not None:
            out = out.translate(_half_width_table(self.keep_cjk_punctuation))
        if self.nfkc:
            out = _nfkc(out, self.keep_cjk_punctuation)
        out = _SPACE_RUN_RE.sub(" ", out)
        out = _LINE_EDGE_RE.sub("\n", out)
        out = _BLANK_LINES_RE.sub("\n\n", out)
        out = out.strip(" \t\n")
        return text if out == text else out


@functools.cache
def _opencc_converter(config: str) -> Any:
    """One OpenCC converter per configuration and process (loading the dictionaries is slow)."""
    import opencc

    return opencc.OpenCC(config)


def _known_opencc_configs() -> list[str]:
    import opencc

    return sorted(name.removesuffix(".json") for name in opencc.CONFIGS)


@dataclass
class TraditionalToSimplified(DocumentStep):
    """Traditional → simplified Chinese with OpenCC (phrase-aware: 頭髮 → 头发, 乾燥 → 干燥).

    ``config`` is an OpenCC configuration: ``t2s`` (default), ``tw2s``/``tw2sp`` (Taiwan,
    with phrases), ``hk2s``, or the reverse directions (``s2t``, ``s2tw``…), or a path to a
    configuration file. Documents without any Han character are passed through untouched.
    ``modified`` in the step's stats counts the documents that changed.
    """

    name: ClassVar[str] = "t2s"

    config: str = "t2s"

    def __post_init__(self) -> None:
        known = _known_opencc_configs()
        if self.config.removesuffix(".json") not in known and not os.path.isfile(self.config):
            raise ValueError(
                f"unknown OpenCC config {self.config!r}; use one of {', '.join(known)} "
                "or a path to a configuration file"
            )

    def apply(self, text: str, stats: StepStats) -> str:
        if CJK_RE.search(text) is None:
            return text
        converted: str = _opencc_converter(self.config).convert(text)
        return text if converted == text else converted


class _LanguageModel:
    """langid.py's bundled model (normalized probabilities), its weights converted once.

    langid multiplies its ``uint32`` feature counts by ``float32`` weights, so NumPy converts
    the whole 7480 × 97 weight matrix to ``float64`` on every call; converting it once gives
    the same probabilities, bit for bit, and makes that product several times faster.
    """

    def __init__(self) -> None:
        import numpy as np
        from langid import langid

        self.identifier = langid.LanguageIdentifier.from_modelstring(langid.model, norm_probs=True)
        self.ptc = np.asarray(self.identifier.nb_ptc, dtype=np.float64)
        self.pc = np.asarray(self.identifier.nb_pc, dtype=np.float64)

    def classify(self, text: str) -> tuple[str, float]:
        """``(language, probability)``, as ``LanguageIdentifier.classify`` gives."""
        import numpy as np

        features = self.identifier.instance2fv(text).astype(np.float64)
        probs = self.identifier.norm_probs(features @ self.ptc + self.pc)
        best = int(np.argmax(probs))
        return str(self.identifier.nb_classes[best]), float(probs[best])


@functools.cache
def _language_model() -> _LanguageModel:
    """One per process: loading the model takes seconds."""
    return _LanguageModel()


@dataclass
class LanguageFilter(DocumentStep):
    """Keep documents in ``languages`` (ISO 639-1 codes) identified with ``min_score``.

    Identification uses langid.py (Lui & Baldwin 2012, 97 languages, model shipped with the
    package) on the first ``sample_chars`` characters, with probabilities normalized over all
    its languages. A document whose best language scores below ``min_score`` is dropped as
    ``language:low_score`` (not confidently anything); one confidently in another language as
    ``language:<code>``, e.g. ``language:fr``. Kept documents are counted by language in
    ``counters["lang:<code>"]`` (the data card's language mix).

    ``min_score`` 0.65 is datatrove's ``LanguageFilter`` default threshold.
    """

    name: ClassVar[str] = "language"

    languages: list[str] = field(default_factory=lambda: ["zh", "en"])
    min_score: float = 0.65
    sample_chars: int = 2000

    def __post_init__(self) -> None:
        if isinstance(self.languages, str):
            raise ValueError(f"languages: a list of codes, e.g. [zh, en]; got {self.languages!r}")
        if not 0.0 <= self.min_score <= 1.0:
            raise ValueError(f"min_score: between 0 and 1; got {self.min_score}")
        if self.sample_chars < 1:
            raise ValueError(f"sample_chars: at least 1; got {self.sample_chars}")
        self._languages = frozenset(self.languages)

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        language, score = _language_model().classify(text[: self.sample_chars])
        if score < self.min_score:
            return Drop("language:low_score")
        if language not in self._languages:
            return Drop(f"language:{language}")
        stats.counters[f"lang:{language}"] += 1
        return text
