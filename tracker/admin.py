"""Managing reference data: partnerships and taxonomy terms (admins only, every change audited).

Terms are referred to by slug, so renaming a term's label keeps every entry tagged with it.
A term in use can be retired (no longer offered for new entries) but not deleted.
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from pydantic import ValidationError

from tracker.access import Member, audit, require_admin
from tracker.errors import InvalidInput, Problem, problems
from tracker.frames import to_frame
from tracker.models import Partnership
from tracker.store import Store
from tracker.taxonomy import NO_STATUS, NOT_RECORDED, VOCABULARIES, normalise

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
# Per vocabulary: how many live (not deleted) entries use a term, and how many versions in the
# history do (deleted entries among them).
_USAGE = {
    "typology": (
        "SELECT count(*) FROM entries WHERE typology = ? AND deleted_at IS NULL",
        "SELECT count(*) FROM entry_history WHERE typology = ?",
    ),
    "status": (
        "SELECT count(*) FROM entries WHERE status = ? AND deleted_at IS NULL",
        "SELECT count(*) FROM entry_history WHERE status = ?",
    ),
    "mechanism": (
        "SELECT count(*) FROM entry_mechanisms m JOIN entries e ON e.id = m.entry_id"
        " WHERE m.mechanism = ? AND e.deleted_at IS NULL",
        "SELECT count(*) FROM entry_history WHERE list_contains(mechanisms, ?)",
    ),
    "sector": (
        "SELECT count(*) FROM entry_sectors s JOIN entries e ON e.id = s.entry_id"
        " WHERE s.sector = ? AND e.deleted_at IS NULL",
        "SELECT count(*) FROM entry_history WHERE list_contains(sectors, ?)",
    ),
}
# Per vocabulary: every term's live entries in one grouped query (the taxonomy table). A query per
# term took 0.5 s for the mechanisms at a million entries; the mechanisms come from the stored
# counts the heatmaps use (tracker/queries.py keeps them on every write), 2 ms (#6).
_USAGE_ALL = {
    "typology": "SELECT typology, count(*) FROM entries WHERE deleted_at IS NULL GROUP BY 1",
    "status": "SELECT status, count(*) FROM entries WHERE deleted_at IS NULL AND status IS NOT NULL GROUP BY 1",
    "mechanism": "SELECT mechanism, sum(entries) FROM mechanism_counts GROUP BY 1",
    "sector": "SELECT s.sector, count(*) FROM entry_sectors s JOIN entries e ON e.id = s.entry_id"
    " WHERE e.deleted_at IS NULL GROUP BY 1",
}


def _vocabulary(vocabulary: str) -> None:
    if vocabulary not in VOCABULARIES:
        raise InvalidInput([Problem(None, "vocabulary", f"unknown vocabulary '{vocabulary}'")])


def _clash(store: Store, vocabulary: str, label: str, slug: str, own: str | None) -> str | None:
    """Another term of the vocabulary that ``label`` or ``slug`` would be confused with."""
    rows = store.cursor().execute("SELECT slug, label FROM terms WHERE vocabulary = ?", [vocabulary]).fetchall()
    wanted = {normalise(label), normalise(slug)}
    for other_slug, other_label in rows:
        if other_slug == own:
            continue
        if wanted & {normalise(other_slug), normalise(other_label)}:
            return str(other_label)
    return None


def _reserved(vocabulary: str, slug: str | None, label: str) -> list[Problem]:
    """A status may not take the slug or label of the register's "no status" choice (``NO_STATUS``,
    shown as "Not recorded"): filters and counts could not tell the two apart."""
    if vocabulary != "status":
        return []
    found = []
    for column, value, reserved, example in (
        ("slug", slug, NO_STATUS, "status-unknown"),
        ("label", label, NOT_RECORDED, "Status unknown"),
    ):
        if value is not None and normalise(value) == normalise(reserved):
            found.append(
                Problem(
                    None,
                    column,
                    f"'{reserved}' is reserved: the legacy register uses it for structures with no status recorded"
                    f" and could not tell a status with that {column} from them; choose another {column},"
                    f" e.g. '{example}'",
                )
            )
    return found


def term_usage(store: Store, vocabulary: str) -> pd.DataFrame:
    """Terms of a vocabulary with how many live entries use each, and whether retired."""
    _vocabulary(vocabulary)
    frame = to_frame(
        store.cursor().execute(
            "SELECT slug, label, grp AS group_name, description, retired, position FROM terms WHERE vocabulary = ?"
            " ORDER BY position, slug",
            [vocabulary],
        )
    )
    counted = dict(store.cursor().execute(_USAGE_ALL[vocabulary]).fetchall())
    frame["entries"] = [int(counted.get(slug, 0)) for slug in frame["slug"]]
    return frame


def add_term(store: Store, actor: Member, vocabulary: str, slug: str, label: str, group: str | None = None) -> None:
    """Add a term at the end of its vocabulary."""
    require_admin(actor, "manage the taxonomy")
    _vocabulary(vocabulary)
    slug, label = slug.strip(), label.strip()
    found = []
    if not SLUG.match(slug):
        found.append(Problem(None, "slug", "use lower-case letters, digits and hyphens, e.g. 'peer-mentoring'"))
    if not label or len(label) > 200 or ";" in label:
        found.append(Problem(None, "label", "is required, up to 200 characters, without ';'"))
    found += _reserved(vocabulary, slug, label)
    if not found and (other := _clash(store, vocabulary, label, slug, None)):
        found.append(Problem(None, "label", f"would be confused with the existing term '{other}'"))
    if found:
        raise InvalidInput(found)
    with store.transaction() as cur:
        position = cur.execute(
            "SELECT coalesce(max(position), -1) + 1 FROM terms WHERE vocabulary = ?", [vocabulary]
        ).fetchone()[0]  # type: ignore[index]
        cur.execute(
            "INSERT INTO terms (vocabulary, slug, label, grp, position) VALUES (?, ?, ?, ?, ?)",
            [vocabulary, slug, label, group or None, position],
        )
        audit(cur, actor, "term.add", vocabulary=vocabulary, slug=slug, label=label)


def rename_term(store: Store, actor: Member, vocabulary: str, slug: str, label: str) -> None:
    """Change a term's label; entries keep the term (they refer to its slug)."""
    require_admin(actor, "manage the taxonomy")
    _vocabulary(vocabulary)
    label = label.strip()
    if not label or len(label) > 200 or ";" in label:
        raise InvalidInput([Problem(None, "label", "is required, up to 200 characters, without ';'")])
    if reserved := _reserved(vocabulary, None, label):
        raise InvalidInput(reserved)
    if other := _clash(store, vocabulary, label, slug, slug):
        raise InvalidInput([Problem(None, "label", f"would be confused with the existing term '{other}'")])
    with store.transaction() as cur:
        row = cur.execute("SELECT label FROM terms WHERE vocabulary = ? AND slug = ?", [vocabulary, slug]).fetchone()
        if row is None:
            raise InvalidInput([Problem(None, "slug", f"no {vocabulary} term '{slug}'")])
        cur.execute("UPDATE terms SET label = ? WHERE vocabulary = ? AND slug = ?", [label, vocabulary, slug])
        audit(cur, actor, "term.rename", vocabulary=vocabulary, slug=slug, before=row[0], after=label)


