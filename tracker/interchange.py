"""The interchange format: reading CSV/XLSX/JSON/Parquet rows, writing exports.

The columns are a public contract (see README, "Interchange format"):
``id, partnership, date, kind, title, description, typology, status, host,
mechanisms, structure, sectors, source``.

Readers stream: they yield one row at a time and never hold a whole file in
Python objects. Problems with the file as a whole (encoding, header, delimiter)
raise :class:`~tracker.errors.InvalidInput` before any row is read.
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import itertools
import json
import math
import numbers
import re
import zipfile
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from tracker.errors import InvalidInput, Problem

if TYPE_CHECKING:
    from tracker.taxonomy import Vocab

COLUMNS: tuple[str, ...] = (
    "id",
    "partnership",
    "date",
    "kind",
    "title",
    "description",
    "typology",
    "status",
    "host",
    "mechanisms",
    "structure",
    "sectors",
    "source",
    "quote",
    "speaker",
    "contribution",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("quote", "speaker", "contribution")
"""Trailing columns added after the first version of the format: a file without them still imports."""
REQUIRED_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)
LIST_COLUMNS = ("mechanisms", "sectors")
FORMATS = ("csv", "xlsx", "json", "parquet")
IMPORT_FORMATS = FORMATS

# Spreadsheets treat a cell starting with one of these as a formula.
_FORMULA = re.compile(r"^'*[=+\-@\t\r]")
_CP1252_UNDEFINED = re.compile(rb"[\x81\x8d\x8f\x90\x9d]")
_CHUNK = 1 << 20
_BLOCK = 1000  # CSV records read at a time before turning them into columns


def neutralise(value: str) -> str:
    """Prefix a formula-like cell with ``'`` so spreadsheets show it as text."""
    return "'" + value if _FORMULA.match(value) else value


def restore(value: str) -> str:
    """Undo :func:`neutralise` (applied to CSV/XLSX cells on import)."""
    return value[1:] if value.startswith("'") and _FORMULA.match(value[1:]) else value


def format_for(path: str | Path, given: str | None = None) -> str:
    """The file format: ``given`` if set, else from the file's extension."""
    fmt = (given or Path(path).suffix.lstrip(".")).lower()
    if fmt == "xls":
        raise InvalidInput(
            [Problem(None, None, "old .xls workbooks are not supported; save the file as .xlsx or CSV UTF-8")]
        )
    if fmt not in FORMATS:
        raise InvalidInput(
            [
                Problem(
                    None,
                    None,
                    f"unsupported file type '{Path(path).suffix or fmt}'; use .csv, .xlsx, .json or .parquet",
                )
            ]
        )
    return fmt


Batch = tuple[list[int], dict[str, list[Any]]]
"""Row numbers and, per column, the cells of those rows."""


@dataclass
class RowSource:
    """Rows of one file: the unit of position (row or record), and (number, cells) pairs.

    Read either ``rows`` one at a time or ``batches(size)`` column by column, not both.
    """

    unit: str
    rows: Iterator[tuple[int, dict[str, Any]]]
    problems: list[Problem] = field(default_factory=list)  # found while reading (ragged rows…)
    refused: int = 0  # rows read but not yielded, each with a problem (ragged rows…): they count as read
    columnar: Callable[[int], Iterator[Batch]] | None = None

    def batches(self, size: int) -> Iterator[Batch]:
        """The same rows as ``rows``, ``size`` at a time (the last batch may be smaller), as columns."""
        if self.columnar is not None:
            yield from self.columnar(size)
            return
        numbers: list[int] = []
        records: list[dict[str, Any]] = []
        for number, cells in self.rows:
            numbers.append(number)
            records.append(cells)
            if len(numbers) == size:
                yield numbers, {c: [r.get(c) for r in records] for c in COLUMNS}
                numbers, records = [], []
        if numbers:
            yield numbers, {c: [r.get(c) for r in records] for c in COLUMNS}


