"""Writing entries: one set-based path for a single form save and a 100k-row import.

Validated rows are staged in a temporary table, compared with what is stored,
and applied in one transaction (insert new, update changed, leave the rest), so
a write either happens completely or not at all.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import ValidationError

from tracker.errors import InvalidInput, Problem, problems
from tracker.models import Entry, EntryIn, FuzzyDate
from tracker.store import Store, utcnow
from tracker.taxonomy import Vocab, normalise

STAGED_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("row_no", pa.int64()),
    ("id", pa.string()),
    ("partnership", pa.string()),
    ("date_text", pa.string()),
    ("date_precision", pa.string()),
    ("date_start", pa.date32()),
    ("date_end", pa.date32()),
    ("kind", pa.string()),
    ("title", pa.string()),
    ("description", pa.string()),
    ("typology", pa.string()),
    ("status", pa.string()),
    ("host", pa.string()),
    ("structure", pa.string()),
    ("structure_key", pa.string()),
    ("source", pa.string()),
    ("mechanisms", pa.list_(pa.string())),
    ("sectors", pa.list_(pa.string())),
)
STAGED_SCHEMA = pa.schema([pa.field(name, kind) for name, kind in STAGED_COLUMNS])

_STAGING_DDL = """
CREATE OR REPLACE TEMP TABLE staged (
    row_no BIGINT, id VARCHAR, partnership VARCHAR, date_text VARCHAR, date_precision VARCHAR,
    date_start DATE, date_end DATE, kind VARCHAR, title VARCHAR, description VARCHAR,
    typology VARCHAR, status VARCHAR, host VARCHAR, structure VARCHAR, structure_key VARCHAR,
    source VARCHAR, mechanisms VARCHAR[], sectors VARCHAR[]
)
"""

# Which staged rows are new, changed or identical to what is stored.
_PLAN = """
CREATE OR REPLACE TEMP TABLE plan AS
WITH mech AS (
    SELECT entry_id, list(mechanism ORDER BY mechanism) AS mechanisms
    FROM entry_mechanisms WHERE entry_id IN (SELECT id FROM staged) GROUP BY entry_id
), sect AS (
    SELECT entry_id, list(sector ORDER BY sector) AS sectors
    FROM entry_sectors WHERE entry_id IN (SELECT id FROM staged) GROUP BY entry_id
)
SELECT s.*,
       e.id IS NULL AS is_new,
       e.id IS NOT NULL AND (
            e.partnership IS DISTINCT FROM s.partnership
         OR e.date_text IS DISTINCT FROM s.date_text
         OR e.kind IS DISTINCT FROM s.kind
         OR e.title IS DISTINCT FROM s.title
         OR e.description IS DISTINCT FROM s.description
         OR e.typology IS DISTINCT FROM s.typology
         OR e.status IS DISTINCT FROM s.status
         OR e.host IS DISTINCT FROM s.host
         OR e.structure IS DISTINCT FROM s.structure
         OR e.source IS DISTINCT FROM s.source
         OR coalesce(mech.mechanisms, []::VARCHAR[]) <> list_sort(s.mechanisms)
         OR coalesce(sect.sectors, []::VARCHAR[]) <> list_sort(s.sectors)
       ) AS is_changed
FROM staged s
LEFT JOIN entries e ON e.id = s.id
LEFT JOIN mech ON mech.entry_id = s.id
LEFT JOIN sect ON sect.entry_id = s.id
"""

_INSERT_NEW = """
INSERT INTO entries (id, seq, partnership, date_text, date_precision, date_start, date_end, kind,
                     title, description, typology, status, host, structure, structure_key, source,
                     created_at, updated_at)
SELECT id, (SELECT coalesce(max(seq), 0) FROM entries) + row_number() OVER (ORDER BY row_no),
       partnership, date_text, date_precision, date_start, date_end, kind, title, description,
       typology, status, host, structure, structure_key, source, ?, ?
