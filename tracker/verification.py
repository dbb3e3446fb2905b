"""Re-verification: is each structure still as recorded? Flag the ones nobody has confirmed lately.

A structure's "last confirmed" date is the latest status-bearing entry about it (never later than
the day that entry was recorded). Structures not confirmed within ``Settings.verify_months`` are
*unverified*. Confirming is one click: it records an ordinary entry, so history, permissions and
the audit trail all apply.
"""

from __future__ import annotations

import calendar
import csv
import io
from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from tracker import queries
from tracker.access import Member, require_edit
from tracker.entries import save_entry
from tracker.errors import InvalidInput, Problem
from tracker.filters import Filters
from tracker.frames import to_frame
from tracker.interchange import neutralise
from tracker.models import MAX_TITLE, Entry, FuzzyDate
from tracker.store import Store
from tracker.taxonomy import NO_STATUS

OUTCOMES = ("running", "closed")


def cutoff(today: date, months: int) -> date:
    """The date before which a confirmation is too old."""
    month = today.month - months
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    # the same day of that month, or its last day if it has fewer (31 March less a month: 28 or 29 February)
    return date(year, month, min(today.day, calendar.monthrange(year, month)[1]))


_TOUCHING = """
touching AS (
    SELECT DISTINCT ON (l.id) l.* EXCLUDE (slug, key) FROM (
        SELECT *, unnest([from_partnership, to_partnership]) AS slug, unnest([from_structure, to_structure]) AS key
        FROM structure_links
    ) l SEMI JOIN {source} g ON g.partnership = l.slug AND g.structure_key = l.key
)"""
"""The links touching the structures of ``{source}`` (each once)."""


def _link_ctes(source: str, *, ends: bool = False) -> str:
    """``checked``: the register with "carried on as" and "grew out of" as text, for the structures
    of ``source`` (the CTE the register is labelled from: ``grouped``, or the few a page picked).
    Only the links touching those structures are read, and only their ends are named, from the
    stored register (a link always shows a structure's current name, also "as at" a past moment):
    naming every linked structure read the stored register for each page, 30 ms at a million
    entries with 3,000 links (#6).

    ``ends``: no link columns, for a page of the register: :func:`_name_links` reads the links of its
    few structures and names their other ends from a lookup (the stored register is then not scanned
    at all)."""
    touching = _TOUCHING.format(source=source)
    # only a structure still running can go unconfirmed: a closed one has nothing to check (#8)
    unverified = (
        f"coalesce(r.status_slug IN {queries.SURVIVING!r}, FALSE)"  # no status recorded: nothing to confirm
        " AND (r.last_confirmed IS NULL OR r.last_confirmed < ?) AS unverified"
    )
    if ends:  # the page's links are read by :func:`_name_links`: as CTEs, ~5 ms more planning at 10k (#6)
        return f"checked AS (SELECT r.*, {unverified} FROM register r)"
    return f"""{touching}, link_ends AS (
    SELECT from_partnership AS slug, from_structure AS key FROM touching
    UNION SELECT to_partnership, to_structure FROM touching
), named AS (
    SELECT r.partnership, r.structure_key, r.structure FROM structure_register r
    SEMI JOIN link_ends e ON e.slug = r.partnership AND e.key = r.structure_key
), link_named AS (
    SELECT l.from_partnership AS from_slug, l.from_structure AS from_key,
           l.to_partnership AS to_slug, l.to_structure AS to_key,
           coalesce(fn.structure, l.from_structure) || ' (' || fp.name || ', ' || fp.programme || ')' AS from_text,
           coalesce(tn.structure, l.to_structure) || ' (' || tp.name || ', ' || tp.programme || ')' AS to_text
    FROM touching l
    JOIN partnerships fp ON fp.slug = l.from_partnership
    JOIN partnerships tp ON tp.slug = l.to_partnership
    LEFT JOIN named fn ON fn.partnership = l.from_partnership AND fn.structure_key = l.from_structure
    LEFT JOIN named tn ON tn.partnership = l.to_partnership AND tn.structure_key = l.to_structure
), later AS (
    SELECT from_slug AS slug, from_key AS key, string_agg(to_text, '; ' ORDER BY to_text) AS carried_on_as
    FROM link_named GROUP BY ALL
), earlier AS (
    SELECT to_slug AS slug, to_key AS key, string_agg(from_text, '; ' ORDER BY from_text) AS grew_out_of
    FROM link_named GROUP BY ALL
), checked AS (
    SELECT r.*, {unverified},
           coalesce(la.carried_on_as, '') AS carried_on_as, coalesce(ea.grew_out_of, '') AS grew_out_of
    FROM register r
    LEFT JOIN later la ON la.slug = r.partnership_slug AND la.key = r.structure_key
    LEFT JOIN earlier ea ON ea.slug = r.partnership_slug AND ea.key = r.structure_key
)"""


