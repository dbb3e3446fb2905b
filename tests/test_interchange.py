"""Reading files as people actually save them: Excel's encodings, stray BOMs, wrong delimiters."""

import io
import json

import pytest

from tests.conftest import csv_bytes, valid_row
from tracker.errors import InvalidInput
from tracker.interchange import COLUMNS, neutralise, read_rows, restore


def rows_of(data: bytes, fmt: str = "csv"):
    source = read_rows(io.BytesIO(data), fmt)
    return list(source.rows), source.problems


def problem_text(data: bytes, fmt: str = "csv") -> str:
    with pytest.raises(InvalidInput) as info:
        rows_of(data, fmt)
    return str(info.value)


TRICKY = "£1.2m for the Expert Citizens’ café – “coproduction” first"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_excel_encodings_come_through_intact(encoding):
    rows, problems = rows_of(csv_bytes([valid_row(title=TRICKY)], encoding=encoding))
    assert problems == []
    assert rows[0][1]["title"] == TRICKY
    assert rows[0][0] == 2  # the spreadsheet row number: header is row 1


def test_bytes_in_neither_encoding_are_named():
    data = csv_bytes([valid_row()]) + b"x,\x81\xff,broken\r\n"
    assert "neither UTF-8 nor Windows-1252: byte 0x81 on line 3" in problem_text(data)


def test_utf16_is_recognised():
    assert "UTF-16" in problem_text(csv_bytes([valid_row()]).decode().encode("utf-16"))


def test_xlsx_renamed_to_csv_is_recognised():
    assert "rename it to .xlsx" in problem_text(b"PK\x03\x04rest")


def test_nul_bytes_mean_not_a_text_file():
    assert "NUL byte" in problem_text(b"id,partnership\r\n\x00\x00")


@pytest.mark.parametrize("data", [b"", b"   \r\n", b"\xef\xbb\xbf"])
def test_empty_file(data):
    assert "the file is empty" in problem_text(data)


def test_semicolon_delimiter_is_explained():
    data = ";".join(COLUMNS).encode() + b"\r\nx;y\r\n"
    assert "separated by semicolons" in problem_text(data)


def test_missing_and_unknown_columns_are_named():
    header = [c for c in COLUMNS if c not in ("typology", "sectors")] + ["sector", "notes"]
    message = problem_text(",".join(header).encode() + b"\r\n")
    assert "missing columns in the header: typology, sectors" in message
    assert "'sector' (did you mean 'sectors'?)" in message
    assert "'notes'" in message


def test_header_is_case_and_space_insensitive_and_any_order():
    header = [f" {c.upper()} " for c in reversed(COLUMNS)]
    row = valid_row()
    data = (",".join(header) + "\r\n" + ",".join(f'"{row.get(c, "")}"' for c in reversed(COLUMNS)) + "\r\n").encode()
    rows, problems = rows_of(data)
    assert problems == [] and rows[0][1]["title"] == "MaRG set up"


def test_ragged_rows_are_reported_with_their_row_number():
    data = (
        csv_bytes([valid_row()]) + b"a,b,c\r\n" + csv_bytes([valid_row()]).split(b"\r\n", 1)[1].rstrip() + b",extra\r\n"
    )
    rows, problems = rows_of(data)
    assert [str(p) for p in problems] == [
        "row 3: has 3 cells but the header has 16 columns (is a comma missing, or a quote left open?)",
        "row 4: has 17 cells but the header has 16 columns (is a comma inside a cell not quoted?)",
    ]
    assert len(rows) == 1


def test_blank_rows_are_skipped_but_still_counted_for_numbering():
    data = csv_bytes([valid_row()]) + b",,,,,,,,,,,,\r\n\r\n" + csv_bytes([valid_row(id="t-2")]).split(b"\r\n", 1)[1]
    rows, _ = rows_of(data)
    assert [n for n, _ in rows] == [2, 5]