def set_retired(store: Store, actor: Member, vocabulary: str, slug: str, retired: bool) -> None:
    """Retire a term (no longer offered for new entries; existing entries keep it) or bring it back."""
    require_admin(actor, "manage the taxonomy")
    _vocabulary(vocabulary)
    with store.transaction() as cur:
        changed = cur.execute(
            "UPDATE terms SET retired = ? WHERE vocabulary = ? AND slug = ?", [retired, vocabulary, slug]
        ).fetchone()[0]  # type: ignore[index]
        if not changed:
            raise InvalidInput([Problem(None, "slug", f"no {vocabulary} term '{slug}'")])
        audit(cur, actor, "term.retire" if retired else "term.unretire", vocabulary=vocabulary, slug=slug)


def delete_term(store: Store, actor: Member, vocabulary: str, slug: str) -> None:
    """Delete a term that no entry (now or in its history) has ever used; otherwise refuse."""
    require_admin(actor, "manage the taxonomy")
    _vocabulary(vocabulary)
    live, past = _USAGE[vocabulary]
    cur = store.cursor()
    in_use = cur.execute(live, [slug]).fetchone()[0]  # type: ignore[index]
    in_history = cur.execute(past, [slug]).fetchone()[0]  # type: ignore[index]
    if in_use or in_history:
        raise InvalidInput(
            [
                Problem(
                    None,
                    "slug",
                    f"'{slug}' is used by {in_use} entr{'y' if in_use == 1 else 'ies'}"
                    + (" and their history" if in_history else "")
                    + "; it can be retired (no longer offered) but not deleted",
                )
            ]
        )
    with store.transaction() as tx:
        deleted = tx.execute("DELETE FROM terms WHERE vocabulary = ? AND slug = ?", [vocabulary, slug]).fetchone()[0]  # type: ignore[index]
        if not deleted:
            raise InvalidInput([Problem(None, "slug", f"no {vocabulary} term '{slug}'")])
        audit(tx, actor, "term.delete", vocabulary=vocabulary, slug=slug)


