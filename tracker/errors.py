"""Turning validation failures into the user's words, once, for form, importer and CLI."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with the input: where (row, column) and what, in plain words.

    ``unit`` names what ``row`` counts: a spreadsheet's "row" (header = row 1), or a JSON or Parquet
    file's "record" (the first record is record 1).
    """

    row: int | None
    column: str | None
    message: str
    unit: str = "row"

    def __str__(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"{self.unit} {self.row}")
        if self.column:
            where.append(f"column {self.column}")
        return f"{', '.join(where)}: {self.message}" if where else self.message


class InvalidInput(Exception):
    """Raised when input is invalid; carries every problem found."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


def _message(err: Any) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "missing" or (value is None and kind.endswith("_type")):
        return "is required"
    if kind == "string_too_short":
        return "is required" if not value else f"is too short (at least {ctx.get('min_length')} characters)"
    if kind == "string_too_long":
        n = len(value) if isinstance(value, str) else "?"
        return f"is too long: {n} characters, the limit is {ctx.get('max_length')}; shorten it"
    if kind == "string_pattern_mismatch":
        return f"'{value}' may contain only letters, digits and . _ : - and must start with a letter or digit"
    if kind in ("string_type", "list_type"):
        return f"must be text, got {type(value).__name__}"
    if kind == "extra_forbidden":
        return "is not a column of the interchange format"
    if kind == "literal_error":
        return f"'{value}' is not allowed; expected {ctx.get('expected')}"
    return str(err["msg"]).removeprefix("Value error, ")


def problems(exc: ValidationError, row: int | None = None, unit: str = "row") -> list[Problem]:
    """The problems in a Pydantic ``ValidationError``, one per field, in plain words (at ``unit`` ``row``)."""
    out = []
    for err in exc.errors(include_url=False):
        loc = err.get("loc") or ()
        column = str(loc[0]) if loc else None
        out.append(Problem(row, column, _message(err), unit))
    return out
