"""What happened to an entry, and who did it: versions from the append-only history, with changes."""

from __future__ import annotations

from typing import Any

from tracker import queries
from tracker.store import Store

TRACKED = (
    "partnership",
    "date_text",
    "kind",
    "title",
    "description",
    "typology",
    "status",
    "host",
    "structure",
    "source",
    "mechanisms",
    "sectors",
    "quote",
    "speaker",
    "contribution",
)
LABELS = {"date_text": "date"}
NAMED = {
    "partnership": "partnership",
    "typology": "typology",
    "status": "status",
    "mechanisms": "mechanism",
    "sectors": "sector",
}
"""Fields stored as slugs: the changes name them as the pages do (labels, partnership names)."""


def entry_history(store: Store, entry_id: str) -> list[dict[str, Any]]:
    """Every version of an entry, oldest first: when, who, what they did, and which fields changed."""
    only, one = queries.named_in("id", [entry_id], "one", postgres=store.is_postgres)  # by index (PostgreSQL)
    cur = store.cursor(few=True)
    rows = cur.execute(
        f"SELECT version, recorded_at, recorded_by, action, deleted, {', '.join(TRACKED)}"
        f" FROM entry_history WHERE {only} ORDER BY version",
        one,
    ).fetchall()
    out: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    vocab = store.vocab() if len(rows) > 1 else None

    def shown(field: str, value: Any) -> str:
        if vocab is None or field not in NAMED or value is None:
            return _show(value)
        names = vocab[NAMED[field]]
        return _show([names.label(v) for v in value] if isinstance(value, list) else names.label(value))

    for row in rows:
        version, at, by, action, deleted, *values = row
        state = dict(zip(TRACKED, values, strict=True))
        changes = []
        if previous is not None and action == "update":
            for field in TRACKED:
                if previous[field] != state[field]:
                    changes.append(
                        f"{LABELS.get(field, field)}: {shown(field, previous[field])} → {shown(field, state[field])}"
                    )
        out.append(
            {
                "version": version,
                "when": at,
                "who": by,
                "action": action,
                "deleted": deleted,
                "changes": "; ".join(changes),
                "state": state,
            }
        )
        previous = state
    return out


def version_at(store: Store, entry_id: str, version: int) -> dict[str, Any] | None:
    """One recorded version of an entry (its fields), or ``None``."""
    for item in entry_history(store, entry_id):
        if item["version"] == version:
            return item["state"]  # type: ignore[no-any-return]
    return None


def audit_log(store: Store, limit: int = 200) -> list[dict[str, Any]]:
    """The latest events of the audit log, newest first."""
    rows = (
        store.cursor()
        .execute(
            "SELECT happened_at, actor, action, entry_id, detail FROM audit_log ORDER BY happened_at DESC LIMIT ?",
            [limit],
        )
        .fetchall()
    )
    return [dict(zip(("when", "who", "action", "entry", "detail"), r, strict=True)) for r in rows]


def _show(value: Any) -> str:
    if value is None or value == []:
        return "(empty)"
    if isinstance(value, list):
        return ", ".join(value)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def deleted_entries(store: Store, partnerships: list[str] | None = None, limit: int = 200) -> list[dict[str, Any]]:
    """Deleted entries (newest deletion first), optionally only of some partnerships — to restore them."""
    # ``deleted_at > year 1`` rather than ``IS NOT NULL`` (the same rows): DuckDB hands a comparison
    # to PostgreSQL, which answers it from its index (0010), but not IS NOT NULL, so it copied every
    # entry across to find the few deleted ones, 410 ms at a million entries (#6).
    rows = (
        store.cursor(few=True)
        .execute(
            "SELECT e.id, e.title, p.name, e.date_text, e.deleted_at, e.deleted_by FROM entries e"
            " JOIN partnerships p ON p.slug = e.partnership"
            " WHERE e.deleted_at > TIMESTAMP '0001-01-01' AND ($all OR list_contains($partnerships, e.partnership))"
            " ORDER BY e.deleted_at DESC LIMIT $limit",
            {"all": partnerships is None, "partnerships": partnerships or [], "limit": limit},
        )
        .fetchall()
    )
    keys = ("id", "title", "partnership", "date", "deleted_at", "deleted_by")
    return [dict(zip(keys, r, strict=True)) for r in rows]
