"""Writing entries: one set-based path for a single form save and a 100k-row import.

Validated rows are staged in a temporary table, compared with what is stored,
and applied in one transaction (insert new, update changed, leave the rest), so
a write either happens completely or not at all.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa
from pydantic import ValidationError

from tracker import queries
from tracker.access import Member, audit, require_edit
from tracker.errors import InvalidInput, Problem, problems
from tracker.models import Entry, EntryIn, FuzzyDate
from tracker.store import Store, utcnow, write_conflict
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
    ("quote", pa.string()),
    ("speaker", pa.string()),
    ("contribution", pa.string()),
)
STAGED_SCHEMA = pa.schema([pa.field(name, kind) for name, kind in STAGED_COLUMNS])

# Which staged rows are new, changed or identical to what is stored: first by their columns, then
# (_LISTS_CHANGED, only when some staged rows are stored already) by their lists. A save of a new
# entry then does not scan the stored lists for ids it cannot have (#6).
_PLAN = """
CREATE OR REPLACE TEMP TABLE plan AS
SELECT s.*,
       e.id IS NULL AS is_new,
       e.version AS base_version,
       e.partnership AS old_partnership,
       e.deleted_at IS NOT NULL AS is_deleted,
       e.deleted_at, e.deleted_by, e.seq AS old_seq, e.created_at AS old_created_at,
       e.structure_key AS old_structure_key,
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
         OR e.quote IS DISTINCT FROM s.quote
         OR e.speaker IS DISTINCT FROM s.speaker
         OR e.contribution IS DISTINCT FROM s.contribution
       ) AS is_changed
FROM staged s
LEFT JOIN (SELECT * FROM entries WHERE {stored}) e ON e.id = s.id
"""

_LISTS_CHANGED = """
UPDATE plan SET is_changed = true
FROM (
    WITH stored AS (SELECT id FROM plan WHERE NOT is_new AND NOT is_changed), mech AS (
        SELECT entry_id, list(mechanism ORDER BY mechanism) AS mechanisms
        FROM entry_mechanisms WHERE {stored_lists} AND entry_id IN (SELECT id FROM stored) GROUP BY entry_id
    ), sect AS (
        SELECT entry_id, list(sector ORDER BY sector) AS sectors
        FROM entry_sectors WHERE {stored_lists} AND entry_id IN (SELECT id FROM stored) GROUP BY entry_id
    )
    SELECT p.id FROM plan p
    LEFT JOIN mech ON mech.entry_id = p.id
    LEFT JOIN sect ON sect.entry_id = p.id
    WHERE p.id IN (SELECT id FROM stored)
      AND (coalesce(mech.mechanisms, []::VARCHAR[]) <> list_sort(p.mechanisms)
        OR coalesce(sect.sectors, []::VARCHAR[]) <> list_sort(p.sectors))
) d
WHERE plan.id = d.id
"""

_INSERT_NEW = """
INSERT INTO entries (id, seq, partnership, date_text, date_precision, date_start, date_end, kind,
                     title, description, typology, status, host, structure, structure_key, source,
                     created_at, updated_at, version, created_by, updated_by, quote, speaker, contribution)
SELECT id, $base_seq + row_no, partnership, date_text, date_precision, date_start, date_end, kind, title, description,
       typology, status, host, structure, structure_key, source, $now, $now, 1, $actor, $actor,
       quote, speaker, contribution
FROM plan WHERE is_new
"""

_UPDATE_CHANGED = """
UPDATE entries SET
    partnership = p.partnership, date_text = p.date_text, date_precision = p.date_precision,
    date_start = p.date_start, date_end = p.date_end, kind = p.kind, title = p.title,
    description = p.description, typology = p.typology, status = p.status, host = p.host,
    structure = p.structure, structure_key = p.structure_key, source = p.source, quote = p.quote,
    speaker = p.speaker, contribution = p.contribution, updated_at = $now,
    updated_by = $actor, version = entries.version + 1
FROM plan p
WHERE {stored} AND entries.id = p.id AND p.is_changed AND entries.version = p.base_version
  AND entries.deleted_at IS NULL
