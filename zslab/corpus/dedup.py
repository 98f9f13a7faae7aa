"""Deduplication: exact duplicates by a hash of normalized text, near duplicates by MinHash LSH.

Both steps are :class:`~zslab.corpus.core.CorpusStep` s: ``fingerprint`` runs per shard and
keeps a few bytes per document; ``select`` sees every shard's fingerprints, so a duplicate
cluster may span shards. The survivor of a cluster is always its smallest id (string order),
so reruns, reshardings and resumed runs keep the same documents.

**Exact** (:class:`ExactDedup`): the 64-bit xxh3 of :func:`normalize_text` (lowercase,
punctuation -- CJK punctuation included -- and redundant whitespace removed). To spread the work,
:func:`partition_by_hash` splits fingerprints into buckets by hash prefix (identical texts
always land in the same bucket) and :func:`duplicates_in` solves one bucket; ``select`` runs
the buckets one after another, a pipeline may run them as separate tasks.

**Near** (:class:`MinHashDedup`): each document becomes a set of shingles -- character
5-grams for CJK-dominant text (whitespace and punctuation removed first; Chinese has no word
boundaries and one character is roughly one syllable), lowercase word 3-grams otherwise --
hashed to 64 bits in one vectorized pass (:func:`shingle_hashes`). Signatures are computed for
a whole batch at once with NumPy (:class:`MinHasher`); documents whose signatures share a
band bucket become candidate pairs; each pair is verified by the exact Jaccard similarity of
the shingle-hash sets (or, with ``verify_exact=False``, by the signature estimate), and
verified pairs are joined by union-find into clusters across all shards.

Example::

    >>> from zslab.corpus.core import StepStats, texts
    >>> step = ExactDedup()
    >>> batch = texts([{"id": "b", "text": "Hello, world!"}, {"id": "a", "text": "hello world"}])
    >>> step.select([step.fingerprint(batch)], StepStats(step.name))
    {'b': 'exact_dedup:duplicate'}
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from zslab.corpus.core import CorpusStep, StepStats

__all__ = [
    "Clusters",
    "ExactDedup",
    "MinHashDedup",
    "MinHasher",
    "ShingleBatch",
    "duplicates_in",
    "estimate_jaccard",
    "is_cjk_dominant",
    "jaccard",
    "normalize_text",
    "optimal_bands_rows",
    "partition_by_hash",
    "s_curve",
    "shingle_hashes",
    "span_hashes",
    "text_hash",
]

# The scripts written without spaces between words.
_CJK_RANGES = (
    (0x3040, 0x30FF),  # kana
    (0x3400, 0x4DBF),  # Han extension A
    (0x4E00, 0x9FFF),  # Han
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # compatibility ideographs
    (0x20000, 0x3FFFF),  # Han extensions B and later
)
_CJK_CLASS = "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in _CJK_RANGES)
# Planes 0-3 hold every letter, digit and punctuation mark; above are tags, variation
# selectors, private use and unassigned code points.
_CLASSIFIED = 0x40000
_SPACES = re.compile(r"\s+")
_SPACE_NEXT_TO_CJK = re.compile(f"(?<=[{_CJK_CLASS}]) | (?=[{_CJK_CLASS}])")

_U64 = np.uint64


# --------------------------------------------------------------------------------------------
# Exact duplicates


@functools.cache
def _punctuation_to_space() -> dict[int, str]:
    """Every Unicode punctuation character (categories P*: ASCII, full-width, CJK) -> space."""
    return {
        cp: " " for cp in range(sys.maxunicode + 1) if unicodedata.category(chr(cp)).startswith("P")
    }


def normalize_text(text: str) -> str:
    """The form two texts share when they differ only in case, punctuation or spacing.

    Lowercase; every punctuation character (``，。、「」`` as well as ``,.!?``) becomes a space;
    runs of whitespace become one space; spaces next to CJK characters go (Chinese puts none
    between words, so ``"今天，天气"`` and ``"今天天气"`` agree).

        >>> normalize_text("Hello,   World!")
        'hello world'
        >>> normalize_text("今天， 天气很好。")
        '今天天气很好'
    """
    text = text.lower().translate(_punctuation_to_space())
    text = _SPACES.sub(" ", text).strip()
    return _SPACE_NEXT_TO_CJK.sub("", text)


def text_hash(text: str, *, normalize: bool = True) -> int:
    """The 64-bit xxh3 hash exact dedup compares (of :func:`normalize_text` by default)."""
    return xxhash.xxh3_64_intdigest((normalize_text(text) if normalize else text).encode())


def _concat(fingerprints: Sequence[pa.Table]) -> pa.Table:
    tables = [t for t in fingerprints if t.num_rows] or list(fingerprints[:1])
    if not tables:
        raise ValueError("select needs at least one fingerprint table")
    return pa.concat_tables(tables).combine_chunks()


def partition_by_hash(fingerprints: Sequence[pa.Table], k: int) -> list[pa.Table]:
    """Split exact-dedup fingerprints (``id``, ``hash``) into ``k`` buckets by hash prefix.

    The bucket is the top bits of the hash scaled to ``k``, so equal hashes share a bucket and
    each bucket can be solved alone with :func:`duplicates_in` (e.g. one Dask task each).
    """
    if not 1 <= k < 2**32:
        raise ValueError(f"k must be between 1 and 2**32 - 1, got {k}")
    table = _concat(fingerprints)
    hashes = table.column("hash").to_numpy()
    bucket = ((hashes >> _U64(32)) * _U64(k)) >> _U64(32)
    order = np.argsort(bucket, kind="stable")
    grouped = table.take(pa.array(order))
    sizes = np.bincount(bucket.astype(np.int64), minlength=k)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    return [grouped.slice(int(s), int(e - s)) for s, e in zip(starts, ends, strict=True)]


def duplicates_in(bucket: pa.Table) -> dict[str, str]:
    """``{duplicate id: survivor id}`` for one bucket; the survivor is the group's smallest id."""
    if bucket.num_rows < 2:
        return {}
    order = pc.sort_indices(bucket, sort_keys=[("hash", "ascending"), ("id", "ascending")])
    hashes = bucket.column("hash").take(order).to_numpy()
    ids = bucket.column("id").take(order).to_pylist()
    starts_group = np.empty(len(hashes), dtype=bool)
    starts_group[0] = True
    starts_group[1:] = hashes[1:] != hashes[:-1]
    first = np.maximum.accumulate(np.where(starts_group, np.arange(len(hashes)), 0))
    return {ids[i]: ids[first[i]] for i in np.flatnonzero(~starts_group).tolist()}


