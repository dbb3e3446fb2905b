"""Limits (#7): a file too large or too long is refused in plain words, and nothing is half-stored.

The upload size cap and the row cap live in ``Settings`` (``TRACKER_MAX_UPLOAD_MB``,
``TRACKER_MAX_IMPORT_ROWS``) and are checked by ``tracker.limits`` before the importer reads a
row. Field limits come from the model; each is named in its message.
"""

from __future__ import annotations

import io
import tomllib

import pytest

from tests.conftest import ADMIN, ROOT, csv_bytes, valid_row
from tracker import interchange, limits
from tracker.config import Settings
from tracker.store import Store

TABLES = ("entries", "entry_history", "entry_mechanisms", "entry_sectors", "audit_log")


@pytest.fixture
def small(tmp_path) -> Store:
    """A store allowing 1 MB uploads and 5 rows per import."""
    settings = Settings(db=str(tmp_path / "s.duckdb"), max_upload_mb=1, max_import_rows=5)
    store = Store(settings.db, settings)
    yield store
    store.close()


def counts(store: Store) -> dict[str, int]:
    cur = store.cursor()
    return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]


def rows(n: int, **changes) -> list[dict]:
    return [valid_row(id=f"r-{i}", title=f"Row {i}", **changes) for i in range(n)]


def xlsx(records: list[dict]) -> bytes:
    out = io.BytesIO()
    interchange.write_xlsx(({**r, "mechanisms": [r["mechanisms"]], "sectors": [r["sectors"]]} for r in records), out)
    return out.getvalue()


def test_defaults_match_the_streamlit_upload_limit(monkeypatch):
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert Settings().max_upload_mb == config["server"]["maxUploadSize"] == 50
    assert Settings().max_import_rows == 1_000_000
    monkeypatch.setenv("TRACKER_MAX_UPLOAD_MB", "7")
    monkeypatch.setenv("TRACKER_MAX_IMPORT_ROWS", "1234")
    assert (Settings().max_upload_mb, Settings().max_import_rows) == (7, 1234)


def test_an_upload_over_the_size_cap_is_refused_and_nothing_stored(small):
    data = csv_bytes(rows(1, description="x" * 4000)) + b"\r\n" * 600_000  # over 1 MB, mostly blank lines
    before = counts(small)
    report = limits.import_stream(small, io.BytesIO(data), "csv", actor=ADMIN, upload=True)
    assert not report.ok and counts(small) == before
    [problem] = report.problems
    size = f"{len(data) / 1024 / 1024:.1f}"
    assert f"the file is {size} MB; uploads are limited to 1 MB (TRACKER_MAX_UPLOAD_MB)" in problem.message
    # the same file is not an upload on the command line: only the row cap applies, and it passes
    assert limits.import_stream(small, io.BytesIO(data), "csv", actor=ADMIN).ok


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "parquet"])
def test_a_file_over_the_row_cap_is_refused_and_nothing_stored(small, tmp_path, fmt):
    path = tmp_path / f"six.{fmt}"
    if fmt == "csv":
        path.write_bytes(csv_bytes(rows(6)))
    elif fmt == "xlsx":
        path.write_bytes(xlsx(rows(6)))
    else:
        records = [{**r, "mechanisms": [r["mechanisms"]], "sectors": [r["sectors"]]} for r in rows(6)]
        with open(path, "wb") as out:
            interchange.WRITERS[fmt](records, out)
    before = counts(small)
    report = limits.import_file(small, path, actor=ADMIN)
    assert not report.ok and counts(small) == before
    unit = "records" if fmt in ("json", "parquet") else "rows"
    assert [str(p) for p in report.problems] == [
        f"the file has more than 5 {unit}; one import may hold at most 5 (TRACKER_MAX_IMPORT_ROWS). "
        "Split it into several files and import them one after another"
    ]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_at_the_row_cap_imports(small, fmt):
    data = csv_bytes(rows(5)) if fmt == "csv" else xlsx(rows(5))
    report = limits.import_stream(small, io.BytesIO(data), fmt, actor=ADMIN, upload=True)
    assert report.ok and report.created == 5


