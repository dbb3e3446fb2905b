"""Backup and restore (#7): a snapshot restored into a new database is the same database.

The export of the restored database equals the original's byte for byte, and every table —
history, audit log, members — comes back row for row. Restore never touches a database that
has anything in it, refuses damaged or foreign backups, and leaves no half-built file behind.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import time
import types
import zipfile
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ADMIN, ROOT, valid_row
from tracker import access, backup, entries, interchange, queries
from tracker.access import Forbidden, Member
from tracker.cli import main
from tracker.config import Settings
from tracker.importer import import_file
from tracker.store import Store, migrations


def export(store: Store, fmt: str) -> bytes:
    out = io.BytesIO()
    interchange.WRITERS[fmt](queries.export_rows(store), out)
    return out.getvalue()


def tables(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table, in a stable order."""
    conn = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()]
        return {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY ALL').fetchall() for n in sorted(names)}
    finally:
        conn.close()


@pytest.fixture
def original(tmp_path: Path) -> Path:
    """A database with entries, edits, a delete and restore, members and their audit trail."""
    db = tmp_path / "original.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
        saved = entries.save_entry(store, valid_row(id="b-1", title="Before"), actor=ADMIN, expect="new")
        entries.save_entry(store, valid_row(id="b-1", title="After"), actor=ADMIN, base_version=saved.version)
        entries.delete_entry(store, "b-1", actor=ADMIN)
        entries.restore_entry(store, "b-1", actor=ADMIN)
        entries.delete_entry(store, "b-1", actor=ADMIN)
        access.save_member(store, ADMIN, {"email": "lead@voices.org", "role": "editor", "partnerships": ["VOICES"]})
        access.save_member(store, ADMIN, {"email": "funder@fund.org", "role": "viewer"})
    return db


def test_backup_then_restore_gives_the_same_database(original, tmp_path, capsys):
    before = tables(original)
    assert main(["backup", str(tmp_path / "bk"), "--db", str(original)]) == 0
    assert "backed up" in capsys.readouterr().out
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["schema_version"] == max(v for v, _, _ in migrations())
    assert manifest["tables"]["entries"]["rows"] == 90
    assert manifest["tables"]["entry_history"]["rows"] == 89 + 5
    assert manifest["tables"]["members"]["rows"] == 2
    assert manifest["created_at"].endswith("Z")

    restored = tmp_path / "restored.duckdb"
    assert main(["restore", str(tmp_path / "bk"), "--db", str(restored)]) == 0
    assert "restored 90 entries" in capsys.readouterr().out
    after = tables(restored)
    # the backup itself is audited in the original, after the snapshot
    assert [r for r in tables(original)["audit_log"] if r[3] == "backup"] and not [
        r for r in after["audit_log"] if r[3] == "backup"
    ]
    assert after == before
    with Store(str(original), Settings(db=str(original))) as a, Store(str(restored), Settings(db=str(restored))) as b:
        for fmt in interchange.FORMATS:
            assert export(a, fmt) == export(b, fmt), fmt
        assert entries.get_entry(b, "b-1").deleted_at is not None  # type: ignore[union-attr]
        assert access.get_member(b, "lead@voices.org") == access.get_member(a, "lead@voices.org")


def test_restored_export_equals_the_cli_export_byte_for_byte(original, tmp_path):
    assert main(["export", str(tmp_path / "a.csv"), "--db", str(original)]) == 0
    assert main(["backup", str(tmp_path / "bk"), "--db", str(original)]) == 0
    assert main(["restore", str(tmp_path / "bk"), "--db", str(tmp_path / "r.duckdb")]) == 0
    assert main(["export", str(tmp_path / "b.csv"), "--db", str(tmp_path / "r.duckdb")]) == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_the_admin_download_zip_restores_too(original, tmp_path):
    with Store(str(original), Settings(db=str(original))) as store:
        data = backup.zip_bytes(store, ADMIN)
        expected = export(store, "csv")
        with pytest.raises(Forbidden):
            backup.zip_bytes(store, Member("funder@fund.org", "viewer"))
        with pytest.raises(Forbidden):
            backup.zip_bytes(store, Member("lead@voices.org", "editor", frozenset({"voices"})))
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert "manifest.json" in names and "entries.parquet" in names
    (tmp_path / "backup.zip").write_bytes(data)
    assert main(["restore", str(tmp_path / "backup.zip"), "--db", str(tmp_path / "r.duckdb")]) == 0
    with Store(str(tmp_path / "r.duckdb"), Settings(db=str(tmp_path / "r.duckdb"))) as store:
        assert export(store, "csv") == expected


def test_restore_refuses_a_database_that_is_not_empty(original, tmp_path, capsys):
    assert main(["backup", str(tmp_path / "bk"), "--db", str(original)]) == 0
    target = tmp_path / "in-use.duckdb"
    with Store(str(target), Settings(db=str(target))) as store:
        entries.save_entry(store, valid_row(id="keep-me"), actor=ADMIN)
    before = target.read_bytes()
    capsys.readouterr()
    assert main(["restore", str(tmp_path / "bk"), "--db", str(target)]) == 1
    err = capsys.readouterr().err
    assert "is not empty" in err and "restore only into a new database" in err and "nothing was restored" in err
    assert target.read_bytes() == before
    # even a freshly initialised database (reference data, no entries) is refused
    fresh = tmp_path / "fresh.duckdb"
    assert main(["init", "--db", str(fresh)]) == 0
    assert main(["restore", str(tmp_path / "bk"), "--db", str(fresh)]) == 1


def test_backup_refuses_a_folder_that_is_not_empty(original, tmp_path, capsys):
    folder = tmp_path / "bk"
    folder.mkdir()
    (folder / "other.txt").write_text("mine")
    assert main(["backup", str(folder), "--db", str(original)]) == 1
    assert "not an empty folder" in capsys.readouterr().err
    assert sorted(p.name for p in folder.iterdir()) == ["other.txt"]


def test_backup_into_a_missing_folder_is_a_usage_error(original, tmp_path, capsys):
    # `backup backups/2026-03-01` before backups/ exists: a plain message and exit 2, not a traceback
    assert main(["backup", str(tmp_path / "backups" / "2026-03-01"), "--db", str(original)]) == 2
    err = capsys.readouterr().err
    assert "no such folder" in err and "Traceback" not in err
    assert not (tmp_path / "backups").exists()


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux's /proc, where even root cannot create files")
def test_backup_and_restore_onto_a_place_that_cannot_be_written_say_so_and_leave_nothing(original, tmp_path, capsys):
    # /proc refuses new files and folders even to root: as a folder one may not write to would
    assert main(["backup", "/proc/tracker-backup", "--db", str(original)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot write the backup to /proc/tracker-backup") and "nothing was backed up" in err
    assert "Traceback" not in err and not Path("/proc/tracker-backup").exists()

    assert main(["backup", str(tmp_path / "bk"), "--db", str(original)]) == 0
    capsys.readouterr()
    assert main(["restore", str(tmp_path / "bk"), "--db", "/proc/tracker-restored.duckdb"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot create the database /proc/tracker-restored.duckdb")
    assert "nothing was restored" in err and "Traceback" not in err


@pytest.mark.parametrize("damage", ["checksum", "missing-file", "manifest", "not-a-backup", "newer-schema"])
def test_restore_refuses_a_damaged_or_foreign_backup_and_leaves_nothing(original, tmp_path, capsys, damage):
    folder = tmp_path / "bk"
    assert main(["backup", str(folder), "--db", str(original)]) == 0
    manifest = json.loads((folder / "manifest.json").read_text())
    if damage == "checksum":
        with open(folder / "entries.parquet", "r+b") as f:
            f.seek(100)
            f.write(b"\x00\x01\x02")
    elif damage == "missing-file":
        (folder / "entry_history.parquet").unlink()
    elif damage == "manifest":
        (folder / "manifest.json").write_text("{not json")
    elif damage == "not-a-backup":
        (folder / "manifest.json").unlink()
    else:
        manifest["schema_version"] = 999
        (folder / "manifest.json").write_text(json.dumps(manifest))
    target = tmp_path / "r.duckdb"
    capsys.readouterr()
    assert main(["restore", str(folder), "--db", str(target)]) == 1
    err = capsys.readouterr().err
    expected = {
        "checksum": "does not match its checksum",
        "missing-file": "lacks entry_history.parquet",
        "manifest": "cannot be read",
        "not-a-backup": "not a tracker backup",
        "newer-schema": "newer than this tracker",
    }[damage]
    assert expected in err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("r.")) == []


def test_restore_refuses_a_zip_with_paths_outside_the_backup(tmp_path):
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as zf:
        zf.writestr("../../escaped.txt", "x")
        zf.writestr("manifest.json", "{}")
    with pytest.raises(backup.BackupError, match="unexpected path"):
        backup.restore(evil, tmp_path / "r.duckdb")
    assert not (tmp_path.parent / "escaped.txt").exists()


def test_a_backup_of_an_older_schema_is_migrated_on_restore(tmp_path):
    """A backup made at schema version 2 restores, and the later migrations are applied."""
    old = tmp_path / "old.duckdb"
    conn = duckdb.connect(str(old))
    conn.execute(backup._MIGRATIONS_TABLE)
    for version, name, path in migrations():
        if version <= 2:
            conn.execute(path.read_text())
            conn.execute("INSERT INTO schema_migrations VALUES (?, ?, now()::TIMESTAMP)", [version, name])
    conn.execute(
        "INSERT INTO partnerships VALUES ('voices', 'VOICES', 'Fulfilling Lives', 'Stoke-on-Trent', NULL, NULL)"
    )
    conn.execute("INSERT INTO terms VALUES ('typology', 'culture', 'Culture', NULL, NULL, 1, false)")
    conn.execute(
        "INSERT INTO entries VALUES ('old-1', 1, 'voices', '2019', 'year', '2019-01-01', '2019-12-31', 'setback',"
        " 'Old entry', NULL, 'culture', NULL, NULL, NULL, NULL, NULL, now()::TIMESTAMP, now()::TIMESTAMP, 1,"
        " 'x', 'x', NULL, NULL)"
    )
    manifest = backup.create(types.SimpleNamespace(cursor=conn.cursor, is_postgres=False), tmp_path / "bk")  # type: ignore[arg-type]
    conn.close()
    assert manifest.schema_version == 2
    target = tmp_path / "r.duckdb"
    backup.restore(tmp_path / "bk", target)
    with Store(str(target), Settings(db=str(target))) as store:
        assert store.schema_version() == max(v for v, _, _ in migrations())
        assert entries.get_entry(store, "old-1").title == "Old entry"  # type: ignore[union-attr]


def test_backup_folder_is_plain_duckdb_export(original, tmp_path):
    """Without this tool, DuckDB itself can read the backup (schema.sql, load.sql and Parquet)."""
    assert main(["backup", str(tmp_path / "bk"), "--db", str(original)]) == 0
    shutil.copytree(tmp_path / "bk", tmp_path / "copy")
    assert (tmp_path / "bk" / "schema.sql").read_text().count("CREATE TABLE") >= 8
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{tmp_path / 'copy' / 'entries.parquet'}')").fetchone()
    assert rows == (90,)


class _SecondCopyFails:
    """A cursor whose second ``COPY … TO`` (the second table file written) fails as a full disk would."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self.cur = cur
        self.copies = 0

    def execute(self, sql: str, *args: object) -> object:
        if sql.startswith("COPY "):
            self.copies += 1
            if self.copies == 2:
                raise duckdb.IOException("IO Error: No space left on device")
        return self.cur.execute(sql, *args)

    def __getattr__(self, name: str) -> object:
        return getattr(self.cur, name)


def _backups_folder(tmp_path: Path, given: str) -> tuple[Path, Path]:
    """A folder of backups holding someone's file, and the backup's folder in it (new, or made empty)."""
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "notes.txt").write_text("mine")
    target = backups / "2026-03-01"
    if given == "empty":
        target.mkdir()
    return backups, target


def _left(backups: Path, target: Path, given: str) -> None:
    """Nothing new beside or in the backup's folder, and the other file as it was."""
    assert sorted(p.name for p in backups.iterdir()) == sorted(
        ["notes.txt"] + (["2026-03-01"] if given == "empty" else [])
    )
    assert (backups / "notes.txt").read_text() == "mine"
    if given == "empty":
        assert list(target.iterdir()) == []


@pytest.mark.parametrize("given", ["new", "empty"])
def test_a_backup_that_fails_writing_its_second_file_leaves_nothing_behind(original, tmp_path, given):
    """A backup whose second table file cannot be written (the shared PostgreSQL mode writes one file
    per table) leaves no file: a folder given empty kept the first table's file, a half backup a
    later restore could be pointed at (#7)."""
    backups, target = _backups_folder(tmp_path, given)
    conn = duckdb.connect(str(original))
    try:
        failing = types.SimpleNamespace(cursor=lambda: _SecondCopyFails(conn.cursor()), is_postgres=True)
        with pytest.raises(backup.BackupError) as info:
            backup.create(failing, target)  # type: ignore[arg-type]
    finally:
        conn.close()
    assert str(info.value) == (
        f"cannot write the backup to {target}: IO Error: No space left on device; nothing was backed up"
    )
    _left(backups, target, given)


@pytest.mark.parametrize("given", ["new", "empty"])
def test_a_backup_that_fails_half_way_says_what_failed_and_leaves_nothing_behind(
    original, tmp_path, capsys, monkeypatch, given
):
    """A disk error on the second table file, after DuckDB's export wrote them all: the command says
    what failed and that nothing was backed up, leaves no file and records no backup in the audit
    log. It said only "cannot use …/conditions.parquet: Input/output error" and left the table files
    it had written, a half backup without its manifest (#7)."""
    backups, target = _backups_folder(tmp_path, given)
    read = backup._sha256
    calls: list[Path] = []

    def failing(path: Path) -> str:
        calls.append(path)
        if len(calls) == 2:
            raise OSError(5, "Input/output error", str(path))
        return read(path)

    monkeypatch.setattr(backup, "_sha256", failing)
    assert main(["backup", str(target), "--db", str(original)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"error: cannot write the backup to {target}: Input/output error ({calls[1].name}); nothing was backed up\n"
    )
    _left(backups, target, given)
    assert not [r for r in tables(original)["audit_log"] if r[3] == "backup"]
    monkeypatch.setattr(backup, "_sha256", read)  # and the same folder takes the backup afterwards
    assert main(["backup", str(target), "--db", str(original)]) == 0
    assert (target / "manifest.json").is_file() and (target / "load.sql").read_text().count(f"'{target}/") >= 8


@pytest.mark.parametrize("given", ["new", "empty"])
def test_a_backup_that_cannot_be_recorded_in_the_audit_log_is_not_kept(original, tmp_path, capsys, monkeypatch, given):
    """Every backup is in the audit log: one whose audit event cannot be written is removed again and
    the command says why; it ended in a traceback and left the unrecorded backup (#7)."""
    backups, target = _backups_folder(tmp_path, given)

    def refused(*args: object, **kwargs: object) -> None:
        raise duckdb.IOException("IO Error: No space left on device")

    monkeypatch.setattr(backup, "audit", refused)
    assert main(["backup", str(target), "--db", str(original)]) == 1
    assert capsys.readouterr().err == (
        "error: cannot record the backup in the audit log (IO Error: No space left on device); nothing was backed up\n"
    )
    _left(backups, target, given)


def start_backup(db: Path, target: Path) -> tuple[subprocess.Popen[str], Path]:
    """A backup of ``db`` to ``target`` in another process, waiting with its snapshot written in its
    hidden folder (tests/helpers/crash_worker.py); the process and that folder."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.helpers.crash_worker", "backup", str(db), str(target)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    if not lines[1].startswith("written "):
        proc.kill()
        proc.wait()
        raise AssertionError(lines)
    return proc, Path(lines[1].removeprefix("written ").strip()).parent


def age(path: Path, seconds: float = 3600) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


@pytest.mark.parametrize("given", ["new", "empty"])
def test_the_hidden_folder_of_a_killed_backup_is_cleared_by_the_next(original, tmp_path, given):
    """A backup killed half-way left its hidden ``.partial`` folder beside the backups for good, and
    in a folder given empty, where it is built, the folder was no longer empty: the backup again
    was refused ("already exists and is not an empty folder") (#7)."""
    backups, target = _backups_folder(tmp_path, given)
    proc, holder = start_backup(shutil.copy(original, tmp_path / "copy.duckdb"), target)
    assert holder.name.endswith(".partial") and holder.parent == (target if given == "empty" else backups)
    proc.kill()
    proc.wait()
    assert holder.is_dir()
    age(holder)
    assert main(["backup", str(target), "--db", str(original)]) == 0
    assert not holder.exists()
    assert sorted(p.name for p in backups.iterdir()) == ["2026-03-01", "notes.txt"]
    assert (target / "manifest.json").is_file() and not [p for p in target.iterdir() if p.name.startswith(".")]


def test_a_backup_clears_only_hidden_folders_no_running_backup_holds(original, tmp_path):
    """Two backups at once: each holds a lock on its hidden folder while it runs, which the system
    lets go when the process ends, killed or not. A folder still held is kept however old it is; so is
    one made in the last minute (a backup takes its lock a moment after making it) and anything not
    shaped like a backup's hidden folder."""
    backups, _ = _backups_folder(tmp_path, "new")
    proc, running = start_backup(shutil.copy(original, tmp_path / "copy.duckdb"), backups / "2026-03-01")
    try:
        age(running)  # a long backup: still its own
        just_made = backups / ".2026-03-05-k2x9q1z_.partial"
        (just_made / "2026-03-05").mkdir(parents=True)
        foreign = backups / ".notes-abcdefgh.partial"
        foreign.mkdir()
        (foreign / "mine.txt").write_text("mine")
        age(foreign)
        assert main(["backup", str(backups / "2026-03-02"), "--db", str(original)]) == 0
        assert (running / "2026-03-01" / "manifest.json").is_file()
        assert just_made.is_dir() and (foreign / "mine.txt").read_text() == "mine"
    finally:
        proc.kill()
        proc.wait()
    age(just_made)
    assert main(["backup", str(backups / "2026-03-03"), "--db", str(original)]) == 0
    assert not running.exists() and not just_made.exists()
    assert sorted(p.name for p in backups.iterdir()) == [
        ".notes-abcdefgh.partial",
        "2026-03-02",
        "2026-03-03",
        "notes.txt",
    ]


def test_restore_never_takes_the_hidden_folder_of_an_unfinished_backup(original, tmp_path, capsys):
    """Killed after its snapshot was written but before it was moved into place (and recorded in the
    audit log), the hidden folder holds what looks like a whole backup: it is not one."""
    proc, holder = start_backup(shutil.copy(original, tmp_path / "copy.duckdb"), tmp_path / "bk")
    proc.kill()
    proc.wait()
    assert (holder / "bk" / "manifest.json").is_file()
    for given in (holder, holder / "bk"):
        assert main(["restore", str(given), "--db", str(tmp_path / "r.duckdb")]) == 1
        err = capsys.readouterr().err
        assert f"error: {given} is an unfinished backup" in err, err
        assert not (tmp_path / "r.duckdb").exists()
