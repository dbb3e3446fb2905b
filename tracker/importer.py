"""Importing a file: validate every row, then store all of it or none of it.

The same function serves the CLI and the dashboard's upload page. Rows are
validated in batches and staged in the database, so a 100k-row file is never
held in Python objects at once; problems are reported one line each as
``row N, column C: message`` (N is the spreadsheet row, header = row 1), or ``record N, …`` for
JSON and Parquet files (the N-th record, the first is record 1).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from tracker import interchange
from tracker.access import Member
from tracker.entries import Staging, new_id
from tracker.errors import InvalidInput, Problem, problems
from tracker.fastpath import FastCheck
from tracker.models import EntryIn
from tracker.store import Store
from tracker.wording import agree, quantity

Progress = Callable[[int], None]
FAST_PATH = True
"""Check batches column by column first (see :mod:`tracker.fastpath`); tests turn it off to compare."""


@dataclass
class ImportReport:
    """What an import found and did."""

    unit: str = "row"
    rows_read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[Problem] = field(default_factory=list)
    more_problems: int = 0
    dry_run: bool = False
    preview: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the file is valid (and, unless a dry run, was stored)."""
        return not self.problems

    def summary(self) -> str:
        """One line for people: what happened, or why nothing did."""
        read = quantity(self.rows_read, self.unit)
        if not self.ok:
            return f"{quantity(len(self.problems) + self.more_problems, 'problem')} found in {read}; nothing was stored"

        def done(count: int, what: str) -> str:
            return f"{count:,} {'would be' if self.dry_run else agree(count, 'was', 'were')} {what}"

        changed = f"{done(self.created, 'created')}, {done(self.updated, 'updated')}"
        return f"{read} read: {changed}, {self.unchanged:,} unchanged"


class _Collector:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[Problem] = []
        self.more = 0

    def extend(self, found: list[Problem]) -> None:
        room = self.limit - len(self.items)
        self.items.extend(found[: max(room, 0)])
        self.more += max(len(found) - max(room, 0), 0)

    def __bool__(self) -> bool:
        return bool(self.items) or self.more > 0


def import_stream(
    store: Store,
    stream: IO[bytes],
    fmt: str,
    *,
    actor: Member,
    dry_run: bool = False,
    progress: Progress | None = None,
    name: str | None = None,
) -> ImportReport:
    """Validate and (unless ``dry_run`` or invalid) store every row of ``stream`` as ``actor``, all or nothing.

    Rows of partnerships ``actor`` may not edit are refused (listed), as are rows whose id
    belongs to a deleted entry. A concurrent write to the same entries raises
    :class:`~tracker.entries.Conflict`; nothing is stored then.
    """
    settings = store.settings
    report = ImportReport(dry_run=dry_run)
    try:
        source = interchange.read_rows(stream, fmt)
    except InvalidInput as exc:
        report.problems = exc.problems
        return report
    report.unit = source.unit
    vocab = store.vocab()
    context = {"vocab": vocab}
    fast = FastCheck(vocab) if FAST_PATH else None
    found = _Collector(settings.max_errors)
    staging = Staging(store)
    try:
        for numbers, columns in source.batches(settings.import_batch_rows):
            report.rows_read += len(numbers)
            if fast is not None:
                accepted, rest = fast.check(columns, new_id)
            else:
                accepted, rest = {"index": []}, list(range(len(numbers)))
            for i in rest:  # rows the fast check is not certain of: the model decides, in its words
                try:
                    entry = EntryIn.model_validate({c: columns[c][i] for c in columns}, context=context)
                except ValidationError as exc:
                    found.extend(problems(exc, numbers[i], source.unit))
                    continue
                if not found:
                    staging.add(entry, numbers[i])
            if not found:
                staging.add_columns([numbers[i] for i in accepted["index"]], accepted)
                staging.flush()
            if progress and report.rows_read % settings.import_batch_rows == 0:
                progress(report.rows_read)
        found.extend(source.problems)
        report.rows_read += source.refused
        if report.rows_read == 0 and not found:
            found.extend([Problem(None, None, "the file has a header but no rows to import")])
        if not found:
            found.extend(staging.duplicate_ids(source.unit))
        if found:
            report.problems = sorted(found.items, key=lambda p: (p.row or 0, p.column or ""))
            report.more_problems = found.more
            return report
        counts = staging.plan()
        refused = staging.deleted_rows(source.unit) + staging.refused(actor, source.unit)
        if refused:
            report.problems = sorted(refused, key=lambda p: (p.row or 0, p.column or ""))
            return report
        report.created, report.updated, report.unchanged = (
            counts["created"],
            counts["updated"],
            counts["unchanged"],
        )
        if dry_run:
            report.preview = staging.preview()
        elif report.created or report.updated:
            staging.apply(
                actor,
                "import",
                {
                    "file": name,
                    "format": fmt,
                    "rows": report.rows_read,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                },
            )
        if progress:
            progress(report.rows_read)
        return report
    finally:
        staging.close()


def import_file(
    store: Store,
    path: str | Path,
    *,
    actor: Member,
    fmt: str | None = None,
    dry_run: bool = False,
    progress: Progress | None = None,
) -> ImportReport:
    """Import a CSV, XLSX, JSON or Parquet file as ``actor`` (format from its extension unless given)."""
    try:
        kind = interchange.format_for(path, fmt)
    except InvalidInput as exc:
        return ImportReport(problems=exc.problems, dry_run=dry_run)
    with open(path, "rb") as stream:
        return import_stream(store, stream, kind, actor=actor, dry_run=dry_run, progress=progress, name=Path(path).name)