def test_multiline_cells_keep_spreadsheet_row_numbers():
    rows, _ = rows_of(csv_bytes([valid_row(description="one\ntwo\nthree"), valid_row(id="t-2")]))
    assert [n for n, _ in rows] == [2, 3]


def test_unclosed_quote_giant_cell_is_reported_not_raised():
    data = csv_bytes([valid_row()]) + b'x,"' + b"a" * 200_000 + b"\r\n"
    _, problems = rows_of(data)
    assert "is a quote left open?" in str(problems[0])


@pytest.mark.parametrize("text", ["=SUM(A1)", "+44 1234", "-5 services", "@handle", "'=already", "\tindented"])
def test_formula_neutralisation_round_trips(text):
    assert neutralise(text).startswith("'")
    assert restore(neutralise(text)) == text


@pytest.mark.parametrize("text", ["plain", "it's fine", "'quoted'", "a=b", ""])
def test_ordinary_text_is_untouched(text):
    assert neutralise(text) == text and restore(text) == text


def test_xlsx_dates_keep_the_precision_their_format_shows(tmp_path):
    from datetime import datetime

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    formats = {
        "mmm-yy": "2019-03",
        "yyyy": "2019",
        "dd/mm/yyyy": "2019-03-01",
        # letters that are not date codes: quoted text, a colour, a locale, AM/PM, minutes
        '"Period "mmm yyyy': "2019-03",
        "[Red]mmm yyyy": "2019-03",
        "[$-809]mmmm yyyy": "2019-03",
        'yyyy" (audited)"': "2019",
        "yyyy h:mm AM/PM": "2019",
        "mmm yyyy;[Red]dd": "2019-03",  # the first section is the one shown for a date
        "yyyy-mm-dd hh:mm": "2019-03-01",
    }
    for number_format in formats:
        row = valid_row()
        sheet.append([row.get(c) for c in COLUMNS])
        cell = sheet.cell(row=sheet.max_row, column=COLUMNS.index("date") + 1, value=datetime(2019, 3, 1))
        cell.number_format = number_format
    path = tmp_path / "dates.xlsx"
    book.save(path)
    rows, _ = rows_of(path.read_bytes(), "xlsx")
    assert [r["date"] for _, r in rows] == list(formats.values())


def test_damaged_xlsx_is_a_clear_error():
    assert "not a readable XLSX workbook" in problem_text(b"PK\x03\x04not really a zip", "xlsx")


def test_a_file_from_before_the_evidence_columns_still_imports():
    """quote, speaker and contribution are optional trailing columns: 13-column files still read."""
    from tracker.interchange import REQUIRED_COLUMNS

    rows, problems = rows_of(csv_bytes([valid_row()], columns=REQUIRED_COLUMNS))
    assert problems == [] and rows[0][1]["quote"] is None and rows[0][1]["contribution"] is None


def test_a_table_csv_writes_dates_read_as_timestamps_as_dates_and_keeps_real_times():
    """A date column that pandas holds as timestamps (DuckDB DATE → datetime64) was written as
    "2024-12-31 00:00:00" in chart and register downloads; a column with real times keeps them."""
    import pandas as pd

    from tracker.interchange import frame_csv

    frame = pd.DataFrame(
        {
            "day": pd.to_datetime(["2024-12-31", None, "2019-01-01"]),
            "moment": pd.to_datetime(["2024-12-31 09:30:00", "2024-12-31 00:00:00", None]),
            "text": ["=1+1", None, "plain"],
        }
    )
    text = frame_csv(frame, {"day": "Day", "moment": "Moment", "text": "Text"}).decode("utf-8-sig")
    assert text.splitlines() == [
        "Day,Moment,Text",
        "2024-12-31,2024-12-31 09:30:00,'=1+1",
        ",2024-12-31 00:00:00,",
        "2019-01-01,,plain",
    ]