def _name_links(store: Store, frame: pd.DataFrame) -> pd.DataFrame:
    """``carried_on_as`` and ``grew_out_of`` as text for the structures of ``frame`` (a page of the
    register from ``_link_ctes(..., ends=True)``): each link's other end named "structure
    (partnership, programme)", sorted and joined with "; " as the SQL of :func:`_link_ctes` does.
    The links of the page's partnerships, then their other ends and partnerships, are looked up by
    name: two small queries (#6: planning the links as CTEs of the page's query cost more than
    reading them)."""
    own = set(zip(frame["partnership_slug"], frame["structure_key"], strict=True))
    later: dict[tuple[str, str], list[tuple[str, str]]] = {}
    earlier: dict[tuple[str, str], list[tuple[str, str]]] = {}
    postgres = store.is_postgres
    if own:
        # by the page's partnerships (one or two), not its 100 structures: a list of 200 parameters
        # took longer to plan than the links of whole partnerships take to read
        areas = sorted({slug for slug, _ in own})
        froms, from_params = queries.named_in("from_partnership", areas, "f", postgres=postgres)
        tos, to_params = queries.named_in("to_partnership", areas, "t", postgres=postgres)
        for from_slug, from_key, to_slug, to_key in (
            store.cursor(few=True)
            .execute(
                "SELECT from_partnership, from_structure, to_partnership, to_structure FROM structure_links"
                f" WHERE {froms} OR {tos}",
                {**from_params, **to_params},
            )
            .fetchall()
        ):  # the links of the partnerships' structures not on the page are read too, and skipped
            if (from_slug, from_key) in own:
                later.setdefault((from_slug, from_key), []).append((to_slug, to_key))
            if (to_slug, to_key) in own:
                earlier.setdefault((to_slug, to_key), []).append((from_slug, from_key))
    found = {pair for links in (later, earlier) for ends in links.values() for pair in ends}
    names: dict[tuple[str, str], str | None] = {}
    partnerships: dict[str, str] = {}
    if found:
        keys, key_params = queries.named_in("structure_key", sorted({k for _, k in found}), "k", postgres=postgres)
        slugs, slug_params = queries.named_in("slug", sorted({p for p, _ in found}), "p", postgres=postgres)
        cur = store.cursor(few=True)
        for kind, a, b, c in cur.execute(
            f"SELECT 's', partnership, structure_key, structure FROM structure_register WHERE {keys}"
            f" UNION ALL SELECT 'p', slug, name, programme FROM partnerships WHERE {slugs}",
            {**key_params, **slug_params},
        ).fetchall():
            if kind == "s":
                names[(a, b)] = c
            else:
                partnerships[a] = f"{b}, {c}"

    def text(ends: list[tuple[str, str]]) -> str:
        named = []
        for slug, key in ends:
            name = names.get((slug, key))
            named.append(f"{key if name is None else name} ({partnerships[slug]})")
        return "; ".join(sorted(named))

    pairs = list(zip(frame["partnership_slug"], frame["structure_key"], strict=True))
    frame["carried_on_as"] = [text(later.get(pair, [])) for pair in pairs]
    frame["grew_out_of"] = [text(earlier.get(pair, [])) for pair in pairs]
    return frame


