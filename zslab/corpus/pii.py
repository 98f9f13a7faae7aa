"""PII redaction for Chinese-first corpora: resident IDs, mobiles, bank cards, e-mails and IPs.

:class:`PiiRedact` (step ``pii_redact``) replaces each piece of personal data it finds with a typed
placeholder (``<ID_CARD>``, ``<MOBILE>``, ``<BANK_CARD>``, ``<EMAIL>``, ``<IP>``) and counts it
in ``stats.counters["pii:<type>"]``; it never drops a document. :func:`find_pii` is the detector
it uses, and :func:`is_valid_resident_id` / :func:`luhn_ok` are the validators behind it.

Chinese text has no spaces, so every digit pattern is bounded by look-arounds: a number inside a
longer run of digits (an order number, a timestamp) never matches. Digits are ASCII only; run
this step after a normalizer that folds full-width digits (NFKC).

The rules, by type, in the order they claim text (a span claimed by one type is not matched
again by a later one):

``email``
    ASCII local part (at most 64 characters), ``@``, dot-separated domain labels and a TLD of
    two or more letters. Trailing punctuation, ASCII or CJK (``。``, ``，``), is not part of
    it. E-mail claims text first because a local part is often a phone or QQ number
    (``13812345678@163.com``): the whole address is the PII.
``id_card``
    Mainland resident identity number, GB 11643-1999. 18 characters: a 6-digit region code,
    the birth date ``YYYYMMDD``, a 3-digit sequence number and a check character computed with
    ISO 7064 MOD 11-2 -- the 17 digits weighted by 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2, the sum
    modulo 11 indexing ``"10X98765432"`` (``X`` or ``x``). Legacy 15-digit numbers (issued
    before 1999) have ``YYMMDD`` in 19xx and no check character. Both need a real calendar
    date (``19990230`` is not one), a birth year from 1900 to today, and a province code of
    GB/T 2260 as the first two digits (11 Beijing ... 65 Xinjiang, 71 Taiwan, 81/82/83 for the
    Hong Kong, Macao and Taiwan residence permits).
``mobile``
    ``1[3-9]`` and nine more digits, optionally prefixed ``+86``, ``0086`` or ``86`` (with an
    optional space or dash after it) and optionally grouped 3-4-4 by one kind of separator
    (``138 1234 5678``, ``138-1234-5678``).
``bank_card``
    16 to 19 digits, plain or grouped in fours by one kind of separator
    (``6222 0212 3456 7890 123``), passing the Luhn check. A Luhn-valid number is a card only
    with evidence, because one random number in ten passes Luhn: either it is a UnionPay card
    (prefix ``62``), or a context word (卡号, 银行卡, 信用卡, 储蓄卡, 借记卡, 贷记卡, 账号,
    帐号, 账户, 帐户, 开户行, 银联, or an English word starting with card, account, acct, visa,
    mastercard or unionpay, in any case) lies within 20 characters before or after it. A grouped
    number continued by the same separator and another digit is part of something longer and
    does not match.
``ipv6``
    A run of hex digits, colons and dots with at least two colons, starting a token, that the
    standard library's :mod:`ipaddress` accepts (full, ``::``-compressed and IPv4-suffixed
    forms). To leave code and ratios alone (``x[1::2]``, ``Face::add``, ``1:2:3:4:5:6:7:8``)
    it must also contain a decimal digit and a group of three or more hex digits, so ``::1``
    is not redacted.
``ipv4``
    Four dotted octets 0-255 without leading zeros, not part of a longer dotted number (the
    version string ``1.2.3.4.5``) and not glued to a preceding letter (``v1.2.3.4``). Private
    and loopback addresses are redacted too.

Redaction runs to a fixed point: replacing one span can bring a context word within reach of a
card number (``卡号 <ID_CARD> 4111…``), so a document that changed is scanned again until a
scan finds nothing. That makes the step idempotent (as long as the placeholder does not itself
look like PII); a document without PII is scanned once.

Speed: every pattern is compiled once; a document without an ASCII digit, ``@`` or ``:`` is
returned untouched after one scan, and each type's pattern only runs when what it needs is
present (``@`` for e-mail; 11 or more digits and separators in a row for IDs, mobiles and cards;
``::`` or six colons for IPv6; ``.`` for IPv4).

Sources: GB 11643-1999 公民身份号码; ISO/IEC 7064:2003 MOD 11-2; GB/T 2260 行政区划代码;
ISO/IEC 7812-1 (Luhn).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import ClassVar

from zslab.corpus.core import DocumentStep, StepStats

__all__ = [
    "PII_TYPES",
    "PiiMatch",
    "PiiRedact",
    "find_pii",
    "is_valid_resident_id",
    "luhn_ok",
    "redact_pii",
]

#: Every type, in the order the types claim text.
PII_TYPES: tuple[str, ...] = ("email", "id_card", "mobile", "bank_card", "ipv6", "ipv4")

# What "{label}" becomes in a placeholder; both IP versions share one label.
_LABELS: dict[str, str] = {
    "email": "EMAIL",
    "id_card": "ID_CARD",
    "mobile": "MOBILE",
    "bank_card": "BANK_CARD",
    "ipv6": "IP",
    "ipv4": "IP",
}

_DEFAULT_PLACEHOLDER = "<{label}>"

# Passes of redact_pii before it stops even if a scan still finds something; only a placeholder
# that itself looks like PII can need more than two or three.
_MAX_PASSES = 16


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """One piece of PII: its type (one of :data:`PII_TYPES`), ``text[start:end]`` and the value."""

    type: str
    start: int
    end: int
    value: str


# --- validators ---------------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
# GB/T 2260 provinces, plus 71 Taiwan and 81/82/83 (HK/Macao/Taiwan residence permits).
_ID_PROVINCES = frozenset(
    str(code)
    for code in (
        *(11, 12, 13, 14, 15),
        *(21, 22, 23),
        *(31, 32, 33, 34, 35, 36, 37),
        *(41, 42, 43, 44, 45, 46),
        *(50, 51, 52, 53, 54),
        *(61, 62, 63, 64, 65),
        *(71, 81, 82, 83),
    )
)
_ID_MIN_YEAR = 1900
_ASCII_DIGITS = frozenset("0123456789")
# Luhn doubles every second digit from the right; doubled digit d contributes this.
_LUHN_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def is_valid_resident_id(s: str) -> bool:
    """Whether ``s`` is exactly a plausible mainland resident identity number (GB 11643-1999).

    18 characters: province code, real birth date ``YYYYMMDD`` (1900 to today), sequence number
    and the ISO 7064 MOD 11-2 check character (``X`` in either case); or the legacy 15-digit
    form with ``YYMMDD`` read as 19YY. Surrounding text or spaces make it invalid.

    >>> is_valid_resident_id("11010519491231002X")
    True
    >>> is_valid_resident_id("110105199902300021")  # 30 February
    False
    """
    if len(s) == 18:
        body, check = s[:17], s[17].upper()
        if not _ASCII_DIGITS.issuperset(body) or check not in _ID_CHECK_CHARS:
            return False
        birth = body[6:14]
        total = sum(int(digit) * weight for digit, weight in zip(body, _ID_WEIGHTS, strict=True))
        if _ID_CHECK_CHARS[total % 11] != check:
            return False
    elif len(s) == 15:
        if not _ASCII_DIGITS.issuperset(s):
            return False
        birth = "19" + s[6:12]
    else:
        return False
    return s[:2] in _ID_PROVINCES and _is_birth_date(birth)


def _is_birth_date(yyyymmdd: str) -> bool:
    year, month, day = int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:])
    try:
        born = date(year, month, day)
    except ValueError:
        return False
    return year >= _ID_MIN_YEAR and born <= date.today()


def luhn_ok(digits: str) -> bool:
    """Whether the string of ASCII digits ``digits`` passes the Luhn (mod 10) check.

    Separators are not allowed (strip them first); an empty string fails.

    >>> luhn_ok("4111111111111111")
    True
    >>> luhn_ok("4111111111111112")
    False
    """
    if not digits or not _ASCII_DIGITS.issuperset(digits):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        total += _LUHN_DOUBLED[digit] if position % 2 else digit
    return total % 10 == 0


# --- detectors: one generator of matches per type ------------------------------------------------

# Tried only where a run of local-part characters starts, which keeps the scan linear.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}(?![A-Za-z0-9\-])"
)
_ID_CARD = re.compile(r"(?<![0-9])[1-8][0-9]{14}(?:[0-9]{2}[0-9Xx])?(?![0-9Xx])")
_MOBILE = re.compile(
    r"(?<![0-9])(?:(?:\+|00)?86[ \-]?)?1[3-9][0-9]([ \-]?)[0-9]{4}\1[0-9]{4}(?![0-9])"
)
_BANK_CARD = re.compile(
    r"(?<![0-9])(?:[0-9]{16,19}"
    r"|(?<![0-9][ \-])[0-9]{4}([ \-])[0-9]{4}\1[0-9]{4}\1[0-9]{4}(?:\1[0-9]{1,3})?(?!\1[0-9]))"
    r"(?![0-9])"
)
# English words must start a word, so "discard" is no context and neither is the CARD in an
# earlier "<BANK_CARD>" placeholder (which a later pass sees).
_BANK_CONTEXT = re.compile(
    "卡号|银行卡|信用卡|储蓄卡|借记卡|贷记卡|账号|帐号|账户|帐户|开户行|银联"
    "|(?<![A-Za-z_])(?:card|account|acct|visa|mastercard|unionpay)",
    re.IGNORECASE,
)
_BANK_CONTEXT_REACH = 20
# A token of hex digits, colons and dots holding at least two colons; possessive, so a token is
# judged whole (a bad one is skipped, not searched for a valid piece).
_IPV6 = re.compile(
    r"(?<![0-9A-Za-z.:])(?=[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:)[0-9A-Fa-f:.]++(?![G-Zg-z_])"
)
_IPV6_LONG_GROUP = re.compile(r"[0-9A-Fa-f]{3}")
# Starts with a digit rather than the look-behind so that re can skip ahead to digits; the
# octets' range is checked in Python (dotted quads are rare).
_IPV4 = re.compile(r"[0-9](?<![0-9A-Za-z.][0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?![0-9]|\.[0-9])")
_ANY_DIGIT = re.compile(r"[0-9]")
_TRIGGER = re.compile(r"[0-9@:]")
# What every ID, mobile and bank card contains: 11+ characters of digits and separators.
_LONG_NUMBER = re.compile(r"[0-9][0-9 \-]{9,}[0-9]")


def _emails(text: str) -> Iterator[PiiMatch]:
    if "@" not in text:
        return
    for found in _EMAIL.finditer(text):
        start, end = found.span()
        # A local part does not start with a dot or dash: "见.abc@x.com" redacts "abc@x.com".
        while text[start] in ".-":
            start += 1
        if text[start] != "@":
            yield PiiMatch("email", start, end, text[start:end])


def _id_cards(text: str) -> Iterator[PiiMatch]:
    for found in _ID_CARD.finditer(text):
        if is_valid_resident_id(found.group()):
            yield PiiMatch("id_card", found.start(), found.end(), found.group())


def _mobiles(text: str) -> Iterator[PiiMatch]:
    for found in _MOBILE.finditer(text):
        yield PiiMatch("mobile", found.start(), found.end(), found.group())


def _bank_cards(text: str) -> Iterator[PiiMatch]:
    for found in _BANK_CARD.finditer(text):
        value = found.group()
        digits = value.replace(" ", "").replace("-", "")
        if not luhn_ok(digits):
            continue
        start, end = found.span()
        if (
            digits.startswith("62")
            or _BANK_CONTEXT.search(text, max(0, start - _BANK_CONTEXT_REACH), start)
            or _BANK_CONTEXT.search(text, end, end + _BANK_CONTEXT_REACH)
        ):
            yield PiiMatch("bank_card", start, end, value)


def _ipv6s(text: str) -> Iterator[PiiMatch]:
    # Every IPv6 address has "::" or six or more colons (seven, or six before an IPv4 tail).
    if "::" not in text and text.count(":") < 6:
        return
    for found in _IPV6.finditer(text):
        value = found.group().rstrip(".")  # a sentence-final full stop is not part of it
        if not _ANY_DIGIT.search(value) or not _IPV6_LONG_GROUP.search(value):
            continue
        try:
            ipaddress.IPv6Address(value)
        except ValueError:
            continue
        yield PiiMatch("ipv6", found.start(), found.start() + len(value), value)


def _ipv4s(text: str) -> Iterator[PiiMatch]:
    if "." not in text:
        return
    for found in _IPV4.finditer(text):
        octets = found.group().split(".")
        if all(int(octet) <= 255 and (octet == "0" or octet[0] != "0") for octet in octets):
            yield PiiMatch("ipv4", found.start(), found.end(), found.group())


_DETECTORS: dict[str, Callable[[str], Iterator[PiiMatch]]] = {
    "email": _emails,
    "id_card": _id_cards,
    "mobile": _mobiles,
    "bank_card": _bank_cards,
    "ipv6": _ipv6s,
    "ipv4": _ipv4s,
}
_NEEDS_LONG_NUMBER = frozenset({"id_card", "mobile", "bank_card"})


@functools.lru_cache(maxsize=64)
def _ordered_types(types: tuple[str, ...]) -> tuple[str, ...]:
    """``types`` checked and put in claiming order."""
    unknown = sorted(set(types) - set(PII_TYPES))
    if unknown:
        raise ValueError(
            f"unknown PII type(s) {', '.join(map(repr, unknown))}; "
            f"the types are: {', '.join(PII_TYPES)}"
        )
    return tuple(t for t in PII_TYPES if t in types)


def _as_types(types: Iterable[str] | str) -> tuple[str, ...]:
    return _ordered_types((types,) if isinstance(types, str) else tuple(types))


def find_pii(text: str, types: Iterable[str] = PII_TYPES) -> list[PiiMatch]:
    """The PII of the given ``types`` in ``text``, non-overlapping, ordered by position.

    Types claim text in the order of :data:`PII_TYPES` (see the module docstring for each
    type's rule); a candidate overlapping an earlier claim is dropped.

    >>> [m.type for m in find_pii("电话13812345678，邮箱 a.b@example.com。")]
    ['mobile', 'email']
    """
    order = _as_types(types)
    if _TRIGGER.search(text) is None:
        return []
    long_number = _LONG_NUMBER.search(text) is not None
    claimed: list[PiiMatch] = []
    for pii_type in order:
        if pii_type in _NEEDS_LONG_NUMBER and not long_number:
            continue
        earlier = tuple(claimed)
        for match in _DETECTORS[pii_type](text):
            if not any(match.start < c.end and c.start < match.end for c in earlier):
                claimed.append(match)
    claimed.sort(key=lambda m: m.start)
    return claimed


@functools.lru_cache(maxsize=64)
def _placeholders(placeholder: str) -> dict[str, str]:
    """``{type: replacement}`` from a placeholder format; ValueError if it does not format."""
    try:
        return {t: placeholder.format(label=_LABELS[t], type=t) for t in PII_TYPES}
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(
            f"placeholder {placeholder!r} does not format ({exc!r}); it may use {{label}} "
            "(ID_CARD, MOBILE, BANK_CARD, EMAIL, IP) and {type} (id_card, ..., ipv6), "
            "e.g. '<{label}>' or '[PII:{type}]'"
        ) from exc


def redact_pii(
    text: str,
    *,
    types: Iterable[str] = PII_TYPES,
    placeholder: str = _DEFAULT_PLACEHOLDER,
) -> tuple[str, Counter[str]]:
    """``text`` with its PII replaced, and how many of each type were replaced.

    ``placeholder`` is a format string with ``{label}`` (``ID_CARD``, ``MOBILE``,
    ``BANK_CARD``, ``EMAIL``, ``IP``) and/or ``{type}`` (a :data:`PII_TYPES` name). Runs to a
    fixed point (see the module docstring). The same string object comes back when nothing
    was found.

    >>> redact_pii("手机：+86 138 1234 5678。")
    ('手机：<MOBILE>。', Counter({'mobile': 1}))
    """
    order = _as_types(types)
    replacements = _placeholders(placeholder)
    counts: Counter[str] = Counter()
    for _ in range(_MAX_PASSES):
        matches = find_pii(text, order)
        if not matches:
            break
        pieces: list[str] = []
        position = 0
        for match in matches:
            pieces += (text[position : match.start], replacements[match.type])
            position = match.end
        pieces.append(text[position:])
        text = "".join(pieces)
        counts.update(match.type for match in matches)
    return text, counts


# --- the step -------------------------------------------------------------------------------------


@dataclass
class PiiRedact(DocumentStep):
    """Replace resident IDs, mobiles, bank cards, e-mails and IPs with typed placeholders.

    ``types``: which of ``id_card``, ``mobile``, ``bank_card``, ``email``, ``ipv4``, ``ipv6`` to
    redact (default all). ``placeholder``: a format string with ``{label}`` (``ID_CARD``,
    ``MOBILE``, ``BANK_CARD``, ``EMAIL``, ``IP``) and/or ``{type}``; default ``<{label}>``.
    Never drops a document; counts each redaction in ``stats.counters["pii:<type>"]``. The
    rules are in the :mod:`zslab.corpus.pii` docstring.

    >>> PiiRedact(types=("email",)).apply("邮箱 a@example.com，电话 13812345678", StepStats("x"))
    '邮箱 <EMAIL>，电话 13812345678'
    """

    name: ClassVar[str] = "pii_redact"

    types: tuple[str, ...] = PII_TYPES
    placeholder: str = _DEFAULT_PLACEHOLDER

    def __post_init__(self) -> None:
        # YAML gives a list (or one name); keep a tuple in claiming order, failing early on
        # unknown types or a placeholder that does not format.
        self.types = _as_types(self.types)
        _placeholders(self.placeholder)

    def apply(self, text: str, stats: StepStats) -> str:
        redacted, counts = redact_pii(text, types=self.types, placeholder=self.placeholder)
        for pii_type, count in counts.items():
            stats.counters[f"pii:{pii_type}"] += count
        return redacted
