"""Backup and restore (#7): a snapshot restored into a new database is the same database.

The export of the restored database equals the original's byte for byte, and every table —
history, audit log, members — comes back row for row. Restore never touches a database that
has anything in it, refuses damaged or foreign backups, and leaves no half-built file behind.
"""

from __future__ import annotations

import io
import json
import shutil
import types
import zipfile
from pathlib import Path

import duckdb
import pytest

from tests.conftest import ADMIN, valid_row
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
