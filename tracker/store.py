"""The store: one DuckDB database, migrated at connect, seeded with reference data.

Every access opens its own cursor (``store.cursor()``); cursors are never shared
between threads. Writes go through ``store.transaction()`` so they are
all-or-nothing. A ``postgresql://`` target attaches a shared PostgreSQL database
to an in-memory DuckDB instead (``tracker.pg``); the SQL is the same.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from tracker import pg
from tracker.config import SCHEMAS_DIR, Settings
from tracker.taxonomy import (
    VOCABULARIES,
    PartnershipRef,
    Term,
    Vocab,
    load_crosswalk,
    load_partnerships,
    load_terms,
)

_MIGRATION = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class StoreError(Exception):
    """The database cannot be opened or used; the message says why in plain words."""


def utcnow() -> datetime:
    """Current time in UTC as a naive timestamp (how the store keeps times)."""
    return datetime.now(UTC).replace(tzinfo=None)


def write_conflict(exc: BaseException) -> str | None:
    """Why ``exc`` means another transaction changed the same rows first, or None: DuckDB's
    write-write conflict, or PostgreSQL's serialization failure, deadlock or duplicate key."""
    if isinstance(exc, duckdb.TransactionException):
        return str(exc)
    return pg.conflict_reason(exc)


_ONLY = re.compile(r"^-- only on: (postgres|duckdb)$", re.MULTILINE)


def migration_sql(path: Path, postgres: bool) -> str | None:
    """The SQL of the migration file ``path`` for this backend, or None where it does nothing.

    A file whose text has the line ``-- only on: postgres`` (or ``duckdb``) runs on that backend
    alone; on the other it is recorded as applied and runs nothing, so both have every number. It
    is for physical design only, such as indexes PostgreSQL needs and DuckDB does not (#6): every
    table, column and query is the same on both."""
    text = path.read_text(encoding="utf-8")
    only = _ONLY.search(text)
    if only is not None and only.group(1) != ("postgres" if postgres else "duckdb"):
        return None
    return text


