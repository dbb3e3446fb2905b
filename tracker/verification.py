"""Re-verification: is each structure still as recorded? Flag the ones nobody has confirmed lately.

A structure's "last confirmed" date is the latest status-bearing entry about it (never later than
the day that entry was recorded). Structures not confirmed within ``Settings.verify_months`` are
*unverified*. Confirming is one click: it records an ordinary entry, so history, permissions and
the audit trail all apply.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from tracker import links, queries
from tracker.access import Member
from tracker.entries import save_entry
from tracker.filters import Filters
from tracker.models import Entry
from tracker.store import Store

OUTCOMES = ("running", "closed")


def cutoff(today: date, months: int) -> date:
    """The date before which a confirmation is too old."""
    month = today.month - months
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(today.day, 28)
    return date(year, month, day)


def register(store: Store, filters: Filters = Filters(), today: date | None = None) -> pd.DataFrame:
    """The legacy register with ``last_confirmed`` and ``unverified`` (not confirmed within the period)."""
    frame = queries.structures(store, filters)
    reference = (filters.as_at.date() if filters.as_at else None) or today or date.today()
    limit = pd.Timestamp(cutoff(reference, store.settings.verify_months))
    confirmed = pd.to_datetime(frame["last_confirmed"])
    frame["unverified"] = frame["status_slug"].notna() & (confirmed.isna() | (confirmed < limit))
    frame["confirmation"] = [
        f"Not confirmed for {store.settings.verify_months}+ months" if flag else "" for flag in frame["unverified"]
    ]
    return links.annotate(frame, links.links(store))


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


def to_check(store: Store, filters: Filters = Filters(), today: date | None = None) -> pd.DataFrame:
    """Unverified structures that are still running as far as anyone knows, oldest confirmation first."""
    frame = register(store, filters, today)
    running = frame["status_slug"].isin(["continuing", "hosted-elsewhere"])
    return frame[frame["unverified"] & running].sort_values(["partnership", "last_confirmed"]).reset_index(drop=True)


def confirm(
    store: Store, actor: Member, partnership: str, structure_key: str, outcome: str, when: date | None = None
) -> Entry:
    """Record that a structure is still running (as currently recorded) or has closed, as of ``when``.

    Writes a normal entry (milestone "still running" with the current status and host, or a setback
    "closed" with status decommissioned), so permissions, history and audit apply as for any entry.
    """
    if outcome not in OUTCOMES:
        raise ValueError(f"outcome is one of {OUTCOMES}")
    cur = store.cursor()
    row = cur.execute(
        "SELECT arg_max(structure, (date_start, date_end, seq)), arg_max(typology, (date_start, date_end, seq)),"
        " arg_max(status, (date_start, date_end, seq)) FILTER (WHERE status IS NOT NULL),"
        " arg_max(host, (date_start, date_end, seq)) FILTER (WHERE status IS NOT NULL),"
        " arg_max(id, (date_start, date_end, seq)) FILTER (WHERE status IS NOT NULL)"
        " FROM entries WHERE deleted_at IS NULL AND partnership = ? AND structure_key = ?",
        [partnership, structure_key],
    ).fetchone()
    if row is None or row[0] is None:
        raise LookupError(f"no structure '{structure_key}' in partnership '{partnership}'")
    name, typology, status, host, latest = row
    mechanisms = (
        [r[0] for r in cur.execute("SELECT mechanism FROM entry_mechanisms WHERE entry_id = ?", [latest]).fetchall()]
        if latest
        else []
    )
    day = (when or date.today()).isoformat()
    if outcome == "running":
        data = {
            "partnership": partnership,
            "date": day,
            "kind": "milestone",
            "title": f"Still running: {name}",
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
            "title": f"Closed: {name}",
            "typology": typology,
            "status": "decommissioned",
            "structure": name,
            "source": f"Closure confirmed by {actor.email}",
        }
    return save_entry(store, data, actor=actor, expect="new")