"""

# One history row per entry this write created or changed, as it now stands: what _INSERT_NEW
# and _UPDATE_CHANGED wrote (version, seq and created_at as they set or kept them), taken from
# the plan rather than joined back from entries.
_HISTORY_FROM_PLAN = """
INSERT INTO entry_history
SELECT p.id, CASE WHEN p.is_new THEN 1 ELSE p.base_version + 1 END, $now, $actor,
       CASE WHEN p.is_new THEN 'create' ELSE 'update' END, $audit, false,
       CASE WHEN p.is_new THEN $base_seq + p.row_no ELSE p.old_seq END,
       p.partnership, p.date_text, p.date_precision, p.date_start, p.date_end, p.kind, p.title,
       p.description, p.typology, p.status, p.host, p.structure, p.structure_key, p.source,
       list_sort(p.mechanisms), list_sort(p.sectors), CASE WHEN p.is_new THEN $now ELSE p.old_created_at END,
       p.quote, p.speaker, p.contribution
FROM plan p
WHERE p.is_new OR p.is_changed
"""

# The structures a write touched (before and after), whose stored register rows it recomputes.
_AFFECTED_FROM_PLAN = """
CREATE OR REPLACE TEMP TABLE affected AS
SELECT partnership, structure_key FROM plan WHERE (is_new OR is_changed) AND structure_key IS NOT NULL
UNION
SELECT old_partnership, old_structure_key FROM plan WHERE is_changed AND old_structure_key IS NOT NULL
"""

# A history row for one entry as it now stands (after a delete or restore).
_HISTORY_FROM_ENTRY = """
INSERT INTO entry_history
SELECT e.id, e.version, $now, $actor, $action, $audit, e.deleted_at IS NOT NULL,
       e.seq, e.partnership, e.date_text, e.date_precision, e.date_start, e.date_end, e.kind, e.title,
       e.description, e.typology, e.status, e.host, e.structure, e.structure_key, e.source,
       coalesce((SELECT list(mechanism ORDER BY mechanism) FROM entry_mechanisms WHERE {listed}), []),
       coalesce((SELECT list(sector ORDER BY sector) FROM entry_sectors WHERE {listed}), []),
       e.created_at, e.quote, e.speaker, e.contribution