_UNVERIFIED = "g.status IS NOT NULL AND (g.last_confirmed IS NULL OR g.last_confirmed < ?)"
"""A structure in ``grouped g`` whose status nobody has confirmed since the cut-off (the parameter)."""
_RUNNING = "g.status IN ('continuing', 'hosted-elsewhere')"


def _cutoff(store: Store, filters: Filters, today: date | None) -> date:
    reference = (filters.as_at.date() if filters.as_at else None) or today or date.today()
    return cutoff(reference, store.settings.verify_months)


def _checked(
    store: Store,
    filters: Filters,
    today: date | None,
    picked: tuple[str, list[Any]] | None = None,
    *,
    ends: bool = False,
):
    """The CTEs up to ``checked`` (the register with ``unverified`` and link columns), and their
    positional parameters in the order they appear. ``picked`` is an optional CTE over ``grouped``
    (and its parameters) choosing the few structures to show: they are labelled and linked after
    the choice, so a page showing 1,000 of 300,000 structures joins 1,000 (#6)."""
    ctes, params = queries.grouped_scope(filters)
    source = "grouped"
    if picked is not None:
        ctes, params, source = f"{ctes}, {picked[0]}", [*params, *picked[1]], "picked"
    ctes = f"{ctes}, {queries.register_labels(source)}, {_link_ctes(source, ends=ends)}"
    return ctes, [*params, _cutoff(store, filters, today)]


def _label(frame: pd.DataFrame, months: int) -> pd.DataFrame:
    frame["unverified"] = frame["unverified"].astype(bool)
    frame["confirmation"] = [f"Not confirmed for {months}+ months" if flag else "" for flag in frame["unverified"]]
    return frame


_REGISTER_ORDER = "ORDER BY partnership, lower(structure), structure_key"  # the register's rows, in its order

PAGE_ROWS = 100
"""Register rows the legacy page shows at a time; a user pages through the rest (#6)."""


def _shown(find: str = "", current: Sequence[str] = ()) -> tuple[str, list[Any]]:
    """A condition on ``grouped g`` for the register's own search and current-status choice."""
    conds: list[str] = []
    params: list[Any] = []
    needle = find.strip().lower()
    if needle:  # literal text, not a pattern: % and _ mean themselves
        conds.append(
            "(strpos(lower(g.structure), ?) > 0 OR strpos(lower(coalesce(g.host, '')), ?) > 0"
            " OR g.partnership IN (SELECT slug FROM partnerships WHERE strpos(lower(name), ?) > 0))"
        )
        params += [needle] * 3
    if current:
        conds.append(f"coalesce(g.status, '{NO_STATUS}') IN ({', '.join('?' for _ in current)})")
        params += list(current)
    return " AND ".join(conds) or "TRUE", params


def page_span(sizes: Sequence[tuple[str, int]], offset: int, limit: int) -> tuple[list[str], int]:
    """The partnerships (slugs) a page of ``limit`` structures from ``offset`` shows, and how many of
    the first one's structures come before the page; ``sizes``: each partnership's structures, in
    the register's order (by name), as :func:`queries.register_sizes_of` gives them."""
    needed: list[str] = []
    skip = before = 0
    for slug, n in sizes:
        if n and before + n > offset and before < offset + limit:
            if not needed:
                skip = offset - before
            needed.append(slug)
        before += n
    return needed, skip


