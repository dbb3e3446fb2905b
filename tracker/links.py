"""Programme links: which structure carried on which, across programmes.

A successor team (say Changing Futures in Stoke-on-Trent) links one of its structures to the
earlier one it grew out of (VOICES' Expert Citizens), so the legacy register can follow a
structure from one programme to the next. Links are audited; only an editor of the successor's
partnership (or an admin) may make or remove one.
"""

from __future__ import annotations

import uuid

import pandas as pd

from tracker.access import Member, audit, require_edit
from tracker.errors import InvalidInput, Problem
from tracker.frames import to_frame
from tracker.store import Store, utcnow
from tracker.taxonomy import normalise

_STRUCTURE = (
    "SELECT arg_max(structure, (date_start, seq)) FROM entries"
    " WHERE deleted_at IS NULL AND partnership = ? AND structure_key = ?"
)


def _name(store: Store, partnership: str, key: str) -> str | None:
    row = store.cursor().execute(_STRUCTURE, [partnership, key]).fetchone()
    return row[0] if row else None


def add_link(
    store: Store, actor: Member, earlier: tuple[str, str], later: tuple[str, str], note: str | None = None
) -> str:
    """Record that ``later`` (partnership slug, structure name) carries on ``earlier``; returns the link id."""
    (from_p, from_name), (to_p, to_name) = earlier, later
    require_edit(actor, to_p, "link structures of")
    from_key, to_key = normalise(from_name), normalise(to_name)
    problems = []
    if _name(store, from_p, from_key) is None:
        problems.append(Problem(None, "from", f"no structure '{from_name}' in partnership '{from_p}'"))
    if _name(store, to_p, to_key) is None:
        problems.append(Problem(None, "to", f"no structure '{to_name}' in partnership '{to_p}'"))
    if (from_p, from_key) == (to_p, to_key):
        problems.append(Problem(None, "to", "a structure cannot carry on itself"))
    if note and len(note) > 500:
        problems.append(Problem(None, "note", f"is too long: {len(note)} characters, the limit is 500"))
    if problems:
        raise InvalidInput(problems)
    cur = store.cursor()
    exists = cur.execute(
        "SELECT id FROM structure_links WHERE from_partnership = ? AND from_structure = ? AND to_partnership = ?"
        " AND to_structure = ?",
        [from_p, from_key, to_p, to_key],
    ).fetchone()
    if exists:
        return str(exists[0])
    link = uuid.uuid4().hex[:16]
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO structure_links VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [link, from_p, from_key, to_p, to_key, note or None, utcnow(), actor.email],
        )
        audit(tx, actor, "link.add", earlier=f"{from_p}/{from_name}", later=f"{to_p}/{to_name}", note=note)
    return link


def remove_link(store: Store, actor: Member, link: str) -> None:
    """Remove a link (an editor of the successor's partnership, or an admin)."""
    row = (
        store.cursor()
        .execute(
            "SELECT to_partnership, from_partnership, from_structure, to_structure FROM structure_links WHERE id = ?",
            [link],
        )
        .fetchone()
    )
    if row is None:
        raise InvalidInput([Problem(None, "link", f"no link '{link}'")])
    require_edit(actor, row[0], "unlink structures of")
    with store.transaction() as tx:
        tx.execute("DELETE FROM structure_links WHERE id = ?", [link])
        audit(tx, actor, "link.remove", earlier=f"{row[1]}/{row[2]}", later=f"{row[0]}/{row[3]}")


# The current names of the linked structures only: a semi join on the (few) links, so that a
# register of hundreds of thousands of structures is probed, not hashed, on every read (#6).
NAMED_CTE = """
named AS (
    SELECT r.partnership, r.structure_key, r.structure FROM structure_register r
    SEMI JOIN (SELECT from_partnership AS slug, from_structure AS key FROM structure_links
               UNION SELECT to_partnership, to_structure FROM structure_links) l
           ON l.slug = r.partnership AND l.key = r.structure_key
)"""


def links(store: Store) -> pd.DataFrame:
    """Every link with names: earlier and later structure, partnership and programme."""
    return to_frame(
        store.cursor().execute(
            f"""
            WITH {NAMED_CTE}
            SELECT l.id, fp.name AS from_partnership, fp.programme AS from_programme,
                   coalesce(fn.structure, l.from_structure) AS from_structure,
                   tp.name AS to_partnership, tp.programme AS to_programme,
                   coalesce(tn.structure, l.to_structure) AS to_structure, l.note, l.created_by,
                   l.from_partnership AS from_slug, l.from_structure AS from_key,
                   l.to_partnership AS to_slug, l.to_structure AS to_key
            FROM structure_links l
            JOIN partnerships fp ON fp.slug = l.from_partnership
            JOIN partnerships tp ON tp.slug = l.to_partnership
            LEFT JOIN named fn ON fn.partnership = l.from_partnership AND fn.structure_key = l.from_structure
            LEFT JOIN named tn ON tn.partnership = l.to_partnership AND tn.structure_key = l.to_structure
            ORDER BY fp.name, from_structure
            """
        )
    )


def find_structures(
    store: Store, text: str = "", partnerships: tuple[str, ...] | None = None, limit: int = 50
) -> list[tuple[str, str, str]]:
    """Structures whose name or partnership contains ``text`` (any case and spacing), of ``partnerships`` (slugs;
    None for all), by name: (label "structure — partnership", partnership slug, structure name)."""
    # Both sides folded by normalise, as a structure's key is ("Straße" is found by "strasse",
    # "Peer  Panel" by "peer panel"): the register's structure_key, and the few partnerships' names here.
    needle = normalise(text)
    cur = store.cursor()
    named = [
        slug
        for slug, name in cur.execute("SELECT slug, name FROM partnerships").fetchall()
        if needle in normalise(name)
    ]
    rows = cur.execute(
        "SELECT r.structure || ' — ' || p.name, r.partnership, r.structure"
        " FROM structure_register r JOIN partnerships p ON p.slug = r.partnership"
        " WHERE (? = '' OR contains(r.structure_key, ?) OR list_contains(?, r.partnership))"
        " AND (? OR list_contains(?, r.partnership))"
        " ORDER BY lower(r.structure), p.name LIMIT ?",
        [needle, needle, named, partnerships is None, list(partnerships or ()), limit],
    ).fetchall()
    return [(label, slug, name) for label, slug, name in rows]
