"""External context: dated events (lockdowns, Everyone In, austerity, ICSs) kept as data.

They are drawn as shaded bands on the timeline. Each belongs to an external-factor mechanism,
so entries tagged with that mechanism can be seen against the event.
"""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path

import pandas as pd

from tracker.config import DATA_DIR
from tracker.store import Store
from tracker.taxonomy import Vocab

CONTEXT_FILE = DATA_DIR / "context_events.toml"


def load_events(path: Path = CONTEXT_FILE) -> list[dict[str, object]]:
    """The events in the data file, checked: label, start, optional end (not before start), mechanism."""
    with path.open("rb") as fh:
        raw = tomllib.load(fh).get("event", [])
    events = []
    for n, item in enumerate(raw, start=1):
        start, end = item.get("start"), item.get("end")
        if not item.get("label") or not isinstance(start, date):
            raise ValueError(f"{path}: event #{n} needs a label and a start date (YYYY-MM-DD)")
        if end is not None and (not isinstance(end, date) or end < start):
            raise ValueError(f"{path}: event #{n} '{item['label']}' ends before it starts")
        events.append(
            {
                "label": item["label"],
                "start": start,
                "end": end,
                "mechanism": item.get("mechanism"),
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
    for event in load_events(path):
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