def _cluster_histogram(survivor_of: dict[str, str]) -> dict[str, int]:
    """``{cluster size: number of clusters}`` (as strings, so it survives JSON unchanged)."""
    sizes = Counter(Counter(survivor_of.values()).values())
    return {str(size + 1): count for size, count in sorted(sizes.items())}


@dataclass
class ExactDedup(CorpusStep):
    """Drop documents whose (normalized) text equals an earlier id's; keep the smallest id."""

    name: ClassVar[str] = "exact_dedup"
    buckets: ClassVar[int] = 16  # select solves this many hash-prefix buckets in turn

    normalize: bool = True

    def fingerprint(self, table: pa.Table) -> pa.Table:
        hashes = [text_hash(t, normalize=self.normalize) for t in table.column("text").to_pylist()]
        return pa.table({"id": table.column("id"), "hash": pa.array(hashes, pa.uint64())})

    def select(self, fingerprints: Sequence[pa.Table], stats: StepStats) -> dict[str, str]:
        survivor_of: dict[str, str] = {}
        for bucket in partition_by_hash(fingerprints, self.buckets):
            survivor_of.update(duplicates_in(bucket))
        stats.details["clusters"] = _cluster_histogram(survivor_of)
        return {doc_id: f"{self.name}:duplicate" for doc_id in sorted(survivor_of)}


# --------------------------------------------------------------------------------------------
# Shingles

# Code point classes: 0 not part of a word, 1 word character, 2 CJK word character.
_NOT_WORD_CHAR = re.compile(r"[\W_]")
_BATCH_CHARS = 1 << 22  # texts are shingled in slices of about this many characters


