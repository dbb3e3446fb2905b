"""Read queries: SQL in, rows or DataFrames out. One function per query, a cursor per call.

Aggregation happens here, in SQL, so that pages and charts only ever receive
small, already-summarised tables.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import fields
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from tracker.filters import Filters, narrow
from tracker.frames import to_frame
from tracker.store import Store
from tracker.taxonomy import NOT_RECORDED, Lookup

# The fields `summary --by` accepts: (joins needed, label expression, sort expression).
SUMMARY_FIELDS: dict[str, tuple[str, str, str]] = {
    "partnership": (
        "JOIN partnerships p ON p.slug = e.partnership",
        "p.name",
        "p.name",
    ),
    "typology": (
        "JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = e.typology",
        "ty.label",
        "ty.position",
    ),
    "kind": ("", "e.kind", "e.kind"),
    "status": (
        "LEFT JOIN terms st ON st.vocabulary = 'status' AND st.slug = e.status",
        "st.label",
        "st.position",
    ),
    "mechanism": (
        "LEFT JOIN cur_mechanisms em ON em.entry_id = e.id "
        "LEFT JOIN terms me ON me.vocabulary = 'mechanism' AND me.slug = em.mechanism",
        "me.label",
        "me.position",
    ),
    "sector": (
        "LEFT JOIN cur_sectors es ON es.entry_id = e.id "
        "LEFT JOIN terms se ON se.vocabulary = 'sector' AND se.slug = es.sector",
        "se.label",
        "se.position",
    ),
    "year": ("", "year(e.date_start)", "year(e.date_start)"),
    "contribution": (
        "",
        "e.contribution",
        "CASE e.contribution WHEN 'direct' THEN 1 WHEN 'contributory' THEN 2 WHEN 'influenced' THEN 3 ELSE 4 END",
    ),
}


def _parts(filters: Filters) -> tuple[str, str, list[Any]]:
    """The scope CTEs, the filter condition, and their parameters in that order."""
    scope, scope_params = filters.scope()
    where, where_params = filters.where()
    return scope, where, scope_params + where_params


def count_entries(store: Store, filters: Filters = Filters()) -> int:
    """How many entries match the filter."""
    if (fast := counted(filters)) is not None:
        sql, params = f"SELECT coalesce(sum(entries), 0) FROM entry_counts c WHERE {fast[0]}", fast[1]
    else:
        scope, sp = filters.scope()
        where, wp = filters.where()
        sql, params = f"WITH {scope} SELECT count(*) FROM cur_entries e WHERE {where}", sp + wp
    row = store.cursor().execute(sql, params).fetchone()
    return int(row[0]) if row else 0


def summary(store: Store, by: list[str], filters: Filters = Filters()) -> list[dict[str, Any]]:
    """Entry counts grouped by one or two fields (labels, not slugs), in taxonomy order.

    An entry with several mechanisms (or sectors) counts once under each; entries with
    none are counted under ``None``.
    """
    unknown = [f for f in by if f not in SUMMARY_FIELDS]
    if unknown or not 1 <= len(by) <= 2 or len(set(by)) != len(by):
        raise ValueError(f"--by takes one or two different fields of: {', '.join(SUMMARY_FIELDS)}")
    joins = " ".join(SUMMARY_FIELDS[f][0] for f in by)
    labels = ", ".join(f"{SUMMARY_FIELDS[f][1]} AS f{i}" for i, f in enumerate(by))
    groups = ", ".join(f"{SUMMARY_FIELDS[f][1]}, {SUMMARY_FIELDS[f][2]}" for f in by)
    order = ", ".join(f"{SUMMARY_FIELDS[f][2]} NULLS LAST, {SUMMARY_FIELDS[f][1]} NULLS LAST" for f in by)
    scope, sp = filters.scope()
    where, wp = filters.where()
    sql = (
        f"WITH {scope} SELECT {labels}, count(*) AS n FROM cur_entries e {joins} WHERE {where}"
        f" GROUP BY {groups} ORDER BY {order}"
    )
    rows = store.cursor().execute(sql, sp + wp).fetchall()
    out = []
    for row in rows:
        record: dict[str, Any] = {f: row[i] for i, f in enumerate(by)}
        record["count"] = int(row[-1])
        out.append(record)
    return out


# Structure histories, computed over every entry of a structure (a filter chooses which
# structures to show, not which of their entries count). The current status is that of the latest
# entry with a status; "since" is the date of the entry that began the current run of that status
# and host; "last confirmed" is the latest status entry's period, never later than the day it was
# saved. Latest by the rule below ("which entry of a structure is its latest"): entries whose periods
# overlap are simultaneous and the one recorded last wins, so "2023" is not taken as 1 January (#8).
# The columns of `grouped` are stored per structure in the structure_register table (see
# schemas/0005_structure_register.sql and refresh_register): change both together, with a migration
# that refills the table (schemas/0013_latest_entry_by_overlap.sql repeats this CTE).
_HISTORIES_CTE = """
reached AS (
    SELECT e.*,
           -- how far each entry reaches towards the latest start of its structure's entries (of all
           -- of them; of those with a status): entries overlapping that start tie, then seq decides
           least(e.date_end, max(e.date_start) OVER s) AS reach,
           least(e.date_end, max(CASE WHEN e.status IS NOT NULL THEN e.date_start END) OVER s) AS status_reach
    FROM cur_entries e
    {choose}
    WINDOW s AS (PARTITION BY e.partnership, e.structure_key)
), ordered AS (
    SELECT e.*,
           CASE WHEN e.status IS NULL THEN NULL
                WHEN lag(e.status) OVER w IS NOT DISTINCT FROM e.status
                 AND lag(lower(trim(e.host))) OVER w IS NOT DISTINCT FROM lower(trim(e.host)) THEN 0
                ELSE 1 END AS starts_run
    FROM reached e
    WINDOW w AS (PARTITION BY e.partnership, e.structure_key, e.status IS NULL ORDER BY e.status_reach, e.seq)
), numbered AS (
    SELECT e.*,
           CASE WHEN e.status IS NOT NULL THEN sum(e.starts_run) OVER (
               PARTITION BY e.partnership, e.structure_key, e.status IS NULL ORDER BY e.status_reach, e.seq
               ROWS UNBOUNDED PRECEDING) END AS run
    FROM ordered e
), current_run AS (
    SELECT e.*, e.run = max(e.run) OVER (PARTITION BY e.partnership, e.structure_key) AS in_current_run
    FROM numbered e
), grouped AS (
    SELECT partnership, structure_key,
           arg_max(structure, (reach, seq)) AS structure,
           arg_max(typology, (reach, seq)) AS typology,
           arg_max(status, (status_reach, seq)) FILTER (WHERE status IS NOT NULL) AS status,
           arg_max(host, (status_reach, seq)) FILTER (WHERE status IS NOT NULL) AS host,
           -- since: the earliest of the current run's entries ("2021: set up", then "2021-11-17: …"
           -- about it: since 2021), whichever of them the order above put first
           arg_min(date_text, (date_start, date_end, seq)) FILTER (WHERE in_current_run) AS since,
           min(date_start) FILTER (WHERE in_current_run) AS since_start,
           -- when the status was last recorded or confirmed: an entry's period, but never later than
           -- the day it was entered (a date typed today about 2019 confirms 2019, not today); entered
           -- as it now reads, so an entry edited to a later date and status confirms that (its first
           -- save's day came before its own date, #8); the latest of the current run's entries, so a
           -- closure it outranks does not confirm a structure still running (#8), and "2023-03:
           -- continuing" added after "2023: continuing" does not take 2023-12-31 back to 2023-03-31
           max(least(date_end, CAST(updated_at AS DATE))) FILTER (WHERE in_current_run) AS last_confirmed,
           -- the earliest day the current run can have begun: its first entry's start, or the last day
           -- an earlier entry was confirmed if that is later ("2023-06: continuing", then "2023:
           -- decommissioned": closed after 2023-06-30, not on 1 January), within that entry's period
           least(greatest(min(date_start) FILTER (WHERE in_current_run),
                          max(least(date_end, CAST(updated_at AS DATE)))
                              FILTER (WHERE status IS NOT NULL AND NOT in_current_run)),
                 arg_min(date_end, (date_start, date_end, seq)) FILTER (WHERE in_current_run)) AS run_from,
           max(date_start) FILTER (WHERE status IS NOT NULL) AS status_recorded,
           arg_max(date_text, (reach, seq)) AS last_entry,
           min(date_start) AS first_entry_start,
           max(date_end) AS last_entry_end,
           count(*) AS entries
    FROM current_run
    GROUP BY partnership, structure_key
)"""
"""``grouped`` for the structures whose entries ``{choose}`` (a clause after ``FROM cur_entries e``) keeps:
every entry of each, so the clause must keep or drop a structure's entries together."""
# Which entry of a structure is its latest (#8), wherever one is picked: the one with the greatest
# (least(date_end, M), seq), M the latest date_start among the entries compared. Entries whose periods
# reach that start ("2023-06: continuing" and "2023: decommissioned") are simultaneous and the one
# recorded last wins; one that ended before it ("2022" against "2023-06") is earlier; of two days, the
# later. A year- or month-only date is never taken as its first day.


def latest_of(value: str, alias: str = "e", over: str = "") -> str:
    """SQL aggregate: ``value`` (an expression on the entries ``alias``) of the latest entry of each
    group by the rule above, ``M`` taken over the same group. ``over``: a window clause
    (``OVER (PARTITION BY …)``) to use it as a window function.

    For a query that cannot first compute ``M`` in a window of its own, as ``_HISTORIES_CTE`` does:
    the group's entries are gathered into one list, and the greatest of them picked from it."""
    e = f"{alias}."
    return (
        f"list_max(list_transform(list({{'end': {e}date_end, 'seq': {e}seq, 'v': {value}}}) {over},"
        f" x -> {{'reach': least(x.end, max({e}date_start) {over}), 'seq': x.seq, 'v': x.v}})).v"
    )


_GROUPED_CTE = """
matched AS (
    SELECT DISTINCT e.partnership, e.structure_key FROM cur_entries e
    WHERE e.structure_key IS NOT NULL AND {where}
), """ + _HISTORIES_CTE.replace(
    "{choose}", "SEMI JOIN matched m ON m.partnership = e.partnership AND m.structure_key = e.structure_key"
)
"""``grouped`` for the structures with an entry matching ``{where}`` (a condition on ``cur_entries e``)."""
_REGISTER_LABELS = """
register AS (
    SELECT p.name AS partnership, g.structure, ty.label AS typology,
           coalesce(st.label, 'Not recorded') AS status, g.host, g.since, g.last_entry, g.entries,
           p.programme, p.end_date AS partnership_end, g.partnership AS partnership_slug,
           g.structure_key, g.status AS status_slug, g.typology AS typology_slug,
           coalesce(st.position, 999) AS status_order, g.status_recorded, g.since_start, g.last_confirmed,
           g.first_entry_start, g.last_entry_end
    FROM grouped g
    JOIN partnerships p ON p.slug = g.partnership
    LEFT JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = g.typology
    LEFT JOIN terms st ON st.vocabulary = 'status' AND st.slug = g.status
)
"""
_REGISTER_CTE = _GROUPED_CTE + "," + _REGISTER_LABELS
"""The register computed from entries (``{where}`` chooses the structures): for any scope."""

# The register of now, read from structure_register: every structure, or those with an entry
# matching the filter.
# NOT MATERIALIZED: a query naming grouped twice reads the table twice rather than copying all of
# it first (DuckDB materialises a CTE used twice: 20 ms for 300,000 structures).
_STORED_ALL = "grouped AS NOT MATERIALIZED (SELECT * FROM structure_register)"
_STORED_AREAS = "grouped AS NOT MATERIALIZED (SELECT * FROM structure_register g WHERE {where})"
_STORED_MATCHED = """
matched AS (
    SELECT DISTINCT e.partnership, e.structure_key FROM cur_entries e
    WHERE e.structure_key IS NOT NULL AND {where}
), grouped AS (
    SELECT g.* FROM structure_register g
    SEMI JOIN matched m ON m.partnership = g.partnership AND m.structure_key = g.structure_key
)"""
SURVIVING = ("continuing", "hosted-elsewhere")


def confirmed_since(origin: str, register: str = "g") -> str:
    """SQL: whether the structure in ``register`` (a row of ``grouped`` or ``register``) has its status
    recorded or confirmed on or after the date ``origin`` (an SQL expression, NULL: no).

    The one rule for "news since funding ended" (#8), used by the legacy page, the survival curves and
    the areas compared: the structure's ``last_confirmed`` (the end of its latest status entry's year,
    month or day, never later than the day that entry was saved), on or after the day. So "2024:
    continuing", saved after a funding end of 2024-03-31, is news since then, as is an entry dated the
    end day itself (known running when the money stopped); one saved before the end day is not.
    """
    return f"({register}.last_confirmed >= CAST({origin} AS DATE))"


def grouped_scope(filters: Filters = Filters()) -> tuple[str, list[Any]]:
    """The CTEs up to ``grouped`` (one unlabelled row per structure, the columns of
    structure_register) for ``filters``, and their parameters."""
    if filters.as_at is None and _areas_only(filters):
        # Every structure of an area has a row in the stored register: its rows, not a pass over
        # the areas' entries to find which structures they name (#6: the overview's figures for 2 of
        # 24 areas at 100k entries, 16 -> 6 ms, side by side).
        scope, scope_params = filters.scope()
        where, where_params = filters.where("g")
        return f"{scope}, {_STORED_AREAS.format(where=where)}", scope_params + where_params
    scope, where, params = _parts(filters)
    return f"{scope}, {_grouped(where, filters.as_at is not None)}", params


_AREAS = ("programmes", "partnerships")
"""The filters that choose whole areas: all of their structures are in the view."""


def _areas_only(filters: Filters) -> bool:
    """True when ``filters`` choose areas (programmes, partnerships) and nothing else."""
    return any(getattr(filters, name) for name in _AREAS) and not any(
        getattr(filters, f.name) for f in fields(filters) if f.name not in _AREAS
    )


def _grouped(where: str, as_at: bool) -> str:
    """The CTEs up to ``grouped`` for the structures with an entry matching ``where`` (a condition
    on ``cur_entries e``): from the stored register, or "as at" a past moment from history."""
    if as_at:
        return _GROUPED_CTE.format(where=where)
    return _STORED_ALL if where == "TRUE" else _STORED_MATCHED.format(where=where)


def register_ctes(where: str, as_at: bool) -> str:
    """The CTEs up to ``register`` (labelled) for the structures with an entry matching ``where``:
    read from the stored register unless "as at" a past moment (#6: compare computed it from every
    entry of the areas, 160-270 ms a query at a million entries)."""
    return f"{_grouped(where, as_at)}, {_REGISTER_LABELS}"


def register_labels(source: str = "grouped") -> str:
    """The ``register`` CTE (labels, partnership, programme) over ``source``: ``grouped`` or a CTE
    with its columns, such as the few structures a page shows (labelled after picking, #6)."""
    return _REGISTER_LABELS.replace("FROM grouped g", f"FROM {source} g")


def register_scope(filters: Filters = Filters()) -> tuple[str, list[Any]]:
    """The CTEs up to ``register`` (one labelled row per structure) for ``filters``, and their parameters.

    Use as ``f"WITH {ctes} SELECT … FROM register"``. The register of now comes from the
    structure_register table kept by every write; "as at" a past moment it is computed from history.
    """
    ctes, params = grouped_scope(filters)
    return f"{ctes}, {_REGISTER_LABELS}", params


FEW_ROWS = 1000
"""A write of at most this many rows (or structures) names them in its SQL, ``id IN ($…, …)``, so
that the store reads only those rows. In the shared PostgreSQL mode DuckDB hands such a filter on
constants to PostgreSQL, where a join with the staged rows made it copy every entry across first:
at 100,000 entries a save took 630 ms (#6)."""


def named_in(column: str, values: Sequence[str] | None, prefix: str, *, postgres: bool) -> tuple[str, dict[str, str]]:
    """``column IN ($prefix0, …)`` and its named parameters for a few values; ``TRUE`` when
    ``values`` is None (too many to name: the caller's join chooses the rows). ``postgres``: the
    store is the shared PostgreSQL mode (``Store.is_postgres``)."""
    if values is None:
        return "TRUE", {}
    if not values:
        return "FALSE", {}
    if len(values) == 1 and not postgres:  # DuckDB scans ``= x`` quicker than ``IN (x, x)`` (3.4 against 5.1 ms)
        return f"{column} = ${prefix}0", {f"{prefix}0": values[0]}
    # In PostgreSQL mode one value is written twice: DuckDB turns ``IN (x)`` into ``= x``, which it
    # hands to PostgreSQL as ``= x COLLATE "C"``, and PostgreSQL cannot answer that from its index on
    # the column (built in the database's collation): 20 ms against 2.5 ms for one entry at 100k.
    params = {f"{prefix}{i}": v for i, v in enumerate(values if len(values) > 1 else [*values, *values])}
    return f"{column} IN ({', '.join('$' + name for name in params)})", params


REGISTER_STORED_ORDER = "ORDER BY partnership, structure_key"
"""The order structure_register rows are written in (by a refresh and a rebuild)."""


def refresh_register(cur: Any, affected: str, *, postgres: bool) -> None:
    """Recompute the stored register rows of the structures listed in the table ``affected``
    (columns partnership, structure_key), inside the caller's transaction on ``cur`` (``postgres``:
    as for :func:`named_in`)."""
    keys = [k for (k,) in cur.execute(f"SELECT DISTINCT structure_key FROM {affected} LIMIT {FEW_ROWS + 1}").fetchall()]
    if not keys:
        return
    named = keys if len(keys) <= FEW_ROWS else None
    few, params = named_in("r.structure_key", named, "key", postgres=postgres)
    scope, _ = Filters().scope()
    cur.execute(
        f"DELETE FROM structure_register r USING {affected} a WHERE {few}"
        " AND r.partnership = a.partnership AND r.structure_key = a.structure_key",
        params,
    )
    # The affected structures' entries chosen in the one scan that reads them (#6: choosing the
    # structures first and then their entries read the entries twice: 30 -> 16 ms at 1M entries).
    few = named_in("e.structure_key", named, "key", postgres=postgres)[0]
    which = f"WHERE {few} AND (e.partnership, e.structure_key) IN (SELECT partnership, structure_key FROM {affected})"
    # Stored in the register's order of partnerships, so that a read of a few partnerships (a page
    # of the legacy register) skips the row groups of the others (#6).
    cur.execute(
        f"INSERT INTO structure_register BY NAME WITH {scope}, {_HISTORIES_CTE.replace('{choose}', which)}"
        f" SELECT * FROM grouped {REGISTER_STORED_ORDER}",
        params,
    )


# The entry_counts table (schemas/0007_entry_counts.sql) holds signed counts: every write appends
# its change (+1 for an entry that now counts under a partnership, typology, kind and month, −1
# where it no longer does) and never updates or deletes a row, so writers of the same partnership
# do not collide on it. A group's count is the sum of its rows; compact_counts() folds the rows
# back to one per group now and then. Readers always sum.
_MONTH = "CAST(date_trunc('month', {alias}date_start) AS DATE)"
_COUNTS = (
    f"SELECT partnership, typology, kind, {_MONTH.format(alias='')} AS month, count(*) AS entries"
    " FROM entries WHERE deleted_at IS NULL GROUP BY ALL"
)
_COUNT_COLUMNS = "(partnership, typology, kind, month, entries)"  # appended rows: not folded (schemas/0014)
COUNT_CHANGES = f"""
INSERT INTO entry_counts {_COUNT_COLUMNS}
SELECT partnership, typology, kind, month, sum(n) FROM (
    SELECT e.partnership, e.typology, e.kind, {_MONTH.format(alias="e.")} AS month, -1 AS n
    FROM entries e JOIN plan p ON p.id = e.id WHERE {{stored}} AND p.is_changed AND e.deleted_at IS NULL
    UNION ALL
    SELECT p.partnership, p.typology, p.kind, {_MONTH.format(alias="p.")}, 1 FROM plan p WHERE p.is_new OR p.is_changed
) GROUP BY ALL HAVING sum(n) <> 0
"""
"""The change in counts a planned write makes (run before it, while ``entries`` holds the old rows);
``{stored}``: a condition on ``e.id`` naming the planned ids (:func:`named_in`), or TRUE."""
COUNT_ONE = f"""
INSERT INTO entry_counts {_COUNT_COLUMNS}
SELECT partnership, typology, kind, {_MONTH.format(alias="")}, $sign FROM entries e WHERE {{only}}
"""
"""+1 or −1 (``$sign``) for one entry (restored or deleted); ``{only}`` names it (:func:`named_in`)."""

# mechanism_counts (schemas/0009_mechanism_counts.sql): the same signed counts per mechanism.
_MECHANISM_COUNTS = (
    "SELECT e.partnership, e.typology, e.kind, m.mechanism, count(*) AS entries"
    " FROM entries e JOIN entry_mechanisms m ON m.entry_id = e.id WHERE e.deleted_at IS NULL GROUP BY ALL"
)
MECHANISM_COUNT_CHANGES = """
INSERT INTO mechanism_counts
SELECT partnership, typology, kind, mechanism, sum(n) FROM (
    SELECT e.partnership, e.typology, e.kind, m.mechanism, -1 AS n
    FROM entries e JOIN plan p ON p.id = e.id JOIN entry_mechanisms m ON m.entry_id = e.id
    WHERE {stored} AND {stored_lists} AND p.is_changed AND e.deleted_at IS NULL
    UNION ALL
    SELECT p.partnership, p.typology, p.kind, unnest(p.mechanisms) AS mechanism, 1
    FROM plan p WHERE p.is_new OR p.is_changed
) GROUP BY ALL HAVING sum(n) <> 0
"""
"""The change in mechanism counts a planned write makes (run before the entries and their mechanism
lists are written); ``{stored}`` and ``{stored_lists}`` as for :data:`COUNT_CHANGES`, on ``e.id`` and
``m.entry_id``."""
MECHANISM_COUNT_ONE = """
INSERT INTO mechanism_counts
SELECT e.partnership, e.typology, e.kind, m.mechanism, $sign FROM entries e JOIN entry_mechanisms m ON m.entry_id = e.id
WHERE {only} AND {listed}
"""
"""+1 or −1 (``$sign``) under each mechanism of one entry (restored or deleted); ``{only}`` and
``{listed}`` name it in each table (:func:`named_in`), so PostgreSQL finds its rows by index."""


def compact_counts(store: Store) -> int:
    """Fold entry_counts and mechanism_counts to one row per group (dropping groups that sum to
    zero); return the rows left in entry_counts. Safe beside writers: they only append, and this
    transaction replaces only the rows it read. Two compactions at once: one is refused and the
    tables are simply compacted once."""
    with store.transaction() as cur:
        for table in reversed(_COUNT_TABLES):  # entry_counts last: its rows are returned
            marked = table == "entry_counts"  # its folded rows are marked (schemas/0014)
            cur.execute(
                "CREATE OR REPLACE TEMP TABLE counts_folded AS SELECT * EXCLUDE"
                f" ({'entries, folded' if marked else 'entries'}), sum(entries) AS entries"
                f" FROM {table} GROUP BY ALL HAVING sum(entries) <> 0"
            )
            cur.execute(f"DELETE FROM {table}")
            cur.execute(f"INSERT INTO {table} SELECT *{', true' if marked else ''} FROM counts_folded")
            rows = cur.execute("SELECT count(*) FROM counts_folded").fetchone()[0]  # type: ignore[index]
            cur.execute("DROP TABLE counts_folded")
    return int(rows)


COUNTS_SLACK = 1000
"""Rows a counts table may grow by, beyond twice its folded size, before the counts are compacted."""
_COUNT_TABLES = ("entry_counts", "mechanism_counts")


def tidy_counts(store: Store) -> None:
    """After a write: compact the counts once a table's rows have doubled since it was last folded
    (a few thousand rows at a million entries, plus a row or two per saved entry and mechanism)."""
    cur = store.cursor()

    def count(sql: str) -> dict[str, int]:  # both tables in one query
        row = cur.execute("SELECT " + ", ".join(f"({sql.format(t)})" for t in _COUNT_TABLES)).fetchone()
        return {t: int(n) for t, n in zip(_COUNT_TABLES, row, strict=True)}  # type: ignore[arg-type]

    rows = count("SELECT count(*) FROM {}")
    if store.counts_folded is None:  # first write in this process: how many groups there are
        store.counts_folded = count("SELECT count(*) FROM (SELECT DISTINCT * EXCLUDE (entries) FROM {})")
    if any(rows[t] > 2 * store.counts_folded[t] + COUNTS_SLACK for t in _COUNT_TABLES):
        # another process or thread compacting at the same moment: leave it to that one
        with contextlib.suppress(duckdb.TransactionException):
            compact_counts(store)
            store.counts_folded = count("SELECT count(*) FROM {}")


_COUNTED_FILTERS = ("programmes", "partnerships", "typologies", "kinds", "conditions")
"""The filters entry_counts can answer: on its partnership, typology and kind columns."""


def counted(filters: Filters) -> tuple[str, list[Any]] | None:
    """A condition on ``entry_counts c`` choosing the counts of the entries ``filters`` selects, and
    its parameters; None when the counts cannot tell (a filter on something they do not keep, such
    as dates or mechanisms, or a view "as at" a past moment): then read the entries."""
    if any(getattr(filters, f.name) for f in fields(filters) if f.name not in _COUNTED_FILTERS):
        return None
    return filters.where("c")


def rebuild_register(store: Store) -> None:
    """Recompute the whole stored register, entry counts and mechanism counts from the entries."""
    scope, _ = Filters().scope()
    with store.transaction() as cur:
        cur.execute("DELETE FROM entry_counts")
        cur.execute(f"INSERT INTO entry_counts SELECT *, true FROM ({_COUNTS})")  # one row a group: folded
        cur.execute("DELETE FROM mechanism_counts")
        cur.execute(f"INSERT INTO mechanism_counts {_MECHANISM_COUNTS}")
        cur.execute("DELETE FROM structure_register")
        cur.execute(
            f"INSERT INTO structure_register BY NAME WITH {scope},"
            f" {_HISTORIES_CTE.replace('{choose}', 'WHERE e.structure_key IS NOT NULL')} SELECT * FROM grouped"
            f" {REGISTER_STORED_ORDER}"
        )


def structures(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """The legacy register: one row per structure with its current status, host, since when…

    ``status`` is ``Not recorded`` when no entry of the structure has a status yet.
    """
    ctes, params = register_scope(filters)
    sql = f"WITH {ctes} SELECT * FROM register ORDER BY partnership, lower(structure)"
    return to_frame(store.cursor().execute(sql, params))


def legacy_summary(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """Structures per partnership and current status, and how many of them have that status recorded
    or confirmed since the partnership's funding ended (:func:`confirmed_since`): the legacy page's
    figures, status chart and survival table from one pass over the register (#6). Columns:
    partnership (name), partnership_slug, partnership_end, status (label), status_slug, status_order,
    structures, after_end. Use :func:`status_counts_of` and :func:`survival_of` for the two tables."""
    ctes, params = grouped_scope(filters)
    # counted per slug first, then labelled: a few dozen rows to join, not every structure; the
    # end date by a lookup per row, which costs half of joining every structure to partnerships
    end = "(SELECT p.end_date FROM partnerships p WHERE p.slug = g.partnership)"
    sql = f"""
    WITH {ctes}, n AS (
        SELECT g.partnership, g.status, count(*) AS structures,
               count(*) FILTER (WHERE {confirmed_since(end)}) AS after_end
        FROM grouped g GROUP BY ALL
    )
    SELECT p.name AS partnership, n.partnership AS partnership_slug, p.end_date AS partnership_end,
           coalesce(st.label, '{NOT_RECORDED}') AS status,
           n.status AS status_slug, coalesce(st.position, 999) AS status_order,
           CAST(n.structures AS BIGINT) AS structures, CAST(n.after_end AS BIGINT) AS after_end
    FROM n
    JOIN partnerships p ON p.slug = n.partnership
    LEFT JOIN terms st ON st.vocabulary = 'status' AND st.slug = n.status
    ORDER BY partnership, status_order, status
    """
    return to_frame(store.cursor().execute(sql, params))


def status_legend(statuses: Lookup, shown: Iterable[str]) -> list[str]:
    """The status labels a chart's legend offers, in display order: every status in use for new
    entries, a retired one only while a structure ``shown`` (labels) still has it, then
    :data:`NOT_RECORDED`. Live ones are offered even when none has them, so that each status keeps
    its colour from one chart to the next (#8)."""
    present = set(shown)
    return [
        *(label for slug, label in statuses.labels.items() if slug not in statuses.retired or label in present),
        NOT_RECORDED,
    ]


def status_counts_of(summary: pd.DataFrame) -> pd.DataFrame:
    """Structures per partnership and current status label (the legacy stacked bar), from
    :func:`legacy_summary`: partnership, status, structures, status_order."""
    # A few hundred rows, already in order: plain Python, a tenth of the time of pandas' groupby
    counts: dict[tuple[str, str], list[int]] = {}
    for partnership, status, order, n in zip(
        summary["partnership"], summary["status"], summary["status_order"], summary["structures"], strict=True
    ):
        found = counts.setdefault((partnership, status), [0, int(order)])
        found[0] += int(n)
        found[1] = min(found[1], int(order))
    rows = sorted(counts.items(), key=lambda item: (item[0][0], item[1][1]))
    return pd.DataFrame(
        {
            "partnership": [key[0] for key, _ in rows],
            "status": [key[1] for key, _ in rows],
            "structures": [value[0] for _, value in rows],
            "status_order": [value[1] for _, value in rows],
        }
    )


def register_sizes_of(summary: pd.DataFrame) -> tuple[tuple[str, int], ...]:
    """Each partnership's structures (slug, count) in the register's order, from
    :func:`legacy_summary`: what :func:`verification.register` needs to read only a page's
    partnerships."""
    sizes: dict[str, list[Any]] = {}
    for name, slug, n in zip(summary["partnership"], summary["partnership_slug"], summary["structures"], strict=True):
        sizes.setdefault(name, [slug, 0])[1] += int(n)
    return tuple((sizes[name][0], sizes[name][1]) for name in sorted(sizes))


def survival_of(summary: pd.DataFrame) -> pd.DataFrame:
    """Per partnership, from :func:`legacy_summary`: structures, how many still run (continuing or
    hosted elsewhere), how many of those were confirmed since the partnership's funding ended
    (:func:`confirmed_since`), and the share still running."""
    totals: dict[str, list[Any]] = {}
    for partnership, end, slug, n, after_end in zip(
        summary["partnership"],
        summary["partnership_end"],
        summary["status_slug"],
        summary["structures"],
        summary["after_end"],
        strict=True,
    ):
        found = totals.setdefault(partnership, [end, 0, 0, 0])
        found[1] += int(n)
        if slug in SURVIVING:
            found[2] += int(n)
            found[3] += int(after_end)
    names = sorted(totals)
    frame = pd.DataFrame(
        {
            "partnership": names,
            "partnership_end": pd.to_datetime(pd.Series([totals[p][0] for p in names], dtype=object)),
            "structures": [totals[p][1] for p in names],
            "surviving": [totals[p][2] for p in names],
            "confirmed_after_end": [totals[p][3] for p in names],
        }
    )
    frame["share_surviving"] = frame["surviving"] / frame["structures"]
    return frame


def structure_status_counts(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """Structures per partnership and current status (for the legacy stacked bar)."""
    return status_counts_of(legacy_summary(store, filters))


def survival(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """Per partnership: structures, how many still run (continuing or hosted elsewhere), and how
    many of those were confirmed since the partnership's funding ended (:func:`confirmed_since`)."""
    return survival_of(legacy_summary(store, filters))


def structure_names(store: Store, partnership: str) -> list[str]:
    """Names of a partnership's structures (latest spelling, as the legacy register shows them),
    for choosing one in the form. From the stored register: a third of the time of grouping the
    partnership's entries (12 against 35 ms for 15,000 structures at a million entries, #6)."""
    rows = (
        store.cursor()
        .execute(
            "SELECT structure FROM structure_register WHERE partnership = ? ORDER BY lower(structure), structure_key",
            [partnership],
        )
        .fetchall()
    )
    return [r[0] for r in rows]


# A term list's labels in the vocabulary's order (then by label), per entry: the labels gathered
# unordered and each short list sorted, not an ordered aggregate (DuckDB sorts within each group
# for those: 20 of the timeline's 31 ms of work on 2,000 entries, #6).
_LABELS = "list_transform(list_sort(list(struct_pack(p := t.position, l := t.label))), x -> x.l)"
_LABEL_TEXT = f"array_to_string({_LABELS}, '; ')"


_EXPORT = """
WITH {scope}{picked}, mech AS (
    SELECT m.entry_id, @labels AS labels
    FROM cur_mechanisms m JOIN terms t ON t.vocabulary = 'mechanism' AND t.slug = m.mechanism
    {mech_where}
    GROUP BY m.entry_id
), sect AS (
    SELECT s.entry_id, @labels AS labels
    FROM cur_sectors s JOIN terms t ON t.vocabulary = 'sector' AND t.slug = s.sector
    {sect_where}
    GROUP BY s.entry_id
)
SELECT e.id, p.name AS partnership, e.date_text AS date, e.kind, e.title, e.description,
       ty.label AS typology, st.label AS status, e.host,
       coalesce(mech.labels, []::VARCHAR[]) AS mechanisms, e.structure,
       coalesce(sect.labels, []::VARCHAR[]) AS sectors, e.source, e.quote, e.speaker, e.contribution
FROM cur_entries e
JOIN partnerships p ON p.slug = e.partnership
JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = e.typology
LEFT JOIN terms st ON st.vocabulary = 'status' AND st.slug = e.status
LEFT JOIN mech ON mech.entry_id = e.id
LEFT JOIN sect ON sect.entry_id = e.id
WHERE {where}
ORDER BY p.name, e.date_start, e.date_end, e.id
""".replace("@labels", _LABELS)


def export_rows(store: Store, filters: Filters = Filters(), batch: int = 20_000) -> Iterator[dict[str, Any]]:
    """Entries in the interchange columns (labels), in a stable order, streamed in batches."""
    scope, scope_params = filters.scope()
    where, where_params = filters.where()
    parts = {"scope": scope, "where": where, "picked": "", "mech_where": "", "sect_where": ""}
    params = [*scope_params, *where_params]
    if where != "TRUE":  # the lists of the chosen entries only, not of every entry (#6: 3.7 -> 0.7 s for
        # one partnership's 51,643 entries of a million)
        parts |= {
            "picked": f", picked AS MATERIALIZED (SELECT e.id FROM cur_entries e WHERE {where})",
            "mech_where": "WHERE m.entry_id IN (SELECT id FROM picked)",
            "sect_where": "WHERE s.entry_id IN (SELECT id FROM picked)",
        }
        params = [*scope_params, *where_params, *where_params]
    cur = store.cursor()
    reader = cur.execute(_EXPORT.format(**parts), params).to_arrow_reader(batch)
    for record_batch in reader:
        yield from record_batch.to_pylist()


def data_version(store: Store) -> str:
    """A value that changes whenever entries or reference data change (keys the read cache)."""
    return versions(store)[0]


def versions(store: Store) -> tuple[str, str]:
    """The data version (:func:`data_version`) and the reference version: a value that changes
    whenever the vocabularies, partnerships or FSG conditions change, and only then (keys the
    shared vocabularies: saving an entry does not make them be read again, #6)."""
    # The audit log's size, and a count and a sum of row hashes for each reference table, as one
    # UNION (a third of the time of subqueries joining the labels in order, as this was first
    # written: it runs on every page run, #6). Every write records one audit event in its own
    # transaction (an import of a million rows, one), so the audit log's size changes with every
    # write. Counting entry_history as well added nothing but time: in the shared PostgreSQL mode
    # DuckDB counts a table by copying its rows across, 215 ms a page run at a million entries.
    rows = (
        store.cursor()
        .execute(
            "SELECT 2, count(*), NULL FROM audit_log"
            " UNION ALL SELECT 3, count(*), sum(hash(vocabulary, slug, label, grp, description, position, retired))"
            " FROM terms"
            " UNION ALL SELECT 4, count(*), sum(hash(slug, name, programme, area, start_date, end_date))"
            " FROM partnerships"
            " UNION ALL SELECT 5, count(*), sum(hash(slug, label, grp, position)) FROM conditions"
        )
        .fetchall()
    )
    parts = {table: f"{count}:{hashed}" for table, count, hashed in rows}
    return "/".join(parts[t] for t in sorted(parts)), "/".join(parts[t] for t in (3, 4, 5))


def programmes(store: Store) -> list[str]:
    """The programmes that have partnerships, by name."""
    rows = store.cursor().execute("SELECT DISTINCT programme FROM partnerships ORDER BY programme").fetchall()
    return [r[0] for r in rows]


def headline(store: Store, filters: Filters = Filters()) -> dict[str, int]:
    """Headline figures: entries, milestones, setbacks, partnerships, and structures by current status."""
    ctes, params = grouped_scope(filters)
    rows = store.cursor().execute(f"WITH {ctes} SELECT status, count(*) FROM grouped GROUP BY ALL", params).fetchall()
    return {**entry_figures(store, filters), **structure_figures(dict(rows))}


def entry_figures(store: Store, filters: Filters = Filters()) -> dict[str, int]:
    """Entries, milestones, setbacks and partnerships with entries (from the stored counts when they can)."""
    if (fast := counted(filters)) is not None:
        sql, params = (
            "WITH g AS (SELECT partnership, kind, sum(entries) AS n FROM entry_counts c"
            f" WHERE {fast[0]} GROUP BY ALL HAVING sum(entries) <> 0)"
            " SELECT coalesce(sum(n), 0), coalesce(sum(n) FILTER (WHERE kind = 'milestone'), 0),"
            " coalesce(sum(n) FILTER (WHERE kind = 'setback'), 0), count(DISTINCT partnership) FROM g",
            fast[1],
        )
    else:
        scope, where, params = _parts(filters)
        sql = (
            f"WITH {scope} SELECT count(*), count(*) FILTER (WHERE kind = 'milestone'),"
            " count(*) FILTER (WHERE kind = 'setback'),"
            f" count(DISTINCT partnership) FROM cur_entries e WHERE {where}"
        )
    entries, milestones, setbacks, partnerships = (int(n) for n in store.cursor().execute(sql, params).fetchone())  # type: ignore[union-attr]
    return {"entries": entries, "milestones": milestones, "setbacks": setbacks, "partnerships": partnerships}


def structure_figures(by_status: Mapping[str | None, int]) -> dict[str, int]:
    """Structures in all and per current status (``None``: not recorded), from counts per status slug."""
    return {
        "structures": sum(by_status.values()),
        "continuing": by_status.get("continuing", 0),
        "hosted-elsewhere": by_status.get("hosted-elsewhere", 0),
        "decommissioned": by_status.get("decommissioned", 0),
        "not-recorded": by_status.get(None, 0),
    }


# entry_list's columns: name -> (what it is in SQL, the entries columns it needs).
ENTRY_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "id": ("e.id", ("id",)),
    "date": ("e.date_text", ("date_text",)),
    "partnership": ("p.name", ("partnership",)),
    "kind": ("e.kind", ("kind",)),
    "title": ("e.title", ("title",)),
    "typology": ("ty.label", ("typology",)),
    "status": ("st.label", ("status",)),
    "host": ("e.host", ("host",)),
    "structure": ("e.structure", ("structure",)),
    "mechanisms": ("mech.labels", ("id",)),
    "source": ("e.source", ("source",)),
    "description": ("e.description", ("description",)),
    "version": ("e.version", ("version",)),
    "updated_at": ("e.updated_at", ("updated_at",)),
    "updated_by": ("e.updated_by", ("updated_by",)),
    "quote": ("e.quote", ("quote",)),
    "speaker": ("e.speaker", ("speaker",)),
    "contribution": ("e.contribution", ("contribution",)),
}

_ENTRY_LIST = """
WITH {scope}, picked AS (
    SELECT {needed} FROM cur_entries e WHERE {where}
    ORDER BY e.date_start DESC, e.date_end DESC, e.seq DESC
    LIMIT ? OFFSET ?
){mech}
SELECT {select}
FROM picked e
JOIN partnerships p ON p.slug = e.partnership
JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = e.typology
LEFT JOIN terms st ON st.vocabulary = 'status' AND st.slug = e.status{mech_join}
ORDER BY e.date_start DESC, e.date_end DESC, e.seq DESC
"""
_ENTRY_MECHANISMS = """, mech AS (
    SELECT m.entry_id, @text AS labels
    FROM cur_mechanisms m JOIN terms t ON t.vocabulary = 'mechanism' AND t.slug = m.mechanism
    WHERE m.entry_id IN (SELECT id FROM picked)
    GROUP BY m.entry_id
)""".replace("@text", _LABEL_TEXT)


def entry_list(
    store: Store,
    filters: Filters = Filters(),
    limit: int = 200,
    offset: int = 0,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Entries matching the filter, latest date first, with labels (for tables and drill-downs).

    ``columns``: the ones to return (``id`` always comes too), from :data:`ENTRY_FIELDS`; default
    all. A table that shows six of them reads six: the rest are never scanned or sent (#6).
    """
    wanted = ["id", *(c for c in (columns or ENTRY_FIELDS) if c != "id")]
    unknown = [c for c in wanted if c not in ENTRY_FIELDS]
    if unknown:
        raise ValueError(f"entry_list has no column {', '.join(map(repr, unknown))}")
    raw = dict.fromkeys(
        ["date_start", "date_end", "seq", "partnership", "typology", "status"]
        + [c for name in wanted for c in ENTRY_FIELDS[name][1]]
    )
    scope, where, params = _parts(filters)
    cur = store.cursor()
    if (fast := counted(filters)) is not None:
        # The latest entries are in the latest months: the stored counts say from which month on
        # there are enough, so only those entries are sorted, not a million (#6).
        since = cur.execute(
            "SELECT max(month) FROM (SELECT month, sum(sum(entries)) OVER (ORDER BY month DESC) AS running"
            f" FROM entry_counts c WHERE {fast[0]} GROUP BY month) WHERE running >= ?",
            [*fast[1], limit + offset],
        ).fetchone()[0]  # type: ignore[index]
        if since is not None:
            where, params = f"{where} AND e.date_start >= ?", [*params, since]
            store.few_rows(cur)  # the latest months' entries: by index in the PostgreSQL mode
    mechanisms = "mechanisms" in wanted
    sql = _ENTRY_LIST.format(
        scope=scope,
        where=where,
        needed=", ".join(f"e.{c}" for c in raw),
        select=", ".join(f"{ENTRY_FIELDS[name][0]} AS {name}" for name in wanted),
        mech=_ENTRY_MECHANISMS if mechanisms else "",
        mech_join="\nLEFT JOIN mech ON mech.entry_id = e.id" if mechanisms else "",
    )
    return to_frame(cur.execute(sql, [*params, limit, offset]))


# Heatmap dimensions: the domain of values (rows of the grid) and how an entry maps to them.
_DOMAINS = {
    "partnership": "SELECT slug AS key, name AS label, row_number() OVER (ORDER BY name) AS pos "
    "FROM partnerships WHERE {cond}",
    "typology": "SELECT slug AS key, label, position AS pos FROM terms WHERE vocabulary = 'typology' AND ({cond})",
    "mechanism": "SELECT slug AS key, label, position AS pos FROM terms WHERE vocabulary = 'mechanism' AND ({cond})",
    "sector": "SELECT slug AS key, label, position AS pos FROM terms WHERE vocabulary = 'sector' AND ({cond})",
    # the second typology: an entry counts under every condition its typology maps to
    "condition": "SELECT slug AS key, label, position AS pos FROM conditions WHERE {cond}",
}
HEATMAP_DIMENSIONS = tuple(_DOMAINS)
# How an entry of `f` reaches each dimension's values: (join, key expression, several per entry?).
_REACH = {
    "partnership": ("", "f.partnership", False),
    "typology": ("", "f.typology", False),
    "mechanism": ("JOIN cur_mechanisms m ON m.entry_id = f.id", "m.mechanism", True),
    "sector": ("JOIN cur_sectors s ON s.entry_id = f.id", "s.sector", True),
    "condition": ("JOIN crosswalk x ON x.typology = f.typology", "x.condition", True),
}


def _domain(dimension: str, filters: Filters) -> tuple[str, list[Any]]:
    """The grid's values for one dimension: everything, or only what the filter selected."""
    if dimension == "partnership":
        conds, params = [], []
        if filters.partnerships:
            conds.append(f"slug IN ({', '.join('?' for _ in filters.partnerships)})")
            params += list(filters.partnerships)
        if filters.programmes:
            conds.append(f"programme IN ({', '.join('?' for _ in filters.programmes)})")
            params += list(filters.programmes)
        return _DOMAINS[dimension].format(cond=" AND ".join(conds) or "TRUE"), params
    selected = getattr(
        filters,
        {"typology": "typologies", "mechanism": "mechanisms", "sector": "sectors", "condition": "conditions"}[
            dimension
        ],
    )
    if selected:
        cond = f"slug IN ({', '.join('?' for _ in selected)})"
        return _DOMAINS[dimension].format(cond=cond), list(selected)
    if dimension == "condition":
        return _DOMAINS[dimension].format(cond="TRUE"), []
    # A retired term stays while entries use it (as Compare's grids keep it): "as at" a past moment,
    # the entries of then; now, the stored counts know which typologies and mechanisms, in 40,000
    # rows at a million entries rather than a million (#6). Their rows are signed: a term no entry
    # uses any more may have rows that sum to zero. The sectors have no stored counts: only the
    # retired ones are looked for among the entries' sectors (none retired: nothing is read).
    retired = f"SELECT slug FROM terms WHERE vocabulary = '{dimension}' AND retired"
    used = {
        "typology": "SELECT typology FROM cur_entries"
        if filters.as_at is not None
        else "SELECT typology FROM entry_counts GROUP BY typology HAVING sum(entries) <> 0",
        "mechanism": "SELECT m.mechanism FROM cur_mechanisms m SEMI JOIN cur_entries e ON e.id = m.entry_id"
        if filters.as_at is not None
        else "SELECT mechanism FROM mechanism_counts GROUP BY mechanism HAVING sum(entries) <> 0",
        "sector": "SELECT s.sector FROM cur_sectors s SEMI JOIN cur_entries e ON e.id = s.entry_id"
        f" WHERE s.sector IN ({retired})",
    }[dimension]
    return _DOMAINS[dimension].format(cond=f"NOT retired OR slug IN ({used})"), []


def heatmap(store: Store, filters: Filters, rows: str, cols: str) -> pd.DataFrame:
    """A complete rows × cols grid: count, share of the row's entries, milestones − setbacks."""
    if rows not in _DOMAINS or cols not in _DOMAINS or rows == cols:
        raise ValueError(f"heatmap dimensions are two different ones of: {', '.join(_DOMAINS)}")
    scope, where, params = _parts(filters)
    row_domain, row_params = _domain(rows, filters)
    col_domain, col_params = _domain(cols, filters)
    # Cells and row totals straight from the (filtered) entries, joining only the list dimensions,
    # unless the stored counts can answer (below).
    row_join, row_key, _ = _REACH[rows]
    col_join, col_key, col_many = _REACH[cols]
    # From the stored counts when the filter allows (#6): pairs of partnership, typology and
    # condition (through the crosswalk, from the typology) from entry_counts; any of them with
    # mechanisms from mechanism_counts, where an entry counts once under each of its mechanisms.
    counted_dims = {"partnership", "typology", "condition", "mechanism"}
    counts = None
    if rows in counted_dims and cols in counted_dims:
        counts = "mechanism_counts" if "mechanism" in (rows, cols) else "entry_counts"
    fast = counted(filters) if counts else None
    totals_params: list[Any] = []
    if fast is not None:
        mechanism = ", c.mechanism" if counts == "mechanism_counts" else ""
        source = f"SELECT c.kind, c.partnership, c.typology{mechanism}, c.entries FROM {counts} c WHERE {fast[0]}"
        scope, params = "_ AS (SELECT 1)", fast[1]
        if rows == "mechanism":
            row_join, row_key = "", "f.mechanism"
        if cols == "mechanism":
            col_join, col_key = "", "f.mechanism"

        def tally(cond: str = "TRUE") -> str:
            return f"CAST(coalesce(sum(f.entries) FILTER (WHERE {cond}), 0) AS BIGINT)"
    else:
        source = f"SELECT e.id, e.kind, e.partnership, e.typology FROM cur_entries e WHERE {where}"

        def tally(cond: str = "TRUE") -> str:
            return f"count(*) FILTER (WHERE {cond})"

    # A row's total: its entries. An entry meets a row value at most once (its lists hold each term
    # once and the crosswalk each pair once), so counting rows is counting entries; and when each
    # of them sits in one column too, the total is the sum of the row's cells: no second pass (#6).
    totals = (
        "SELECT row_key, sum(n) AS total FROM cells GROUP BY 1"
        if not col_many
        else f"SELECT {row_key} AS row_key, {tally()} AS total FROM f {row_join} GROUP BY 1"
    )
    if fast is not None and col_many:  # a row value's entries, each once, from the stored counts
        table, join, key = (
            ("mechanism_counts", "", "c.mechanism")
            if rows == "mechanism"
            else ("entry_counts", _REACH[rows][0].replace("f.", "c."), _REACH[rows][1].replace("f.", "c."))
        )
        totals = f"SELECT {key} AS row_key, sum(c.entries) AS total FROM {table} c {join} WHERE {fast[0]} GROUP BY 1"
        totals_params = fast[1]
    sql = f"""
    WITH {scope}, f AS NOT MATERIALIZED ({source}),
    cells AS (
        SELECT {row_key} AS row_key, {col_key} AS col_key, {tally()} AS n,
               {tally("f.kind = 'milestone'")} - {tally("f.kind = 'setback'")} AS net
        FROM f {row_join} {col_join} GROUP BY ALL
    ),
    totals AS ({totals}),
    rd AS ({row_domain}),
    cd AS ({col_domain})
    SELECT rd.label AS row, cd.label AS col, rd.pos AS row_order, cd.pos AS col_order,
           rd.key AS row_key, cd.key AS col_key,
           coalesce(cells.n, 0) AS count,
           coalesce(cells.n, 0) / nullif(totals.total, 0) AS share,
           coalesce(cells.net, 0) AS net,
           coalesce(totals.total, 0) AS total
    FROM rd CROSS JOIN cd
    LEFT JOIN cells ON cells.row_key = rd.key AND cells.col_key = cd.key
    LEFT JOIN totals ON totals.row_key = rd.key
    ORDER BY rd.pos, cd.pos
    """
    frame = to_frame(store.cursor().execute(sql, [*params, *totals_params, *row_params, *col_params]))
    frame["share"] = frame["share"].fillna(0.0).astype(float)
    for column in ("count", "net", "total", "row_order", "col_order"):
        frame[column] = frame[column].astype(int)
    return frame


def year_counts(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """Milestones and setbacks per year (of the date's start), over every year from the first to
    the last (zeros included): the chart's year axis is ordinal, so a year left out would not show."""
    scope, where, params = _parts(filters)
    frame = to_frame(
        store.cursor().execute(
            f"""WITH {scope},
            f AS (SELECT year(e.date_start) AS year, e.kind FROM cur_entries e WHERE {where}),
            years AS (SELECT unnest(range(min(year), max(year) + 1)) AS year FROM f),
            kinds AS (SELECT unnest(['milestone', 'setback']) AS kind),
            counts AS (SELECT year, kind, count(*) AS n FROM f GROUP BY ALL)
            SELECT y.year, k.kind, coalesce(c.n, 0) AS entries
            FROM years y CROSS JOIN kinds k LEFT JOIN counts c ON c.year = y.year AND c.kind = k.kind
            ORDER BY y.year, k.kind""",
            params,
        )
    )
    for column in ("year", "entries"):
        frame[column] = frame[column].astype(int)
    return frame


_LANE = {
    "partnership": ("p.name", "p.name", "TRUE"),
    "structure": (
        "p.name || ' · ' || " + latest_of("e.structure", over="OVER (PARTITION BY e.partnership, e.structure_key)"),
        "p.name, e.structure_key",
        "e.structure_key IS NOT NULL",
    ),
}


# Binned timelines: the lane's key columns, and whether lanes are named after a structure.
_LANE_BINS = {"partnership": ("e.partnership", False), "structure": ("e.partnership, e.structure_key", True)}
_LANE_LABEL = {"partnership": "p.name", "structure": "p.name || ' · ' || nm.structure"}
_LANE_ORDER = {"partnership": "p.name", "structure": "p.name, b.structure_key"}


STRUCTURE_LANES = 100  # structure lanes a timeline draws at most: the ones with the most entries


def structure_lanes(
    store: Store, filters: Filters = Filters(), limit: int = STRUCTURE_LANES
) -> tuple[tuple[tuple[str, str], ...], int]:
    """For a timeline with one lane per structure: the ``limit`` structures with the most entries
    (then by partnership and key) among those ``filters`` matches, as (partnership, structure_key)
    pairs, and how many it matches. At a million entries that is 300,000 lanes, which no chart can
    show (#6); :func:`timeline` and :func:`status_segments` take the pairs as ``only``."""
    ctes, params = grouped_scope(filters)
    cur = store.cursor()
    total = cur.execute(f"WITH {ctes} SELECT count(*) FROM grouped", params).fetchone()[0]  # type: ignore[index]
    picked = cur.execute(
        f"WITH {ctes} SELECT partnership, structure_key FROM grouped"
        " ORDER BY entries DESC, partnership, structure_key LIMIT ?",
        [*params, limit],
    ).fetchall()
    return tuple((str(p), str(k)) for p, k in picked), int(total)


def _only(only: Sequence[tuple[str, str]]) -> tuple[str, list[Any]]:
    """A condition on ``cur_entries e`` keeping the entries of these (partnership, structure_key)
    pairs (nothing when there are none), and its parameters."""
    if not only:
        return "", []
    # The keys alone first, as a list of constants: DuckDB checks those while it scans, so the other
    # columns are read only for the rows they keep (the pairs alone, a join, read every row: 10×).
    keys = list(dict.fromkeys(key for _, key in only))
    values = ", ".join("(?, ?)" for _ in only)
    sql = (
        f" AND e.structure_key IN ({', '.join('?' for _ in keys)})"
        f" AND (e.partnership, e.structure_key) IN (SELECT p, k FROM (VALUES {values}) v(p, k))"
    )
    return sql, [*keys, *(value for pair in only for value in pair)]


def timeline(
    store: Store,
    filters: Filters,
    lane: str = "partnership",
    max_rows: int = 5000,
    only: Sequence[tuple[str, str]] = (),
) -> tuple[pd.DataFrame, bool]:
    """Entries to draw on the timeline, or (when more than ``max_rows``) counts binned in SQL.

    Returns ``(frame, binned)``. Individual rows carry the date as entered, its precision
    and the period it covers (``end`` is the day after the period). Binned rows are counts per
    lane, period, kind and typology — by month, else by year — never more than ``max_rows``.
    ``only``: with structure lanes, just these (partnership, structure_key) pairs
    (:func:`structure_lanes`).
    """
    if lane not in _LANE:
        raise ValueError("lane is 'partnership' or 'structure'")
    if only and lane != "structure":
        raise ValueError("only chooses structure lanes")
    label, order, cond = _LANE[lane]
    scope, where, params = _parts(filters)
    where_params = filters.where()[1]
    extra, extra_params = _only(only)
    where, params, where_params = where + extra, [*params, *extra_params], [*where_params, *extra_params]
    cur = store.cursor()
    fast = counted(filters) if lane == "partnership" else None  # every entry has a partnership lane
    rows = least = 0
    if fast is not None:  # the entries, and bounds on the month rows they would make, from the stored counts
        total, rows, least = cur.execute(
            "SELECT CAST(coalesce(sum(entries), 0) AS BIGINT), count(*),"
            " count(*) FILTER (WHERE folded) - count(*) FILTER (WHERE entries < 0)"
            f" FROM entry_counts c WHERE {fast[0]}",
            fast[1],
        ).fetchone()  # type: ignore[misc]
    else:
        total = cur.execute(
            f"WITH {scope} SELECT count(*) FROM cur_entries e WHERE {where} AND {cond}", params
        ).fetchone()[0]  # type: ignore[index]
    if total <= max_rows:
        sql = f"""
        WITH {scope}, shown AS (SELECT e.id FROM cur_entries e WHERE {where} AND {cond}), mech AS (
            SELECT m.entry_id, {_LABEL_TEXT} AS labels
            FROM cur_mechanisms m JOIN terms t ON t.vocabulary = 'mechanism' AND t.slug = m.mechanism
            WHERE m.entry_id IN (SELECT id FROM shown)
            GROUP BY m.entry_id
        ), base AS (
            SELECT {label} AS lane, dense_rank() OVER (ORDER BY {order}) AS lane_order,
                   e.id, e.title, e.date_text, e.date_precision AS precision,
                   e.date_start AS start, e.date_end + INTERVAL 1 DAY AS "end", e.kind,
                   ty.label AS typology, st.label AS status, mech.labels AS mechanisms, e.source,
                   p.name AS partnership, e.structure, e.quote, e.speaker, e.contribution
            FROM cur_entries e
            JOIN partnerships p ON p.slug = e.partnership
            JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = e.typology
            LEFT JOIN terms st ON st.vocabulary = 'status' AND st.slug = e.status
            LEFT JOIN mech ON mech.entry_id = e.id
            WHERE {where} AND {cond}
        )
        SELECT * FROM base ORDER BY lane_order, start, id
        """
        frame = to_frame(cur.execute(sql, [*params, *where_params]))
        frame["start"] = pd.to_datetime(frame["start"])
        frame["end"] = pd.to_datetime(frame["end"])
        return frame, False
    # Too many to draw one by one: count per lane, month, kind and typology; if that is too many
    # rows, sum the months into years, and if even those are too many, roll up the typologies.
    keys, names = _LANE_BINS[lane]

    def counts(table: str, grain: str) -> None:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE {table} AS WITH {scope} "
            f"SELECT {keys}, date_trunc('{grain}', e.date_start) AS period, e.kind, e.typology, count(*) AS n "
            f"FROM cur_entries e WHERE {where} AND {cond} GROUP BY ALL",
            params,
        )

    def rollup(table: str, grain: str, typology: str, params: list[Any] | None = None) -> pd.DataFrame:
        # Summed by slugs first, labelled after: the labels, the lane order and the sort then see
        # the few thousand rows of the chart, not every stored count (#6: 25 -> 8 ms at 1M).
        by_typology = typology == "ty.label"
        plain = keys.replace("e.", "b.")
        sql = f"""
        WITH summed AS (
            SELECT {plain}, b.period AS start, b.kind, {"b.typology" if by_typology else "NULL"} AS typology_slug,
                   CAST(sum(b.n) AS BIGINT) AS count
            FROM {table} b GROUP BY ALL HAVING sum(b.n) <> 0
        )
        SELECT {_LANE_LABEL[lane]} AS lane, dense_rank() OVER (ORDER BY {_LANE_ORDER[lane]}) AS lane_order,
               b.start, b.start + INTERVAL 1 {grain} AS "end", b.kind, {typology} AS typology, b.count
        FROM summed b
        JOIN partnerships p ON p.slug = b.partnership
        {"JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = b.typology_slug" if by_typology else ""}
        {"JOIN timeline_names nm USING (partnership, structure_key)" if names else ""}
        ORDER BY lane_order, b.start, b.kind, typology
        """
        return to_frame(cur.execute(sql, params or []))

    if fast is not None:  # partnership lanes from the stored monthly counts, one row each (#6)
        stored = (
            "(SELECT c.partnership, date_trunc('{grain}', c.month) AS period, c.kind, c.typology, c.entries AS n"
            f" FROM entry_counts c WHERE {fast[0]})"  # signed rows: the rollup sums them
        )
        if _months_fit(cur, fast, rows, least, max_rows):
            frame = rollup(stored.format(grain="month"), "month", "ty.label", fast[1])
        else:
            frame = rollup(stored.format(grain="year"), "year", "ty.label", fast[1])
            if len(frame) > max_rows:
                frame = rollup(stored.format(grain="year"), "year", "'(several)'", fast[1])
        return _dated(frame.head(max_rows)), True

    if names:
        cur.execute(
            f"CREATE OR REPLACE TEMP TABLE timeline_names AS WITH {scope} SELECT e.partnership, e.structure_key,"
            f" {latest_of('e.structure')} AS structure FROM cur_entries e"
            f" WHERE {where} AND {cond} GROUP BY ALL",
            params,
        )
    try:
        # One pass over the entries, by month. A month row is one row of the chart, so whether the
        # months fit is a count; only when they do not are they summed into years (#6: fetching
        # 40,000 month rows to find out cost more than the rest of the query).
        counts("timeline_months", "month")
        if cur.execute("SELECT count(*) FROM timeline_months").fetchone()[0] <= max_rows:  # type: ignore[index]
            frame = rollup("timeline_months", "month", "ty.label")
        else:
            plain = keys.replace("e.", "")
            cur.execute(
                f"CREATE OR REPLACE TEMP TABLE timeline_years AS SELECT {plain}, date_trunc('year', period) AS period,"
                " kind, typology, sum(n) AS n FROM timeline_months GROUP BY ALL"
            )
            frame = rollup("timeline_years", "year", "ty.label")
            if len(frame) > max_rows:
                frame = rollup("timeline_years", "year", "'(several)'")
    finally:
        cur.execute(
            "DROP TABLE IF EXISTS timeline_years; DROP TABLE IF EXISTS timeline_months;"
            " DROP TABLE IF EXISTS timeline_names"
        )
    return _dated(frame.head(max_rows)), True


def _months_fit(
    cur: duckdb.DuckDBPyConnection, fast: tuple[str, list[Any]], rows: int, least: int, max_rows: int
) -> bool:
    """Whether the binned timeline's month rows (one per partnership, month, kind and typology whose
    count is not zero) are at most ``max_rows``. ``rows``: the stored counts the filters choose, one
    or more per such group, so never fewer than the month rows; ``least``: their folded rows less
    their negative ones, never more (schemas/0014). Only between the two are the counts grouped to
    find out (#6: 12 ms at a million entries, where the bounds are a count, 1 ms)."""
    if rows <= max_rows:
        return True
    if least > max_rows:
        return False
    months = cur.execute(
        "SELECT count(*) FROM (SELECT 1 FROM entry_counts c"
        f" WHERE {fast[0]} GROUP BY partnership, month, kind, typology HAVING sum(entries) <> 0)",
        fast[1],
    ).fetchone()[0]  # type: ignore[index]
    return bool(months <= max_rows)


def _dated(frame: pd.DataFrame) -> pd.DataFrame:
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def status_segments(
    store: Store, filters: Filters = Filters(), until: date | None = None, only: Sequence[tuple[str, str]] = ()
) -> pd.DataFrame:
    """Each structure's status over time: one segment per run of the same status and host.

    A segment runs from the entry that began it to the entry that ended it; the last one runs
    to ``until`` (default today, or the day of the as-at moment: the tracker did not know of later
    days then), since that is the status as far as anyone has recorded.
    ``only``: just these (partnership, structure_key) pairs (:func:`structure_lanes`).
    """
    scope, where, params = _parts(filters)
    extra, extra_params = _only(only)
    where_params = [*filters.where()[1], *extra_params]
    where, params = where + extra, [*params, *extra_params]
    until = until or (filters.as_at.date() if filters.as_at is not None else date.today())
    # Lanes named and numbered as :func:`timeline` names and numbers them (the name the structure
    # has in the entries shown, the order of every structure shown, with a status or not), so that
    # a structure's bands are drawn on its entries' lane.
    sql = f"""
    WITH {scope}, {_REGISTER_CTE.format(where=where)},
    lanes AS (
        SELECT r.partnership_slug, r.structure_key, r.partnership || ' · ' || n.structure AS lane,
               dense_rank() OVER (ORDER BY r.partnership, r.structure_key) AS lane_order
        FROM register r
        JOIN (SELECT e.partnership, e.structure_key,
                     {latest_of("e.structure")} AS structure
              FROM cur_entries e WHERE {where} AND e.structure_key IS NOT NULL GROUP BY ALL) n
          ON n.partnership = r.partnership_slug AND n.structure_key = r.structure_key
    ),
    runs AS (
        SELECT o.partnership, o.structure_key, o.status, o.host, o.date_start, o.date_end, o.updated_at,
               o.status_reach, o.seq,
               sum(o.starts_run) OVER (PARTITION BY o.partnership, o.structure_key
                                       ORDER BY o.status_reach, o.seq) AS run
        FROM ordered o WHERE o.status IS NOT NULL
    ), runs_started AS (
        -- a run starts at the earliest date of its entries (the register's "since"), runs in the
        -- register's order of entries (the latest entry's run last); a run whose earliest entry
        -- starts before the run it follows (a year overlapping a month) starts where that one did
        SELECT partnership, structure_key, run, any_value(status) AS status,
               arg_max(host, (status_reach, seq)) AS host, min(date_start) AS began,
               max(least(date_end, CAST(updated_at AS DATE))) AS confirmed,
               arg_min(date_end, (date_start, date_end, seq)) AS first_end
        FROM runs GROUP BY ALL
    ), spans AS (
        -- ...and not before the last day an earlier run was known to hold, within its first entry's
        -- period: "2023-06: continuing", then "2023: decommissioned" closes after 2023-06-30, as the
        -- register's run_from and the survival curves date it (#8), not from 1 January
        SELECT *, least(greatest(max(began) OVER (PARTITION BY partnership, structure_key ORDER BY run),
                                 max(confirmed) OVER (PARTITION BY partnership, structure_key ORDER BY run
                                                      ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)),
                        first_end) AS start
        FROM runs_started
    )
    SELECT l.lane, l.lane_order,
           s.start,
           coalesce(lead(s.start) OVER (PARTITION BY s.partnership, s.structure_key ORDER BY s.run),
                    greatest(?, r.last_entry_end + INTERVAL 1 DAY)) AS "end",
           st.label AS status,
           st.label || CASE WHEN s.host IS NOT NULL THEN ' — ' || s.host ELSE '' END AS label
    FROM spans s
    JOIN register r ON r.partnership_slug = s.partnership AND r.structure_key = s.structure_key
    JOIN lanes l ON l.partnership_slug = s.partnership AND l.structure_key = s.structure_key
    JOIN terms st ON st.vocabulary = 'status' AND st.slug = s.status
    ORDER BY lane_order, s.run
    """
    frame = to_frame(store.cursor().execute(sql, [*params, *where_params, until]))
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def cell_entries(
    store: Store,
    filters: Filters,
    rows: str,
    row_key: str,
    cols: str,
    col_key: str,
    limit: int = 500,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The entries behind one heatmap cell: the filter narrowed to that row and column value."""
    cell = narrow(narrow(filters, rows, row_key), cols, col_key)
    return entry_list(store, cell, limit=limit, columns=columns)


REGISTER_COLUMNS = {
    "partnership": "partnership",
    "structure": "structure",
    "typology": "typology",
    "status": "current status",
    "host": "host organisation",
    "since": "since",
    "last_entry": "last entry",
    "entries": "entries",
}


def quotes(store: Store, filters: Filters = Filters(), limit: int = 60) -> pd.DataFrame:
    """Entries that carry a quote (latest first): who said it, about what, and the programme's contribution."""
    scope, where, params = _parts(filters)
    sql = (
        f"WITH {scope} SELECT p.name AS partnership, e.date_text AS date, e.title, e.quote, e.speaker,"
        " e.contribution FROM cur_entries e JOIN partnerships p ON p.slug = e.partnership"
        f" WHERE e.quote IS NOT NULL AND {where}"
        " ORDER BY e.date_start DESC, e.date_end DESC, e.seq DESC LIMIT ?"
    )
    return to_frame(store.cursor().execute(sql, [*params, limit]))