def register(
    store: Store,
    filters: Filters = Filters(),
    today: date | None = None,
    limit: int | None = None,
    offset: int = 0,
    find: str = "",
    current: Sequence[str] = (),
    sizes: Sequence[tuple[str, int]] | None = None,
) -> pd.DataFrame:
    """The legacy register with ``last_confirmed``, ``unverified`` (not confirmed within the period)
    and the links across programmes, sorted by partnership and name: all of it, or ``limit``
    structures from ``offset`` on (a page). ``find`` keeps the structures whose name, host or
    partnership contains that text (any case); ``current`` those whose current status is one of
    these slugs (:data:`NO_STATUS` for none recorded).

    ``sizes``: each partnership's structures under ``filters`` (:func:`queries.register_sizes_of`
    of the page's :func:`queries.legacy_summary`), for a page without ``find``/``current``: the
    partnerships the page spans are then known before the query, which reads only theirs and sorts
    only the page's rows (#6: 33 -> 18 ms at a million entries; in the PostgreSQL mode PostgreSQL
    is handed the partnerships)."""
    cond, cond_params = _shown(find, current)
    if limit is not None and sizes is not None and not (find.strip() or current):
        needed, skip = page_span(sizes, offset, limit)
        named = f"g.partnership IN ({', '.join('?' for _ in needed)})" if needed else "FALSE"
        # ``needed`` is in the register's order (by name): the partnerships are ordered by their place
        # in it, so the top-N needs no join and reads only the page's rows in full (#6: 7 -> 4 ms).
        order = "".join(f" WHEN ? THEN {i}" for i in range(len(needed)))
        picked: tuple[str, list[Any]] = (
            f"picked AS (SELECT g.* FROM grouped g WHERE {named}"
            f" ORDER BY {f'CASE g.partnership{order} END, ' if len(needed) > 1 else ''}lower(g.structure),"
            f" g.structure_key LIMIT {int(limit)} OFFSET {int(skip)})",
            [*needed, *(needed if len(needed) > 1 else [])],
        )
    elif limit is not None:
        # Sorted by partnership first: only the partnerships whose structures span the page can be
        # on it, so only theirs are sorted (#6: a tenth of 300,000 at a million entries).
        picked = (
            f"shown AS NOT MATERIALIZED (SELECT * FROM grouped g WHERE {cond}),"
            " counted AS (SELECT partnership, count(*) AS n FROM shown GROUP BY ALL),"  # counted, then named
            " sizes AS (SELECT c.partnership, p.name, c.n FROM counted c"
            "  JOIN partnerships p ON p.slug = c.partnership),"
            " spans AS (SELECT partnership, n, coalesce(sum(n) OVER (ORDER BY name"
            "  ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before FROM sizes),"
            " needed AS (SELECT partnership, before FROM spans WHERE before < ? AND before + n > ?),"
            " picked AS (SELECT g.* FROM shown g JOIN partnerships p ON p.slug = g.partnership"
            "  SEMI JOIN needed n ON n.partnership = g.partnership"
            "  ORDER BY p.name, lower(g.structure), g.structure_key"
            "  LIMIT ? OFFSET ? - coalesce((SELECT min(before) FROM needed), ?))",
            [*cond_params, offset + limit, offset, limit, offset, offset],
        )
    else:
        picked = (f"picked AS (SELECT * FROM grouped g WHERE {cond})", cond_params)
    # A page's links are named from a lookup of their few other ends; the whole register's in SQL.
    paged = limit is not None
    ctes, params = _checked(store, filters, today, picked, ends=paged)
    sql = f"WITH {ctes} SELECT * FROM checked {_REGISTER_ORDER}"
    frame = to_frame(store.cursor().execute(sql, params))
    return _label(_name_links(store, frame) if paged else frame, store.settings.verify_months)


CSV_BATCH = 10_000
"""Register rows turned into CSV text at a time by :func:`register_csv`."""