def partnerships(store: Store) -> pd.DataFrame:
    """Every partnership with its number of live entries."""
    return to_frame(
        store.cursor().execute(
            "SELECT p.slug, p.name, p.programme, p.area, p.start_date, p.end_date,"
            " (SELECT count(*) FROM entries e WHERE e.partnership = p.slug AND e.deleted_at IS NULL) AS entries"
            " FROM partnerships p ORDER BY p.programme, p.name"
        )
    )


def with_stored_dates(store: Store, data: dict[str, Any]) -> dict[str, Any]:
    """``data`` for :func:`save_partnership` with each date left empty filled from the stored
    partnership of that slug (if any): the admin form starts empty, and a change that leaves the
    dates out must not erase the funding end the legacy register and survival rely on."""
    row = (
        store.cursor()
        .execute("SELECT start_date, end_date FROM partnerships WHERE slug = ?", [str(data.get("slug") or "").strip()])
        .fetchone()
    )
    if row is None:
        return dict(data)
    return {**data, "start_date": data.get("start_date") or row[0], "end_date": data.get("end_date") or row[1]}


def _partnership_clash(partnership: Partnership, others: list[Any]) -> Problem | None:
    """The problem when ``partnership``'s name or slug reads as another partnership's name or slug.

    Imports, the CLI and member lists find a partnership by either, ignoring case, spaces and
    hyphens (:class:`tracker.taxonomy.Lookup`): such a name would send its entries elsewhere."""
    for other_slug, other_name in others:
        if partnership.name.casefold() == str(other_name).casefold():
            return Problem(None, "name", f"another partnership ('{other_slug}') already has this name")
        theirs = {normalise(other_slug), normalise(other_name)}
        for column, value in (("name", partnership.name), ("slug", partnership.slug)):
            if normalise(value) in theirs:
                return Problem(
                    None,
                    column,
                    f"'{value}' would be confused with the partnership '{other_name}' ('{other_slug}'): "
                    "partnerships are found by name or slug, ignoring case, spaces and hyphens",
                )
    return None


def save_partnership(store: Store, actor: Member, data: dict[str, Any]) -> Partnership:
    """Add a partnership, or change one (found by slug; the slug itself never changes)."""
    require_admin(actor, "manage partnerships")
    try:
        partnership = Partnership.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput(problems(exc)) from None
    cur = store.cursor()
    before = cur.execute(
        "SELECT name, programme, area, start_date, end_date FROM partnerships WHERE slug = ?", [partnership.slug]
    ).fetchone()
    others = cur.execute("SELECT slug, name FROM partnerships WHERE slug <> ?", [partnership.slug]).fetchall()
    if problem := _partnership_clash(partnership, others):
        raise InvalidInput([problem])
    values = [partnership.name, partnership.programme, partnership.area, partnership.start_date, partnership.end_date]
    with store.transaction() as tx:
        if before:
            tx.execute(
                "UPDATE partnerships SET name = ?, programme = ?, area = ?, start_date = ?, end_date = ?"
                " WHERE slug = ?",
                [*values, partnership.slug],
            )
        else:
            tx.execute("INSERT INTO partnerships VALUES (?, ?, ?, ?, ?, ?)", [partnership.slug, *values])
        detail = partnership.model_dump(mode="json")
        if before:  # what it was: a partnership seeded from the reference file has no earlier event
            keys = ("name", "programme", "area", "start_date", "end_date")
            detail["before"] = dict(zip(keys, before, strict=True))  # dates as YYYY-MM-DD in the log
        audit(tx, actor, "partnership.update" if before else "partnership.add", **detail)
    return partnership
