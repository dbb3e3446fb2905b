"""Upload and import limits: a file too large, or with too many rows, is refused before anything is read.

The importer holds no whole file in memory, but an import is one transaction: a runaway file
would still tie up the store for minutes. Two limits, both in :class:`tracker.config.Settings`:

- ``TRACKER_MAX_UPLOAD_MB`` (default 50, as ``server.maxUploadSize`` in .streamlit/config.toml):
  the largest file the upload page takes;
- ``TRACKER_MAX_IMPORT_ROWS`` (default 1,000,000): the most rows one import may hold, on the
  upload page and the command line.

:func:`import_stream` and :func:`import_file` check them and then call the importer; a refused
file gives an ordinary :class:`~tracker.importer.ImportReport` with one problem saying which
limit, by how much, and what to do. Nothing is stored. :func:`expected_rows` counts a file's rows
as cheaply, for the upload page's progress bar.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from typing import IO, Any

from tracker import importer, interchange
from tracker.access import Member
from tracker.config import Settings
from tracker.errors import InvalidInput, Problem
from tracker.store import Store

_CHUNK = 1 << 20
_XLSX_ROW = re.compile(rb"<(?:\w+:)?row[\s>/]")


def _size(stream: IO[bytes]) -> int:
    stream.seek(0, 2)
    size = stream.tell()
    stream.seek(0)
    return size


def upload_problem(size: int, settings: Settings) -> Problem | None:
    """Why a file of ``size`` bytes may not be uploaded, or ``None``."""
    limit = settings.max_upload_mb * 1024 * 1024
    if size <= limit:
        return None
    return Problem(
        None,
        None,
        f"the file is {size / 1024 / 1024:.1f} MB; uploads are limited to {settings.max_upload_mb} MB "
        "(TRACKER_MAX_UPLOAD_MB). Split it into smaller files, or import it with "
        "`python -m tracker import FILE` on the server",
    )


def _line_bound(stream: IO[bytes]) -> int:
    """An upper bound on the CSV records in ``stream``: its line breaks (\\r\\n, \\r or \\n), plus one."""
    breaks, previous = 0, b""
    while chunk := stream.read(_CHUNK):
        breaks += chunk.count(b"\n") + chunk.count(b"\r") - chunk.count(b"\r\n")
        if previous == b"\r" and chunk[:1] == b"\n":
            breaks -= 1  # a \r\n split across two chunks
        previous = chunk[-1:]
    stream.seek(0)
    return breaks + 1


def _xlsx_bound(stream: IO[bytes]) -> int | None:
    """An upper bound on the rows of any sheet: the <row> elements in the largest worksheet."""
    try:
        with zipfile.ZipFile(stream) as book:
            most = 0
            for info in book.infolist():
                if not info.filename.startswith("xl/worksheets/"):
                    continue
                rows, tail = 0, b""
                with book.open(info) as sheet:
                    while chunk := sheet.read(_CHUNK):
                        rows += len(_XLSX_ROW.findall(tail + chunk))
                        tail = chunk[-8:]
                        rows -= len(_XLSX_ROW.findall(tail))  # counted again with the next chunk
                most = max(most, rows)
            return most
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError):
        return None  # not readable as a workbook: the importer says so in its own words
    finally:
        stream.seek(0)


class _Borrowed(io.RawIOBase):
    """A read-only view of a stream that readers may close without closing the stream itself."""

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._stream.seek(offset, whence)

    def tell(self) -> int:
        return self._stream.tell()


def _xlsx_count(stream: IO[bytes], limit: int) -> int | None:
    """Rows with any value on the sheet the importer reads, not trusting the sheet's stated size."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(stream, read_only=True, data_only=True)
        sheet = book["entries"] if "entries" in book.sheetnames else book.worksheets[0]
        sheet.reset_dimensions()  # a <dimension> may understate the sheet: read every row there is
        count = -1  # the header
        for cells in sheet.iter_rows(values_only=True):
            if any(c is not None and str(c).strip() for c in cells):
                count += 1
                if count > limit:
                    break
        book.close()
        return max(count, 0)
    except Exception:  # openpyxl raises many kinds for damaged files; the importer explains in its words
        return None


def _count_until(stream: IO[bytes], fmt: str, limit: int) -> int | None:
    """The rows the importer would read, counting no further than ``limit + 1``; ``None`` if unreadable."""
    view = io.BufferedReader(_Borrowed(stream))
    try:
        if fmt == "xlsx":
            return _xlsx_count(view, limit)
        source = interchange.read_rows(view, fmt)
        count = 0
        for _ in source.rows:
            count += 1
            if count > limit:
                break
        return count
    except InvalidInput:
        return None  # the importer reports the file's own problem
    finally:
        stream.seek(0)


