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


def test_text_stays_in_arrow_buffers(tmp_path) -> None:
    """The reason for reading through Arrow: text columns are Arrow-backed strings, not a Python
    object per value (DuckDB's .df() made one per value while holding the interpreter lock)."""
    con = duckdb.connect()
    sql = "SELECT 'title ' || i AS title FROM range(5000) t(i)"
    got = to_frame(con.execute(sql))
    assert isinstance(got["title"].array, pd.arrays.ArrowStringArray)
    assert got["title"].iloc[4999] == "title 4999"


def test_the_stores_reads_use_it(tmp_path) -> None:
    """A real tracker read (the timeline of the demo data) comes back with text held in Arrow."""
    from tests.conftest import ADMIN
    from tracker import queries
    from tracker.filters import Filters
    from tracker.importer import import_file

    with Store(tmp_path / "t.duckdb") as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
        points, binned = queries.timeline(store, Filters(), "partnership")
    assert not binned and len(points) > 50
    assert isinstance(points["title"].array, pd.arrays.ArrowStringArray)
