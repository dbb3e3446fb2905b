"""The demo data set: Fulfilling Lives entries from the evaluation report, plus a few Changing
Futures successor areas and the programme links between them. Loading it twice changes nothing."""

from __future__ import annotations

import csv
from pathlib import Path

from tracker import admin, links
from tracker.access import Member
from tracker.importer import ImportReport, import_file
from tracker.store import Store


def load(store: Store, actor: Member) -> list[tuple[str, ImportReport]]:
    """Load every demo file next to ``settings.sample``; return each import's report."""
    folder = Path(store.settings.sample).parent
    reports = [(Path(store.settings.sample).name, import_file(store, store.settings.sample, actor=actor))]
    extra_partnerships = folder / "changing_futures_partnerships.csv"
    if extra_partnerships.exists():
        known = {p.slug for p in store.vocab().partnerships}
        with extra_partnerships.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                if row["slug"] not in known:  # never overwrite what an admin changed
                    admin.save_partnership(store, actor, {k: (v or None) for k, v in row.items()})
    extra = folder / "changing_futures.csv"
    if extra.exists():
        reports.append((extra.name, import_file(store, extra, actor=actor)))
    link_file = folder / "links.csv"
    if link_file.exists() and all(r.ok for _, r in reports):
        vocab = store.vocab()["partnership"]
        with link_file.open(encoding="utf-8", newline="") as fh:
            for row in csv.DictReader(fh):
                earlier = (vocab.resolve(row["from_partnership"]) or "", row["from_structure"])
                later = (vocab.resolve(row["to_partnership"]) or "", row["to_structure"])
                links.add_link(store, actor, earlier, later, row.get("note") or None)
    return reports
