"""Cursor pagination: ``?limit=50&cursor=…`` → ``{"items": [...], "next_cursor": "…"}``.

The cursor is an opaque token holding the sort key of the last item shown, so pages stay
stable while rows are added (no offsets that shift).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Query
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Session

from zslab.errors import InvalidInput
from zslab.schemas import Page

__all__ = ["Cursor", "Limit", "decode_cursor", "encode_cursor", "paginate"]

T = TypeVar("T")

Limit = Annotated[int, Query(ge=1, le=500, description="Items per page.")]
Cursor = Annotated[str | None, Query(description="next_cursor of the previous page.")]


def encode_cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"k": key}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> Any:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))["k"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise InvalidInput(
            "The cursor is not one this hub issued.",
            field="cursor",
            fix="Pass the next_cursor value of the previous page unchanged, or omit it.",
        ) from exc


def paginate(
    session: Session,
    statement: Select[*tuple[Any, ...]],
    key: InstrumentedAttribute[Any],
    *,
    limit: int,
    cursor: str | None,
    to_item: Callable[[Any], T],
    descending: bool = False,
) -> Page[T]:
    """Run ``statement`` ordered by ``key`` and cut one page after ``cursor``."""
    if cursor is not None:
        after = decode_cursor(cursor)
        statement = statement.where(key < after if descending else key > after)
    statement = statement.order_by(key.desc() if descending else key.asc()).limit(limit + 1)
    rows: Sequence[Any] = session.execute(statement).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    items = [to_item(row[0] if len(row) == 1 else row) for row in rows]
    next_cursor = None
    if has_more and rows:
        last = rows[-1]
        last_obj = last[0]
        next_cursor = encode_cursor(getattr(last_obj, key.key))
    return Page[Any](items=items, next_cursor=next_cursor)