def test_parquet_column_names_are_case_insensitive_as_a_header_is():
    """A Parquet file with "Title" or "Source" columns (as pandas users name them) passes the header
    check as a CSV header would, so its values must be read too, not dropped as empty."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    row = valid_row()
    buf = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([{c.capitalize(): row[c] for c in COLUMNS}]), buf)
    rows, problems = rows_of(buf.getvalue(), "parquet")
    assert problems == []
    assert rows == [(1, row)]


def _shared_strings_xlsx(rows: list[list[str]]) -> bytes:
    """A workbook with its text in the shared string table, as Excel saves it (openpyxl writes
    inline strings); the cells' text is given as stored, escapes and all."""
    import re
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    raw = io.BytesIO()
    book.save(raw)
    table: list[str] = []

    def shared(match: re.Match[bytes]) -> bytes:
        table.append(match.group(2).decode())
        return match.group(1) + b't="s"><v>' + str(len(table) - 1).encode() + b"</v></c>"

    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            if name == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'(<c r="[A-Z]+\d+" )t="inlineStr"><is><t>(.*?)</t></is></c>', shared, data)
            elif name == "[Content_Types].xml":
                data = data.replace(
                    b"</Types>",
                    b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
                    b'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>',
                )
            elif name == "xl/_rels/workbook.xml.rels":
                data = data.replace(
                    b"</Relationships>",
                    b'<Relationship Id="rIdSS" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                    b'relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
                )
            dst.writestr(name, data)
        items = "".join(f"<si><t>{text}</t></si>" for text in table)
        dst.writestr(
            "xl/sharedStrings.xml",
            '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + items + "</sst>",
        )
    return out.getvalue()


def test_xlsx_text_from_excel_keeps_carriage_returns_and_typed_escapes():
    """Excel keeps its text in a shared string table, a carriage return as _x000D_ and a typed
    "_x000D_" as _x005F_x000D_: the one is read as a return, the other as the text typed."""
    stored = {"title": "typed _x005F_x000D_ here", "description": "a_x000D_\nb_x000D_c"}
    row = valid_row(**stored)
    data = _shared_strings_xlsx([list(COLUMNS), [row[c] for c in COLUMNS]])
    rows, problems = rows_of(data, "xlsx")
    assert problems == []
    assert rows[0][1]["title"] == "typed _x000D_ here"
    assert rows[0][1]["description"] == "a\r\nb\rc"
    assert rows[0][1]["partnership"] == "VOICES"


def test_an_xlsx_header_below_blank_rows_is_named_by_its_own_row():
    """Blank rows above the header are skipped; a problem with the header names the row it is on."""
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    header = ["titel" if c == "title" else c for c in COLUMNS]
    for i, name in enumerate(header, start=1):
        sheet.cell(row=3, column=i, value=name)
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(InvalidInput) as info:
        rows_of(out.getvalue(), "xlsx")
    assert {p.row for p in info.value.problems} == {3}
    assert "'titel' (did you mean 'title'?)" in str(info.value)


@pytest.mark.parametrize("arrow", [True, False])
@pytest.mark.parametrize("hint", [b"sep=,", b"\xef\xbb\xbfsep=,"])
def test_excels_sep_line_is_skipped_and_rows_keep_the_numbers_excel_shows(monkeypatch, arrow, hint):
    """Excel writes "sep=," as a first line in some locales and hides it when it opens the file: it
    is a hint, not a row. Rows are numbered as Excel shows them (header = row 1)."""
    from tracker import interchange

    monkeypatch.setattr(interchange, "ARROW_CSV", arrow)
    body = csv_bytes([valid_row(id="t-1"), valid_row(id="t-2")])
    data = hint + b"\r\n" + body
    rows, problems = rows_of(data)
    assert problems == [] and [(n, r["id"]) for n, r in rows] == [(2, "t-1"), (3, "t-2")]
    batches = list(read_rows(io.BytesIO(data), "csv").batches(10))
    assert [(numbers, columns["id"]) for numbers, columns in batches] == [([2, 3], ["t-1", "t-2"])]
    ragged = data + b"a,b\r\n" + csv_bytes([valid_row(id="t-4")]).split(b"\r\n", 1)[1]  # the csv module goes on
    source = read_rows(io.BytesIO(ragged), "csv")
    assert [(numbers, columns["id"]) for numbers, columns in source.batches(10)] == [([2, 3, 5], ["t-1", "t-2", "t-4"])]
    assert [str(p) for p in source.problems] == [
        "row 4: has 2 cells but the header has 16 columns (is a comma missing, or a quote left open?)"
    ]