def _check_header(header: list[str], unit: str, at: int = 1) -> list[str]:
    cleaned = [str(h).strip().lstrip("\ufeff").strip().lower() if h is not None else "" for h in header]
    while cleaned and cleaned[-1] == "":
        cleaned.pop()
    problems: list[Problem] = []
    if len(cleaned) == 1 and (";" in cleaned[0] or "\t" in cleaned[0] or "|" in cleaned[0]):
        sep = next(s for s in (";", "\t", "|") if s in cleaned[0])
        name = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}[sep]
        raise InvalidInput(
            [
                Problem(
                    at,
                    None,
                    f"the columns are separated by {name}, but the interchange format uses commas; "
                    "in Excel use 'Save As' → 'CSV UTF-8 (Comma delimited)'",
                )
            ]
        )
    where = at if unit == "row" else None
    missing = [c for c in REQUIRED_COLUMNS if c not in cleaned]
    unknown = []
    for i, name in enumerate(cleaned):
        if name in COLUMNS:
            if cleaned.index(name) != i:
                problems.append(Problem(where, name, "this column appears twice in the header"))
            continue
        hint = difflib.get_close_matches(name, missing or COLUMNS, n=1, cutoff=0.6)
        label = name or f"(empty header in column {i + 1})"
        unknown.append(f"'{label}'" + (f" (did you mean '{hint[0]}'?)" if hint else ""))
    if unknown:
        problems.append(
            Problem(
                where,
                None,
                f"unknown {'column' if len(unknown) == 1 else 'columns'} in the header: " + ", ".join(unknown),
            )
        )
    if missing:
        problems.append(
            Problem(
                where,
                None,
                f"missing {'column' if len(missing) == 1 else 'columns'} in the header: "
                + ", ".join(missing)
                + ". The header must name: "
                + ", ".join(REQUIRED_COLUMNS)
                + " (and may add: "
                + ", ".join(OPTIONAL_COLUMNS)
                + ")",
            )
        )
    if problems:
        raise InvalidInput(problems)
    return cleaned


