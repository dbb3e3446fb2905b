"""Migrations are numbered files applied once, each with its record, at connect."""

from pathlib import Path

import duckdb
import pytest

from tracker import pg
from tracker import store as store_module
from tracker.config import Settings
from tracker.store import Store, StoreError, migrations


def test_fresh_database_is_migrated_and_seeded(store):
    assert store.schema_version() == migrations()[-1][0]
    cur = store.cursor()
    assert cur.execute("SELECT count(*) FROM partnerships").fetchone()[0] == 12
    assert cur.execute("SELECT count(*) FROM terms WHERE vocabulary = 'typology'").fetchone()[0] == 6


def test_reopening_reapplies_nothing_and_keeps_data(settings, store):
    store.cursor().execute("UPDATE terms SET label = 'Leadership (renamed)' WHERE slug = 'leadership'")
    store.close()
    again = Store(settings.db, settings)
    assert again.migrate() == []
    rows = again.cursor().execute("SELECT version FROM schema_migrations").fetchall()
    assert len(rows) == len(migrations())
    # seeding does not overwrite what admins changed
    label = again.cursor().execute("SELECT label FROM terms WHERE slug = 'leadership'").fetchone()[0]
    assert label == "Leadership (renamed)"
    again.close()


def test_a_failing_migration_leaves_no_trace(tmp_path, monkeypatch):
    folder = tmp_path / "schemas"
    folder.mkdir()
    for _, _, path in migrations():
        (folder / path.name).write_text(path.read_text())
    (folder / "0999_broken.sql").write_text("CREATE TABLE half_done (x INTEGER); SELECT * FROM no_such_table;")
    original = store_module.migrations
    monkeypatch.setattr(store_module, "migrations", lambda directory=folder: original(folder))
    settings = Settings(db=str(tmp_path / "m.duckdb"))
    with pytest.raises(duckdb.Error):
        Store(settings.db, settings)
    conn = duckdb.connect(settings.db)
    tables = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "half_done" not in tables
    assert conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] < 999
    conn.close()


def test_migration_files_are_numbered_uniquely():
    versions = [v for v, _, _ in migrations()]
    assert versions == sorted(set(versions)) and versions[0] == 1
    assert all(p.name.startswith(f"{v:04d}_") for v, _, p in migrations())


def test_locked_database_gives_a_plain_message(tmp_path):
    path = tmp_path / "locked.duckdb"
    import subprocess
    import sys

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb,time; c=duckdb.connect({str(path)!r}); print('ok', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(StoreError, match="in use by another program"):
            Store(str(path), Settings(db=str(path)))
    finally:
        holder.kill()
        holder.wait()


def test_default_database_lives_in_data(monkeypatch):
    monkeypatch.delenv("TRACKER_DB", raising=False)
    assert Path(Settings().db).name == "tracker.duckdb"
    monkeypatch.setenv("TRACKER_DB", "/tmp/elsewhere.duckdb")
    assert Settings().db == "/tmp/elsewhere.duckdb"


def test_a_migration_for_one_backend_runs_there_and_is_only_recorded_on_the_other(settings, tmp_path, monkeypatch):
    folder = tmp_path / "schemas"
    folder.mkdir()
    for _, _, path in migrations():
        (folder / path.name).write_text(path.read_text())
    (folder / "0998_postgres_only.sql").write_text("-- only on: postgres\nCREATE TABLE made_on_postgres (x INTEGER);")
    (folder / "0999_duckdb_only.sql").write_text(
        "-- A note first.\n-- only on: duckdb\nCREATE TABLE made_on_duckdb (x INT);"
    )
    original = store_module.migrations
    monkeypatch.setattr(store_module, "migrations", lambda directory=folder: original(folder))
    with Store(settings.db, settings) as s:
        cur = s.cursor()
        assert s.schema_version() == 999
        recorded = {r[0] for r in cur.execute("SELECT version FROM schema_migrations WHERE version > 900").fetchall()}
        assert recorded == {998, 999}  # both numbers on both backends
        made = {
            r[0]
            for r in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'made_on_%'"
            ).fetchall()
        }
        assert made == {"made_on_postgres" if s.is_postgres else "made_on_duckdb"}


# Migration 0010: what PostgreSQL needs to answer the lookups DuckDB hands it (#6).
INDEXES_0010 = {
    "entries_seq",
    "entries_deleted_at",
    "entries_structure_key",
    "entry_mechanisms_entry",
    "entry_sectors_entry",
    "structure_register_key",
}


def test_postgres_has_the_indexes_its_lookups_need_and_duckdb_only_the_register_key(store):
    cur = store.cursor()
    if store.is_postgres:
        sql = f"SELECT * FROM postgres_query('{pg.CATALOG}', $$SELECT indexname FROM pg_indexes WHERE schemaname = 'public'$$)"
        assert {r[0] for r in cur.execute(sql).fetchall()} >= INDEXES_0010
    else:  # 0011: the stored register's key, for naming the ends of a register page's links
        found = {r[0] for r in cur.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
        assert INDEXES_0010 & found == {"structure_register_key"}