def test_line_breaks_inside_cells_are_not_counted_as_rows(small):
    data = csv_bytes(rows(5, description="one\ntwo\r\nthree\rfour"))
    report = limits.import_stream(small, io.BytesIO(data), "csv", actor=ADMIN)
    assert report.ok and report.created == 5


@pytest.mark.parametrize("ending", [b"\r\n", b"\n", b"\r"])
def test_every_line_ending_counts(small, ending):
    data = csv_bytes(rows(6)).replace(b"\r\n", ending)
    report = limits.import_stream(small, io.BytesIO(data), "csv", actor=ADMIN)
    assert "more than 5 rows" in report.problems[0].message


def test_blank_lines_do_not_count_as_rows(small):
    data = csv_bytes(rows(5)) + b"\r\n" * 20
    assert limits.import_stream(small, io.BytesIO(data), "csv", actor=ADMIN).ok


def test_a_broken_file_gets_the_importers_own_problem_not_a_limit(small):
    report = limits.import_stream(small, io.BytesIO(b"\xff\xfe" + b"x\n" * 50), "csv", actor=ADMIN)
    assert "UTF-16" in report.problems[0].message
    report = limits.import_stream(small, io.BytesIO(b"PK\x03\x04 not a zip"), "xlsx", actor=ADMIN)
    assert "XLSX" in report.problems[0].message


def test_a_workbook_that_understates_its_size_is_still_counted(small):
    """The <dimension> of a sheet is not trusted: the rows themselves are counted."""
    import zipfile

    data = xlsx(rows(6))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                content = content.replace(b"</sheetPr>", b'</sheetPr><dimension ref="A1:M2"/>', 1)
            dst.writestr(info, content)
    report = limits.import_stream(small, io.BytesIO(out.getvalue()), "xlsx", actor=ADMIN)
    assert "more than 5 rows" in report.problems[0].message


@pytest.mark.parametrize(
    ("field", "limit", "value"),
    [
        ("id", 64, "i" * 65),
        ("title", 200, "t" * 201),
        ("description", 5000, "d" * 5001),
        ("host", 200, "h" * 201),
        ("structure", 200, "s" * 201),
        ("source", 1000, "https://example.org/" + "s" * 990),
    ],
)
def test_a_field_over_its_limit_is_refused_naming_the_limit(small, field, limit, value):
    row = valid_row(**{field: value}, **({"status": "hosted elsewhere"} if field == "host" else {}))
    before = counts(small)
    report = limits.import_stream(small, io.BytesIO(csv_bytes([row])), "csv", actor=ADMIN, upload=True)
    assert counts(small) == before
    assert [str(p) for p in report.problems] == [
        f"row 2, column {field}: is too long: {len(value)} characters, the limit is {limit}; shorten it"
    ]


def test_the_upload_page_uses_the_configured_cap(tmp_path, monkeypatch):
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.testing.v1 import AppTest

    init = PagesManager.__init__

    def navigation_mode(self, *args, **kwargs):  # as in tests/test_app.py
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", navigation_mode)
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "app.duckdb"))
    monkeypatch.setenv("TRACKER_MAX_UPLOAD_MB", "7")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    at.switch_page("pages/import_export.py")
    at.run()
    assert not at.exception

    def uploaders(node):
        children = getattr(node, "children", None)
        for child in children.values() if isinstance(children, dict) else children or []:
            if getattr(child, "type", None) == "file_uploader":
                yield child
            yield from uploaders(child)

    [uploader] = list(uploaders(at._tree))
    assert uploader.proto.max_upload_size_mb == 7
    assert "Up to 7 MB and 1,000,000 rows per file" in uploader.proto.help