def _sniff_encoding(stream: IO[bytes]) -> str:
    """UTF-8 (BOM or not) or Windows-1252; anything else is a clear error."""
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidInput(
            [
                Problem(
                    None,
                    None,
                    "the file is UTF-16 ('Unicode Text'); save it as 'CSV UTF-8 (Comma delimited)'",
                )
            ]
        )
    if head.startswith(b"PK\x03\x04"):
        raise InvalidInput(
            [Problem(None, None, "this is an Excel workbook (XLSX) with a .csv name; rename it to .xlsx")]
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    utf8 = True
    while chunk := stream.read(_CHUNK):
        if b"\x00" in chunk:
            line += chunk[: chunk.index(b"\x00")].count(b"\n")
            raise InvalidInput([Problem(None, None, f"line {line} contains a NUL byte: this is not a text CSV file")])
        if utf8 and not (chunk.isascii() and not decoder.getstate()[0]):  # ASCII is UTF-8: no need to decode
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                utf8 = False
        line += chunk.count(b"\n")
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    undefined: tuple[int, int] | None = None  # (byte, line) of the first byte cp1252 lacks
    if not utf8:
        stream.seek(0)
        line = 1
        while chunk := stream.read(_CHUNK):
            if bad := _CP1252_UNDEFINED.search(chunk):
                undefined = (bad.group()[0], line + chunk[: bad.start()].count(b"\n"))
                break
            line += chunk.count(b"\n")
    stream.seek(0)
    if not utf8 and undefined is not None:
        raise InvalidInput(
            [
                Problem(
                    None,
                    None,
                    f"the file is neither UTF-8 nor Windows-1252: byte 0x{undefined[0]:02X} on line "
                    f"{undefined[1]} is not a character in either. Save it from Excel as "
                    "'CSV UTF-8 (Comma delimited)'",
                )
            ]
        )
    return "utf-8-sig" if utf8 else "cp1252"


def _csv_rows(stream: IO[bytes]) -> RowSource:
    encoding = _sniff_encoding(stream)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    reader = csv.reader(text)
    skip = 0  # lines before the header: Excel's "sep=," hint
    try:
        header = next(reader, None)
        if header == ["sep=", ""]:
            # Excel writes this first line in some locales and hides it when it opens the file: a hint
            # to Excel, not a row. Rows keep the numbers Excel shows (header = row 1). "sep=;" and the
            # like are one cell with that separator in it: the header check says to save with commas.
            header, skip = next(reader, None), 1
    except csv.Error as exc:
        raise InvalidInput([Problem(1, None, f"cannot read the header: {exc}")]) from None
    if header is None or not any(h.strip() for h in header):
        raise InvalidInput([Problem(None, None, "the file is empty: it needs a header row and at least one row")])
    columns = _check_header(header, "row")
    source = RowSource("row", iter(()))

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        number = 1
        while True:
            number += 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                message = str(exc)
                if "field larger" in message:
                    message = f"a cell is longer than {csv.field_size_limit():,} characters (is a quote left open?)"
                source.problems.append(Problem(number, None, f"the file cannot be read from here on: {message}"))
                return
            yield from _row(number, cells, columns, source, strict_width=True)

    def csv_batches(size: int, reader: Any, number: int) -> Iterator[Batch]:
        width = len(columns)
        numbers: list[int] = []
        cells_by_column: list[list[str]] = [[] for _ in columns]
        done = False
        while not done:
            # Read in small blocks (cheap for the garbage collector), keep columns.
            block: list[list[str]] = []
            try:
                for cells in itertools.islice(reader, min(_BLOCK, size - len(numbers))):
                    block.append(cells)
            except csv.Error as exc:
                message = str(exc)
                if "field larger" in message:
                    message = f"a cell is longer than {csv.field_size_limit():,} characters (is a quote left open?)"
                at = number + len(block) + 1
                source.problems.append(Problem(at, None, f"the file cannot be read from here on: {message}"))
                done = True
            read = len(block)
            if not read and not done:
                break
            odd = {i for i, c in enumerate(block) if len(c) != width or not "".join(c).strip()}
            if odd:
                # Blank or ragged: the row-at-a-time rules decide (skip, report, or trim empty cells).
                kept = []
                for i, cells in enumerate(block):
                    if i in odd and not any(True for _ in _row(number + i + 1, cells, columns, source, True)):
                        continue
                    kept.append(cells[:width])
                    numbers.append(number + i + 1)
                block = kept
            else:
                numbers.extend(range(number + 1, number + 1 + read))
            number += read
            for column, values in zip(cells_by_column, zip(*block, strict=True), strict=False):
                column.extend(values)
            if len(numbers) == size:
                yield numbers, _columns(cells_by_column, columns)
                numbers, cells_by_column = [], [[] for _ in columns]
        if numbers:
            yield numbers, _columns(cells_by_column, columns)

    def batches(size: int) -> Iterator[Batch]:
        if not (ARROW_CSV and encoding == "utf-8-sig" and len(header) == len(columns)):
            yield from csv_batches(size, reader, 1)
            return
        done = [0]
        if (yield from _arrow_batches(stream, header, columns, size, skip, done)):
            return
        start = done[0]
        # pyarrow read the first ``start`` records and then met something the csv module must
        # decide (or reads differently): the csv module goes on from there.
        stream.seek(0)
        again = csv.reader(io.TextIOWrapper(stream, encoding=encoding, newline=""))
        for _ in range(skip + 1 + start):
            next(again)
        yield from csv_batches(size, again, 1 + start)

    source.rows = rows()
    source.columnar = batches
    return source


ARROW_CSV = True
"""Read UTF-8 CSV files with pyarrow's parser (C++, in parallel) while it reads them exactly as the
csv module does; tests turn it off to compare (#6)."""
_ARROW_BLOCK = 1 << 22  # bytes pyarrow parses at a time


def _own_source(stream: IO[bytes]) -> Any:
    """The bytes of ``stream`` for pyarrow through a source of their own. pyarrow reads ahead in its
    own threads and may still be reading when the csv module takes the file over from it: reading
    ``stream`` itself, it moved the position the csv module had just set, and the rows after the
    handover were numbered a block too low, now and then (#7)."""
    import pyarrow as pa

    name = getattr(stream, "name", None)
    if isinstance(name, str) and Path(name).is_file() and not isinstance(stream, io.BytesIO):
        return pa.OSFile(name, "rb")  # the same file, with its own offset
    stream.seek(0)
    data = stream.getvalue() if isinstance(stream, io.BytesIO) else stream.read()
    stream.seek(0)
    return pa.BufferReader(data)


def _arrow_batches(
    stream: IO[bytes], header: list[str], columns: list[str], size: int, skip: int, done: list[int]
) -> Generator[Batch, None, bool]:
    """Batches of a UTF-8 CSV file parsed by pyarrow; returns True when it read the whole file.

    pyarrow and the csv module parse fields alike (quotes, doubled quotes, stray quotes, line ends
    inside quoted fields; tests/test_interchange.py compares them on generated files). Where they
    would differ, or where the csv module's own rules must decide, this stops *before* yielding the
    block in question and returns False, with ``done[0]`` the data records yielded so far, for the
    csv module to go on from: a row of another width or a blank line (pyarrow refuses the block),
    a row of blank cells, a cell longer than the csv module's field limit, a header read
    differently, or anything pyarrow cannot read (invalid UTF-8…). ``skip`` lines before the
    header (Excel's "sep=," hint) are not read.
    """
    import pyarrow as pa
    import pyarrow.compute as pc
    from pyarrow import csv as pacsv

    width = len(columns)
    names = [f"f{i}" for i in range(width)]
    limit = csv.field_size_limit()
    try:
        reader = pacsv.open_csv(
            _own_source(stream),
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=_ARROW_BLOCK, skip_rows=skip),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError, OSError):
        return False
    pending: list[pa.RecordBatch] = []
    waiting = 0
    number = 1  # the header
    first = True

    def flush(rows: int) -> Batch:
        nonlocal pending, waiting, number
        table = pa.Table.from_batches(pending)
        part, rest = table.slice(0, rows), table.slice(rows)
        pending, waiting = rest.to_batches(), rest.num_rows
        cells = [part.column(name).to_pylist() for name in names]
        numbers = list(range(number + 1, number + 1 + rows))
        number += rows
        done[0] += rows
        return numbers, _columns(cells, columns)

    title = names[columns.index("title")]
    while True:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            if waiting:
                yield flush(waiting)
            return True
        except (pa.ArrowException, ValueError, OSError):  # another width, a blank line, bad UTF-8…
            return False
        if batch.num_columns != width:
            return False
        if first:  # the header, as the csv module read it
            first = False
            if [batch.column(i)[0].as_py() for i in range(width)] != header:
                return False
            batch = batch.slice(1)
        if batch.num_rows == 0:
            continue
        if max(pc.max(pc.utf8_length(batch.column(i))).as_py() or 0 for i in range(width)) > limit:
            return False  # the csv module refuses a cell this long: let it say so
        titles = batch.column(title).to_pylist()
        for j, text in enumerate(titles):
            if not text.strip() and all(not batch.column(i)[j].as_py().strip() for i in range(width)):
                return False  # a row of blank cells: the csv module's rules skip it
        pending.append(batch)
        waiting += batch.num_rows
        while waiting >= size:
            yield flush(size)