def register_csv(
    store: Store,
    filters: Filters = Filters(),
    today: date | None = None,
    find: str = "",
    current: Sequence[str] = (),
) -> bytes:
    """The whole register that ``find``/``current`` choose as CSV (UTF-8 with BOM, headings from
    :data:`REGISTER_CSV`, formulas neutralised, dates as YYYY-MM-DD), written a batch of rows at a
    time from the query into bytes. Through a frame, the 300,000 structures of a million entries
    took 5.3 s and raised the process's peak memory by 650 MB; this way 2.8 s and 250 MB (#6)."""
    cond, cond_params = _shown(find, current)
    ctes, params = _checked(store, filters, today, (f"picked AS (SELECT * FROM grouped g WHERE {cond})", cond_params))
    cur = store.cursor().execute(f"WITH {ctes} SELECT * FROM checked {_REGISTER_ORDER}", params)
    names = [d[0] for d in cur.description]
    at = {name: names.index(name) for name in REGISTER_CSV if name != "confirmation"}
    flag = names.index("unverified")
    check = f"Not confirmed for {store.settings.verify_months}+ months"
    out = io.BytesIO()
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)  # bytes as it goes
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(list(REGISTER_CSV.values()))
    while batch := cur.fetchmany(CSV_BATCH):
        writer.writerows(
            [
                neutralise(check if row[flag] else "")
                if name == "confirmation"
                else ("" if (v := row[at[name]]) is None else neutralise(str(v)))
                for name in REGISTER_CSV
            ]
            for row in batch
        )
    text.flush()
    return out.getvalue()


def register_size(store: Store, filters: Filters = Filters(), find: str = "", current: Sequence[str] = ()) -> int:
    """How many structures the register has for ``filters`` (and ``find``/``current``, as :func:`register`)."""
    ctes, params = queries.grouped_scope(filters)
    cond, cond_params = _shown(find, current)
    row = store.cursor().execute(f"WITH {ctes} SELECT count(*) FROM grouped g WHERE {cond}", [*params, *cond_params])
    return int(row.fetchone()[0])  # type: ignore[index]


def _checks(unverified_by_status: list[tuple[str | None, int]]) -> dict[str, int]:
    """``unverified`` and ``running`` from the structures not confirmed within the period, counted
    per status slug (the running ones summed here: comparing each structure's status with them
    cost more, #6). Only a structure still running can go unconfirmed (a closed one has nothing to
    check, as the register flags them), so the two are the same count."""
    running = sum(n for status, n in unverified_by_status if status in queries.SURVIVING)
    return {"unverified": running, "running": running}


def unverified(store: Store, filters: Filters = Filters(), today: date | None = None) -> dict[str, int]:
    """How many structures are unverified: still running as far as anyone knows, and not confirmed
    within the period (``unverified`` and ``running``, the same count)."""
    ctes, params = queries.grouped_scope(filters)
    sql = f"WITH {ctes} SELECT g.status, count(*) FROM grouped g WHERE {_UNVERIFIED} GROUP BY g.status"
    rows = store.cursor().execute(sql, [*params, _cutoff(store, filters, today)]).fetchall()
    return _checks([(status, int(n)) for status, n in rows])


def figures(store: Store, filters: Filters = Filters(), today: date | None = None) -> dict[str, int]:
    """The overview's figures: :func:`queries.headline`'s, with ``unverified`` and ``running`` as
    :func:`unverified` counts them, the structures counted per status once for both (#6: one pass
    over the register instead of two, 300,000 structures at a million entries; alone, the unverified
    ones are counted faster with a WHERE than with a FILTER, so :func:`unverified` keeps its own)."""
    ctes, params = queries.grouped_scope(filters)
    sql = f"WITH {ctes} SELECT g.status, count(*), count(*) FILTER (WHERE {_UNVERIFIED}) FROM grouped g GROUP BY ALL"
    rows = store.cursor().execute(sql, [*params, _cutoff(store, filters, today)]).fetchall()
    return {
        **queries.entry_figures(store, filters),
        **queries.structure_figures({status: int(n) for status, n, _ in rows}),
        **_checks([(status, int(u)) for status, _, u in rows]),
    }


