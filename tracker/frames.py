"""Query results as pandas frames, by way of Arrow (#6).

DuckDB's own ``.df()`` writes every text value of a result as a Python string, holding Python's
interpreter lock while it does: for a few thousand rows of text (the timeline's entries, the
register's page) that was most of a read's time, and while one session's rows became a frame
every other session waited. Read through Arrow, the text stays in Arrow's buffers (pandas 3 keeps
text in Arrow arrays) and the lock is held for a fraction of the time.

:func:`to_frame` gives the frame ``.df()`` gives, column for column: whole numbers with a missing
value become pandas' nullable integers (and without one, NumPy's), decimals floats, dates
timestamps, true/false with a missing value pandas' nullable booleans; missing values inside
lists and structs are ``pd.NA`` as ``.df()`` writes them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.types as pat

_NULLABLE_INTS = {
    pa.int8(): pd.Int8Dtype(),
    pa.int16(): pd.Int16Dtype(),
    pa.int32(): pd.Int32Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.uint8(): pd.UInt8Dtype(),
    pa.uint16(): pd.UInt16Dtype(),
    pa.uint32(): pd.UInt32Dtype(),
    pa.uint64(): pd.UInt64Dtype(),
}


def to_frame(result: Any) -> pd.DataFrame:
    """The rows of ``result`` (a DuckDB cursor after ``execute``, or a relation) as a DataFrame,
    with the columns and types DuckDB's ``.df()`` gives."""
    return from_arrow(result.to_arrow_table())


def from_arrow(table: pa.Table) -> pd.DataFrame:
    """:func:`to_frame` of an Arrow table already read."""
    columns: list[pa.ChunkedArray] = []
    nullable: dict[int, Any] = {}  # by position: a result may repeat a name
    nested: list[int] = []
    for i, (field, column) in enumerate(zip(table.schema, table.columns, strict=True)):
        kind = field.type
        if pat.is_decimal(kind):
            column = column.cast(pa.float64())
        elif pat.is_date(kind):
            column = column.cast(pa.timestamp("us"))
        elif kind in _NULLABLE_INTS and column.null_count:
            nullable[i] = _NULLABLE_INTS[kind]
        elif pat.is_boolean(kind) and column.null_count:
            nullable[i] = pd.BooleanDtype()
        elif pat.is_nested(kind) and column.null_count:
            nested.append(i)
        columns.append(column)
    out = pa.table(columns, names=[str(i) for i in range(len(columns))]).to_pandas(split_blocks=True)
    out.columns = pd.Index(_unique(table.column_names))
    for i, dtype in nullable.items():
        out.isetitem(i, table.column(i).to_pandas(types_mapper={table.schema.field(i).type: dtype}.get))
    for i in nested:
        values = out.iloc[:, i]
        out.isetitem(i, values.where(values.notna(), pd.NA).astype(object))
    for i, dtype in enumerate(out.dtypes):
        if dtype == "str" and table.column(i).null_count == table.num_rows:
            # .df() gives a text column with no text (or no rows) no type, its values None
            out.isetitem(i, pd.Series([None] * table.num_rows, index=out.index, dtype=object))
    return out


def _unique(names: list[str]) -> list[str]:
    """Column names as ``.df()`` writes them: a repeated name gets ``_1``, ``_2``… ."""
    seen: set[str] = set()
    out = []
    for name in names:
        unique, n = name, 0
        while unique in seen:
            n += 1
            unique = f"{name}_{n}"
        seen.add(unique)
        out.append(unique)
    return out