def _columns(cells_by_column: list[list[str]], names: list[str]) -> dict[str, list[Any]]:
    """CSV cells by column name, with formula-guard quotes removed as :func:`restore` does."""
    out: dict[str, list[Any]] = {}
    for name, cells in zip(names, cells_by_column, strict=True):
        joined = "\x00".join(cells)  # a file with NUL bytes is refused before reading
        if joined.startswith("'") or "\x00'" in joined:
            cells = [restore(v) if v[:1] == "'" else v for v in cells]
        out[name] = cells
    size = len(cells_by_column[0]) if cells_by_column else 0
    for name in OPTIONAL_COLUMNS:
        out.setdefault(name, [None] * size)  # an older file without the newer optional columns
    return out


def _row(
    number: int, cells: list[Any], columns: list[str], source: RowSource, strict_width: bool
) -> Iterator[tuple[int, dict[str, Any]]]:
    """One row as a dict; ragged rows become problems (a sign of broken quoting)."""
    if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
        return  # blank rows are skipped, as a spreadsheet user expects
    width = len(columns)
    if len(cells) > width and any(c is not None and str(c).strip() for c in cells[width:]):
        source.problems.append(
            Problem(
                number,
                None,
                f"has {len(cells)} cells but the header has {width} columns (is a comma inside a cell not quoted?)",
            )
        )
        source.refused += 1
        return
    if len(cells) < width and strict_width:
        source.problems.append(
            Problem(
                number,
                None,
                f"has {len(cells)} cells but the header has {width} columns "
                "(is a comma missing, or a quote left open?)",
            )
        )
        source.refused += 1
        return
    values: dict[str, Any] = {}
    for i, name in enumerate(columns):
        value = cells[i] if i < len(cells) else None
        values[name] = restore(value) if isinstance(value, str) else value
    for name in OPTIONAL_COLUMNS:
        values.setdefault(name, None)  # an older file without the newer optional columns
    yield number, values


# Excel's escapes in cell text (ECMA-376 ST_Xstring): "_xHHHH_" is the character HHHH. Excel
# writes a carriage return as _x000D_ (XML turns a bare one into a line feed) and text typed
# to look like an escape with its underscore escaped, "_x005F_x000D_".
_XLSX_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
# What needs escaping: a carriage return, and an underscore that begins an escape (followed by a
# return, which becomes "_x000D_", it would begin one too).
_XLSX_TO_ESCAPE = re.compile(r"\r|_(?=x[0-9A-Fa-f]{4}[_\r])")


def _xlsx_escape(text: str) -> str:
    """Cell text as Excel stores it: carriage returns kept, text typed like an escape kept as text."""
    return _XLSX_TO_ESCAPE.sub(lambda m: "_x000D_" if m.group() == "\r" else "_x005F_", text)


def _xlsx_unescape(text: str) -> str:
    """Undo :func:`_xlsx_escape` (and Excel's own escapes), left to right as Excel reads them."""

    def char(match: re.Match[str]) -> str:
        code = int(match.group(1), 16)
        return match.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)

    return _XLSX_ESCAPE.sub(char, text) if "_x" in text else text