FROM plan WHERE is_new
"""

_UPDATE_CHANGED = """
UPDATE entries SET
    partnership = p.partnership, date_text = p.date_text, date_precision = p.date_precision,
    date_start = p.date_start, date_end = p.date_end, kind = p.kind, title = p.title,
    description = p.description, typology = p.typology, status = p.status, host = p.host,
    structure = p.structure, structure_key = p.structure_key, source = p.source, updated_at = ?
FROM plan p
WHERE entries.id = p.id AND p.is_changed
"""


def new_id() -> str:
    """A fresh entry id (64 random bits, hex)."""
    return uuid.uuid4().hex[:16]


def structure_key(name: str | None) -> str | None:
    """The matching key of a structure name: entries with equal keys share a history."""
    return normalise(name) if name else None


def validate(vocab: Vocab, data: Mapping[str, Any], row: int | None = None) -> EntryIn:
    """Validate one record with the model; raise :class:`InvalidInput` with plain-word problems."""
    try:
        return EntryIn.model_validate(dict(data), context={"vocab": vocab})
    except ValidationError as exc:
        raise InvalidInput(problems(exc, row)) from None


class Staging:
    """Validated rows collected in a temporary table on one cursor, then planned and applied."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cur = store.cursor()
        self.cur.execute(_STAGING_DDL)
        self._columns: dict[str, list[Any]] = {name: [] for name, _ in STAGED_COLUMNS}
        self.count = 0

    def add(self, entry: EntryIn, row_no: int) -> None:
        """Queue one validated entry; flushed to the database in batches."""
        d = entry.fuzzy_date
        values = (
            row_no,
            entry.id or new_id(),
            entry.partnership,
            d.text,
            d.precision.value,
            d.start,
            d.end,
            entry.kind,
            entry.title,
            entry.description,
            entry.typology,
            entry.status,
            entry.host,
            entry.structure,
            structure_key(entry.structure),
            entry.source,
            entry.mechanisms,
            entry.sectors,
        )
        for (name, _), value in zip(STAGED_COLUMNS, values, strict=True):
            self._columns[name].append(value)
        self.count += 1

    def flush(self) -> None:
        """Write the queued rows into the staging table in one set-based insert."""
        if not self._columns["row_no"]:
            return
        batch = pa.table(self._columns, schema=STAGED_SCHEMA)
        self.cur.register("staged_batch", batch)
        try:
            self.cur.execute("INSERT INTO staged SELECT * FROM staged_batch")
        finally:
            self.cur.unregister("staged_batch")
        self._columns = {name: [] for name, _ in STAGED_COLUMNS}

    def duplicate_ids(self, unit: str = "row") -> list[Problem]:
        """Ids that appear on more than one row of the input."""
        self.flush()
        rows = self.cur.execute(
            "SELECT id, list(row_no ORDER BY row_no) FROM staged GROUP BY id HAVING count(*) > 1"
            " ORDER BY min(row_no) LIMIT 1000"
        ).fetchall()
        return [
            Problem(
                nums[1],
                "id",
                f"id '{id_}' is used on {unit}s {', '.join(map(str, nums))}; ids must be unique",
            )
            for id_, nums in rows
        ]

    def plan(self) -> dict[str, int]:
        """Compare staged rows with the store; return counts of created, updated, unchanged."""
        self.flush()
        self.cur.execute(_PLAN)
        new, changed, total = self.cur.execute(
            "SELECT count(*) FILTER (is_new), count(*) FILTER (is_changed), count(*) FROM plan"
        ).fetchone()  # type: ignore[misc]
        return {"created": new, "updated": changed, "unchanged": total - new - changed}

    def preview(self, limit: int = 200) -> list[dict[str, Any]]:
        """The first planned changes, for a dry-run preview."""
        rows = self.cur.execute(
            "SELECT row_no, CASE WHEN is_new THEN 'create' WHEN is_changed THEN 'update'"
            " ELSE 'unchanged' END,"
            " id, partnership, date_text, kind, title FROM plan ORDER BY row_no LIMIT ?",
            [limit],
        ).fetchall()
        keys = ("row", "action", "id", "partnership", "date", "kind", "title")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def apply(self) -> None:
        """Write the plan in one transaction: insert new, update changed, replace their lists."""
        now = utcnow()
        cur = self.cur
        cur.execute("BEGIN TRANSACTION")
        try:
            cur.execute(_INSERT_NEW, [now, now])
            cur.execute(_UPDATE_CHANGED, [now])
            for table, column in (("entry_mechanisms", "mechanisms"), ("entry_sectors", "sectors")):
                key = column[:-1]
                cur.execute(f"DELETE FROM {table} WHERE entry_id IN (SELECT id FROM plan WHERE is_changed)")
                cur.execute(
                    f"INSERT INTO {table} (entry_id, {key})"
                    f" SELECT id, unnest({column}) FROM plan WHERE is_new OR is_changed"
                )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Drop the temporary tables and the cursor."""
        with contextlib.suppress(duckdb.Error):
            self.cur.execute("DROP TABLE IF EXISTS staged; DROP TABLE IF EXISTS plan")
        self.cur.close()


class NotFound(Exception):
    """No entry has that id."""


def save_entry(store: Store, data: Mapping[str, Any], *, expect: str = "any") -> Entry:
    """Validate and store one entry; ``expect`` is ``new`` (create), ``existing`` (edit) or ``any``.

    Raises :class:`InvalidInput` with per-field problems; nothing is stored then.
    """
    entry = validate(store.vocab(), data)
    if expect == "new" and entry.id and get_entry(store, entry.id) is not None:
        raise InvalidInput([Problem(None, "id", f"an entry with id '{entry.id}' already exists")])
    if expect == "existing":
        if not entry.id:
            raise InvalidInput([Problem(None, "id", "is required to edit an entry")])
        if get_entry(store, entry.id) is None:
            raise NotFound(entry.id)
    staging = Staging(store)
    try:
        staging.add(entry, 1)
        staging.plan()
        entry_id = staging.cur.execute("SELECT id FROM plan").fetchone()[0]  # type: ignore[index]
        staging.apply()
    finally:
        staging.close()
    saved = get_entry(store, entry_id)
    assert saved is not None
    return saved


def delete_entry(store: Store, entry_id: str) -> None:
    """Remove an entry and its mechanisms and sectors."""
    with store.transaction() as cur:
        found = cur.execute("SELECT count(*) FROM entries WHERE id = ?", [entry_id]).fetchone()[0]  # type: ignore[index]
        if not found:
            raise NotFound(entry_id)
        cur.execute("DELETE FROM entry_mechanisms WHERE entry_id = ?", [entry_id])
        cur.execute("DELETE FROM entry_sectors WHERE entry_id = ?", [entry_id])
        cur.execute("DELETE FROM entries WHERE id = ?", [entry_id])


def get_entry(store: Store, entry_id: str) -> Entry | None:
    """One stored entry by id, or ``None``."""
    cur = store.cursor()
    row = cur.execute(
        "SELECT id, partnership, date_text, kind, title, description, typology, status, host,"
        " structure, source, created_at, updated_at,"
        " (SELECT list(mechanism ORDER BY mechanism) FROM entry_mechanisms WHERE entry_id = e.id),"
        " (SELECT list(sector ORDER BY sector) FROM entry_sectors WHERE entry_id = e.id)"
        " FROM entries e WHERE id = ?",
        [entry_id],
    ).fetchone()
    if row is None:
        return None
    keys = (
        "id",
        "partnership",
        "date",
        "kind",
        "title",
        "description",
        "typology",
        "status",
        "host",
        "structure",
        "source",
        "created_at",
        "updated_at",
        "mechanisms",
        "sectors",
    )
    data = dict(zip(keys, row, strict=True))
    data["date"] = FuzzyDate.parse(data["date"])
    data["mechanisms"] = data["mechanisms"] or []
    data["sectors"] = data["sectors"] or []
    return Entry(**data)
