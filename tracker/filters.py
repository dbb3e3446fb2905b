"""The shared filter: which entries a view, an export or a report covers.

Filter values are only ever passed to SQL as parameters; the SQL text is built
from fixed fragments chosen by which filters are set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time
from typing import TYPE_CHECKING, Any

from tracker.models import CONTRIBUTIONS, FuzzyDate

if TYPE_CHECKING:
    from tracker.taxonomy import Vocab


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
    conditions: tuple[str, ...] = ()  # second typology: entries whose typology maps to these
    contributions: tuple[str, ...] = ()  # the programme's contribution: direct, contributory…
    as_at: datetime | None = None  # show the tracker as it stood at this moment (UTC)

    def is_empty(self) -> bool:
        """True when nothing is filtered (and the view is of now)."""
        return all(not getattr(self, f.name) for f in fields(self))

    def scope(self) -> tuple[str, list[Any]]:
        """CTEs every read query starts from: ``cur_entries``, ``cur_mechanisms``, ``cur_sectors``.

        Now: the live, not-deleted entries. With ``as_at``: each entry's latest version recorded
        at or before that moment, rebuilt from the append-only history (deleted ones left out).
        """
        if self.as_at is None:
            return _CURRENT, []
        return _AS_AT, [self.as_at]

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
        if self.contributions:
            within(f"{alias}.contribution", self.contributions)
        if self.statuses:
            within(f"{alias}.status", self.statuses)
        if self.conditions:
            clauses.append(
                f"{alias}.typology IN (SELECT typology FROM crosswalk WHERE condition IN "
                f"({', '.join('?' for _ in self.conditions)}))"
            )
            params.extend(self.conditions)
        for table, column, values in (
            ("cur_mechanisms", "mechanism", self.mechanisms),
            ("cur_sectors", "sector", self.sectors),
        ):
            if values:
                clauses.append(
                    f"{alias}.id IN (SELECT entry_id FROM {table} WHERE {column} IN ({', '.join('?' for _ in values)}))"
                )
                params.extend(values)
        return (" AND ".join(clauses) or "TRUE"), params


# NOT MATERIALIZED: a query that names cur_entries twice reads the table twice, rather than
# DuckDB copying every entry into a temporary result first (much slower at a million entries).
_CURRENT = """
cur_entries AS NOT MATERIALIZED (SELECT * FROM entries WHERE deleted_at IS NULL),
cur_mechanisms AS NOT MATERIALIZED (SELECT entry_id, mechanism FROM entry_mechanisms),
cur_sectors AS NOT MATERIALIZED (SELECT entry_id, sector FROM entry_sectors)
"""
_AS_AT = """
cur_versions AS (
    SELECT h.*, h.recorded_at AS updated_at, h.recorded_by AS updated_by
    FROM entry_history h
    WHERE h.recorded_at <= ?
    QUALIFY row_number() OVER (PARTITION BY h.id ORDER BY h.version DESC) = 1
),
cur_entries AS (SELECT * FROM cur_versions WHERE NOT deleted),
cur_mechanisms AS (SELECT id AS entry_id, unnest(mechanisms) AS mechanism FROM cur_entries),
cur_sectors AS (SELECT id AS entry_id, unnest(sectors) AS sector FROM cur_entries)
"""


# Heatmap and drill-down dimensions -> the Filters field that narrows to one value of them.
DIMENSIONS: dict[str, str] = {
    "partnership": "partnerships",
    "typology": "typologies",
    "mechanism": "mechanisms",
    "sector": "sectors",
    "status": "statuses",
    "kind": "kinds",
    "condition": "conditions",
}


def narrow(filters: Filters, dimension: str, key: str) -> Filters:
    """The filter further narrowed to entries whose ``dimension`` is ``key`` (a heatmap cell)."""
    return replace(filters, **{DIMENSIONS[dimension]: (key,)})  # type: ignore[arg-type]


# URL query parameters: one name per filter, repeated for several values, slugs as values.
PARAMS: dict[str, str] = {
    "programme": "programmes",
    "partnership": "partnerships",
    "typology": "typologies",
    "mechanism": "mechanisms",
    "kind": "kinds",
    "status": "statuses",
    "sector": "sectors",
    "condition": "conditions",
    "contribution": "contributions",
}
_VOCABULARY = {
    "partnership": "partnership",
    "typology": "typology",
    "mechanism": "mechanism",
    "status": "status",
    "sector": "sector",
    "condition": "condition",
}


EARLIEST = date(1900, 1, 1)
"""The earliest day a filter date can be: entries are dated 1900 or later (tracker.models)."""


def from_params(params: Mapping[str, list[str]], vocab: Vocab, today: date | None = None) -> tuple[Filters, list[str]]:
    """Read filters from URL query parameters; unknown values are dropped with a note saying so.

    Dates are kept between :data:`EARLIEST` and ``today`` (default: today), as the date pickers
    are: a 'to' date or an 'as_at' day after today is no filter (no entry is dated after today, and
    the tracker as at a later day is the tracker now); a 'from' date after today would match
    nothing. Each such date is dropped with a note, unless the period it names includes today
    (``to=2026`` in 2026)."""
    today = today or date.today()
    notes: list[str] = []
    values: dict[str, Any] = {}
    programmes = {p.programme for p in vocab.partnerships}
    for param, field_name in PARAMS.items():
        chosen: list[str] = []
        for raw in params.get(param, []):
            text = raw.strip()
            if not text:
                continue
            if param == "programme":
                match = next((p for p in programmes if p.casefold() == text.casefold()), None)
            elif param == "kind":
                match = text.casefold() if text.casefold() in ("milestone", "setback") else None
            elif param == "contribution":
                match = text.casefold() if text.casefold() in CONTRIBUTIONS else None
            else:
                match = vocab[_VOCABULARY[param]].resolve(text)
            if match is None:
                notes.append(f"The link asked for {param} '{text}', which this tracker does not have; ignored.")
            elif match not in chosen:
                chosen.append(match)
        values[field_name] = tuple(chosen)
    for param, attr, edge in (("from", "date_from", "start"), ("to", "date_to", "end")):
        raw_values = [v for v in params.get(param, []) if v.strip()]
        if not raw_values:
            continue
        try:
            parsed = FuzzyDate.parse(raw_values[-1])
        except ValueError as exc:  # the model's words: what is wrong, and the forms a date may take
            notes.append(f"The link's '{param}' date is ignored: {exc}.")
            continue
        if parsed.start > today:
            notes.append(
                f"The link's '{param}' date {parsed.text} is after today; ignored"
                + (": no entry is dated after today." if param == "from" else " (no entry is dated after today).")
            )
        elif parsed.end <= today or param == "from":
            values[attr] = getattr(parsed, edge)
    raw_as_at = [v for v in params.get("as_at", []) if v.strip()]
    if raw_as_at:
        try:
            day = date.fromisoformat(raw_as_at[-1].strip())
        except ValueError:
            notes.append(f"The link's 'as_at' date '{raw_as_at[-1]}' is not a date (use YYYY-MM-DD); ignored.")
        else:
            if day > today:
                notes.append(
                    f"The link's 'as_at' date {day:%Y-%m-%d} is after today: the tracker is shown as it is now."
                )
            elif day < EARLIEST:
                notes.append(
                    f"The link's 'as_at' date {day:%Y-%m-%d} is before {EARLIEST.year}, the earliest day "
                    "the tracker can be shown as at; ignored."
                )
            else:
                values["as_at"] = end_of_day(day)
    if values.get("date_from") and values.get("date_to") and values["date_from"] > values["date_to"]:
        notes.append("The link's 'from' date is after its 'to' date; both ignored.")
        values.pop("date_from")
        values.pop("date_to")
    return Filters(**values), notes


def to_params(filters: Filters) -> dict[str, list[str]]:
    """URL query parameters reproducing ``filters`` (only what is set)."""
    out: dict[str, list[str]] = {}
    for param, field_name in PARAMS.items():
        selected = getattr(filters, field_name)
        if selected:
            out[param] = list(selected)
    if filters.date_from:
        out["from"] = [filters.date_from.isoformat()]
    if filters.date_to:
        out["to"] = [filters.date_to.isoformat()]
    if filters.as_at:
        out["as_at"] = [filters.as_at.date().isoformat()]
    return out


def end_of_day(day: date) -> datetime:
    """The last moment of ``day`` (UTC): "as at 1 March" includes everything recorded on 1 March."""
    return datetime.combine(day, time.max)


def describe(filters: Filters, vocab: Vocab) -> str:
    """The filter in words, for captions, downloads and meeting packs ("All entries" when empty)."""
    parts: list[str] = []

    def names(vocabulary: str, slugs: tuple[str, ...]) -> str:
        return ", ".join(vocab[vocabulary].label(s) for s in slugs)

    if filters.programmes:
        parts.append("programme: " + ", ".join(filters.programmes))
    if filters.partnerships:
        parts.append("partnerships: " + names("partnership", filters.partnerships))
    if filters.date_from or filters.date_to:
        start = filters.date_from.isoformat() if filters.date_from else "the start"
        end = filters.date_to.isoformat() if filters.date_to else "now"
        parts.append(f"dates: {start} to {end}")
    if filters.kinds:
        parts.append("kind: " + ", ".join(f"{k}s" for k in filters.kinds))
    if filters.contributions:
        parts.append("programme's contribution: " + ", ".join(filters.contributions))
    for label, vocabulary, selected in (
        ("typology", "typology", filters.typologies),
        ("status", "status", filters.statuses),
        ("mechanisms", "mechanism", filters.mechanisms),
        ("sectors", "sector", filters.sectors),
        ("conditions", "condition", filters.conditions),
    ):
        if selected:
            parts.append(f"{label}: {names(vocabulary, selected)}")
    if filters.as_at:
        day = filters.as_at.date()
        if filters.as_at == end_of_day(day):  # a date, as the app and links give it
            parts.append(f"as at the end of {day.isoformat()} (UTC)")
        else:  # a moment within the day (``report --as-at DATETIME``)
            parts.append(f"as at {filters.as_at:%Y-%m-%d %H:%M} (UTC)")
    return "; ".join(parts) if parts else "All entries"