REGISTER_CSV = {
    "partnership": "partnership",
    "structure": "structure",
    "typology": "typology",
    "status": "current status",
    "host": "host organisation",
    "since": "since",
    "last_entry": "last entry",
    "last_confirmed": "last confirmed",
    "confirmation": "check",
    "carried_on_as": "carried on as",
    "grew_out_of": "grew out of",
    "entries": "entries",
}


def due(store: Store, filters: Filters = Filters(), today: date | None = None) -> pd.DataFrame:
    """Partnerships with structures to check (unverified, still running as far as anyone knows), by
    name: partnership (name), slug, to_check (how many)."""
    ctes, params = queries.grouped_scope(filters)
    sql = (
        f"WITH {ctes} SELECT p.name AS partnership, g.partnership AS slug, count(*) AS to_check"
        f" FROM grouped g JOIN partnerships p ON p.slug = g.partnership WHERE {_RUNNING} AND {_UNVERIFIED}"
        " GROUP BY ALL ORDER BY partnership"
    )
    return to_frame(store.cursor().execute(sql, [*params, _cutoff(store, filters, today)]))


def to_check(
    store: Store,
    filters: Filters = Filters(),
    today: date | None = None,
    per_partnership: int | None = None,
    partnership: str | None = None,
) -> pd.DataFrame:
    """Unverified structures that are still running as far as anyone knows, never confirmed and then
    confirmed longest ago first; at most ``per_partnership`` of each partnership (all if None), with
    ``to_check``: how many that partnership has in all. Only those of ``partnership`` (a slug) if
    given: a lead works through one partnership's list at a time."""
    # The first n of each partnership by a bounded heap (min_by … n), not a sort of every
    # unverified structure: at a million entries that is 230,000 rows sorted for 600 shown (#6).
    if per_partnership is None:
        per_partnership = register_size(store, filters)
    picked = (
        "due AS ("
        " SELECT g.partnership, count(*) AS to_check, min_by(g.structure_key,"
        "   (coalesce(g.last_confirmed, DATE '0001-01-01'), lower(g.structure), g.structure_key), ?) AS keys"
        f" FROM grouped g WHERE {_RUNNING} AND {_UNVERIFIED}{' AND g.partnership = ?' if partnership else ''}"
        " GROUP BY g.partnership"
        "), ranked AS ("
        " SELECT d.partnership, d.to_check, u.key, u.rank FROM due d, unnest(d.keys) WITH ORDINALITY AS u(key, rank)"
        "), picked AS MATERIALIZED ("  # read twice below: computed once
        " SELECT g.*, r.to_check, r.rank FROM grouped g"
        " JOIN ranked r ON r.partnership = g.partnership AND r.key = g.structure_key"
        f"{' WHERE g.partnership = ?' if partnership else ''})",
        [max(per_partnership, 1), _cutoff(store, filters, today), *([partnership] * 2 if partnership else [])],
    )
    ctes, params = _checked(store, filters, today, picked, ends=True)
    sql = (
        f"WITH {ctes} SELECT c.*, d.to_check FROM checked c"
        " JOIN picked d ON d.partnership = c.partnership_slug AND d.structure_key = c.structure_key"
        " ORDER BY c.partnership, d.rank"
    )
    return _label(_name_links(store, to_frame(store.cursor().execute(sql, params))), store.settings.verify_months)


def _closes_after_latest(store: Store, actor: Member, partnership: str, name: str, latest: str, day: str) -> None:
    """Refuse a closure dated ``day`` whose period ends before the latest status entry (``latest``,
    an entry id) of the structure begins: the register would still show that entry's status."""
    try:
        closed = FuzzyDate.parse(day)
    except ValueError as exc:
        raise InvalidInput([Problem(None, "date", str(exc))]) from None
    start, text, status = (
        store.cursor(few=True)
        .execute("SELECT date_start, date_text, status FROM entries WHERE id = ?", [latest])
        .fetchone()  # type: ignore[misc]  # the id was just read from the same table
    )
    if closed.end < start:
        label = store.vocab()["status"].label(status).lower()
        require_edit(actor, partnership)  # not the place to tell a viewer what it holds
        raise InvalidInput(
            [
                Problem(
                    None,
                    "date",
                    f"{name} has a later status entry ({label}, dated {text}); a closure in {day} would come "
                    f"before it, so the register would still show that. Choose {text[:4]} or later, or correct "
                    "that entry with Changed…",
                )
            ]
        )