def migrations(directory: Path = SCHEMAS_DIR) -> list[tuple[int, str, Path]]:
    """The numbered migration files, in order: (version, name, path)."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _MIGRATION.match(path.name)
        if match:
            found.append((int(match.group(1)), match.group(2), path))
    versions = [v for v, _, _ in found]
    if len(set(versions)) != len(versions):
        raise StoreError(f"two migrations share a number in {directory}")
    return found


class Store:
    """A connection to the tracker database, migrated and seeded on open."""

    def __init__(self, target: str | Path | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.target = str(target if target is not None else self.settings.db)
        self._lock = threading.Lock()
        self.seq_floor = 0  # the largest entry seq number seen by this process (tracker.entries.Staging)
        self.counts_folded: dict[str, int] | None = None  # rows of each counts table when last folded (tracker.queries)
        self.is_postgres = pg.is_url(self.target)
        self.name = pg.redact(self.target) if self.is_postgres else self.target  # what messages show
        self._conn = self._connect_postgres() if self.is_postgres else self._connect_file()
        try:
            self.migrate()
            self.seed()
        except BaseException:
            self._conn.close()
            raise

    # -- connection -----------------------------------------------------------------
    def _connect_postgres(self) -> duckdb.DuckDBPyConnection:
        try:
            return pg.connect(self.target)
        except pg.PgError as exc:
            raise StoreError(str(exc)) from None

    def _connect_file(self) -> duckdb.DuckDBPyConnection:
        if self.target != ":memory:":
            Path(self.target).parent.mkdir(parents=True, exist_ok=True)
        try:
            return duckdb.connect(self.target)
        except duckdb.IOException as exc:
            wal = Path(f"{self.target}.wal")
            if "wal" in str(exc).lower() and wal.exists():  # DuckDB leaves both files as they were
                raise StoreError(
                    f"the database {self.target} was not closed cleanly and its write-ahead log {wal} cannot be "
                    f"replayed ({exc}). Nothing was changed. Do not delete {wal.name}: it holds the latest changes. "
                    "Copy both files somewhere safe, then restore the latest backup into a new database "
                    "(python -m tracker restore BACKUP --db NEW.duckdb); see README, 'Reliability and safety'."
                ) from exc
            if "lock" in str(exc).lower():
                raise StoreError(
                    f"the database {self.target} is in use by another program (is the dashboard "
                    "running?). Stop it, or make the change through the dashboard."
                ) from exc
            raise StoreError(f"cannot open the database {self.target}: {exc}") from exc
        except duckdb.Error as exc:
            raise StoreError(f"cannot open the database {self.target}: {exc}") from exc

    def cursor(self, *, few: bool = False) -> duckdb.DuckDBPyConnection:
        """A new cursor on the shared connection; use one per call, never across threads.

        ``few``: its queries choose a few rows by indexed columns (see :meth:`few_rows`)."""
        with self._lock:
            cur = self._conn.cursor()
        if self.is_postgres:
            cur.execute(f"USE {pg.CATALOG}")  # a new cursor starts in DuckDB's own in-memory catalog
        if few:
            self.few_rows(cur)
        return cur

    def after_bulk_write(self) -> None:
        """After a write of many entries (an import): in the PostgreSQL mode, PostgreSQL's
        statistics of the tables it changed are refreshed (:func:`pg.analyze`), so the lookups
        after it use the indexes straight away. DuckDB keeps its statistics as it writes."""
        if self.is_postgres:
            pg.analyze(self._conn)

    def few_rows(self, cur: duckdb.DuckDBPyConnection) -> None:
        """The next queries on ``cur`` choose a few rows by indexed columns (``id IN (…)``,
        ``seq >= ?``, ``deleted_at > ?``). In the PostgreSQL mode DuckDB then asks PostgreSQL for
        them in one query, which PostgreSQL answers from its index (migration 0010), instead of one
        query per range of 1,000 pages, each looking the index up again: 70 ranges at a million
        entries, 20 ms for one entry by id (#6). Whole-table reads are quicker in ranges read in
        parallel, so this is for such lookups only. Nothing changes on a DuckDB file."""
        if self.is_postgres:
            cur.execute("SET pg_use_ctid_scan = false")

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor inside a transaction: committed on success, rolled back on any error."""
        cur = self.cursor()
        cur.execute("BEGIN TRANSACTION")
        try:
            yield cur
        except BaseException as exc:
            cur.execute("ROLLBACK")
            cur.close()
            reason = pg.conflict_reason(exc) if self.is_postgres else None
            if reason is not None:  # reported as DuckDB reports a write-write conflict
                raise duckdb.TransactionException(reason) from exc
            raise
        cur.execute("COMMIT")
        cur.close()

    def close(self) -> None:
        """Close the connection (checkpointing the write-ahead log)."""
        self._conn.close()

    def _exclusive(self) -> AbstractContextManager[None]:
        """Keep other processes out while migrating or seeding: PostgreSQL's advisory lock; a DuckDB
        file is only ever open in one process (DuckDB locks it), so there it is nothing."""
        return pg.exclusive(self._conn) if self.is_postgres else nullcontext()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema ---------------------------------------------------------------------
    def migrate(self) -> list[int]:
        """Apply every migration not yet applied, each in its own transaction; return those applied."""
        with self._exclusive():
            return self._migrate()

    def _migrate(self) -> list[int]:
        cur = self.cursor()
        cur.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
        )
        done = {row[0] for row in cur.execute("SELECT version FROM schema_migrations").fetchall()}
        applied = []
        for version, name, path in migrations():
            if version in done:
                continue
            sql = migration_sql(path, self.is_postgres)
            with self.transaction() as tx:
                if sql is not None:
                    tx.execute(sql)
                tx.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, name, utcnow()])
            applied.append(version)
        return applied

    def schema_version(self) -> int:
        """The highest applied migration number."""
        row = self.cursor().execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def seed(self) -> None:
        """Load the taxonomy and partnerships from ``data/`` into an empty database."""
        with self._exclusive():
            self._seed()

    def _seed(self) -> None:
        cur = self.cursor()
        has_terms = cur.execute("SELECT count(*) FROM terms").fetchone()[0]  # type: ignore[index]
        has_partnerships = cur.execute("SELECT count(*) FROM partnerships").fetchone()[0]  # type: ignore[index]
        has_conditions = cur.execute("SELECT count(*) FROM conditions").fetchone()[0]  # type: ignore[index]
        if has_terms and has_partnerships and has_conditions:
            return
        try:
            self._seed_from_files(has_terms, has_partnerships, has_conditions)
        except ValueError as exc:  # the reference files are wrong: say which and where, no traceback
            raise StoreError(f"cannot seed the database from the reference data: {exc}") from exc

    def _seed_from_files(self, has_terms: int, has_partnerships: int, has_conditions: int) -> None:
        with self.transaction() as tx:
            if not has_terms:
                tx.executemany(
                    "INSERT INTO terms (vocabulary, slug, label, grp, description, position) VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        [t.vocabulary, t.slug, t.label, t.group, t.description, t.position]
                        for t in load_terms(self.settings.taxonomy)
                    ],
                )
            if not has_partnerships:
                tx.executemany(
                    "INSERT INTO partnerships VALUES (?, ?, ?, ?, ?, ?)",
                    [
                        [p.slug, p.name, p.programme, p.area, p.start_date, p.end_date]
                        for p in load_partnerships(self.settings.partnerships)
                    ],
                )
            if not has_conditions and self.settings.crosswalk.exists():
                conditions, mapping = load_crosswalk(self.settings.crosswalk)
                tx.executemany("INSERT INTO conditions VALUES (?, ?, ?, ?)", conditions)
                if mapping:
                    tx.executemany("INSERT INTO crosswalk VALUES (?, ?)", mapping)

    # -- reference data -------------------------------------------------------------
    def vocab(self) -> Vocab:
        """The current vocabularies and partnerships, as validation needs them."""
        # One query for the three tables, sorted here: each query costs ~0.7 ms however small its
        # table, and every page reads the vocabularies once a run (#6: 2.5 -> 1 ms).
        rows = (
            self.cursor()
            .execute(
                "SELECT 't', vocabulary, slug, label, grp, description, position, retired, NULL, NULL FROM terms"
                " UNION ALL SELECT 'p', slug, name, programme, area, NULL, NULL, NULL, start_date, end_date"
                " FROM partnerships"
                " UNION ALL SELECT 'c', 'condition', slug, label, grp, NULL, position, NULL, NULL, NULL FROM conditions"
            )
            .fetchall()
        )
        terms: dict[str, list[Term]] = {v: [] for v in VOCABULARIES}
        for row in sorted((r for r in rows if r[0] == "t"), key=lambda r: (r[1], r[6], r[2])):
            terms.setdefault(row[1], []).append(Term(*row[1:8]))
        partnerships = sorted(
            (PartnershipRef(r[1], r[2], r[3], r[4], r[8], r[9]) for r in rows if r[0] == "p"), key=lambda p: p.name
        )
        conditions = sorted(
            (Term(r[1], r[2], r[3], r[4], None, r[6]) for r in rows if r[0] == "c"), key=lambda t: t.position
        )
        return Vocab(terms, partnerships, conditions)
