"""Full-text search over cases, for Chinese and English, with filters and sorts.

Short Chinese queries are the norm (医疗, 风控, 客服), and a trigram index cannot serve queries
under three characters; so text is tokenized here, the way Lucene's CJK analyzer does it:
NFKC, lower case, every run of CJK characters → its overlapping bigrams plus the run's last
character, everything else → words of letters and digits::

    >>> tokens("信贷风控 Qwen2.5-7B")
    ['信贷', '贷风', '风控', '控', 'qwen2', '5', '7b']

The tokens, space-separated, are ``cases.search_text``. SQLite indexes them with FTS5 (table
``cases_fts``, kept by triggers on ``cases``; migration ``0006_case_search``), PostgreSQL with
a GIN index on ``to_tsvector('simple', search_text)``. A query term of Chinese text becomes the
phrase of its bigrams, so it matches exactly that substring (风控 finds 信贷风控模型, not 风景);
one character becomes a prefix (医 → bigrams starting with 医, or a run ending in it); an
English word matches whole words, the last word of the query also as a prefix (``transf``).
Terms are AND-ed. Every token is quoted, so no user input reaches FTS or SQL syntax.

Bounded work per query: a word in most cases (模型, model) matches tens of thousands of rows,
and scoring or counting all of them through the ``cases`` table costs 50–100 ms. So, as
Elasticsearch does with ``track_total_hits``, counts stop at :data:`CANDIDATES` (``total`` is
then that bound and ``total_exact`` false: the gallery shows "2,000+"), and on SQLite a text
query ranks (bm25) and pages through the newest :data:`CANDIDATES` text matches only; below
that bound every count and ranking is exact. (The text-only match count that decides this is
cheap: an FTS5 doclist scan.)
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    column,
    exists,
    func,
    literal_column,
    select,
    table,
    true,
)
from sqlalchemy.orm import Session

from zslab.cases.model import SECTORS
from zslab.errors import InvalidInput
from zslab.hub.db.orm import CaseMetricRow, CaseRow

__all__ = [
    "CANDIDATES",
    "MAX_QUERY_CHARS",
    "SORTS",
    "InvalidSearch",
    "SearchHit",
    "SearchResult",
    "include_name",
    "index_case",
    "search_cases",
    "search_text",
    "tokens",
    "unindex_case",
]

MAX_QUERY_CHARS = 200
CANDIDATES = 2000  # the most matches a query counts; on SQLite also ranks (the newest)
SORTS = ("relevance", "recent", "metric:<name>")

# Schema objects that migration 0006 creates outside orm.py; autogenerate must not drop them.
FTS_TABLE = "cases_fts"
_UNMAPPED = {"ix_cases_search_tsv"}

_fts = table(FTS_TABLE, column("rowid"))
_fts_match: ColumnElement[Any] = literal_column(
    FTS_TABLE
)  # `cases_fts MATCH :q` searches every column
_PG_TSVECTOR = func.to_tsvector(literal_column("'simple'::regconfig"), CaseRow.search_text)


class InvalidSearch(InvalidInput, ValueError):
    """A search parameter is wrong: ``field`` names it (q, sort, sector) and ``fix`` the way out.

    Also a :class:`ValueError`, for callers outside the hub."""


@dataclass(frozen=True)
class SearchHit:
    """One matching case: its id and the score it was sorted by (bm25/ts_rank relevance, the
    metric's best value, or None for ``recent``)."""

    case_id: str
    score: float | None


class SearchResult(NamedTuple):
    """One page of hits, the number of matches, and whether that number is exact (false: a
    lower bound, see the module docstring)."""

    hits: list[SearchHit]
    total: int
    total_exact: bool = True


# --- tokens ------------------------------------------------------------------------------------


def _is_cjk(char: str) -> bool:
    code = ord(char)
    return (
        0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xF900 <= code <= 0xFAFF  # compatibility ideographs
        or 0x20000 <= code <= 0x3134F  # extensions B–G
        or 0x3040 <= code <= 0x30FF  # kana
        or 0xAC00 <= code <= 0xD7AF  # hangul syllables
    )


def _runs(text: str) -> list[tuple[bool, str]]:
    """``text`` normalized and cut into runs: ``(True, cjk_run)`` or ``(False, word)``."""
    runs: list[tuple[bool, str]] = []
    current: list[str] = []
    current_cjk = False
    for char in unicodedata.normalize("NFKC", text).lower():
        cjk = _is_cjk(char)
        if not cjk and not char.isalnum():
            if current:
                runs.append((current_cjk, "".join(current)))
                current = []
            continue
        if current and cjk != current_cjk:
            runs.append((current_cjk, "".join(current)))
            current = []
        current.append(char)
        current_cjk = cjk
    if current:
        runs.append((current_cjk, "".join(current)))
    return runs


def _bigrams(run: str) -> list[str]:
    return [run[i : i + 2] for i in range(len(run) - 1)] or [run]


def tokens(text: str) -> list[str]:
    """The index tokens of ``text``: CJK bigrams (plus each run's last character, so that a
    one-character query finds characters at the end of a run too) and lower-cased words."""
    out: list[str] = []
    for cjk, run in _runs(text):
        if not cjk or len(run) == 1:
            out.append(run)
        else:
            out += [*_bigrams(run), run[-1]]
    return out


def search_text(
    *,
    title: str,
    title_en: str = "",
    summary: str = "",
    tags: Sequence[str] = (),
    model: str = "",
    datasets: Sequence[str] = (),
) -> str:
    """The searchable text of a case: the tokens of every field, space-separated.

    >>> search_text(title="医疗影像", tags=["CT"], model="Qwen2.5-7B-LoRA")
    '医疗 疗影 影像 像 ct qwen2 5 7b lora'
    """
    # Fields are tokenized one by one so that a phrase never spans two fields.
    fields = [title, title_en, summary, *tags, model, *datasets]
    return " ".join(token for text in fields if text for token in tokens(text))


def index_case(session: Session, case: CaseRow) -> None:
    """(Re)compute ``case.search_text`` from the row's fields and write it; the search index
    follows in the same transaction (SQLite: triggers on ``cases``; PostgreSQL: an expression
    index). Call after the row is added; it flushes."""
    case.search_text = search_text(
        title=case.title,
        title_en=case.title_en or "",
        summary=case.summary or "",
        tags=case.tags or (),
        model=case.model or "",
        datasets=case.datasets or (),
    )
    session.flush()


def unindex_case(session: Session, case: CaseRow) -> None:
    """Take ``case`` out of text search (listings without ``q`` still see it: visibility is the
    caller's ``where``). :func:`index_case` puts it back."""
    case.search_text = ""
    session.flush()


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Alembic ``include_name`` hook: hide the search objects that orm.py does not map (the FTS5
    table and its shadow tables, the tsvector index) from autogenerate and ``migrate check``."""
    if name is None:
        return True
    if type_ == "table":
        return name != FTS_TABLE and not name.startswith(FTS_TABLE + "_")
    if type_ == "index":
        return name not in _UNMAPPED
    return True


# --- queries ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Phrase:
    """Consecutive tokens that must appear in this order; ``prefix``: the last one may be the
    start of a longer token."""

    tokens: tuple[str, ...]
    prefix: bool = False


def _phrases(query: str) -> list[_Phrase]:
    """The AND-ed phrases of a user query: one per whitespace-separated term, its tokens in
    the order :func:`tokens` indexes them."""
    phrases: list[_Phrase] = []
    terms = query.split()
    for number, term in enumerate(terms):
        current: list[str] = []
        runs = _runs(term)
        for index, (cjk, run) in enumerate(runs):
            ends_term = index == len(runs) - 1
            if cjk and ends_term and len(run) == 1:
                # One character may start a bigram: a prefix (FTS5 and tsquery allow a prefix
                # on a phrase's last token only, and this is the term's last run).
                phrases.append(_Phrase((*current, run), prefix=True))
                current = []
            elif cjk and ends_term:
                current += _bigrams(run)  # the text's run may go on: no run-end token
            elif cjk:
                current += tokens(run)  # the text's run ends here too, as its tokens say
            elif ends_term and number == len(terms) - 1:
                # The last word typed may be unfinished: "transf" finds transformer.
                phrases.append(_Phrase((*current, run), prefix=True))
                current = []
            else:
                current.append(run)
        if current:
            phrases.append(_Phrase(tuple(current)))
    return phrases


def _quoted(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _fts5_expression(phrases: Sequence[_Phrase]) -> str:
    """``"贷风" + "风控" AND "transf"*``: every token a quoted string, so no FTS5 syntax."""
    parts = []
    for phrase in phrases:
        text = " + ".join(_quoted(token) for token in phrase.tokens)
        parts.append(text + ("*" if phrase.prefix else ""))
    return " AND ".join(parts)


def _tsquery_expression(phrases: Sequence[_Phrase]) -> str:
    """``'贷风' <-> '风控' & 'transf':*`` for ``to_tsquery('simple', …)`` (a bound parameter)."""
    parts = []
    for phrase in phrases:
        quoted = [
            "'" + token.replace("'", "''").replace("\\", "\\\\") + "'" for token in phrase.tokens
        ]
        if phrase.prefix:
            quoted[-1] += ":*"
        parts.append("(" + " <-> ".join(quoted) + ")")
    return " & ".join(parts)


def _like_condition(phrase: _Phrase) -> ColumnElement[bool]:
    """The portable fallback: the phrase as a substring of `` search_text ``."""
    pattern = " ".join(phrase.tokens)
    pattern = pattern.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    padded: ColumnElement[str] = literal_column("' '") + CaseRow.search_text + literal_column("' '")
    return padded.like(f"% {pattern}{'%' if phrase.prefix else ' %'}", escape="\\")


def _check_query(query: str | None) -> list[_Phrase]:
    if query is None:
        return []
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidSearch(
            f"The search text is {len(query)} characters long; at most {MAX_QUERY_CHARS} "
            "are searched.",
            field="q",
            fix="Search for a few words, e.g. 风控 or credit scoring.",
        )
    return _phrases(query)


def _check_sort(sort: str) -> str | None:
    """The metric name of ``metric:<name>``, None for the other sorts."""
    if sort in ("relevance", "recent"):
        return None
    if sort.startswith("metric:") and sort.removeprefix("metric:").strip():
        return sort.removeprefix("metric:").strip()
    raise InvalidSearch(
        f"Unknown sort {sort!r}.",
        field="sort",
        fix="Use one of: " + ", ".join(SORTS) + " (e.g. metric:accuracy).",
    )


def _filters(
    *,
    where: ColumnElement[bool] | None,
    sector: str | None,
    task: str | None,
    dataset: str | None,
    org_id: str | None,
    license: str | None,
    reproduced_only: bool,
) -> list[ColumnElement[bool]]:
    if sector is not None and sector not in SECTORS:
        raise InvalidSearch(
            f"Unknown sector {sector!r}.",
            field="sector",
            fix="Use one of: " + ", ".join(SECTORS) + ".",
        )
    conditions: list[ColumnElement[bool]] = [] if where is None else [where]
    if sector is not None:
        conditions.append(CaseRow.sector == sector)
    if task is not None:
        conditions.append(CaseRow.task == task)
    if org_id is not None:
        conditions.append(CaseRow.org_id == org_id)
    if license is not None:
        conditions.append(CaseRow.license == license)
    if reproduced_only:
        conditions.append(CaseRow.reproduced.is_(True))
    if dataset is not None:
        # Every dataset a case names has metric rows; EXISTS is portable where JSON is not.
        conditions.append(
            exists()
            .where(CaseMetricRow.case_id == CaseRow.id)
            .where(CaseMetricRow.dataset == dataset)
        )
    return conditions


def search_cases(
    session: Session,
    query: str | None,
    *,
    where: ColumnElement[bool] | None = None,
    sector: str | None = None,
    task: str | None = None,
    dataset: str | None = None,
    org_id: str | None = None,
    license: str | None = None,
    reproduced_only: bool = False,
    sort: str = "relevance",
    limit: int = 20,
    offset: int = 0,
) -> SearchResult:
    """Cases matching ``query`` (None or blank: no text filter) and the filters, in ``sort``
    order (``relevance``, ``recent`` = newest update first, ``metric:<name>`` = best published
    value first, cases without that metric left out); returns one page, the total and whether
    it is exact (see the module docstring)::

        hits, total, exact = search_cases(session, "风控 lora", sector="finance", sort="metric:auc")

    Raises :class:`InvalidSearch` (a ValueError) naming ``q``, ``sort`` or ``sector``.
    """
    phrases = _check_query(query)
    metric = _check_sort(sort)
    conditions = _filters(
        where=where,
        sector=sector,
        task=task,
        dataset=dataset,
        org_id=org_id,
        license=license,
        reproduced_only=reproduced_only,
    )
    dialect = session.get_bind().dialect.name
    score: ColumnElement[Any] | None = None
    base: Select[Any] = select(CaseRow.id)
    exact = True
    counted: Select[Any] = select(CaseRow.id)  # the same rows as ``base``, without scores
    if phrases and dialect == "sqlite":
        matching = _fts_match.op("MATCH")(_fts5_expression(phrases))
        matched = session.scalar(select(func.count()).select_from(_fts).where(matching)) or 0
        exact = matched <= CANDIDATES

        def newest(*scores: ColumnElement[Any]) -> Any:
            return (
                select(_fts.c.rowid.label("case_rowid"), *scores)
                .where(matching)
                .order_by(_fts.c.rowid.desc())
                .limit(CANDIDATES)
                .subquery()
            )

        candidates, plain = newest(func.bm25(_fts_match).label("bm25")), newest()
        base = base.join(candidates, candidates.c.case_rowid == literal_column("cases.rowid"))
        counted = counted.join(plain, plain.c.case_rowid == literal_column("cases.rowid"))
        score = -candidates.c.bm25  # bm25 is smaller for better matches
    elif phrases and dialect == "postgresql":
        tsquery = func.to_tsquery(
            literal_column("'simple'::regconfig"), _tsquery_expression(phrases)
        )
        conditions.append(_PG_TSVECTOR.op("@@")(tsquery))
        score = func.ts_rank(_PG_TSVECTOR, tsquery)
    elif phrases:
        conditions += [_like_condition(phrase) for phrase in phrases]
    order: list[Any] = []
    if metric is not None:
        # The best published value per case: sign-flipped for lower-is-better metrics, so the
        # largest key is always the best value.
        signed = case(
            (CaseMetricRow.higher_is_better, CaseMetricRow.value), else_=-CaseMetricRow.value
        )
        best = (
            select(
                CaseMetricRow.case_id.label("case_id"),
                func.max(signed).label("key"),
                func.max(case((CaseMetricRow.higher_is_better, 1), else_=0)).label("higher"),
            )
            .where(CaseMetricRow.metric == metric, CaseMetricRow.published.is_(True))
            .group_by(CaseMetricRow.case_id)
            .subquery()
        )
        base = base.join(best, best.c.case_id == CaseRow.id)
        counted = counted.join(best, best.c.case_id == CaseRow.id)
        score = case((best.c.higher == 1, best.c.key), else_=-best.c.key)
        order = [best.c.key.desc()]
    elif score is not None and sort == "relevance":
        order = [score.desc()]
    base = base.where(and_(true(), *conditions))
    # Counted up to the bound only: a listing of every public case need not visit them all.
    counted = counted.where(and_(true(), *conditions)).limit(CANDIDATES + 1)
    total = session.scalar(select(func.count()).select_from(counted.subquery())) or 0
    if total > CANDIDATES:
        total, exact = CANDIDATES, False
    if total == 0 or limit <= 0:
        return SearchResult([], total, exact)
    order += [CaseRow.updated_at.desc(), CaseRow.id]
    if score is None or sort == "recent":
        score = literal_column("NULL")
    page = session.execute(
        base.add_columns(score.label("score")).order_by(*order).limit(limit).offset(offset)
    )
    return SearchResult([SearchHit(case_id=row[0], score=row[1]) for row in page], total, exact)
