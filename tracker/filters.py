"""The shared filter: which entries a view, an export or a report covers.

Filter values are only ever passed to SQL as parameters; the SQL text is built
from fixed fragments chosen by which filters are set.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Filters:
    """Selected values per dimension; an empty tuple means "all"."""

    programmes: tuple[str, ...] = ()
    partnerships: tuple[str, ...] = ()  # slugs
    date_from: date | None = None
    date_to: date | None = None
    typologies: tuple[str, ...] = ()  # slugs
    mechanisms: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    sectors: tuple[str, ...] = ()

    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return all(not getattr(self, f.name) for f in fields(self))

    def where(self, alias: str = "e") -> tuple[str, list[Any]]:
        """A SQL condition on ``entries AS alias`` and its parameters (``TRUE`` when empty).

        A fuzzy date matches a range when the period it covers overlaps the range.
        """
        clauses: list[str] = []
        params: list[Any] = []

        def within(column: str, values: tuple[str, ...]) -> None:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)

        if self.programmes:
            clauses.append(
                f"{alias}.partnership IN (SELECT slug FROM partnerships WHERE programme IN "
                f"({', '.join('?' for _ in self.programmes)}))"
            )
            params.extend(self.programmes)
        if self.partnerships:
            within(f"{alias}.partnership", self.partnerships)
        if self.date_from:
            clauses.append(f"{alias}.date_end >= ?")
            params.append(self.date_from)
        if self.date_to:
            clauses.append(f"{alias}.date_start <= ?")
            params.append(self.date_to)
        if self.typologies:
            within(f"{alias}.typology", self.typologies)
        if self.kinds:
            within(f"{alias}.kind", self.kinds)
        if self.statuses:
            within(f"{alias}.status", self.statuses)
        for table, column, values in (
            ("entry_mechanisms", "mechanism", self.mechanisms),
            ("entry_sectors", "sector", self.sectors),
        ):
            if values:
                clauses.append(
                    f"{alias}.id IN (SELECT entry_id FROM {table} WHERE {column} IN "
                    f"({', '.join('?' for _ in values)}))"
                )
                params.extend(values)
        return (" AND ".join(clauses) or "TRUE"), params