@functools.cache
def _char_tables() -> tuple[np.ndarray, np.ndarray]:
    """Per code point: its class (0/1/2, see above) and its lowercase code point.

    Built once per process (about 0.1 s) so that a whole batch is classified and lowercased
    with two array lookups instead of a regex pass per text.
    """
    chars = "".join(map(chr, range(_CLASSIFIED)))
    marked = _NOT_WORD_CHAR.sub("\0", chars).encode("utf-32-le", "surrogatepass")
    classes = np.zeros(sys.maxunicode + 1, dtype=np.uint8)
    classes[:_CLASSIFIED] = np.frombuffer(marked, dtype=np.uint32) != 0
    for lo, hi in _CJK_RANGES:
        classes[lo : hi + 1] *= 2
    lower = np.arange(sys.maxunicode + 1, dtype=np.uint32)
    block = 4096
    for start in range(0, _CLASSIFIED, block):
        part = chars[start : start + block]
        lowered = part.lower()
        if len(lowered) == len(part):
            codes = np.frombuffer(lowered.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        else:  # a character whose lowercase is two characters (U+0130): keep the first
            codes = np.array([ord(c.lower()[0]) for c in part], dtype=np.uint32)
        lower[start : start + block] = codes
    return classes, lower


@dataclass(frozen=True)
class _Batch:
    """Texts end to end as lowercase code points with their classes."""

    code_points: np.ndarray  # uint32
    classes: np.ndarray  # uint8
    starts: np.ndarray  # int64, each text's first position
    lengths: np.ndarray  # int64

    @classmethod
    def read(cls, texts: Sequence[str]) -> _Batch:
        classes, lower = _char_tables()
        joined = "".join(texts).encode("utf-32-le", "surrogatepass")
        raw = np.frombuffer(joined, dtype=np.uint32)
        lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
        return cls(lower[raw], classes[raw], np.cumsum(lengths) - lengths, lengths)

    def count_per_text(self, mask: np.ndarray) -> np.ndarray:
        """How many positions of each text ``mask`` selects."""
        running = np.zeros(len(mask) + 1, dtype=np.int64)
        np.cumsum(mask, out=running[1:])
        return running[self.starts + self.lengths] - running[self.starts]

    def run_starts(self, mask: np.ndarray) -> np.ndarray:
        """Where runs of ``mask`` begin (a run never crosses from one text into the next)."""
        before = np.empty_like(mask)
        before[:1] = False
        before[1:] = mask[:-1]
        before[self.starts[self.starts < len(mask)]] = False
        return mask & ~before

    def cjk_dominant(self) -> np.ndarray:
        """Per text: CJK characters outnumber the other words (and there is at least one)."""
        cjk = self.count_per_text(self.classes == 2)
        words = self.count_per_text(self.run_starts(self.classes == 1))
        return (cjk > 0) & (cjk >= words)

    def chars(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The selected characters as units, and how many each text has."""
        return self.code_points[mask], self.count_per_text(mask)

    def words(self, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Runs of selected characters as units (one 64-bit hash each), and each text's count.

        A word's hash is the polynomial sum of its code points, read off prefix sums so there
        is no Python call per word, then finalized.
        """
        first = self.run_starts(mask)
        starts = np.flatnonzero(first)
        after = np.empty_like(mask)
        after[-1:] = False
        after[:-1] = mask[1:]
        ends = self.starts + self.lengths - 1
        after[ends[self.lengths > 0]] = False
        stops = np.flatnonzero(mask & ~after) + 1
        with np.errstate(over="ignore"):
            powers = np.full(len(mask), _CHAR_BASE, dtype=np.uint64)
            powers[:1] = 1
            np.multiply.accumulate(powers, out=powers)
            prefix = np.zeros(len(mask) + 1, dtype=np.uint64)
            np.cumsum(self.code_points * powers, out=prefix[1:])
            powers.fill(_CHAR_BASE_INVERSE)
            powers[:1] = 1
            np.multiply.accumulate(powers, out=powers)
            words = (prefix[stops] - prefix[starts]) * powers[starts]
        return _fmix64(words), self.count_per_text(first)


@dataclass(frozen=True)
class ShingleBatch:
    """64-bit shingle hashes of a batch: text ``i`` owns ``hashes[offsets[i]:offsets[i+1]]``.

    A text's hashes are in text order, repeats included.
    """

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, len(texts) + 1

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def of(self, i: int) -> np.ndarray:
        return self.hashes[self.offsets[i] : self.offsets[i + 1]]

    @classmethod
    def concat(cls, parts: Sequence[ShingleBatch]) -> ShingleBatch:
        if len(parts) == 1:
            return parts[0]
        offsets = [np.zeros(1, np.int64)]
        for part in parts:
            offsets.append(part.offsets[1:] + offsets[-1][-1])
        return cls(np.concatenate([p.hashes for p in parts]), np.concatenate(offsets))


# Odd 64-bit multipliers of the window polynomial, and of the in-word polynomial.
_WINDOW_MULTIPLIERS = np.random.default_rng(0x5A51AB).integers(
    0, 2**63, size=64, dtype=np.uint64
) * _U64(2) + _U64(1)
_CHAR_BASE = 0x9E3779B97F4A7C15
_CHAR_BASE_INVERSE = pow(_CHAR_BASE, -1, 2**64)


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer, in place: every input bit affects every output bit."""
    with np.errstate(over="ignore"):
        h ^= h >> _U64(33)
        h *= _U64(0xFF51AFD7ED558CCD)
        h ^= h >> _U64(33)
        h *= _U64(0xC4CEB9FE1A85EC53)
        h ^= h >> _U64(33)
    return h


def _window_hashes(units: np.ndarray, counts: np.ndarray, n: int, *, short: bool) -> ShingleBatch:
    """Hash every run of ``n`` consecutive units of each text (``counts[i]`` units each).

    A text with fewer than ``n`` units (but some) yields one shingle of all of them when
    ``short``, and none otherwise.
    """
    starts = np.cumsum(counts) - counts
    full = np.maximum(counts - n + 1, 0)
    partial = (counts > 0) & (counts < n) if short else np.zeros(len(counts), dtype=bool)
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(full + partial, out=offsets[1:])
    hashes = np.empty(int(offsets[-1]), dtype=np.uint64)
    with np.errstate(over="ignore"):
        if full.any():
            windows = len(units) - n + 1
            every = units[:windows] * _WINDOW_MULTIPLIERS[0]
            for k in range(1, n):
                every += units[k : k + windows] * _WINDOW_MULTIPLIERS[k]
            step = np.arange(int(full.sum())) - np.repeat(np.cumsum(full) - full, full)
            source = np.repeat(starts, full) + step
            if partial.any():
                hashes[np.repeat(offsets[:-1], full) + step] = every[source]
            else:
                hashes = every[source]
        if partial.any():
            texts = np.flatnonzero(partial)
            h = np.zeros(len(texts), dtype=np.uint64)
            for k in range(n - 1):
                unit = units[np.minimum(starts[texts] + k, len(units) - 1)]
                h += np.where(k < counts[texts], unit, 0) * _WINDOW_MULTIPLIERS[k]
            hashes[offsets[texts]] = h
    return ShingleBatch(_fmix64(hashes), offsets)


def _slices(texts: Sequence[str]) -> Iterator[Sequence[str]]:
    """Consecutive slices of ``texts`` of about ``_BATCH_CHARS`` characters (memory bound)."""
    start, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text)
        if size >= _BATCH_CHARS:
            yield texts[start : i + 1]
            start, size = i + 1, 0
    if start < len(texts) or not texts:
        yield texts[start:]


def shingle_hashes(
    texts: Sequence[str], *, char_ngram: int = 5, word_ngram: int = 3
) -> ShingleBatch:
    """64-bit hashes of each text's shingles (MinHash's sets), vectorized over the batch.

    CJK-dominant texts (:func:`is_cjk_dominant`) are shingled into character ``char_ngram``-
    grams of their word characters (whitespace and punctuation removed, lowercased); other
    texts into ``word_ngram``-grams of lowercase words. A text shorter than one shingle is one
    shingle; a text without word characters has none.

        >>> batch = shingle_hashes(["the cat sat on the mat", "猫坐在垫子上。"])
        >>> len(batch.of(0)), len(batch.of(1))
        (4, 2)
    """
    return ShingleBatch.concat(
        [_shingle_slice(part, char_ngram, word_ngram) for part in _slices(texts)]
    )


def _shingle_slice(texts: Sequence[str], char_ngram: int, word_ngram: int) -> ShingleBatch:
    batch = _Batch.read(texts)
    by_char = batch.cjk_dominant()
    in_char_text = np.repeat(by_char, batch.lengths)
    word_char = batch.classes != 0
    chars = _window_hashes(*batch.chars(word_char & in_char_text), char_ngram, short=True)
    words = _window_hashes(*batch.words(word_char & ~in_char_text), word_ngram, short=True)
    return _interleave(by_char, chars, words)


def _interleave(first: np.ndarray, a: ShingleBatch, b: ShingleBatch) -> ShingleBatch:
    """Per text, ``a``'s shingles where ``first`` else ``b``'s (the other side has none)."""
    counts = np.where(first, np.diff(a.offsets), np.diff(b.offsets))
    offsets = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    hashes = np.empty(int(offsets[-1]), dtype=np.uint64)
    for side, mask in ((a, first), (b, ~first)):
        sizes = np.diff(side.offsets) * mask
        if sizes.any():
            source = np.repeat(side.offsets[:-1], sizes)
            target = np.repeat(offsets[:-1], sizes)
            step = np.arange(len(source)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            hashes[target + step] = side.hashes[source + step]
    return ShingleBatch(hashes, offsets)


def span_hashes(texts: Sequence[str], *, word_ngram: int = 13, cjk_ngram: int = 23) -> ShingleBatch:
    """64-bit hashes of every span of ``word_ngram`` words and of ``cjk_ngram`` CJK characters.

    Each text is read as two streams: its non-CJK words (lowercase; CJK characters,
    whitespace and punctuation separate them) and its CJK characters (everything else
    removed). Spans of both are hashed, so an English passage quoted in a Chinese page is
    found as well as a Chinese one. Texts shorter than a span contribute no spans of that
    stream. Used by decontamination.
    """
    parts = []
    for part in _slices(texts):
        batch = _Batch.read(part)
        words = _window_hashes(*batch.words(batch.classes == 1), word_ngram, short=False)
        cjk = _window_hashes(*batch.chars(batch.classes == 2), cjk_ngram, short=False)
        parts.append(_merge(words, cjk))
    return ShingleBatch.concat(parts)


def _merge(a: ShingleBatch, b: ShingleBatch) -> ShingleBatch:
    """Per text, ``a``'s hashes followed by ``b``'s."""
    offsets = a.offsets + b.offsets
    owner_a = np.repeat(np.arange(len(a)), np.diff(a.offsets))
    owner_b = np.repeat(np.arange(len(b)), np.diff(b.offsets))
    hashes = np.empty(len(a.hashes) + len(b.hashes), dtype=np.uint64)
    hashes[np.arange(len(a.hashes)) + b.offsets[owner_a]] = a.hashes
    hashes[np.arange(len(b.hashes)) + a.offsets[owner_b + 1]] = b.hashes
    return ShingleBatch(hashes, offsets)


def is_cjk_dominant(text: str) -> bool:
    """True when CJK characters outnumber the other words, so MinHash shingles by character.

    >>> is_cjk_dominant("我们用Python编程"), is_cjk_dominant("a 中文 quote in English")
    (True, False)
    """
    return bool(_Batch.read([text]).cjk_dominant()[0])


# --------------------------------------------------------------------------------------------
# MinHash


class MinHasher:
    """MinHash signatures for many documents at once: ``num_perm`` uint32 minima per document.

    Shingles are hashed once to 64 bits (:func:`shingle_hashes`, vectorized); their top 32 bits
    ``x`` go through ``num_perm`` random affine permutations ``(a_k * x + b_k) mod 2**32``
    with odd ``a_k``: each is a bijection of the 32-bit range, so it adds no collisions, and
    ``uint32`` wraparound is the modulus, so a permutation costs one multiply and one add on
    SIMD lanes. (This is datasketch's default scheme since 2.0, "affine32"; its earlier
    ``(a x + b) mod (2**61 - 1)`` scheme computes ``a x`` with ``a`` up to 61 bits in 64-bit
    arithmetic, so the product wraps before the reduction, and folding the result to 32 bits
    collides values, which biased estimates upward.) All shingles of a batch are permuted in
    cache-sized chunks, permutations as rows, and reduced per document with
    ``np.minimum.reduceat`` along contiguous memory.

    An empty document's signature is all ``0xFFFFFFFF``.

        >>> sig = MinHasher(num_perm=64, seed=1).signatures(["a b c d e", "a b c d f"])
        >>> sig.shape, sig.dtype
        ((2, 64), dtype('uint32'))
    """

    CHUNK_COLUMNS: ClassVar[int] = 2048  # shingles per chunk: num_perm x chunk x 4 bytes ~ L2

    def __init__(
        self, num_perm: int = 128, seed: int = 1, *, char_ngram: int = 5, word_ngram: int = 3
    ) -> None:
        if num_perm < 1:
            raise ValueError(f"num_perm must be positive, got {num_perm}")
        self.num_perm, self.seed = num_perm, seed
        self.char_ngram, self.word_ngram = char_ngram, word_ngram
        rng = np.random.default_rng(seed)
        self.a = rng.integers(0, 2**31, size=num_perm, dtype=np.uint32) * np.uint32(2) + 1
        self.b = rng.integers(0, 2**32, size=num_perm, dtype=np.uint64).astype(np.uint32)

    def shingles(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Each text's 32-bit shingle hashes (text order, repeats included) and offsets."""
        batch = shingle_hashes(texts, char_ngram=self.char_ngram, word_ngram=self.word_ngram)
        return (batch.hashes >> _U64(32)).astype(np.uint32), batch.offsets

    def signatures(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), num_perm)`` uint32 signatures."""
        return self.signatures_of(*self.shingles(texts))

    def signatures_of(self, values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
        """Signatures of documents given as 32-bit shingle hashes (``values[offsets[i]:...]``)."""
        docs = len(offsets) - 1
        out = np.full((docs, self.num_perm), 0xFFFFFFFF, dtype=np.uint32)
        nonempty = np.flatnonzero(np.diff(offsets) > 0)
        if not len(nonempty):
            return out
        doc_starts = offsets[nonempty]
        total = len(values)
        chunk = self.CHUNK_COLUMNS
        # Segments: the part of one document within one chunk. Minima per segment, then per
        # document. Permutations are rows, so every reduction runs along contiguous memory.
        seg_starts = np.union1d(doc_starts, np.arange(0, total, chunk))
        seg_min = np.empty((self.num_perm, len(seg_starts)), dtype=np.uint32)
        bounds = np.searchsorted(seg_starts, np.append(np.arange(0, total, chunk), total))
        buffer = np.empty((self.num_perm, chunk), dtype=np.uint32)
        x = values.astype(np.uint32, copy=False)[None, :]
        a, b = self.a[:, None], self.b[:, None]
        for c, lo in enumerate(range(0, total, chunk)):
            hi = min(lo + chunk, total)
            block = buffer[:, : hi - lo]
            np.multiply(a, x[:, lo:hi], out=block)
            block += b
            s0, s1 = bounds[c], bounds[c + 1]
            seg_min[:, s0:s1] = np.minimum.reduceat(block, seg_starts[s0:s1] - lo, axis=1)
        doc_min = np.minimum.reduceat(seg_min, np.searchsorted(seg_starts, doc_starts), axis=1)
        out[nonempty] = doc_min.T
        return out


def estimate_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """The MinHash estimate of Jaccard similarity: the share of equal signature positions."""
    return float(np.count_nonzero(a == b)) / len(a)


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Exact Jaccard similarity of two sorted unique arrays (0.0 when both are empty)."""
    common = len(np.intersect1d(a, b, assume_unique=True))
    union = len(a) + len(b) - common
    return common / union if union else 0.0


