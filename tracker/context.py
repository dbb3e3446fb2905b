"""External context: dated events (lockdowns, Everyone In, austerity, ICSs) kept as data.

They are drawn as shaded bands on the timeline. Each belongs to an external-factor mechanism,
so entries tagged with that mechanism can be seen against the event.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from tracker.config import DATA_DIR
from tracker.store import Store
from tracker.taxonomy import Vocab, _read_toml

CONTEXT_FILE = DATA_DIR / "context_events.toml"
FIELDS = ("label", "start", "end", "mechanism", "note")


def load_events(path: Path = CONTEXT_FILE, vocab: Vocab | None = None) -> list[dict[str, object]]:
    """The events in the data file, checked: label, start, optional end (not before start), mechanism.

    With ``vocab``, each mechanism must be a known one (its slug or label), returned as its slug:
    a typo would match no entries without a word (#3). Anything wrong raises ``ValueError``
    naming the file and the event."""
    raw = _read_toml(path).get("event", [])
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise ValueError(f"{path}: events must be [[event]] entries, each with a label and a start date")
    events = []
    for n, item in enumerate(raw, start=1):
        start, end = item.get("start"), item.get("end")
        if not item.get("label") or not isinstance(start, date):
            raise ValueError(f"{path}: event #{n} needs a label and a start date (YYYY-MM-DD)")
        where = f"{path}: event #{n} '{item['label']}'"
        unknown = sorted(set(item) - set(FIELDS))
        if unknown:
            raise ValueError(f"{where}: unknown field '{unknown[0]}'; an event has {', '.join(FIELDS)}")
        if end is not None and (not isinstance(end, date) or end < start):
            raise ValueError(f"{where} ends before it starts")
        mechanism = item.get("mechanism")
        if mechanism is not None and vocab is not None:
            lookup = vocab["mechanism"]
            slug = lookup.resolve(mechanism) if isinstance(mechanism, str) else None
            if slug is None:
                hint = lookup.suggest(mechanism) if isinstance(mechanism, str) else None
                hint_slug = lookup.resolve(hint) if hint else None
                raise ValueError(
                    f"{where}: unknown mechanism '{mechanism}'"
                    + (f" — did you mean '{hint_slug}' ({hint})?" if hint_slug else "")
                )
            mechanism = slug
        events.append(
            {
                "label": item["label"],
                "start": start,
                "end": end,
                "mechanism": mechanism,
                "note": item.get("note", ""),
            }
        )
    return events


def context_bands(store: Store, path: Path = CONTEXT_FILE) -> pd.DataFrame:
    """Events for the timeline: label, start, end (the day after; a one-day event spans its day),
    mechanism (its label, to match entries' mechanism labels), note."""
    return bands(store.vocab(), path)


def bands(vocab: Vocab, path: Path = CONTEXT_FILE) -> pd.DataFrame:
    """:func:`context_bands` from vocabularies already read: the events depend on the data file
    and the mechanisms' labels only, not on the entries (the app keeps one per version of the
    reference data, #6)."""
    labels = vocab["mechanism"]
    rows = []
    for event in load_events(path, vocab):
        start = pd.Timestamp(event["start"])
        end = pd.Timestamp(event["end"]) + pd.Timedelta(days=1) if event["end"] else pd.NaT
        mechanism = labels.label(str(event["mechanism"])) if event["mechanism"] else None
        rows.append(
            {
                "label": event["label"],
                "start": start,
                "end": end,
                "mechanism": mechanism,
                "note": event["note"],
                "point": event["end"] is None,
            }
        )
    return pd.DataFrame(rows, columns=["label", "start", "end", "mechanism", "note", "point"])