def test_excels_sep_line_for_another_separator_says_to_save_with_commas():
    data = b"sep=;\r\n" + ";".join(COLUMNS).encode() + b"\r\nx;y\r\n"
    assert "row 1: the columns are separated by semicolons, but the interchange format uses commas" in problem_text(
        data
    )


def test_a_sep_line_alone_is_an_empty_file():
    assert "the file is empty" in problem_text(b"sep=,\r\n")


def test_xlsx_numbers_in_text_columns_are_read_as_excel_shows_them(tmp_path):
    """A title, source or host typed as 2.5 in Excel is a number cell: it is read as the text Excel
    shows (up to 15 significant digits, as Excel keeps), as a whole number is ("2019"); it was
    refused as "must be text, got float". A number in the date column is still a number: the model
    says it is not a date."""
    import openpyxl

    typed = {"title": 2.5, "source": 0.1 + 0.2, "host": 1 / 3, "description": 0.001, "structure": -12.75}
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    row = valid_row(date=2019.06, id=2019)
    sheet.append([typed.get(c, row.get(c) or None) for c in COLUMNS])
    path = tmp_path / "numbers.xlsx"
    book.save(path)
    rows, problems = rows_of(path.read_bytes(), "xlsx")
    assert problems == []
    values = rows[0][1]
    assert {c: values[c] for c in typed} == {
        "title": "2.5",
        "source": "0.3",
        "host": "0.333333333333333",
        "description": "0.001",
        "structure": "-12.75",
    }
    assert (values["id"], values["date"]) == ("2019", 2019.06)


def test_an_xlsx_refused_for_its_header_is_closed(tmp_path, monkeypatch):
    """A workbook refused for its header is closed, as one refused for anything else is (it was
    left open, its zip archive holding the uploaded file, on every failed import)."""
    import openpyxl

    from tracker import interchange

    opened = []
    load = interchange._load_xlsx
    monkeypatch.setattr(interchange, "_load_xlsx", lambda stream: opened.append(load(stream)) or opened[-1])
    book = openpyxl.Workbook()
    book.active.append(["titel", "date"])
    path = tmp_path / "header.xlsx"
    book.save(path)
    with open(path, "rb") as stream, pytest.raises(InvalidInput, match="did you mean 'title'"):
        read_rows(stream, "xlsx")
    assert opened and opened[0]._archive.fp is None  # a closed zip archive lets go of its file


def test_json_fields_naming_the_same_column_are_a_problem_not_merged():
    """Field names ignore case and surrounding spaces, so "Title" and "title" are one column: the
    record is refused, naming both, where the last one silently won. The same for a field given twice."""
    first = {**valid_row(id="j-1"), "Title": "Other title"}
    second = {**valid_row(id="j-2"), " date ": "2020"}
    third = valid_row(id="j-3")
    data = json.dumps([first, second, third]).encode()
    data = data.replace(b'"id": "j-3"', b'"kind": "setback", "id": "j-3"')  # kind twice
    source = read_rows(io.BytesIO(data), "json")
    assert list(source.rows) == []
    assert [str(p) for p in source.problems] == [
        "record 1, column title: the fields 'title' and 'Title' both name this column (field names ignore case and "
        "surrounding spaces): keep one of them",
        "record 2, column date: the fields 'date' and ' date ' both name this column (field names ignore case and "
        "surrounding spaces): keep one of them",
        "record 3, column kind: the field 'kind' is given twice: keep one of them",
    ]
    assert source.refused == 3