def s_curve(bands: int, rows: int, points: int = 21) -> list[tuple[float, float]]:
    """``(s, 1 - (1 - s**rows)**bands)`` at ``points`` evenly spaced Jaccard values in [0, 1].

    The probability that two documents of Jaccard similarity ``s`` share at least one band
    bucket, i.e. become a candidate pair.

        >>> s_curve(9, 13, points=3)
        [(0.0, 0.0), (0.5, 0.0011), (1.0, 1.0)]
    """
    grid = np.linspace(0.0, 1.0, points)
    probability = 1.0 - (1.0 - grid**rows) ** bands
    return [
        (round(float(s), 4), round(float(p), 4)) for s, p in zip(grid, probability, strict=True)
    ]


@functools.cache
def optimal_bands_rows(
    threshold: float,
    num_perm: int,
    *,
    false_positive_weight: float = 0.5,
    false_negative_weight: float = 0.5,
) -> tuple[int, int]:
    """The ``(bands, rows)`` with ``bands * rows <= num_perm`` that minimize the weighted areas
    under the S-curve below ``threshold`` (false positives) and above it (false negatives).

    The same criterion as datasketch's ``MinHashLSH`` (``_optimal_param``); the integrals are
    exact here, by Gauss-Legendre quadrature with enough nodes for the polynomial degree.

        >>> optimal_bands_rows(0.8, 128)
        (9, 13)
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be between 0 and 1, got {threshold}")
    nodes, weights = np.polynomial.legendre.leggauss(num_perm // 2 + 2)

    def integral(lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
        return (hi - lo) / 2 * nodes + (hi + lo) / 2, (hi - lo) / 2 * weights

    below_s, below_w = integral(0.0, threshold)
    above_s, above_w = integral(threshold, 1.0)
    best, best_error = (1, 1), float("inf")
    for bands in range(1, num_perm + 1):
        rows = np.arange(1, num_perm // bands + 1)[:, None]
        false_positive = (1 - (1 - below_s**rows) ** bands) @ below_w
        false_negative = ((1 - above_s**rows) ** bands) @ above_w
        error = false_positive * false_positive_weight + false_negative * false_negative_weight
        i = int(np.argmin(error))
        if error[i] < best_error:
            best, best_error = (bands, i + 1), float(error[i])
    return best


@dataclass
class Clusters:
    """Near-duplicate clusters (each of 2+ ids, sorted) and what it took to find them."""

    clusters: list[list[str]]
    candidate_pairs: int
    verified_pairs: int


class _UnionFind:
    def __init__(self, size: int) -> None:
        self.parent = list(range(size))

    def find(self, i: int) -> int:
        parent = self.parent
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(self, i: int, j: int) -> int:
        ri, rj = self.find(i), self.find(j)
        if ri != rj:
            self.parent[rj] = ri
        return ri


@dataclass
class MinHashDedup(CorpusStep):
    """Drop near duplicates (MinHash LSH, verified Jaccard >= threshold); keep the smallest id.

    ``bands`` x ``rows`` default to the split of ``num_perm`` that minimizes the weighted
    false-positive and false-negative areas of the S-curve at ``threshold``
    (:func:`optimal_bands_rows`). Because every candidate pair is verified, a false positive
    costs one Jaccard computation while a false negative is a duplicate kept, so the default
    ``false_negative_weight`` is 0.9: at threshold 0.8 and 128 permutations that is 14 bands
    of 9 rows, which makes a pair at Jaccard 0.8 a candidate with probability 0.87 and at 0.85
    with 0.975 (datasketch's equal weights give 9 x 13: 0.40 and 0.69).
    """

    name: ClassVar[str] = "minhash_dedup"

    threshold: float = 0.8
    num_perm: int = 128
    bands: int | None = None
    rows: int | None = None
    char_ngram: int = 5
    word_ngram: int = 3
    seed: int = 1
    verify_exact: bool = True
    false_negative_weight: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold}")
        if self.num_perm < 1:
            raise ValueError(f"num_perm must be positive, got {self.num_perm}")
        if (self.bands is None) != (self.rows is None):
            raise ValueError("give both bands and rows, or neither (then they are optimized)")
        if (
            self.bands is not None
            and self.rows is not None
            and (self.bands < 1 or self.rows < 1 or self.bands * self.rows > self.num_perm)
        ):
            raise ValueError(
                f"bands x rows must be at most num_perm={self.num_perm}, "
                f"got {self.bands} x {self.rows}"
            )
        if not 0.0 < self.false_negative_weight < 1.0:
            raise ValueError("false_negative_weight must be between 0 and 1")
        for label, n in (("char_ngram", self.char_ngram), ("word_ngram", self.word_ngram)):
            if not 1 <= n <= len(_WINDOW_MULTIPLIERS):
                raise ValueError(f"{label} must be between 1 and {len(_WINDOW_MULTIPLIERS)}")

    @property
    def band_rows(self) -> tuple[int, int]:
        """The ``(bands, rows)`` in use."""
        if self.bands is not None and self.rows is not None:
            return self.bands, self.rows
        return optimal_bands_rows(
            min(self.threshold, 0.99),
            self.num_perm,
            false_positive_weight=1.0 - self.false_negative_weight,
            false_negative_weight=self.false_negative_weight,
        )

    def hasher(self) -> MinHasher:
        return _hasher(self.num_perm, self.seed, self.char_ngram, self.word_ngram)

    def fingerprint(self, table: pa.Table) -> pa.Table:
        """``id``, ``n_shingles``, ``signature`` (num_perm little-endian uint32), ``band_keys``
        (one 64-bit key per band) and, with ``verify_exact``, ``shingles`` (the 32-bit shingle
        hashes in text order)."""
        hasher = self.hasher()
        values, offsets = hasher.shingles(table.column("text").to_pylist())
        signatures = hasher.signatures_of(values, offsets)
        bands, rows = self.band_rows
        keys = _band_keys(signatures, bands, rows)
        columns: dict[str, pa.Array | pa.ChunkedArray] = {
            "id": table.column("id"),
            "n_shingles": pa.array(np.diff(offsets).astype(np.uint32)),
            "signature": pa.FixedSizeBinaryArray.from_buffers(
                pa.binary(4 * self.num_perm),
                len(signatures),
                [None, pa.py_buffer(np.ascontiguousarray(signatures).astype("<u4").tobytes())],
            ),
            "band_keys": pa.FixedSizeListArray.from_arrays(pa.array(keys.ravel()), bands),
        }
        if self.verify_exact:
            columns["shingles"] = pa.LargeListArray.from_arrays(
                pa.array(offsets, pa.int64()), pa.array(values)
            )
        return pa.table(columns)

    def select(self, fingerprints: Sequence[pa.Table], stats: StepStats) -> dict[str, str]:
        found = self.find_clusters(fingerprints)
        bands, rows = self.band_rows
        drop: dict[str, str] = {}
        for cluster in found.clusters:
            for doc_id in cluster[1:]:
                drop[doc_id] = f"{self.name}:near_duplicate"
        sizes = Counter(len(c) for c in found.clusters)
        stats.details.update(
            {
                "clusters": {str(k): v for k, v in sorted(sizes.items())},
                "candidate_pairs": found.candidate_pairs,
                "verified_pairs": found.verified_pairs,
                "bands": bands,
                "rows": rows,
                "s_curve": [list(point) for point in s_curve(bands, rows)],
            }
        )
        return drop

    def find_clusters(self, fingerprints: Sequence[pa.Table]) -> Clusters:
        """Clusters of near duplicates over all shards' fingerprints.

        Documents sharing a band bucket are compared; a pair already joined (through other
        pairs) is not compared again, so a bucket of ``m`` copies costs about ``m``
        verifications rather than ``m**2 / 2``.
        """
        table = _concat(fingerprints)
        ids: list[str] = table.column("id").to_pylist()
        bands, _ = self.band_rows
        keys = _fixed_list_numpy(table.column("band_keys"), bands)
        eligible = np.flatnonzero(table.column("n_shingles").to_numpy() > 0)
        similar = self._similarity(table)
        union = _UnionFind(len(ids))
        rejected: set[tuple[int, int]] = set()
        candidates = verified = 0
        rank = np.empty(len(ids), dtype=np.int64)
        rank[np.argsort(np.array(ids, dtype=object), kind="stable")] = np.arange(len(ids))
        for band in range(bands):
            for bucket in _buckets(keys[eligible, band], eligible, rank[eligible]):
                groups: dict[int, list[int]] = {}  # a component's root -> its members seen here
                for doc in bucket:
                    members = [doc]
                    for root in list(groups):
                        if union.find(root) != union.find(doc):
                            for other in groups[root]:
                                if (other, doc) in rejected:
                                    continue
                                candidates += 1
                                if similar(other, doc):
                                    verified += 1
                                    union.union(other, doc)
                                    break
                                rejected.add((other, doc))
                        if union.find(root) == union.find(doc):
                            members.extend(groups.pop(root))
                    groups[union.find(doc)] = members
        components: dict[int, list[str]] = {}
        for doc, doc_id in enumerate(ids):
            components.setdefault(union.find(doc), []).append(doc_id)
        clusters = sorted(sorted(c) for c in components.values() if len(c) > 1)
        return Clusters(clusters, candidates, verified)

    def _similarity(self, table: pa.Table) -> Callable[[int, int], bool]:
        if self.verify_exact:
            if "shingles" not in table.column_names:
                raise ValueError(
                    "verify_exact needs the 'shingles' column: fingerprint with the same "
                    "minhash_dedup parameters"
                )
            column = table.column("shingles").combine_chunks()
            starts = column.offsets.to_numpy()
            values = column.values.to_numpy()
            threshold = self.threshold

            @functools.cache
            def shingle_set(i: int) -> np.ndarray:
                return np.unique(values[starts[i] : starts[i + 1]])

            def exact(i: int, j: int) -> bool:
                return jaccard(shingle_set(i), shingle_set(j)) >= threshold

            return exact
        signatures = _signatures_numpy(table.column("signature"), self.num_perm)
        needed = int(np.ceil(self.threshold * self.num_perm - 1e-9))

        def estimated(i: int, j: int) -> bool:
            return int(np.count_nonzero(signatures[i] == signatures[j])) >= needed

        return estimated


@functools.lru_cache(maxsize=8)
def _hasher(num_perm: int, seed: int, char_ngram: int, word_ngram: int) -> MinHasher:
    return MinHasher(num_perm, seed, char_ngram=char_ngram, word_ngram=word_ngram)


def _band_keys(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """One 64-bit key per band: the band's ``rows`` signature values hashed together."""
    used = signatures[:, : bands * rows].astype(np.uint64).reshape(len(signatures), bands, rows)
    keys = np.zeros(used.shape[:2], dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(rows):
            keys = _fmix64(keys * _U64(_CHAR_BASE) + used[:, :, r])
    return keys


def _buckets(keys: np.ndarray, docs: np.ndarray, rank: np.ndarray) -> Iterator[list[int]]:
    """Groups (2+ documents, smallest id first) of ``docs`` that share a key."""
    order = np.lexsort((rank, keys))
    sorted_keys = keys[order]
    change = np.flatnonzero(sorted_keys[1:] != sorted_keys[:-1]) + 1
    starts = np.concatenate(([0], change))
    ends = np.concatenate((change, [len(order)]))
    for s, e in zip(
        starts[ends - starts > 1].tolist(), ends[ends - starts > 1].tolist(), strict=True
    ):
        yield docs[order[s:e]].tolist()


def _fixed_list_numpy(column: pa.ChunkedArray, width: int) -> np.ndarray:
    array = column.combine_chunks()
    return array.flatten().to_numpy(zero_copy_only=False).reshape(len(array), width)


def _signatures_numpy(column: pa.ChunkedArray, num_perm: int) -> np.ndarray:
    array = column.combine_chunks()
    data = np.frombuffer(array.buffers()[1], dtype="<u4")
    start = array.offset * num_perm
    return data[start : start + len(array) * num_perm].reshape(len(array), num_perm)
