"""A throwaway PostgreSQL server for the tests of the shared PostgreSQL mode (#6).

One cluster per test session (per xdist worker): ``initdb`` into a temporary folder owned by
the ``postgres`` user when run as root, trust authentication on 127.0.0.1 only, a free port,
durability switched off (it is thrown away). Each test gets a fresh database copied from a
template that is already migrated and seeded, so migrations do not run per test. The cluster
is stopped and its folder removed at the end of the session, also when tests fail.

Without PostgreSQL's server binaries the PostgreSQL tests skip, saying why, unless
``TRACKER_REQUIRE_POSTGRES`` is set (CI), in which case they fail. ``TRACKER_PG_BIN`` names the
folder holding ``initdb``/``pg_ctl`` (set it to a missing folder to run as if PostgreSQL were
not installed).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from tracker import pg
from tracker.config import Settings
from tracker.store import Store

TEMPLATE = "tracker_template"


def pg_bin() -> Path | None:
    """The folder with PostgreSQL's server binaries (``TRACKER_PG_BIN``, else Debian's newest), or None."""
    if "TRACKER_PG_BIN" in os.environ:
        chosen = Path(os.environ["TRACKER_PG_BIN"])
        return chosen if (chosen / "initdb").is_file() and (chosen / "pg_ctl").is_file() else None
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True)
    found = shutil.which("initdb")
    if found:
        candidates.append(Path(found).resolve().parent)
    return next((c for c in candidates if (c / "initdb").is_file() and (c / "pg_ctl").is_file()), None)


def unavailable(reason: str) -> None:
    """Skip the calling test, or fail it when CI requires PostgreSQL."""
    if os.environ.get("TRACKER_REQUIRE_POSTGRES"):
        pytest.fail(f"TRACKER_REQUIRE_POSTGRES is set but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster in a temporary folder, run by the ``postgres`` OS user when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.root = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
        self.data = self.root / "data"
        self.port = 0
        self._admin: duckdb.DuckDBPyConnection | None = None
        self._user: dict[str, object] = {}
        if os.geteuid() == 0:
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError("running as root, but there is no 'postgres' user to run the server") from None
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._user = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}

    def _run(self, *args: str) -> None:
        done = subprocess.run(
            [str(self.bindir / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            cwd=self.root,
            timeout=120,
            **self._user,  # type: ignore[arg-type]
        )
        if done.returncode:
            log = self.root / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{' '.join(args[:2])} failed ({done.returncode}): {done.stderr or done.stdout}{tail}")

    def start(self) -> None:
        """initdb, then start the server on a free local port (retrying if the port was taken meanwhile)."""
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        options = (
            f"-k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=300"
        )
        for attempt in range(3):
            self.port = _free_port()
            try:
                self._run("pg_ctl", "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "-o",
                          f"-p {self.port} {options}", "start")  # fmt: skip
                return
            except RuntimeError:
                if attempt == 2:
                    raise

    def url(self, database: str = "postgres") -> str:
        """A URL for ``database``, as a user would give it in TRACKER_DB."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def execute(self, sql: str) -> None:
        """Run one administrative statement (outside a transaction) on the ``postgres`` database."""
        if self._admin is None:
            self._admin = duckdb.connect(":memory:")
            pg.load_extension(self._admin)
            self._admin.execute(f"ATTACH 'host=127.0.0.1 port={self.port} user=postgres dbname=postgres' AS admin"
                                " (TYPE postgres)")  # fmt: skip
        self._admin.execute("CALL postgres_execute('admin', ?, use_transaction = false)", [sql])

    def stop(self) -> None:
        """Stop the server (immediately: nothing in it is kept) and remove its folder."""
        if self._admin is not None:
            with contextlib.suppress(duckdb.Error):
                self._admin.close()
            self._admin = None
        try:
            if (self.data / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A running PostgreSQL server for the whole session, with a migrated, seeded template database."""
    bindir = pg_bin()
    if bindir is None:
        unavailable(
            "PostgreSQL's server binaries are not installed (apt-get install postgresql), "
            "or TRACKER_PG_BIN does not name a folder holding initdb and pg_ctl"
        )
        return
    cluster = Cluster(bindir)
    try:
        cluster.start()
        cluster.execute(f"CREATE DATABASE {TEMPLATE}")
        with Store(cluster.url(TEMPLATE), Settings(db=cluster.url(TEMPLATE))):
            pass  # migrations and seeding, once
        cluster.execute(f"ALTER DATABASE {TEMPLATE} WITH ALLOW_CONNECTIONS false")
        yield cluster
    finally:
        cluster.stop()


def new_database(cluster: Cluster, migrated: bool = True) -> str:
    """A fresh database (migrated and seeded from the template, or empty); returns its name."""
    name = f"t_{uuid.uuid4().hex}"
    cluster.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE if migrated else 'template0'}")
    return name


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a fresh, migrated and seeded database of its own for one test; dropped afterwards."""
    name = new_database(pg_cluster)
    yield pg_cluster.url(name)
    pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_empty_url(pg_cluster: Cluster) -> Iterator[str]:
    """The URL of a fresh, empty database (no tables at all) for one test; dropped afterwards."""
    name = new_database(pg_cluster, migrated=False)
    yield pg_cluster.url(name)
    pg_cluster.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