def test_the_upload_page_imports_through_the_limits():
    page = (ROOT / "pages" / "import_export.py").read_text()
    assert "limits.import_stream(" in page and "importer.import_stream(" not in page


def exported(fmt: str, records: list[dict]) -> bytes:
    """``records`` as the export button writes them in ``fmt``."""
    if fmt == "csv":
        return csv_bytes(records)
    out = io.BytesIO()
    interchange.WRITERS[fmt](({**r, "mechanisms": [r["mechanisms"]], "sectors": [r["sectors"]]} for r in records), out)
    return out.getvalue()


@pytest.mark.parametrize("fmt", interchange.FORMATS)
def test_the_progress_bar_runs_against_the_rows_the_file_holds(fmt):
    """The upload page's bar ran against the newlines in the file: in a Parquet file (or XLSX's zip)
    they are bytes of compressed data, so the bar said nothing about how far the check had got (#2)."""
    stream = io.BytesIO(exported(fmt, rows(1200)))
    assert limits.expected_rows(stream, fmt) == 1200
    assert stream.tell() == 0  # the importer reads it next


def test_parquet_gives_its_rows_from_its_metadata():
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [{**r, "mechanisms": [r["mechanisms"]], "sectors": [r["sectors"]]} for r in rows(2500)]
    out = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records), out, row_group_size=1000)  # three row groups
    data = out.getvalue()
    assert data.count(b"\n") != 2500
    assert limits.expected_rows(io.BytesIO(data), "parquet") == 2500
    assert limits.expected_rows(io.BytesIO(b"PAR1 not parquet PAR1"), "parquet") is None


def test_json_records_are_counted_only_when_that_is_cheap_and_sure():
    """A JSON file's records are counted when each starts its own line (as the export and pretty
    printers write them): a line of JSON starts outside any text, so a brace first on a line opens a
    record. Otherwise (one line, a brace in a text) only reading the whole file could tell: no guess."""
    import json

    records = json.loads(exported("json", rows(300)))
    for text in (json.dumps(records, indent=4), json.dumps(records, indent="\t"), "[" + json.dumps(records)[1:]):
        assert limits.expected_rows(io.BytesIO(text.replace("}, {", "},\r\n{").encode()), "json") == 300
    assert limits.expected_rows(io.BytesIO(b"\xef\xbb\xbf" + json.dumps(records, indent=2).encode()), "json") == 300
    one_line = json.dumps(records).encode()
    assert one_line.count(b"\n") == 0
    assert limits.expected_rows(io.BytesIO(one_line), "json") is None
    braces = exported("json", rows(300, description="Board {renamed}"))
    assert limits.expected_rows(io.BytesIO(braces), "json") is None


def test_the_upload_page_runs_its_progress_against_the_expected_rows():
    page = (ROOT / "pages" / "import_export.py").read_text()
    assert "limits.expected_rows(" in page and 'count(b"\\n")' not in page


@pytest.mark.parametrize("records", [3, 6])  # within the cap of 5, and over it
def test_the_row_cap_counts_a_json_file_without_parsing_it_when_its_records_each_start_a_line(
    small, monkeypatch, records
):
    """The row cap parsed a whole JSON upload to count its records, then the importer parsed it again:
    every JSON import was read twice. Records each starting a line (as the export writes them) are
    counted from the bytes, exactly; the file is parsed once, by the importer."""
    data = exported("json", rows(records))
    parsed = []
    real = interchange.read_rows
    monkeypatch.setattr(interchange, "read_rows", lambda *a, **k: parsed.append(a[1:]) or real(*a, **k))
    problem = limits.row_problem(io.BytesIO(data), "json", small.settings)
    assert parsed == []
    assert (problem is None) == (records <= 5)
    # a file on one line cannot be counted so: it is still counted by reading it, up to the cap
    one_line = data.replace(b"\r\n", b"").replace(b"\n", b"")
    assert (limits.row_problem(io.BytesIO(one_line), "json", small.settings) is None) == (records <= 5)
    assert parsed == [("json",)]
