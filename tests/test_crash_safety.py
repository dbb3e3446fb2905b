"""Crash safety (#7): a process killed mid-write never leaves half a change, nor loses a confirmed one.

A helper process (tests/helpers/crash_worker.py) imports 30,000 synthetic rows, or saves single
entries in a loop, and is killed with SIGKILL at random points: while reading, while staging,
while the import is being applied, and while the store checkpoints on close. Each time the
database must open again, read back in full (DuckDB checks every block's checksum), hold
consistent rows (every entry has its history version, list rows only for existing entries,
every history row its audit event), and hold all of the import or none of it; every save the
worker confirmed must be there. A write-ahead log damaged after the crash stops the store with
a message naming the file, and both files are left as they were.

The kill points come from a seeded generator; ``TRACKER_CRASH_SEED`` replays a run.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ROOT
from tracker import synth
from tracker.config import Settings
from tracker.importer import import_file
from tracker.store import Store, StoreError

ROWS = 30_000
SEED = int(os.environ.get("TRACKER_CRASH_SEED", random.randrange(1 << 30)))
WORKER = [sys.executable, "-m", "tests.helpers.crash_worker"]
TIMEOUT = 60

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """The demo data plus the synthetic partnerships, closed cleanly."""
    db = tmp_path_factory.mktemp("crash") / "base.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        synth.add_partnerships(store, synth.partnerships(24), ADMIN)
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    return db


@pytest.fixture(scope="module")
def big_csv(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("crash-data") / "big.csv"
    assert synth.write(path, ROWS, seed=7) == ROWS
    return path


def copy_of(base: Path, folder: Path, name: str) -> Path:
    db = folder / f"{name}.duckdb"
    shutil.copy(base, db)
    return db


def run_and_kill(
    args: list[str], trigger: str | None, delay: float, after: int = 1
) -> tuple[list[str], bool, dict[str, float]]:
    """Run the worker; ``delay`` seconds after its ``after``-th line starting with ``trigger``, SIGKILL it
    (with no trigger, let it finish).

    Returns every line it printed (what it had confirmed), whether it was killed before it ended,
    and when (seconds from the start) each line was first read.
    """
    proc = subprocess.Popen([*WORKER, *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    seen: dict[str, float] = {}
    hits = 0
    started = time.monotonic()
    try:
        while time.monotonic() - started < TIMEOUT:
            line = proc.stdout.readline()
            if not line:
                break  # the worker ended (before the trigger, if any)
            lines.append(line.strip())
            seen.setdefault(line.strip(), time.monotonic() - started)
            if trigger is not None and line.startswith(trigger):
                hits += 1
                if hits == after:
                    time.sleep(delay)
                    break
        killed = proc.poll() is None and trigger is not None
        if killed:
            proc.kill()  # SIGKILL: no cleanup, no checkpoint, no closing the file
        out, err = proc.communicate(timeout=TIMEOUT)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    lines += [line for line in out.splitlines() if line]
    if not killed and proc.returncode != 0:
        raise AssertionError(f"the worker failed: {err[-2000:]}")
    return lines, killed, seen


def integrity(db: Path) -> dict[str, int]:
    """Open the store, read every table in full, check the rows agree; return counts for the caller."""
    with Store(str(db), Settings(db=str(db))) as store:
        cur = store.cursor()
        cur.execute("CHECKPOINT")
        tables = [r[0] for r in cur.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()]
        for table in tables:
            cur.execute(f'SELECT * FROM "{table}"').to_arrow_table()  # reads (and checksums) every block

        def one(sql: str) -> int:
            return int(cur.execute(sql).fetchone()[0])  # type: ignore[index]

        checks = {
            "entries without their history version": "SELECT count(*) FROM entries e WHERE NOT EXISTS"
            " (SELECT 1 FROM entry_history h WHERE h.id = e.id AND h.version = e.version)",
            "history ahead of its entry": "SELECT count(*) FROM entry_history h JOIN entries e ON e.id = h.id"
            " WHERE h.version > e.version",
            "history without its entry": "SELECT count(*) FROM entry_history WHERE id NOT IN (SELECT id FROM entries)",
            "history without its audit event": "SELECT count(*) FROM entry_history"
            " WHERE audit_id NOT IN (SELECT id FROM audit_log)",
            "mechanisms of no entry": "SELECT count(*) FROM entry_mechanisms WHERE entry_id NOT IN"
            " (SELECT id FROM entries)",
            "sectors of no entry": "SELECT count(*) FROM entry_sectors WHERE entry_id NOT IN (SELECT id FROM entries)",
            "duplicate ids": "SELECT count(*) FROM (SELECT id FROM entries GROUP BY id HAVING count(*) > 1)",
        }
        for what, sql in checks.items():
            assert one(sql) == 0, f"{db.name}: {what}"
        return {
            "entries": one("SELECT count(*) FROM entries"),
            "imported": one("SELECT count(*) FROM entries WHERE id LIKE 'syn-%'"),
            "imported_history": one("SELECT count(*) FROM entry_history WHERE id LIKE 'syn-%'"),
            "imported_mechanisms": one("SELECT count(*) FROM entry_mechanisms WHERE entry_id LIKE 'syn-%'"),
            "import_events": one(
                "SELECT count(*) FROM audit_log WHERE action = 'import' AND json_extract_string(detail, '$.file') = 'big.csv'"
            ),
        }


def test_a_killed_import_leaves_all_of_it_or_none(base, big_csv, tmp_path):
    rng = random.Random(SEED)
    started = time.monotonic()
    before = integrity(copy_of(base, tmp_path, "before"))

    # One complete run: what "all of it" looks like, and how long applying it takes.
    full = copy_of(base, tmp_path, "full")
    _, _, seen = run_and_kill(["import", str(full), str(big_csv)], None, 0)
    everything = integrity(full)
    assert everything["imported"] == everything["imported_history"] == ROWS
    assert everything["import_events"] == 1 and everything["entries"] == before["entries"] + ROWS
    applying = seen["committed"] - seen[f"progress {ROWS}"]  # plan, then one transaction

    # Where to kill: reading, staging, applying (all rows staged, until the import returns), closing.
    plan = (
        [("open", rng.uniform(0, 0.5), 1) for _ in range(3)]
        + [("progress", rng.uniform(0, 0.2), rng.choice((1, 2)))]
        + [(f"progress {ROWS}", rng.uniform(0.3, 1.1) * applying, 1) for _ in range(4)]
        + [("committed", rng.uniform(0, 0.03), 1) for _ in range(2)]
    )
    outcomes = []
    for i, (trigger, delay, after) in enumerate(plan):
        db = copy_of(base, tmp_path, f"kill-{i}")
        lines, killed, _ = run_and_kill(["import", str(db), str(big_csv)], trigger, delay, after)
        found = integrity(db)
        where = f"seed {SEED}, kill {i}: {delay:.3f}s after '{trigger}' #{after}; killed {killed}, last {lines[-1:]}"
        if found["imported"] == 0:
            assert (found["imported_history"], found["imported_mechanisms"], found["import_events"]) == (0, 0, 0), where
            assert found["entries"] == before["entries"], where
            assert "committed" not in lines, f"a confirmed import was lost ({where})"
            outcomes.append("none")
        else:
            assert found == everything, f"half an import is stored ({where}): {found}"
            outcomes.append("all")
        db.unlink()
    print(f"import kills (seed {SEED}): {outcomes}; {time.monotonic() - started:.1f}s")
    assert outcomes[:3].count("none") == 3  # killed while reading: nothing can be stored yet
    assert outcomes[-2:] == ["all", "all"]  # killed after the import returned: it must all be there


def test_a_killed_single_entry_save_keeps_every_confirmed_save_and_no_half(base, tmp_path):
    rng = random.Random(SEED + 1)
    db = copy_of(base, tmp_path, "saves")
    confirmed: set[str] = set()
    anchor = 0
    for i in range(10):  # crash after crash on the same file, as a flaky server would
        prefix = f"crash{i}"
        lines, killed, _ = run_and_kill(["save", str(db), prefix], "saved", rng.uniform(0, 0.06), rng.randint(1, 6))
        assert killed
        saved = [line.split() for line in lines if line.startswith("saved ")]
        confirmed |= {entry_id for _, entry_id, _ in saved if entry_id != "anchor"}
        anchor = max([anchor] + [int(v) for _, entry_id, v in saved if entry_id == "anchor"])
        integrity(db)
        with Store(str(db), Settings(db=str(db))) as store:
            cur = store.cursor()
            ids = {r[0] for r in cur.execute("SELECT id FROM entries WHERE id LIKE 'crash%'").fetchall()}
            version = cur.execute("SELECT version FROM entries WHERE id = 'anchor'").fetchone()
        where = f"seed {SEED}, run {i}, last line {lines[-1:]}"
        assert confirmed <= ids, f"confirmed saves were lost ({where}): {sorted(confirmed - ids)}"
        assert len(ids - confirmed) <= 1, f"more than the one save in flight appeared ({where})"
        confirmed |= ids  # a save in flight that made it is now part of the record
        assert version is None or anchor <= version[0] <= anchor + 1, where
        anchor = version[0] if version else anchor


# -- a write-ahead log that cannot be replayed ------------------------------------------------------

SAVES = 6  # confirmed saves in the log: entries wal-1, wal-3, wal-5 and anchor (created, then edited twice)


@pytest.fixture(scope="module")
def crashed(base, tmp_path_factory) -> Path:
    """A database whose writer was killed after 6 confirmed saves: all of them are only in its log."""
    db = copy_of(base, tmp_path_factory.mktemp("wal"), "crashed")
    _, killed, _ = run_and_kill(["save", str(db), "wal"], "saved", 0, SAVES)
    assert killed and Path(f"{db}.wal").exists(), "the worker should leave a write-ahead log behind"
    return db


def _copy_crashed(crashed: Path, folder: Path) -> tuple[Path, Path]:
    db = folder / crashed.name
    shutil.copy(crashed, db)
    shutil.copy(f"{crashed}.wal", f"{db}.wal")
    return db, Path(f"{db}.wal")


def _log_entries(wal: Path) -> list[tuple[int, int]]:
    """(offset, payload size) of each entry of a DuckDB 1.5 log: an 8-byte header, then entries of
    [8-byte size][8-byte checksum][payload]."""
    data = wal.read_bytes()
    found, at = [], 8
    while at + 16 <= len(data):
        size = int.from_bytes(data[at : at + 8], "little")
        found.append((at, size))
        at += 16 + size
    return found


def _flip(path: Path, at: int) -> None:
    with open(path, "r+b") as f:
        f.seek(at)
        byte = f.read(1)
        f.seek(at)
        f.write(bytes([byte[0] ^ 0xFF]))


def _damage_inside(wal: Path) -> None:
    """Flip one byte in the payload of the largest entry in the log's middle, as a bad disk might."""
    entries = _log_entries(wal)
    middle = entries[len(entries) // 4 : 3 * len(entries) // 4]
    at, size = max(middle, key=lambda e: e[1])
    _flip(wal, at + 16 + size // 2)


def _digest(*paths: Path) -> list[str]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]


def test_a_damaged_write_ahead_log_stops_the_store_loudly_and_is_kept(crashed, tmp_path):
    db, wal = _copy_crashed(crashed, tmp_path)
    _damage_inside(wal)
    before = _digest(db, wal)
    with pytest.raises(StoreError) as caught:
        Store(str(db), Settings(db=str(db)))
    message = str(caught.value)
    assert str(wal) in message and "cannot be replayed" in message and "Do not delete" in message
    assert "python -m tracker restore" in message
    cli = subprocess.run(
        [sys.executable, "-m", "tracker", "summary", "--by", "kind", "--db", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert cli.returncode == 1 and "cannot be replayed" in cli.stderr and str(wal) in cli.stderr
    assert _digest(db, wal) == before, "opening must leave the database and its log exactly as they were"


def test_the_app_shows_a_damaged_write_ahead_log_instead_of_starting(crashed, tmp_path, monkeypatch):
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    db, wal = _copy_crashed(crashed, tmp_path)
    _damage_inside(wal)
    init = PagesManager.__init__

    def navigation_mode(self, *args, **kwargs):  # as in tests/test_app.py
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", navigation_mode)
    monkeypatch.setenv("TRACKER_DB", str(db))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    # named on the page in plain words (app.py's "cannot open its database"), nothing else drawn
    assert not at.exception
    assert "cannot open its database" in at.error[0].value and "cannot be replayed" in at.error[0].value
    assert not at.title and not at.metric
    assert wal.exists()


def test_an_intact_write_ahead_log_brings_back_every_confirmed_save(crashed, tmp_path):
    db, wal = _copy_crashed(crashed, tmp_path)
    found = integrity(db)
    assert found["entries"] in (89 + 4, 89 + 5) and not wal.exists()  # + the save in flight, if it committed


@pytest.mark.parametrize("damage", ["cut in half", "length field"])
def test_a_log_that_looks_cut_short_is_replayed_up_to_the_cut(crashed, tmp_path, damage):
    """What DuckDB 1.5.5 does (documented in the README): a log that ends inside an entry — cut short,
    or with a damaged length making an entry run past the end — is replayed up to that entry, folded
    into the file and removed, without an error. The saves after that point are gone. A torn last
    write looks the same, which is why the README says never to separate a .duckdb from its .wal."""
    db, wal = _copy_crashed(crashed, tmp_path)
    entries = _log_entries(wal)
    if damage == "cut in half":
        os.truncate(wal, wal.stat().st_size // 2)
    else:
        at, _ = entries[len(entries) // 2]
        _flip(wal, at + 7)  # the length's top byte: the entry now claims to run far past the end
    found = integrity(db)
    assert 89 <= found["entries"] < 89 + 4  # some of the confirmed saves are back, not all of them
    assert not wal.exists()