FROM entries e WHERE {only}
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
    """Validated rows collected as Arrow batches on one cursor, then planned and applied.

    The batches are scanned in place by DuckDB (as the view ``staged``); the plan is a
    temporary table on the same cursor.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cur = store.cursor()
        self._columns: dict[str, list[Any]] = {name: [] for name, _ in STAGED_COLUMNS}
        self._batches: list[pa.Table] = []
        self.count = 0
        self._planned: tuple[int, str | None] | None = None  # (rows changed, first id written), from plan()
        self._ids: list[str] | None = None  # the staged ids when few enough to name (queries.FEW_ROWS)

    def add(self, entry: EntryIn, row_no: int) -> str:
        """Queue one validated entry (flushed to the database in batches); return its id."""
        d = entry.fuzzy_date
        entry_id = entry.id or new_id()
        values = (
            row_no,
            entry_id,
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
            entry.quote,
            entry.speaker,
            entry.contribution,
        )
        for (name, _), value in zip(STAGED_COLUMNS, values, strict=True):
            self._columns[name].append(value)
        self.count += 1
        return entry_id

    def add_columns(self, row_nos: list[int], values: dict[str, list[Any]]) -> None:
        """Queue validated rows given column by column (see :class:`tracker.fastpath.FastCheck`)."""
        if not row_nos:
            return
        self.flush()
        batch = pa.table(
            {name: row_nos if name == "row_no" else values[name] for name, _ in STAGED_COLUMNS}, schema=STAGED_SCHEMA
        )
        self._insert(batch)
        self.count += len(row_nos)

    def _insert(self, batch: pa.Table) -> None:
        self._batches.append(batch)

    def _register(self) -> None:
        """Show every queued row to SQL as ``staged``."""
        self.flush()
        table = pa.concat_tables(self._batches) if self._batches else STAGED_SCHEMA.empty_table()
        self.cur.register("staged", table)
        self._ids = table.column("id").to_pylist() if table.num_rows <= queries.FEW_ROWS else None

    def flush(self) -> None:
        """Turn the rows queued one by one into an Arrow batch."""
        if not self._columns["row_no"]:
            return
        self._insert(pa.table(self._columns, schema=STAGED_SCHEMA))
        self._columns = {name: [] for name, _ in STAGED_COLUMNS}

    def duplicate_ids(self, unit: str = "row") -> list[Problem]:
        """Ids that appear on more than one row of the input."""
        self._register()
        rows = self.cur.execute(
            "SELECT id, list(row_no ORDER BY row_no) FROM staged GROUP BY id HAVING count(*) > 1"
            " ORDER BY min(row_no) LIMIT 1000"
        ).fetchall()
        return [
            Problem(
                nums[1],
                "id",
                f"id '{id_}' is used on {unit}s {', '.join(map(str, nums))}; ids must be unique",
                unit,
            )
            for id_, nums in rows
        ]

    def _stored(self, column: str, prefix: str = "staged") -> tuple[str, dict[str, str]]:
        """A condition naming the staged ids (``column IN (…)``) when they are few, else TRUE."""
        return queries.named_in(column, self._ids, prefix, postgres=self.store.is_postgres)

    def plan(self) -> dict[str, int]:
        """Compare staged rows with the store; return counts of created, updated, unchanged."""
        self._register()
        if self._ids is not None:  # a few rows, named: looked up by index in the PostgreSQL mode
            self.store.few_rows(self.cur)
        self.cur.execute(_PLAN.format(stored=self._stored("id")[0]), self._stored("id")[1])
        self.cur.unregister("staged")  # the plan holds every staged row; free the batches
        self._batches = []
        counts = (
            "SELECT count(*) FILTER (is_new), count(*), count(*) FILTER (is_changed),"
            " min(id) FILTER (is_new OR is_changed) FROM plan"
        )
        new, total, changed, first = self.cur.execute(counts).fetchone()  # type: ignore[misc]
        if new < total:  # some rows are stored already: compare their lists too
            lists, params = self._stored("entry_id")
            self.cur.execute(_LISTS_CHANGED.format(stored_lists=lists), params)
            new, total, changed, first = self.cur.execute(counts).fetchone()  # type: ignore[misc]
        self._planned = (changed, first)
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

    def refused(self, actor: Member, unit: str = "row") -> list[Problem]:
        """Rows of partnerships the acting member may not edit (the row's, or the stored entry's)."""
        if actor.is_admin:
            return []
        editable = sorted(actor.partnerships) if actor.role == "editor" else []
        rows = self.cur.execute(
            "SELECT row_no, old_partnership, coalesce(p.name, partnership), coalesce(o.name, old_partnership)"
            " FROM plan LEFT JOIN partnerships p ON p.slug = plan.partnership"
            " LEFT JOIN partnerships o ON o.slug = plan.old_partnership"
            " WHERE NOT list_contains($editable, partnership)"
            " OR (old_partnership IS NOT NULL AND NOT list_contains($editable, old_partnership))"
            " ORDER BY row_no LIMIT 1000",
            {"editable": editable},
        ).fetchall()
        if not rows:
            return []
        # Named as people know them, with what they may change instead (#7: it was the slug alone).
        own = [
            n
            for (n,) in self.cur.execute(
                "SELECT name FROM partnerships WHERE list_contains($editable, slug) ORDER BY name",
                {"editable": editable},
            ).fetchall()
        ]
        may = f"only those of {', '.join(own)}" if own else f"{actor.email} is a {actor.role} and may change none"
        out = []
        for row_no, old, name, old_name in rows:
            if old is not None and not actor.can_edit(old):
                text = (
                    f"the entry with this id belongs to {old_name}, whose entries {actor.email} may not change ({may})"
                )
            else:
                text = f"{actor.email} may not change entries of {name} ({may})"
            out.append(Problem(row_no, "partnership", text, unit))
        return out

    def deleted_rows(self, unit: str = "row") -> list[Problem]:
        """Rows whose id belongs to a deleted entry: restore it first, or clear the id for a new entry."""
        rows = self.cur.execute(
            "SELECT row_no, id, deleted_at, deleted_by FROM plan WHERE is_deleted ORDER BY row_no LIMIT 1000"
        ).fetchall()
        return [
            Problem(
                row_no,
                "id",
                f"entry '{id_}' was deleted by {by} at {at:%Y-%m-%d %H:%M} UTC; restore it "
                "first, or clear the id to add it as a new entry",
                unit,
            )
            for row_no, id_, at, by in rows
        ]

    def _max_seq(self) -> int:
        """The largest stored seq number (0 for none), inside the caller's transaction.

        Asked from the largest one this process has seen: seq numbers only grow and entries are
        never removed (deletes are soft), so when a stored seq is at least that, the largest of
        those is the largest of all. A filter on a column is what DuckDB hands to PostgreSQL, which
        answers it from its index (0010); ``max`` over the whole table copied every entry's number
        across, 395 ms at a million entries (#6). Otherwise (a first write, a stale floor) it asks
        for all of them."""
        floor = self.store.seq_floor
        if floor:
            found = self.cur.execute("SELECT max(seq) FROM entries WHERE seq >= ?", [floor]).fetchone()[0]  # type: ignore[index]
            if found is not None:
                self.store.seq_floor = max(self.store.seq_floor, int(found))
                return int(found)
        found = int(self.cur.execute("SELECT coalesce(max(seq), 0) FROM entries").fetchone()[0])  # type: ignore[index]
        self.store.seq_floor = found
        return found

    def apply(self, actor: Member, action: str, detail: dict[str, Any] | None = None) -> str:
        """Write the plan in one transaction: insert new, update changed (refusing any that another
        write changed since the plan was made), replace their lists, and record history and audit.

        Returns the audit event id. Raises :class:`Conflict` if another write got there first.
        """
        if self._planned is None:
            raise RuntimeError("plan() comes before apply()")
        expected, first = self._planned  # what plan() found in the plan table
        now = utcnow()
        cur = self.cur
        cur.execute("BEGIN TRANSACTION")
        try:
            event = audit(cur, actor, action, first if action.startswith("entry.") else None, **(detail or {}))
            base_seq = self._max_seq()
            names = {"now": now, "actor": actor.email}
            stored, ids = self._stored("e.id")
            lists, list_ids = self._stored("m.entry_id", "listed")
            # before the update: they read the entries and their mechanism lists as they were
            cur.execute(queries.COUNT_CHANGES.format(stored=stored), ids)
            cur.execute(queries.MECHANISM_COUNT_CHANGES.format(stored=stored, stored_lists=lists), ids | list_ids)
            cur.execute(_INSERT_NEW, {**names, "base_seq": base_seq})
            updated = 0
            if expected:
                changed, ids = self._stored("entries.id")
                updated = cur.execute(_UPDATE_CHANGED.format(stored=changed), names | ids).fetchone()[0]  # type: ignore[index]
            if updated != expected:
                raise _conflict(cur, "plan")
            for table, column in (("entry_mechanisms", "mechanisms"), ("entry_sectors", "sectors")):
                key = column[:-1]
                if expected:  # the changed entries' lists are replaced whole
                    lists, ids = self._stored("entry_id")
                    cur.execute(
                        f"DELETE FROM {table} WHERE {lists} AND entry_id IN (SELECT id FROM plan WHERE is_changed)", ids
                    )
                cur.execute(
                    f"INSERT INTO {table} (entry_id, {key})"
                    f" SELECT id, unnest({column}) FROM plan WHERE is_new OR is_changed"
                )
            cur.execute(_HISTORY_FROM_PLAN, {**names, "audit": event, "base_seq": base_seq})
            cur.execute(_AFFECTED_FROM_PLAN)
            queries.refresh_register(cur, "affected", postgres=self.store.is_postgres)
            cur.execute("DROP TABLE affected")
            cur.execute("COMMIT")
        except duckdb.Error as exc:
            cur.execute("ROLLBACK")
            if (reason := write_conflict(exc)) is None:
                raise
            raise Conflict(None, None, None, f"another change to the same entries was saved first ({reason})") from exc
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        queries.tidy_counts(self.store)
        if self._ids is None:  # too many rows to name: an import
            self.store.after_bulk_write()
        return event

    def close(self) -> None:
        """Drop the temporary tables and the cursor."""
        with contextlib.suppress(duckdb.Error):
            self.cur.unregister("staged")
        with contextlib.suppress(duckdb.Error):
            self.cur.execute("DROP TABLE IF EXISTS plan")
        self._batches = []
        self.cur.close()


class NotFound(Exception):
    """No entry has that id."""


class Conflict(Exception):
    """Someone else changed the entry since this edit began; nothing was overwritten."""

    def __init__(self, entry_id: str | None, by: str | None, at: datetime | None, message: str | None = None):
        self.entry_id, self.by, self.at = entry_id, by, at
        when = f"{at:%Y-%m-%d %H:%M} UTC" if at else "just now"
        super().__init__(
            message
            or f"this entry was changed by {by or 'someone else'} at {when} since you "
            "opened it; nothing was overwritten. Your text is kept: compare and save again"
        )


def _conflict(cur: Any, table: str) -> Conflict:
    row = cur.execute(
        "SELECT e.id, e.updated_by, e.updated_at FROM entries e JOIN plan p ON p.id = e.id"
        " WHERE p.is_changed AND (e.version <> p.base_version OR e.deleted_at IS NOT NULL) LIMIT 1"
    ).fetchone()
    return Conflict(*(row or (None, None, None)))


def _conflict_now(store: Store, entry_id: str) -> Conflict:
    """The conflict with whoever saved ``entry_id`` last (as stored now)."""
    found = get_entry(store, entry_id)
    return Conflict(entry_id, found.updated_by if found else None, found.updated_at if found else None)


def save_entry(
    store: Store,
    data: Mapping[str, Any],
    *,
    actor: Member,
    expect: str = "any",
    base_version: int | None = None,
) -> Entry:
    """Validate and store one entry as ``actor``; ``expect`` is ``new``, ``existing`` or ``any``.

    ``base_version`` is the version the user started editing from: if the entry has moved on
    since, :class:`Conflict` is raised and nothing is stored. Raises :class:`InvalidInput` with
    per-field problems, :class:`Forbidden` if ``actor`` may not write this partnership.
    """
    entry = validate(store.vocab(), data)
    require_edit(actor, entry.partnership)
    current = get_entry(store, entry.id) if entry.id else None
    if expect == "new" and current is not None:
        raise InvalidInput([Problem(None, "id", f"an entry with id '{entry.id}' already exists")])
    if expect == "existing":
        if not entry.id:
            raise InvalidInput([Problem(None, "id", "is required to edit an entry")])
        if current is None:
            raise NotFound(entry.id)
    if current is not None:
        require_edit(actor, current.partnership)
        if current.deleted_at is not None:
            raise Conflict(
                current.id,
                current.deleted_by,
                current.deleted_at,
                f"this entry was deleted by {current.deleted_by} at {current.deleted_at:%Y-%m-%d %H:%M} "
                "UTC; restore it before editing. Your text is kept",
            )
        if base_version is not None and current.version != base_version:
            raise Conflict(current.id, current.updated_by, current.updated_at)
    staging = Staging(store)
    try:
        entry_id = staging.add(entry, 1)
        planned = staging.plan()
        if base_version is not None and current is not None:
            # the write is planned from the version stored now, and applied only over that one: it
            # must still be the user's, or a save that landed since the check above is overwritten
            stored = staging.cur.execute("SELECT base_version FROM plan WHERE id = ?", [entry_id]).fetchone()
            if stored is None or stored[0] != base_version:
                raise _conflict_now(store, entry_id)
        if planned["created"] or planned["updated"]:
            staging.apply(actor, "entry.create" if planned["created"] else "entry.update")
    finally:
        staging.close()
    saved = get_entry(store, entry_id)
    assert saved is not None
    return saved


def _set_deleted(store: Store, entry_id: str, actor: Member, deleted: bool, base_version: int | None) -> Entry:
    current = get_entry(store, entry_id)
    if current is None:
        raise NotFound(entry_id)
    verb = "delete" if deleted else "restore"
    require_edit(actor, current.partnership, f"{verb} entries of")
    if (current.deleted_at is not None) == deleted:
        raise Conflict(
            entry_id,
            current.updated_by,
            current.updated_at,
            f"this entry is already {'deleted' if deleted else 'restored'} "
            f"(by {current.updated_by} at {current.updated_at:%Y-%m-%d %H:%M} UTC)",
        )
    if base_version is not None and current.version != base_version:
        raise Conflict(entry_id, current.updated_by, current.updated_at)
    now = utcnow()
    # The entry named in each table (``id IN ($one0, $one1)``), not ``id = ?``: PostgreSQL then finds
    # its rows by index instead of DuckDB copying each table across, 1.5 s a delete at a million
    # entries (#6; see queries.named_in).
    only, one = queries.named_in("e.id", [entry_id], "one", postgres=store.is_postgres)
    listed, _ = queries.named_in("entry_id", [entry_id], "one", postgres=store.is_postgres)
    listed_m, _ = queries.named_in("m.entry_id", [entry_id], "one", postgres=store.is_postgres)
    sign = {"sign": -1 if deleted else 1}
    with store.transaction() as cur:
        store.few_rows(cur)
        changed = cur.execute(
            "UPDATE entries e SET deleted_at = $at, deleted_by = $by, updated_at = $now, updated_by = $actor,"
            f" version = version + 1 WHERE {only} AND version = $version",
            {
                "at": now if deleted else None,
                "by": actor.email if deleted else None,
                "now": now,
                "actor": actor.email,
                "version": current.version,
                **one,
            },
        ).fetchone()[0]  # type: ignore[index]
        if changed != 1:
            raise Conflict(entry_id, None, None, "another change to this entry was saved first; try again")
        event = audit(cur, actor, f"entry.{verb}", entry_id, title=current.title)
        cur.execute(
            _HISTORY_FROM_ENTRY.format(only=only, listed=listed),
            {"now": now, "actor": actor.email, "action": verb, "audit": event, **one},
        )
        cur.execute(
            "CREATE OR REPLACE TEMP TABLE affected AS SELECT partnership, structure_key FROM entries e"
            f" WHERE {only} AND structure_key IS NOT NULL",
            one,
        )
        queries.refresh_register(cur, "affected", postgres=store.is_postgres)
        cur.execute("DROP TABLE affected")
        cur.execute(queries.COUNT_ONE.format(only=only), sign | one)
        cur.execute(queries.MECHANISM_COUNT_ONE.format(only=only, listed=listed_m), sign | one)
    queries.tidy_counts(store)
    saved = get_entry(store, entry_id)
    assert saved is not None
    return saved


def delete_entry(store: Store, entry_id: str, *, actor: Member, base_version: int | None = None) -> Entry:
    """Soft-delete an entry: it leaves every view but stays in history and can be restored."""
    return _set_deleted(store, entry_id, actor, True, base_version)


def restore_entry(store: Store, entry_id: str, *, actor: Member) -> Entry:
    """Bring a deleted entry back exactly as it was."""
    return _set_deleted(store, entry_id, actor, False, None)


def get_entry(store: Store, entry_id: str) -> Entry | None:
    """One stored entry by id (deleted ones too, marked), or ``None``."""
    cur = store.cursor(few=True)
    only, ids = queries.named_in("id", [entry_id], "one", postgres=store.is_postgres)  # PostgreSQL: by its index
    listed, _ = queries.named_in("entry_id", [entry_id], "one", postgres=store.is_postgres)  # these by theirs (0010)
    row = cur.execute(
        "SELECT id, partnership, date_text, kind, title, description, typology, status, host,"
        " structure, source, created_at, updated_at,"
        # The lists by the id itself, not correlated with e.id: DuckDB then filters each list
        # table as it scans it instead of joining every row of it (9 ms -> 5 ms at 100k entries).
        f" (SELECT list(mechanism ORDER BY mechanism) FROM entry_mechanisms WHERE {listed}),"
        f" (SELECT list(sector ORDER BY sector) FROM entry_sectors WHERE {listed}),"
        " version, created_by, updated_by, deleted_at, deleted_by, quote, speaker, contribution"
        f" FROM entries e WHERE {only}",
        ids,
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
        "version",
        "created_by",
        "updated_by",
        "deleted_at",
        "deleted_by",
        "quote",
        "speaker",
        "contribution",
    )
    data = dict(zip(keys, row, strict=True))
    data["date"] = FuzzyDate.parse(data["date"])
    data["mechanisms"] = data["mechanisms"] or []
    data["sectors"] = data["sectors"] or []
    return Entry(**data)