# What in an Excel number format is not a date code: text in quotes, [colours], [$-809] locales and
# other bracketed parts, a character after a backslash, and the character after _ (a space as wide
# as it) or * (repeated to fill the cell).
_FORMAT_LITERALS = re.compile(r'"[^"]*"|\[[^\]]*\]|\\.|[_*].')
_MINUTES = re.compile(r"(h[^a-z]*)m+|m+(?=[^a-z]*s)")  # Excel reads an m after h, or before s, as minutes


def _date_parts(number_format: str) -> set[str]:
    """Which of day (d), month (m) and year (y) an Excel number format shows, from its first
    section (positive numbers). ``"Period "mmm yyyy`` shows a month and a year: the letters of
    quoted text, of ``[Red]`` and of ``AM/PM`` are not date codes, nor is the m of ``h:mm``."""
    fmt = _FORMAT_LITERALS.sub("", number_format).lower()
    fmt = fmt.split(";", 1)[0].replace("am/pm", "").replace("a/p", "")
    fmt = _MINUTES.sub(lambda m: m.group(1) or "", fmt)
    return {part for part in "dmy" if part in fmt}


def _xlsx_value(cell: Any, text: bool = True) -> Any:
    """A cell's value as the importer reads it; ``text`` is False for the date column, where a
    number that is not a whole year stays a number (the model says it is not a date)."""
    value = cell.value
    if isinstance(value, str):
        return _xlsx_unescape(value)
    if isinstance(value, datetime | date):
        shown = _date_parts(getattr(cell, "number_format", "") or "")
        d = value.date() if isinstance(value, datetime) else value
        if "d" not in shown and "m" in shown:
            return f"{d.year:04d}-{d.month:02d}"
        if "d" not in shown and "m" not in shown and "y" in shown:
            return f"{d.year:04d}"
        return d.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float) and text and math.isfinite(value):
        # 2.5 typed in a text column: the text Excel shows, to the 15 significant digits it keeps
        # (so 0.1 + 0.2 is "0.3", not "0.30000000000000004").
        return f"{value:.15g}".upper()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _load_xlsx(stream: IO[bytes]) -> Any:
    """openpyxl's read-only workbook, with the shared strings as stored: openpyxl drops every
    "x005F_" from them, which makes a typed "_x005F_x000D_" (text "_x000D_") a carriage return's
    escape. :func:`_xlsx_value` undoes the escapes of every cell's text once, shared or inline."""
    from openpyxl.cell.text import Text
    from openpyxl.reader.excel import ExcelReader
    from openpyxl.xml.constants import SHARED_STRINGS, SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    class Reader(ExcelReader):  # type: ignore[misc]
        def read_strings(self) -> None:
            part = self.package.find(SHARED_STRINGS)
            if part is None:
                return
            tag = f"{{{SHEET_MAIN_NS}}}si"
            strings = []
            with self.archive.open(part.PartName[1:]) as src:
                for _, node in iterparse(src):
                    if node.tag == tag:
                        strings.append(Text.from_tree(node).content)
                        node.clear()
            self.shared_strings = strings

    reader = Reader(stream, read_only=True, data_only=True)
    reader.read()
    return reader.wb


def _xlsx_rows(stream: IO[bytes]) -> RowSource:
    try:
        book = _load_xlsx(stream)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        raise InvalidInput(
            [
                Problem(
                    None,
                    None,
                    f"this is not a readable XLSX workbook ({type(exc).__name__}); "
                    "save it from Excel as .xlsx or as CSV UTF-8",
                )
            ]
        ) from None
    except Exception as exc:  # openpyxl raises many kinds for damaged files
        raise InvalidInput(
            [Problem(None, None, f"this XLSX workbook is damaged and cannot be read ({type(exc).__name__})")]
        ) from None
    if not book.worksheets:
        book.close()
        raise InvalidInput(
            [Problem(None, None, "this workbook has no worksheets; put the entries on a sheet named 'entries'")]
        )
    sheet = book["entries"] if "entries" in book.sheetnames else book.worksheets[0]
    if hasattr(sheet, "reset_dimensions"):
        # Files from some tools state too small a size (<dimension>); openpyxl would stop there and
        # silently drop the rows after it. Read every row the sheet holds instead.
        sheet.reset_dimensions()
    # Rows are numbered by position, as the spreadsheet shows them: openpyxl yields an empty tuple
    # for a row missing from the file, and a blank cell carries no row number of its own.
    iterator = enumerate(sheet.iter_rows(), start=1)
    try:
        header_cells: tuple[Any, ...] = ()
        header_row = 1
        for number, cells in iterator:
            if any(c.value not in (None, "") for c in cells):
                header_row, header_cells = number, cells
                break
    except Exception as exc:
        book.close()
        raise InvalidInput([Problem(1, None, f"cannot read the header row ({type(exc).__name__})")]) from None
    if not header_cells or not any(c.value not in (None, "") for c in header_cells):
        book.close()
        raise InvalidInput([Problem(None, None, "the worksheet is empty: it needs a header row and at least one row")])
    try:
        columns = _check_header([c.value for c in header_cells], "row", header_row)  # below any blank rows
    except InvalidInput:
        book.close()
        raise
    dated = columns.index("date")
    source = RowSource("row", iter(()))

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        try:
            for number, cells in iterator:
                if not cells:
                    continue
                values = [_xlsx_value(c, i != dated) for i, c in enumerate(cells)]
                yield from _row(number, values, columns, source, strict_width=False)
        except Exception as exc:
            source.problems.append(
                Problem(None, None, f"the workbook cannot be read past this point ({type(exc).__name__})")
            )
        finally:
            book.close()

    source.rows = rows()
    return source