def confirm(
    store: Store,
    actor: Member,
    partnership: str,
    structure_key: str,
    outcome: str,
    when: date | str | None = None,
) -> Entry:
    """Record that a structure is still running (as currently recorded) or has closed, as of ``when``
    (a day, or for a closure the date as the lead knows it: ``"2023"``, ``"2023-06"``; today if None).

    Writes a normal entry (milestone "still running" with the current status and host, or a setback
    "closed" with status decommissioned), so permissions, history and audit apply as for any entry.
    "Still running" for a structure now recorded as decommissioned raises :class:`InvalidInput`, as
    does a closure dated before the structure's latest status entry (it would not be the latest, so
    the register would still show the structure running): a lead who knows better edits that entry.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome is one of {OUTCOMES}")
    cur = store.cursor()
    row = cur.execute(
        # the latest entry (with a status) as the register picks it (queries._HISTORIES_CTE, #8)
        "WITH s AS (SELECT *, least(date_end, max(date_start) OVER ()) AS reach,"
        " least(date_end, max(CASE WHEN status IS NOT NULL THEN date_start END) OVER ()) AS status_reach"
        " FROM entries WHERE deleted_at IS NULL AND partnership = ? AND structure_key = ?)"
        " SELECT arg_max(structure, (reach, seq)), arg_max(typology, (reach, seq)),"
        " arg_max(status, (status_reach, seq)) FILTER (WHERE status IS NOT NULL),"
        " arg_max(host, (status_reach, seq)) FILTER (WHERE status IS NOT NULL),"
        " arg_max(id, (status_reach, seq)) FILTER (WHERE status IS NOT NULL) FROM s",
        [partnership, structure_key],
    ).fetchone()
    if row is None or row[0] is None:
        raise LookupError(f"no structure '{structure_key}' in partnership '{partnership}'")
    name, typology, status, host, latest = row
    if outcome == "running" and status == "decommissioned":  # closed since the list was drawn
        require_edit(actor, partnership)  # not the place to tell a viewer what it holds
        raise InvalidInput(
            [
                Problem(
                    None,
                    None,
                    f"{name} is now recorded as decommissioned (its closure was recorded since this list was "
                    "shown); if it has reopened, log an entry saying so",
                )
            ]
        )
    mechanisms = (
        [r[0] for r in cur.execute("SELECT mechanism FROM entry_mechanisms WHERE entry_id = ?", [latest]).fetchall()]
        if latest
        else []
    )
    day = when if isinstance(when, str) else (when or date.today()).isoformat()
    if outcome == "closed" and latest and isinstance(when, str):
        _closes_after_latest(store, actor, partnership, name, latest, day)

    def title(word: str) -> str:  # a structure's name may be as long as a title: cut to fit after the word
        text = f"{word}: {name}"
        return text if len(text) <= MAX_TITLE else text[: MAX_TITLE - 1].rstrip() + "…"

    if outcome == "running":
        data = {
            "partnership": partnership,
            "date": day,
            "kind": "milestone",
            "title": title("Still running"),
            "typology": typology,
            "status": status or "continuing",
            "host": host if status == "hosted-elsewhere" else None,
            "mechanisms": mechanisms or ["personal-relationships"],
            "structure": name,
            "source": f"Status confirmed by {actor.email}",
        }
    else:
        data = {
            "partnership": partnership,
            "date": day,
            "kind": "setback",
            "title": title("Closed"),
            "typology": typology,
            "status": "decommissioned",
            "structure": name,
            "source": f"Closure confirmed by {actor.email}",
        }
    return save_entry(store, data, actor=actor, expect="new")
