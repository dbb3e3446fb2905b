"""Shared PostgreSQL mode: DuckDB attaches a PostgreSQL database through its postgres extension.

Every query and migration still runs through DuckDB, unchanged (one SQL code path): the tables
live in PostgreSQL, so several app replicas share them, while temporary tables (the import's
staging and plan) stay in each process's own in-memory DuckDB. See README, "Shared PostgreSQL mode".
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib.util import find_spec
from pathlib import Path
from urllib.parse import parse_qsl, unquote, urlsplit

import duckdb

CATALOG = "tracker"  # the attached PostgreSQL database, as DuckDB names it; cursors USE it
SCHEMES = ("postgresql", "postgres")
# pg_advisory_xact_lock key held while one process migrates or seeds: any fixed 64-bit number
# ("tracker" in ASCII), the same in every replica.
STARTUP_LOCK = 0x747261636B6572
# PostgreSQL's words for "another transaction changed these rows first" (SQLSTATE 40001, 40P01,
# 23505), as they reach Python inside a duckdb.Error.
_CONFLICTS = (
    "could not serialize access",
    "deadlock detected",
    "duplicate key value violates unique constraint",
)


class PgError(Exception):
    """PostgreSQL cannot be reached or the extension cannot be loaded; the message says why."""


def is_url(target: str) -> bool:
    """True when ``target`` names a PostgreSQL database (``postgresql://…``) rather than a DuckDB file."""
    scheme, sep, _ = target.partition("://")
    return bool(sep) and scheme.lower() in SCHEMES


def redact(url: str) -> str:
    """The URL with its password replaced by ``***``, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.split(":", 1)[0]
    return parts._replace(netloc=f"{name}:***@{host}").geturl()


def _quote(value: str) -> str:
    """A libpq keyword/value connection-string value."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def conninfo(url: str) -> tuple[str, str | None]:
    """Split a ``postgresql://user:password@host:port/dbname?option=value`` URL into a libpq
    keyword/value string without the password, and the password (``None`` when not given, so
    that libpq's own ``PGPASSWORD`` or ``~/.pgpass`` apply)."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        raise PgError(f"the port in {redact(url)} is not a number") from None
    keywords: dict[str, str] = {}
    if parts.hostname:
        keywords["host"] = parts.hostname
    if port:
        keywords["port"] = str(port)
    if parts.username:
        keywords["user"] = unquote(parts.username)
    if parts.path.strip("/"):
        keywords["dbname"] = unquote(parts.path.lstrip("/"))
    keywords.update(parse_qsl(parts.query, keep_blank_values=True))
    password = keywords.pop("password", None)
    if parts.password is not None:
        password = unquote(parts.password)
    return " ".join(f"{k}={_quote(v)}" for k, v in keywords.items()), password


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def wheel_extension() -> Path | None:
    """The extension shipped by the ``duckdb-extension-postgres`` wheel for this DuckDB, if installed."""
    spec = find_spec("duckdb_extension_postgres")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "extensions" / f"v{duckdb.__version__}" / "postgres.duckdb_extension"
        if path.is_file():
            return path
    return None


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "systems-change-tracker" / f"duckdb-v{duckdb.__version__}"


def _loadable(source: Path) -> Path:
    """A copy of the wheel's extension named ``postgres_scanner.duckdb_extension``.

    DuckDB derives the entry point from the file name, and this binary's entry point is
    ``postgres_scanner_duckdb_cpp_init``: loaded under the wheel's own name it fails.
    """
    for folder in (_cache_dir(), Path(tempfile.gettempdir()) / f"systems-change-tracker-{os.getuid()}"):
        target = folder / "postgres_scanner.duckdb_extension"
        try:
            mine = source.stat()
            if target.is_file() and (target.stat().st_size, target.stat().st_mtime_ns) == (
                mine.st_size,
                mine.st_mtime_ns,
            ):
                return target
            folder.mkdir(parents=True, exist_ok=True)
            fd, partial = tempfile.mkstemp(dir=folder, prefix=".postgres_scanner-")
            os.close(fd)
            shutil.copy2(source, partial)
            os.replace(partial, target)  # atomic: a replica starting at the same time sees old or new
            return target
        except OSError:
            continue
    raise PgError(f"cannot copy the postgres extension from {source} to a cache folder ({_cache_dir()})")


def load_extension(conn: duckdb.DuckDBPyConnection) -> str:
    """Load DuckDB's postgres extension: from the offline wheel, else DuckDB's own ``INSTALL postgres``.

    Returns where it came from (``wheel`` or ``install``).
    """
    problems = []
    source = wheel_extension()
    if source is not None:
        try:
            conn.execute(f"LOAD {_literal(str(_loadable(source)))}")
            return "wheel"
        except (duckdb.Error, PgError) as exc:
            problems.append(f"the wheel's extension ({source}) did not load: {exc}")
    else:
        problems.append(f"the package duckdb-extension-postgres=={duckdb.__version__} is not installed")
    try:
        conn.execute("INSTALL postgres")
        conn.execute("LOAD postgres")
        return "install"
    except duckdb.Error as exc:
        problems.append(f"INSTALL postgres failed: {exc}")
    raise PgError(
        "PostgreSQL mode needs DuckDB's postgres extension, which could not be loaded: "
        + "; ".join(problems)
        + f". Install it with: pip install duckdb-extension-postgres=={duckdb.__version__} "
        "(offline, from the wheel), or allow DuckDB to download it (INSTALL postgres)"
    )


def connect(url: str) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the PostgreSQL database at ``url`` attached as ``tracker`` and in use.

    The password goes into a temporary DuckDB secret, never into the connection string, so
    no error message can show it.
    """
    keywords, password = conninfo(url)
    conn = duckdb.connect(":memory:")
    try:
        load_extension(conn)
        options = "TYPE postgres"
        if password is not None:
            conn.execute(f"CREATE TEMPORARY SECRET tracker_pg (TYPE postgres, PASSWORD {_literal(password)})")
            options += ", SECRET tracker_pg"
        conn.execute(f"ATTACH {_literal(keywords)} AS {CATALOG} ({options})")
        conn.execute(f"USE {CATALOG}")
    except duckdb.Error as exc:
        conn.close()
        raise PgError(f"cannot open the PostgreSQL database {redact(url)}: {scrub(str(exc), url)}") from None
    except PgError:
        conn.close()
        raise
    return conn


def scrub(text: str, url: str) -> str:
    """``text`` with the URL's password (if any) replaced by ``***`` wherever it stands on its own:
    not inside a longer word, so a short password ("a", "pg") leaves the rest of the message
    readable ("c***nnot connect" before)."""
    password = conninfo(url)[1] if is_url(url) else None
    if not password:
        return text
    alone = re.compile(rf"(?<![0-9A-Za-z_]){re.escape(password)}(?![0-9A-Za-z_])")
    return alone.sub("***", text.replace(url, redact(url)))


@contextmanager
def exclusive(conn: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Hold PostgreSQL's advisory lock ``STARTUP_LOCK`` while the block runs (migrations, seeding).

    The lock is transaction-scoped, taken in a transaction on a cursor of its own (so on a
    PostgreSQL connection of its own): PostgreSQL releases it when that transaction ends, even
    if this process dies. Work in the block runs on other cursors, whose transactions start
    after the lock is held and so see everything the previous holder committed.
    """
    holder = conn.cursor()
    try:
        holder.execute(f"USE {CATALOG}")
        holder.execute("BEGIN TRANSACTION")
        holder.execute(f"CALL postgres_execute('{CATALOG}', 'SELECT pg_advisory_xact_lock({STARTUP_LOCK})')")
        conn.execute("CALL pg_clear_cache()")  # forget table definitions another replica may just have changed
        yield
    finally:
        with suppress(duckdb.Error):
            holder.execute("ROLLBACK")
        holder.close()


def conflict_reason(exc: BaseException) -> str | None:
    """PostgreSQL's reason when ``exc`` says another transaction changed the same rows first, else None."""
    if not isinstance(exc, duckdb.Error):
        return None
    text = str(exc)
    for words in _CONFLICTS:
        at = text.find(words)
        if at >= 0:
            return text[at:].splitlines()[0].strip()
    return None


ENTRY_TABLES = (
    "entries",
    "entry_mechanisms",
    "entry_sectors",
    "entry_history",
    "structure_register",
    "entry_counts",
    "mechanism_counts",
)
"""The tables an entry write changes (:func:`analyze` after a large one)."""


def analyze(conn: duckdb.DuckDBPyConnection, tables: tuple[str, ...] = ENTRY_TABLES) -> None:
    """Have PostgreSQL refresh its statistics of ``tables`` now (``ANALYZE``), rather than when
    autovacuum gets to them, a minute or more after a large import. Until then its planner
    misjudges the lookups it is handed: at a million freshly imported entries a save took 250-300
    ms instead of 55-70, the deleted entries 300 ms instead of 7 (#6). ANALYZE samples each table:
    2.2 s for the whole database at a million entries."""
    cur = conn.cursor()
    try:  # after the write has committed: a failure here must not report the write as failed
        cur.execute(f"CALL postgres_execute('{CATALOG}', 'ANALYZE {', '.join(tables)}', use_transaction = false)")
    except duckdb.Error:
        pass  # autovacuum will get to it; only the next minute's lookups are slower
    finally:
        cur.close()