class _Written(float):
    """A JSON number with a point or an exponent (2.5, 1e-7), with the text the file gives for it."""

    __slots__ = ("text",)
    text: str


def _json_float(text: str) -> float:
    number = _Written(text)
    number.text = text
    return number


def _json_value(value: Any, text: bool) -> Any:
    """A JSON value as the importer reads it; ``text`` is False for the date field, where a number
    that is not a whole year stays a number (the model says it is not a date), as in XLSX."""
    if not isinstance(value, _Written):
        return value
    if text and math.isfinite(value) and not value.is_integer():
        return value.text  # 2.5 given for a title: the text the file gives ("2.5", "2.50", "1e-7")
    return float(value)  # a whole number is text as an integer is ("2019"); the date field decides for itself


class _Record(dict[str, Any]):
    """A JSON object that gave a field more than once (``json`` keeps the last silently)."""

    twice: list[str]


def _record(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    record = dict(pairs)
    if len(record) == len(pairs):
        return record
    marked = _Record(record)
    seen: set[str] = set()
    marked.twice = []
    for key, _ in pairs:
        if key in seen and key not in marked.twice:
            marked.twice.append(key)
        seen.add(key)
    return marked


def _json_rows(stream: IO[bytes]) -> RowSource:
    try:
        data = json.load(
            io.TextIOWrapper(stream, encoding="utf-8-sig"), object_pairs_hook=_record, parse_float=_json_float
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput([Problem(None, None, f"this is not valid UTF-8 JSON: {exc}")]) from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise InvalidInput([Problem(None, None, "the JSON must be a list of objects, one per entry")])
    if not data:
        raise InvalidInput([Problem(None, None, "the file has no records")])
    source = RowSource("record", iter(()))

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        for i, record in enumerate(data, start=1):
            keys: dict[str, Any] = {}
            given: dict[str, str] = {}  # column: the field name that gave it
            found = [
                Problem(i, k.strip().lower(), f"the field '{k}' is given twice: keep one of them", source.unit)
                for k in getattr(record, "twice", ())
            ]
            for k, v in record.items():
                name = str(k).strip().lower()
                if name in given:  # "Title" and "title": one column, as in a header
                    found.append(
                        Problem(
                            i,
                            name,
                            f"the fields '{given[name]}' and '{k}' both name this column (field names ignore "
                            "case and surrounding spaces): keep one of them",
                            source.unit,
                        )
                    )
                given[name], keys[name] = str(k), v
            unknown = sorted(set(keys) - set(COLUMNS))
            if unknown:
                found.append(
                    Problem(
                        i,
                        None,
                        f"unknown {'field' if len(unknown) == 1 else 'fields'}: {', '.join(unknown)}",
                        source.unit,
                    )
                )
            if found:
                source.problems.extend(found)
                source.refused += 1
                continue
            yield i, {c: _json_value(keys.get(c), c != "date") for c in COLUMNS}

    source.rows = rows()
    return source


def _parquet_rows(stream: IO[bytes]) -> RowSource:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        reader = pq.ParquetFile(stream)
    except (pa.ArrowException, OSError) as exc:
        raise InvalidInput([Problem(None, None, f"this is not a readable Parquet file: {exc}")]) from None
    names = reader.schema_arrow.names
    # Column names as a header's: any case, surrounding spaces ignored ("Title" is the title).
    named = dict(zip(names, _check_header(names, "record"), strict=False))
    if reader.metadata.num_rows == 0:
        raise InvalidInput([Problem(None, None, "the file has no records")])
    # A float column for a text field: a number that is not whole is read as its text, the shortest
    # that is the same number at the column's precision (2.5, and 0.1 from a float32 column, not
    # 0.10000000149011612), as XLSX reads it; the date column's numbers stay numbers.
    floats = [n for n, kind in zip(names, reader.schema_arrow.types, strict=True) if pa.types.is_floating(kind)]
    floats = [n for n in floats if named.get(n) != "date"]
    # A decimal column (12.50 as decimal(5, 2), from a database or a spreadsheet tool): a whole number
    # is the int it is ("2019" to the model); one that is not is its digits as stored ("12.50"), or in
    # the date column a float, as a float column's number stays a number there.
    decimals = [n for n, kind in zip(names, reader.schema_arrow.types, strict=True) if pa.types.is_decimal(kind)]
    source = RowSource("record", iter(()))

    def rows() -> Iterator[tuple[int, dict[str, Any]]]:
        import pyarrow.compute as pc

        number = 0
        for batch in reader.iter_batches(batch_size=10_000):
            shown = {n: pc.cast(batch.column(n), pa.string()).to_pylist() for n in floats}
            for j, record in enumerate(batch.to_pylist()):
                number += 1
                for n in floats:
                    value = record[n]
                    if value is not None and math.isfinite(value) and not value.is_integer():
                        record[n] = shown[n][j]
                for n in decimals:
                    if (value := record[n]) is not None:
                        whole = value == value.to_integral_value()
                        record[n] = int(value) if whole else float(value) if named.get(n) == "date" else str(value)
                values = {named.get(name, name): value for name, value in record.items()}
                yield number, {c: values.get(c) for c in COLUMNS}

    source.rows = rows()
    return source


_READERS = {"csv": _csv_rows, "xlsx": _xlsx_rows, "json": _json_rows, "parquet": _parquet_rows}


def read_rows(stream: IO[bytes], fmt: str) -> RowSource:
    """Open ``stream`` (binary, seekable) as ``fmt`` and return its rows, lazily."""
    return _READERS[fmt](stream)


# -- writing -----------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "; ".join(value)
    return str(value)


def write_csv(rows: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    """Write rows as UTF-8 CSV with a byte-order mark (so Excel shows £ and é), formulas neutralised."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    n = 0
    for row in rows:
        writer.writerow([neutralise(_cell(row.get(c))) for c in COLUMNS])
        n += 1
    text.flush()
    text.detach()
    return n


_FIXED_TIME = datetime(2000, 1, 1)


def write_xlsx(rows: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    """Write rows to one 'entries' sheet, every cell as text; byte-identical for equal data."""
    import openpyxl
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    book = openpyxl.Workbook(write_only=True)
    book.properties.creator = "Systems Change Tracker"
    book.properties.created = _FIXED_TIME
    book.properties.modified = _FIXED_TIME
    sheet = book.create_sheet("entries")
    widths = {
        "title": 48,
        "description": 60,
        "partnership": 32,
        "typology": 30,
        "mechanisms": 40,
        "structure": 32,
        "sectors": 30,
        "source": 40,
        "host": 28,
    }
    for i, name in enumerate(COLUMNS):
        letter = openpyxl.utils.get_column_letter(i + 1)
        sheet.column_dimensions[letter].width = widths.get(name, 14)
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    header = []
    for name in COLUMNS:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = bold
        header.append(cell)
    sheet.append(header)
    n = 0
    for row in rows:
        cells = []
        for c in COLUMNS:
            cell = WriteOnlyCell(sheet, value=_xlsx_escape(neutralise(_cell(row.get(c)))) or None)
            cell.data_type = "s"
            cells.append(cell)
        sheet.append(cells)
        n += 1
    raw = io.BytesIO()
    book.save(raw)
    _normalise_zip(raw.getvalue(), out)
    return n


def _normalise_zip(data: bytes, out: IO[bytes]) -> None:
    """Rewrite a zip with fixed timestamps and order so equal content gives equal bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o600 << 16
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time here
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*(<)", rb"\g<1>2000-01-01T00:00:00Z\g<2>", content)
            dst.writestr(fixed, content)


def write_json(rows: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    """Write rows as a JSON list of objects (lists as arrays, empty as null), UTF-8."""
    out.write(b"[")
    n = 0
    for row in rows:
        record = {c: (row.get(c) if row.get(c) != "" else None) for c in COLUMNS}
        out.write((",\n  " if n else "\n  ").encode())
        out.write(json.dumps(record, ensure_ascii=False).encode("utf-8"))
        n += 1
    out.write(b"\n]\n" if n else b"]\n")
    return n


def write_parquet(rows: Iterable[dict[str, Any]], out: IO[bytes]) -> int:
    """Write rows as Parquet (string columns, list columns for mechanisms and sectors)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([pa.field(c, pa.list_(pa.string()) if c in LIST_COLUMNS else pa.string()) for c in COLUMNS])
    n = 0
    with pq.ParquetWriter(out, schema, compression="zstd") as writer:
        batch: list[dict[str, Any]] = []
        for row in rows:
            batch.append(row)  # a missing optional column (quote, speaker, contribution) is written empty
            if len(batch) >= 50_000:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            n += len(batch)
    return n


WRITERS = {"csv": write_csv, "xlsx": write_xlsx, "json": write_json, "parquet": write_parquet}

MEDIA_TYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
    "parquet": "application/vnd.apache.parquet",
}


def frame_csv(frame: Any, columns: dict[str, str]) -> bytes:
    """A table (DataFrame) as UTF-8 CSV with a BOM, ``columns`` renamed, formulas neutralised."""
    import pandas as pd  # the frame's own library, loaded already

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(list(columns.values()))
    chosen = frame[list(columns)]
    for name in columns:  # a column of dates read as timestamps at midnight: written as dates, not "… 00:00:00"
        column = chosen[name]
        if pd.api.types.is_datetime64_any_dtype(column) and (column.dropna() == column.dropna().dt.normalize()).all():
            chosen = chosen.assign(**{name: column.dt.strftime("%Y-%m-%d")})
    for record in chosen.itertuples(index=False):
        writer.writerow(["" if _blank(v) else str(v) if _number(v) else neutralise(str(v)) for v in record])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _number(value: Any) -> bool:
    """A number (not text): never a formula, so a negative one stays a number (-2, not '-2)."""
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or str(value) in ("NaT", "<NA>")


def template(fmt: str, vocab: Vocab | None = None) -> bytes:
    """A blank file with just the header (XLSX: plus a sheet of allowed values when ``vocab`` given)."""
    out = io.BytesIO()
    WRITERS[fmt]([], out)
    if fmt != "xlsx" or vocab is None:
        return out.getvalue()
    import openpyxl

    out.seek(0)
    book = openpyxl.load_workbook(out)
    sheet = book.create_sheet("allowed values")
    sheet.append(["column", "label", "slug", "group"])
    for column, vocabulary in (
        ("partnership", "partnership"),
        ("typology", "typology"),
        ("status", "status"),
        ("mechanisms", "mechanism"),
        ("sectors", "sector"),
    ):
        for slug, label in vocab[vocabulary].labels.items():
            group = next((t.group for t in vocab.terms.get(vocabulary, []) if t.slug == slug), None)
            sheet.append([column, label, slug, group])
    final = io.BytesIO()
    book.save(final)
    return final.getvalue()


def format_description(vocab: Vocab) -> str:
    """The interchange format in Markdown: columns, rules and the allowed values of this tracker."""
    from tracker.models import EntryIn

    fields = EntryIn.model_fields
    lines = [
        "# Systems Change Tracker — interchange format",
        "",
        "One row per entry (a milestone or a setback). Columns, in this order:",
        "",
        "| column | required | meaning |",
        "|---|---|---|",
    ]
    required = {"partnership", "date", "kind", "title", "typology"}
    notes = {
        "status": "for milestones",
        "mechanisms": "at least one, for milestones",
        "host": "when status is Hosted elsewhere",
    }
    for name in COLUMNS:
        need = "yes" if name in required else notes.get(name, "no")
        lines.append(f"| `{name}` | {need} | {fields[name].description or name.capitalize()} |")
    lines += [
        "",
        "- Dates: `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, kept at the precision given.",
        "- Labels or slugs are accepted in any case; lists (`mechanisms`, `sectors`) are separated by `;`.",
        "- Files: CSV in UTF-8 (Excel's *CSV UTF-8*) or Windows-1252 (Excel's *CSV (Comma delimited)*), "
        "or XLSX (sheet `entries`, else the first sheet).",
        "- A row with an existing `id` updates that entry; an empty `id` creates a new entry.",
        "- If any row is invalid, nothing is stored; each problem is reported as `row N, column C: message`.",
        "",
        "## Allowed values",
    ]
    for title, vocabulary in (
        ("Partnerships", "partnership"),
        ("Typology", "typology"),
        ("Status", "status"),
        ("Mechanisms", "mechanism"),
        ("Sectors", "sector"),
    ):
        lines += ["", f"**{title}**", ""]
        terms = {t.slug: t for t in vocab.terms.get(vocabulary, [])}
        for slug, label in vocab[vocabulary].labels.items():
            group = terms[slug].group if slug in terms and terms[slug].group else None
            lines.append(f"- {label} (`{slug}`)" + (f" — {group}" if group else ""))
    return "\n".join(lines) + "\n"
