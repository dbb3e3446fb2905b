"""Read queries: SQL in, rows or DataFrames out. One function per query, a cursor per call.

Aggregation happens here, in SQL, so that pages and charts only ever receive
small, already-summarised tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd

from tracker.filters import Filters
from tracker.store import Store

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
        "LEFT JOIN entry_mechanisms em ON em.entry_id = e.id "
        "LEFT JOIN terms me ON me.vocabulary = 'mechanism' AND me.slug = em.mechanism",
        "me.label",
        "me.position",
    ),
    "sector": (
        "LEFT JOIN entry_sectors es ON es.entry_id = e.id "
        "LEFT JOIN terms se ON se.vocabulary = 'sector' AND se.slug = es.sector",
        "se.label",
        "se.position",
    ),
    "year": ("", "year(e.date_start)", "year(e.date_start)"),
}


def count_entries(store: Store, filters: Filters = Filters()) -> int:
    """How many entries match the filter."""
    where, params = filters.where()
    row = store.cursor().execute(f"SELECT count(*) FROM entries e WHERE {where}", params).fetchone()
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
    where, params = filters.where()
    sql = (
        f"SELECT {labels}, count(*) AS n FROM entries e {joins} WHERE {where}"
        f" GROUP BY {groups} ORDER BY {order}"
    )
    rows = store.cursor().execute(sql, params).fetchall()
    out = []
    for row in rows:
        record: dict[str, Any] = {f: row[i] for i, f in enumerate(by)}
        record["count"] = int(row[-1])
        out.append(record)
    return out


# Structure histories: the current status is that of the latest entry with a status
# (latest by date; equal dates -> the later-entered entry); "since" is the date of the
# entry that began the current run of that status and host.
_STRUCTURES = """
WITH ordered AS (
    SELECT e.*,
           CASE WHEN e.status IS NULL THEN NULL
                WHEN lag(e.status) OVER w IS NOT DISTINCT FROM e.status
                 AND lag(lower(trim(e.host))) OVER w IS NOT DISTINCT FROM lower(trim(e.host)) THEN 0
                ELSE 1 END AS starts_run
    FROM entries e
    WHERE e.structure_key IS NOT NULL AND {where}
    WINDOW w AS (PARTITION BY e.partnership, e.structure_key, e.status IS NULL
                 ORDER BY e.date_start, e.date_end, e.seq)
), grouped AS (
    SELECT partnership, structure_key,
           arg_max(structure, (date_start, date_end, seq)) AS structure,
           arg_max(typology, (date_start, date_end, seq)) AS typology,
           arg_max(status, (date_start, date_end, seq)) FILTER (WHERE status IS NOT NULL) AS status,
           arg_max(host, (date_start, date_end, seq)) FILTER (WHERE status IS NOT NULL) AS host,
           arg_max(date_text, (date_start, date_end, seq)) FILTER (WHERE starts_run = 1) AS since,
           arg_max(date_text, (date_start, date_end, seq)) AS last_entry,
           max(date_end) AS last_entry_end,
           min(date_start) AS first_entry_start,
           count(*) AS entries
    FROM ordered
    GROUP BY partnership, structure_key
)
SELECT p.name AS partnership, g.structure, ty.label AS typology, st.label AS status, g.host,
       g.since, g.last_entry, g.entries, p.programme, p.end_date AS partnership_end,
       g.partnership AS partnership_slug, g.status AS status_slug, g.typology AS typology_slug,
       g.first_entry_start, g.last_entry_end
FROM grouped g
JOIN partnerships p ON p.slug = g.partnership
LEFT JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = g.typology
LEFT JOIN terms st ON st.vocabulary = 'status' AND st.slug = g.status
ORDER BY p.name, lower(g.structure)
"""


def structures(store: Store, filters: Filters = Filters()) -> pd.DataFrame:
    """One row per structure: partnership, structure, typology, current status, host, since, entries…"""
    where, params = filters.where()
    return store.cursor().execute(_STRUCTURES.format(where=where), params).df()


_EXPORT = """
WITH mech AS (
    SELECT m.entry_id, list(t.label ORDER BY t.position) AS labels
    FROM entry_mechanisms m JOIN terms t ON t.vocabulary = 'mechanism' AND t.slug = m.mechanism
    GROUP BY m.entry_id
), sect AS (
    SELECT s.entry_id, list(t.label ORDER BY t.position) AS labels
    FROM entry_sectors s JOIN terms t ON t.vocabulary = 'sector' AND t.slug = s.sector
    GROUP BY s.entry_id
)
SELECT e.id, p.name AS partnership, e.date_text AS date, e.kind, e.title, e.description,
       ty.label AS typology, st.label AS status, e.host,
       coalesce(mech.labels, []::VARCHAR[]) AS mechanisms, e.structure,
       coalesce(sect.labels, []::VARCHAR[]) AS sectors, e.source
FROM entries e
JOIN partnerships p ON p.slug = e.partnership
JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = e.typology
LEFT JOIN terms st ON st.vocabulary = 'status' AND st.slug = e.status
LEFT JOIN mech ON mech.entry_id = e.id
LEFT JOIN sect ON sect.entry_id = e.id
WHERE {where}
ORDER BY p.name, e.date_start, e.date_end, e.id
"""


def export_rows(store: Store, filters: Filters = Filters(), batch: int = 20_000) -> Iterator[dict[str, Any]]:
    """Entries in the interchange columns (labels), in a stable order, streamed in batches."""
    where, params = filters.where()
    cur = store.cursor()
    reader = cur.execute(_EXPORT.format(where=where), params).to_arrow_reader(batch)
    for record_batch in reader:
        yield from record_batch.to_pylist()
