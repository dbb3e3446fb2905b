"""Shared fixtures: real databases, never a mocked store.

The ``store`` and ``settings`` fixtures run each test that uses them twice: on a DuckDB file in a
temporary folder and on a fresh database of a real PostgreSQL server (the shared PostgreSQL
mode, #6; see tests/pg_support.py). Mark a test ``duckdb_only`` when it is about the DuckDB
file itself (locks, write-ahead log, crash safety).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.pg_support import pg_cluster, pg_empty_url, pg_url  # noqa: F401 (fixtures)
from tracker.access import Member
from tracker.config import Settings
from tracker.interchange import COLUMNS
from tracker.store import Store

ROOT = Path(__file__).resolve().parent.parent
ADMIN = Member("admin@example.org", "admin")


def valid_row(**changes: Any) -> dict[str, Any]:
    """A valid milestone row in the interchange format; override any field."""
    row: dict[str, Any] = {
        "id": "t-1",
        "partnership": "VOICES",
        "date": "2019",
        "kind": "milestone",
        "title": "MaRG set up",
        "description": "Multi-agency Resolution Group meets monthly.",
        "typology": "Approaches to coordinating support",
        "status": "Continuing",
        "host": "",
        "mechanisms": "Cross-agency networks and groups; Personal relationships",
        "structure": "MaRG",
        "sectors": "Housing and homelessness",
        "source": "CFE Research (2022)",
        "quote": "",
        "speaker": "",
        "contribution": "",
    }
    row.update(changes)
    return row


def csv_bytes(rows: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS, encoding: str = "utf-8") -> bytes:
    """Rows as CSV bytes in ``encoding``."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row.get(c, "") for c in columns])
    return buf.getvalue().encode(encoding)


BACKENDS = ("duckdb", "postgres")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "duckdb_only: about the DuckDB file itself; not run on PostgreSQL")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test using ``settings`` or ``store`` runs on each backend (DuckDB only if so marked)."""
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("duckdb_only")
        metafunc.parametrize("backend", BACKENDS[:1] if only else BACKENDS, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """``duckdb`` (a file) or ``postgres`` (a database on the test PostgreSQL server)."""
    return str(request.param)


@pytest.fixture
def settings(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    if backend == "postgres":
        return Settings(db=request.getfixturevalue("pg_url"))
    return Settings(db=str(tmp_path / "t.duckdb"))


@pytest.fixture
def store(settings: Settings) -> Store:
    s = Store(settings.db, settings)
    yield s
    s.close()


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[..., Path]:
    """Write bytes (or rows as CSV) to a file in the temporary folder and return its path."""

    def write(content: bytes | list[dict[str, Any]], name: str = "in.csv") -> Path:
        path = tmp_path / name
        path.write_bytes(content if isinstance(content, bytes) else csv_bytes(content))
        return path

    return write


@pytest.fixture
def deferred(monkeypatch):
    """The callables behind click-built download buttons, by file name, as the app registered them
    (Streamlit calls one when its button is clicked, without a rerun of the page)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    found: dict[str, object] = {}
    original = MediaFileManager.add_deferred

    def add_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        found[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    as_a_server_runs(monkeypatch)
    return found


def as_a_server_runs(monkeypatch) -> None:
    """Run AppTest in st.navigation mode from the start, as a long-running server does (AppTest
    resets Streamlit's "legacy pages/ folder" flag before every run; see tests/test_app.py)."""
    from streamlit.runtime.pages_manager import PagesManager

    legacy_init = PagesManager.__init__

    def init(self, *args, **kwargs):
        legacy_init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