_JSON_RECORD_LINE = re.compile(rb"[\r\n][ \t]*\{")


def _json_records(stream: IO[bytes]) -> int | None:
    """The records of a JSON list whose records each start a line (as the export and pretty printers
    write them), else ``None``. A line of JSON starts outside any text (a string cannot hold a line
    break), so a brace first on a line opens a record; the count is sure when every brace in the file
    is one of those (or the first record's, on the line of the list's "[")."""
    data = stream.read()
    body = data.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")
    if not body.startswith(b"["):
        return None
    records = len(_JSON_RECORD_LINE.findall(body)) + body[1:].lstrip(b" \t").startswith(b"{")
    return records if records == body.count(b"{") else None


def expected_rows(stream: IO[bytes], fmt: str) -> int | None:
    """How many rows (records) the importer will read from ``stream``, for a progress bar to run
    against, or ``None`` when that cannot be known without reading them all (#2): Parquet's metadata,
    XLSX's <row> elements, CSV's lines (a line break inside a cell counts one too many) and JSON's
    records when each starts a line. The stream is left at its start."""
    stream.seek(0)
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(stream).metadata.num_rows)
        if fmt == "xlsx":
            bound = _xlsx_bound(stream)
            return None if bound is None else max(bound - 1, 0)  # less the header
        if fmt == "json":
            return _json_records(stream)
        lines = _line_bound(stream)
        stream.seek(-1, 2)
        ended = stream.read(1) in (b"\n", b"\r")  # a last line break starts no row
        return max(lines - 1 - ended, 0)  # less the header
    except Exception:  # pyarrow raises many kinds for damaged files; the importer explains
        return None
    finally:
        stream.seek(0)


def row_problem(stream: IO[bytes], fmt: str, settings: Settings) -> Problem | None:
    """Why ``stream`` has too many rows to import, or ``None``. Cheap bounds first; counts only if needed."""
    limit = settings.max_import_rows
    stream.seek(0)
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq

            rows: int | None = int(pq.ParquetFile(stream).metadata.num_rows)
        except Exception:  # pyarrow raises many kinds for damaged files; the importer explains
            rows = None
        finally:
            stream.seek(0)
    else:
        bound: int | None
        if fmt == "csv":
            bound = _line_bound(stream) - 1  # less the header
        elif fmt == "xlsx":
            bound = _xlsx_bound(stream)
            bound = None if bound is None else bound - 1
        else:
            bound = None
        exact = _json_records(stream) if fmt == "json" else None  # a sure count: no parse (#7: it was read twice)
        stream.seek(0)
        if exact is not None:
            rows = exact
        else:
            rows = bound if bound is not None and bound <= limit else _count_until(stream, fmt, limit)
    if rows is None or rows <= limit:
        return None
    unit = "records" if fmt in ("json", "parquet") else "rows"
    return Problem(
        None,
        None,
        f"the file has more than {limit:,} {unit}; one import may hold at most {limit:,} "
        "(TRACKER_MAX_IMPORT_ROWS). Split it into several files and import them one after another",
    )


def import_stream(
    store: Store,
    stream: IO[bytes],
    fmt: str,
    *,
    actor: Member,
    upload: bool = False,
    **kwargs: Any,
) -> importer.ImportReport:
    """:func:`tracker.importer.import_stream` within the limits; ``upload`` also applies the upload size cap."""
    settings = store.settings
    found = upload_problem(_size(stream), settings) if upload else None
    found = found or row_problem(stream, fmt, settings)
    if found is not None:
        return importer.ImportReport(problems=[found], dry_run=bool(kwargs.get("dry_run")))
    stream.seek(0)
    return importer.import_stream(store, stream, fmt, actor=actor, **kwargs)


def import_file(
    store: Store, path: str | Path, *, actor: Member, fmt: str | None = None, **kwargs: Any
) -> importer.ImportReport:
    """:func:`tracker.importer.import_file` within the row limit (the command line's import)."""
    try:
        kind = interchange.format_for(path, fmt)
    except InvalidInput as exc:
        return importer.ImportReport(problems=exc.problems, dry_run=bool(kwargs.get("dry_run")))
    with open(path, "rb") as stream:
        return import_stream(store, stream, kind, actor=actor, name=Path(path).name, **kwargs)