def test_json_and_parquet_numbers_in_text_columns_are_read_as_the_file_gives_them(tmp_path):
    """As in XLSX: a title, source or host given as 2.5 in JSON, or in a float column of a Parquet file,
    is read as its text; it was refused as "must be text, got float". JSON keeps the number as the
    file writes it ("2.50", "1e-7"); Parquet gives the shortest text of the number at the column's
    precision (a float32 0.1 is "0.1"). A number in the date field is still a number (the model says
    it is not a date), and a whole one is text as it always was (the model makes it "2019")."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    row = valid_row()
    record = json.dumps({**row, "date": "DATE", "title": "TITLE", "id": "ID"})
    record = record.replace('"DATE"', "2019.06").replace('"TITLE"', "2.50").replace('"ID"', "2019.0")
    record = record.replace('"source": "CFE Research (2022)"', '"source": 1e-7')
    record = record.replace('"structure": "MaRG"', '"structure": -12.75')
    rows, problems = rows_of(f"[{record}]".encode(), "json")
    assert problems == []
    values = rows[0][1]
    assert (values["title"], values["source"], values["structure"]) == ("2.50", "1e-7", "-12.75")
    assert (values["date"], type(values["date"]), values["id"], type(values["id"])) == (2019.06, float, 2019.0, float)

    columns = {c: pa.array([row[c]]) for c in COLUMNS}
    columns |= {
        "title": pa.array([2.5]),
        "source": pa.array([0.1], pa.float32()),
        "host": pa.array([1 / 3]),
        "structure": pa.array([None], pa.float64()),
        "id": pa.array([2019.0]),
        "date": pa.array([2019.06]),
    }
    path = tmp_path / "numbers.parquet"
    pq.write_table(pa.table(columns), path)
    rows, problems = rows_of(path.read_bytes(), "parquet")
    assert problems == []
    values = rows[0][1]
    assert {c: values[c] for c in ("title", "source", "host", "structure")} == {
        "title": "2.5",
        "source": "0.1",
        "host": "0.3333333333333333",
        "structure": None,
    }
    assert (values["date"], values["id"]) == (2019.06, 2019.0)


def test_parquet_decimal_numbers_in_text_columns_are_read_as_their_digits(tmp_path):
    """A Parquet file from a database or a spreadsheet tool may hold a title, host or source as a
    decimal column (12.50 as decimal(5, 2)): it was refused as "must be text, got Decimal", where a
    float column's numbers are read as text. A decimal that is not whole is read as its digits, as the
    file stores them ("12.50"); a whole one as the whole number it is (the model makes it "2019"); the
    date column's numbers stay numbers (the model says a number that is not whole is not a date)."""
    from decimal import Decimal

    import pyarrow as pa
    import pyarrow.parquet as pq

    row = valid_row()
    columns = {c: pa.array([row[c]]) for c in COLUMNS}
    columns |= {
        "title": pa.array([Decimal("12.50")], pa.decimal128(5, 2)),
        "host": pa.array([Decimal("-0.125")], pa.decimal128(6, 3)),
        "structure": pa.array([None], pa.decimal128(5, 2)),
        "id": pa.array([Decimal("2019.00")], pa.decimal128(6, 2)),
        "date": pa.array([Decimal("2019")], pa.decimal128(4, 0)),
    }
    path = tmp_path / "decimals.parquet"
    pq.write_table(pa.table(columns), path)
    rows, problems = rows_of(path.read_bytes(), "parquet")
    assert problems == []
    values = rows[0][1]
    assert (values["title"], values["host"], values["structure"]) == ("12.50", "-0.125", None)
    assert (values["id"], type(values["id"]), values["date"], type(values["date"])) == (2019, int, 2019, int)
    columns["date"] = pa.array([Decimal("2019.06")], pa.decimal128(6, 2))
    pq.write_table(pa.table(columns), path)
    rows, _ = rows_of(path.read_bytes(), "parquet")
    assert (rows[0][1]["date"], type(rows[0][1]["date"])) == (2019.06, float)
