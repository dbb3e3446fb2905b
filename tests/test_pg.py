"""The shared PostgreSQL mode (#6) as a deployment uses it: several replicas on one database.

Each "replica" is a Store (or a whole process) of its own on the same PostgreSQL database of the
real test server (tests/pg_support.py). The rest of the suite already runs every store test on
PostgreSQL too; these are the things only several replicas can show.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ADMIN, ROOT, valid_row
from tests.pg_support import Cluster
from tests.test_app import navigation_mode  # noqa: F401 (autouse: AppTest as a real server runs)
from tracker import entries, pg, queries
from tracker.config import Settings
from tracker.entries import Conflict
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import Store, StoreError, migrations

SAMPLE = ROOT / "data" / "sample" / "entries.csv"


def replica(url: str) -> Store:
    return Store(url, Settings(db=url))


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tracker", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
    )


def test_a_write_on_one_replica_is_read_on_another(pg_url):
    with replica(pg_url) as a, replica(pg_url) as b:
        saved = entries.save_entry(a, valid_row(id="shared-1"), actor=ADMIN, expect="new")
        seen = entries.get_entry(b, "shared-1")
        assert seen is not None and (seen.title, seen.version) == (saved.title, saved.version)
        assert queries.count_entries(b, Filters()) == 1


def test_a_stale_edit_from_another_replica_is_refused_and_nothing_is_lost(pg_url):
    with replica(pg_url) as a, replica(pg_url) as b:
        first = entries.save_entry(a, valid_row(id="e-1"), actor=ADMIN, expect="new")
        entries.save_entry(a, valid_row(id="e-1", title="Edited on A"), actor=ADMIN, base_version=first.version)
        with pytest.raises(Conflict) as refused:
            entries.save_entry(b, valid_row(id="e-1", title="Edited on B"), actor=ADMIN, base_version=first.version)
        assert "admin@example.org" in str(refused.value)
        assert entries.get_entry(b, "e-1").title == "Edited on A"  # type: ignore[union-attr]


def test_each_replica_numbers_new_entries_after_the_other_replicas_ones(pg_url):
    """Each replica asks for the next seq from the largest it has seen (#6); entries the other
    replica saved since are found, so the order of saving is the order of the numbers."""
    with replica(pg_url) as a, replica(pg_url) as b:
        order = []
        for store, name in ((a, "a1"), (a, "a2"), (b, "b1"), (b, "b2"), (a, "a3"), (b, "b3"), (a, "a4")):
            entries.save_entry(store, valid_row(id=name, title=name), actor=ADMIN, expect="new")
            order.append(name)
        seqs = dict(a.cursor().execute("SELECT id, seq FROM entries").fetchall())
        assert sorted(seqs, key=seqs.get) == order and len(set(seqs.values())) == len(order)


def test_a_lookup_by_id_is_one_query_for_postgresql_and_other_reads_go_in_ranges(pg_url, capfd):
    """A lookup of a few rows asks PostgreSQL once, which answers from its index; other reads still
    go in ranges of pages read in parallel (#6: DuckDB's postgres extension prints what it sends
    with pg_debug_show_queries)."""
    libc = ctypes.CDLL(None)

    def sent() -> list[str]:
        libc.fflush(None)  # the extension prints with C's buffered streams
        captured = capfd.readouterr()
        return [q for q in (captured.out + captured.err).splitlines() if 'FROM "public"."entries"' in q]

    with replica(pg_url) as store:
        entries.save_entry(store, valid_row(id="one"), actor=ADMIN, expect="new")
        store.cursor().execute("SET GLOBAL pg_debug_show_queries = true")
        try:
            sent()
            assert entries.get_entry(store, "one") is not None
            lookup = sent()
        finally:
            store.cursor().execute("SET GLOBAL pg_debug_show_queries = false")
        ranges = "SELECT current_setting('pg_use_ctid_scan')"
        assert store.cursor().execute(ranges).fetchone() == (True,)  # other reads: in ranges, as before
        assert store.cursor(few=True).execute(ranges).fetchone() == (False,)
    assert len(lookup) == 1 and "ctid" not in lookup[0] and "IN (" in lookup[0], lookup


def _analyzed(store: Store) -> bool:
    sql = (
        f"SELECT * FROM postgres_query('{pg.CATALOG}', $$SELECT last_analyze IS NOT NULL AS done"
        " FROM pg_stat_user_tables WHERE relname = 'entries'$$)"
    )
    return bool(store.cursor().execute(sql).fetchone()[0])  # type: ignore[index]


def test_a_large_import_refreshes_postgresqls_statistics_and_a_save_does_not(pg_url, write_file, monkeypatch):
    """After an import PostgreSQL's planner knows the new rows at once, not when autovacuum gets
    to them (#6: a save just after a million-row import took 250-300 ms instead of 55-70)."""
    with replica(pg_url) as store:
        entries.save_entry(store, valid_row(id="one"), actor=ADMIN, expect="new")
        assert not _analyzed(store)  # a save is not worth it
        monkeypatch.setattr(queries, "FEW_ROWS", 2)  # three rows: too many to name, as an import
        rows = [valid_row(id=f"imp-{i}", title=f"Imported {i}") for i in range(3)]
        assert import_file(store, write_file(rows), actor=ADMIN).ok
        assert _analyzed(store)


def test_statistics_that_cannot_be_refreshed_do_not_fail_the_import_that_asked(pg_url, write_file, monkeypatch):
    """ANALYZE runs after the import has committed: if it fails, the import still reports success."""
    monkeypatch.setattr(pg.analyze, "__defaults__", (("no_such_table",),))  # PostgreSQL refuses it
    monkeypatch.setattr(queries, "FEW_ROWS", 2)
    with replica(pg_url) as store:
        rows = [valid_row(id=f"imp-{i}", title=f"Imported {i}") for i in range(3)]
        assert import_file(store, write_file(rows), actor=ADMIN).ok
        assert queries.count_entries(store, Filters()) == 3 and not _analyzed(store)


def test_simultaneous_edits_on_two_replicas_keep_exactly_one(pg_url):
    """Both replicas pass the version check at the same moment: the database lets one through."""
    with replica(pg_url) as a, replica(pg_url) as b:
        base = entries.save_entry(a, valid_row(id="race"), actor=ADMIN, expect="new").version
        start = threading.Barrier(2)
        outcome: dict[str, str] = {}

        def edit(store: Store, title: str) -> None:
            start.wait()
            try:
                entries.save_entry(store, valid_row(id="race", title=title), actor=ADMIN, base_version=base)
                outcome[title] = "saved"
            except Conflict:
                outcome[title] = "conflict"

        threads = [threading.Thread(target=edit, args=(s, t)) for s, t in ((a, "From A"), (b, "From B"))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcome.values()) == ["conflict", "saved"], outcome
        final = entries.get_entry(a, "race")
        winner = next(title for title, result in outcome.items() if result == "saved")
        assert final is not None and final.title == winner and final.version == base + 1


def test_replicas_starting_together_apply_each_migration_once(pg_empty_url):
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tracker", "init", "--db", pg_empty_url],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [(*p.communicate(timeout=300), p.returncode) for p in procs]
    assert all(rc == 0 for _, _, rc in results), results
    latest = max(v for v, _, _ in migrations())
    assert all(f"schema version {latest}" in out for out, _, _ in results), results
    with replica(pg_empty_url) as store:
        cur = store.cursor()
        versions = [r[0] for r in cur.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()]
        partnerships = cur.execute("SELECT count(*) FROM partnerships").fetchone()[0]  # type: ignore[index]
    assert versions == [v for v, _, _ in migrations()]
    assert partnerships == 12  # seeded once, not three times


def test_cli_import_and_export_match_the_duckdb_file(pg_url, tmp_path):
    file_db = tmp_path / "f.duckdb"
    for db in (pg_url, str(file_db)):
        done = cli("import", str(SAMPLE), "--db", db)
        assert done.returncode == 0, done.stderr
    for db, out in ((pg_url, tmp_path / "pg.csv"), (str(file_db), tmp_path / "file.csv")):
        done = cli("export", str(out), "--db", db)
        assert done.returncode == 0, done.stderr
    assert (tmp_path / "pg.csv").read_bytes() == (tmp_path / "file.csv").read_bytes()
    summary = cli("summary", "--db", pg_url, "--by", "kind", "--format", "json")
    assert summary.returncode == 0 and '"milestone"' in summary.stdout
    searched = [
        cli("structures", "--find", "council", "--status", "hosted-elsewhere", "--format", "json", "--db", db)
        for db in (pg_url, str(file_db))
    ]
    assert all(done.returncode == 0 for done in searched), [done.stderr for done in searched]
    assert searched[0].stdout == searched[1].stdout and '"Hosted elsewhere"' in searched[0].stdout


def test_backup_of_postgres_restores_into_a_duckdb_file(pg_url, tmp_path):
    with replica(pg_url) as store:
        assert import_file(store, SAMPLE, actor=ADMIN).ok
    assert cli("backup", str(tmp_path / "bk"), "--db", pg_url).returncode == 0
    restored = tmp_path / "restored.duckdb"
    done = cli("restore", str(tmp_path / "bk"), "--db", str(restored))
    assert done.returncode == 0, done.stderr
    for db, out in ((pg_url, tmp_path / "a.csv"), (str(restored), tmp_path / "b.csv")):
        assert cli("export", str(out), "--db", db).returncode == 0
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


def test_a_wrong_password_is_reported_without_showing_it(pg_cluster: Cluster):
    url = pg_cluster.url("postgres").replace("://", "://nobody:Sup3rS3cret@", 1)
    with pytest.raises(StoreError) as failed:
        replica(url)
    message = str(failed.value)
    assert "Sup3rS3cret" not in message and "***" in message
    done = cli("init", "--db", url)
    assert done.returncode != 0 and "Sup3rS3cret" not in done.stdout + done.stderr
    assert pg.redact(url) in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("password", "text", "shown"),
    [
        ("a", "cannot connect to a server at localhost", "cannot connect to *** server at localhost"),
        ("pg", "FATAL: pg_hba.conf rejects pgadmin", "FATAL: pg_hba.conf rejects pgadmin"),
        ("Sup3rS3cret", "password=Sup3rS3cret refused", "password=*** refused"),
        ("Sup3rS3cret", "'Sup3rS3cret'", "'***'"),
    ],
)
def test_a_password_is_scrubbed_from_messages_where_it_stands_alone(password, text, shown):
    """A short password was replaced inside every word ("c***nnot"): only where it stands alone now."""
    url = f"postgresql://tracker:{password}@localhost:5432/tracker"
    assert pg.scrub(f"{text} ({url})", url) == f"{shown} ({pg.redact(url)})"


def test_the_dashboard_runs_on_postgres(pg_url, monkeypatch):
    with replica(pg_url) as store:
        assert import_file(store, SAMPLE, actor=ADMIN).ok
        expected = queries.count_entries(store, Filters())
    monkeypatch.setenv("TRACKER_DB", pg_url)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert next(m.value for m in at.metric if m.label == "Entries") == str(expected)
    with replica(pg_url) as other:  # another replica saves an entry: this one shows it on its next run
        entries.save_entry(other, valid_row(id="from-replica-b"), actor=ADMIN, expect="new")
    at.run()
    assert next(m.value for m in at.metric if m.label == "Entries") == str(expected + 1)
    for page in ("pages/heatmaps.py", "pages/legacy.py", "pages/timeline.py", "pages/survival.py"):
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
