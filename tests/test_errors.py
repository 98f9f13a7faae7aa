"""The error tree: problem documents map to their class; the fix is part of the text."""

from __future__ import annotations

import pytest

from zslab.errors import Conflict, InvalidInput, NotFound, ServerError, error_class_for


@pytest.mark.parametrize(
    ("status", "problem_type", "expected"),
    [
        (404, None, NotFound),
        (409, "/api/v1/problems/conflict", Conflict),
        (400, "/api/v1/problems/invalid-input", InvalidInput),  # type wins over status
        (599, None, ServerError),
    ],
)
def test_error_class_for_problem(status: int, problem_type: str | None, expected: type) -> None:
    assert error_class_for(status, problem_type) is expected


def test_error_text_includes_the_fix_once() -> None:
    err = NotFound("No user 'x'.", fix="Add it.")
    assert str(err) == "No user 'x'. Fix: Add it."
