"""A process for tests/test_crash_safety.py to kill: it writes to the store and says how far it got.

``python -m tests.helpers.crash_worker import DB FILE`` imports FILE into DB, printing ``open``,
``progress N`` per batch, ``committed`` once the import returned, then ``closed``.

``python -m tests.helpers.crash_worker save DB PREFIX`` saves single entries for ever, alternately a
new one (``PREFIX-N``) and an edit of ``anchor``, printing ``saved ID VERSION`` after each save returned.

``python -m tests.helpers.crash_worker backup DB DIR`` backs DB up to DIR and stops once the snapshot
is written in its hidden folder, printing ``written FOLDER``, to be killed there (tests/test_backup.py).

Every line is flushed at once, so what the parent reads is what had happened when it killed.
"""

from __future__ import annotations

import sys
import time

from tests.conftest import valid_row
from tracker.access import system_member
from tracker.config import Settings
from tracker.entries import save_entry
from tracker.importer import import_file
from tracker.store import Store


def say(line: str) -> None:
    print(line, flush=True)


def main(argv: list[str]) -> int:
    mode, db = argv[0], argv[1]
    actor = system_member()
    store = Store(db, Settings(db=db, import_batch_rows=10_000))
    say("open")
    if mode == "import":
        report = import_file(store, argv[2], actor=actor, progress=lambda n: say(f"progress {n}"))
        say("committed" if report.ok else f"failed {report.summary()}")
        store.close()
        say("closed")
        return 0 if report.ok else 1
    if mode == "backup":
        from tracker import backup

        write = backup._write

        def write_then_wait(store: Store, folder: object) -> object:
            written = write(store, folder)
            say(f"written {folder}")
            time.sleep(600)  # killed here, the snapshot complete but not yet moved into place
            return written

        backup._write = write_then_wait  # type: ignore[assignment]
        backup.create(store, argv[2], actor)
        say("backed up")
        return 0
    prefix, number = argv[2], 0
    while True:
        number += 1
        if number % 2:
            new = valid_row(id=f"{prefix}-{number}", title=f"Save {number}")
            saved = save_entry(store, new, actor=actor, expect="new")
        else:
            saved = save_entry(store, valid_row(id="anchor", title=f"Anchor edit {number}"), actor=actor)
        say(f"saved {saved.id} {saved.version}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
