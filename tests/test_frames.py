"""tracker.frames: query results read through Arrow give the frame DuckDB's own ``.df()`` gives (#6)."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from tracker.frames import to_frame
from tracker.store import Store

# Every kind of column the tracker's queries return, with and without a missing value.
MATRIX = """
SELECT 1::INTEGER AS i, NULL::INTEGER AS i_missing, 5::BIGINT AS b, 7::SMALLINT AS sm, 3::UTINYINT AS u,
       sum(3::BIGINT) OVER () AS hugeint_sum, 1.5::DECIMAL(10, 2) AS dec, 2.5::DOUBLE AS f,
       DATE '2020-01-02' AS d, TIMESTAMP '2020-01-02 03:04:05' AS ts,
       TIMESTAMPTZ '2020-01-01 00:00:00+00' AS tz,
       'a' AS v, NULL::VARCHAR AS v_missing, 'é ✓' AS v_unicode, true AS bo, NULL::BOOLEAN AS bo_missing,
       [1, 2] AS li, ['a', 'b'] AS ls, {'a': 1} AS st, count(*) OVER () AS c
UNION ALL
SELECT NULL, 2, NULL, NULL, NULL, 4, NULL, NULL, NULL, NULL, NULL, NULL, 'b', '', false, NULL, NULL, [], NULL, 1
"""


@pytest.mark.parametrize(
    "sql",
    [
        MATRIX,
        MATRIX + " LIMIT 1",  # no missing values: NumPy types, as .df() gives
        f"SELECT * FROM ({MATRIX}) WHERE false",  # no rows
        "SELECT 'a' AS x, 1 AS x, 2 AS x",  # a repeated name
        "SELECT 1 AS n",
    ],
    ids=["missing values", "none missing", "no rows", "repeated names", "one value"],
)
def test_a_frame_read_through_arrow_is_the_frame_duckdb_gives(sql: str) -> None:
    con = duckdb.connect()
    expected = con.execute(sql).df()
    got = to_frame(con.execute(sql))
    pd.testing.assert_frame_equal(got, expected)
    assert list(got.columns) == list(expected.columns)


class _NoDf:
    """A cursor that refuses DuckDB's ``.df()``: a read that still uses it fails."""

    def __init__(self, cursor):
        self._cursor = cursor

    def execute(self, *args, **kwargs):
        self._cursor.execute(*args, **kwargs)
        return self

    def df(self):
        raise AssertionError("a read made its frame with .df(), not through Arrow")

    def __getattr__(self, name):
        return getattr(self._cursor, name)


def test_the_pages_reads_make_their_frames_through_arrow(tmp_path, monkeypatch) -> None:
    """Every read a dashboard page makes goes through to_frame: with .df() refused, they still answer
    (with .df() they fail), and their text columns are Arrow-backed."""
    from tests.conftest import ADMIN
    from tracker import admin, links, queries, survival, verification
    from tracker.filters import Filters
    from tracker.importer import import_file

    with Store(tmp_path / "t.duckdb") as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
        real = Store.cursor
        monkeypatch.setattr(Store, "cursor", lambda self, **kw: _NoDf(real(self, **kw)))
        f = Filters()
        frames = [
            queries.timeline(store, f, "partnership")[0],
            queries.timeline(store, f, "structure", max_rows=3)[0],
            queries.status_segments(store, f),
            queries.heatmap(store, f, "partnership", "typology"),
            queries.entry_list(store, f, limit=10),
            queries.legacy_summary(store, f),
            queries.structures(store, f),
            queries.year_counts(store, f),
            verification.register(store, f, limit=verification.PAGE_ROWS),
            verification.due(store, f),
            survival.cohort(store, f, origin="start").structures,
            links.links(store),
            admin.partnerships(store),
            admin.term_usage(store, "typology"),
        ]
    titles = frames[0]["title"]
    assert len(titles) > 50 and isinstance(titles.array, pd.arrays.ArrowStringArray)
    assert all(isinstance(frame, pd.DataFrame) for frame in frames)


def test_text_stays_in_arrow_buffers(tmp_path) -> None:
    """The reason for reading through Arrow: text columns are Arrow-backed strings, not a Python
    object per value (DuckDB's .df() made one per value while holding the interpreter lock)."""
    con = duckdb.connect()
    sql = "SELECT 'title ' || i AS title FROM range(5000) t(i)"
    got = to_frame(con.execute(sql))
    assert isinstance(got["title"].array, pd.arrays.ArrowStringArray)
    assert got["title"].iloc[4999] == "title 4999"
