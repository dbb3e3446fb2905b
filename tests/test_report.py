"""The meeting pack: built from the demo data, opened with a PDF library and read back — its sections,
its length, its figures (the same as the ``summary`` command's), vector charts with selectable text,
long tables that carry their header onto every page — and the HTML version, the CLI and the button."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pypdf
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ADMIN, ROOT, csv_bytes, valid_row
from tracker import charts, queries, report
from tracker import cli as cli_module
from tracker.config import Settings
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import Store

GENERATED = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)
SECTIONS = ["Overview", "Heatmaps", "Timeline", "Legacy register", "Evidence and voice", "Area summaries"]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("report") / "demo.duckdb"
    with Store(str(path), Settings(db=str(path))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    shutil.copy(path, path.with_name("cli.duckdb"))  # the CLI opens its own copy: DuckDB locks an open file
    return path


@pytest.fixture(scope="module")
def cli_file(demo_file) -> Path:
    return demo_file.with_name("cli.duckdb")


@pytest.fixture(scope="module")
def demo(demo_file):
    with Store(str(demo_file), Settings(db=str(demo_file))) as store:
        yield store


@pytest.fixture(scope="module")
def pack_pdf(demo) -> pypdf.PdfReader:
    data = report.pdf_bytes(demo, Filters(), generated=GENERATED)
    assert data.startswith(b"%PDF-")
    return pypdf.PdfReader(io.BytesIO(data))


def outline(reader: pypdf.PdfReader) -> list[tuple[str, list[str]]]:
    """Top-level bookmarks with the titles of the bookmarks under each."""
    out: list[tuple[str, list[str]]] = []
    for item in reader.outline:
        if isinstance(item, list):
            out[-1][1].extend(child.title for child in item if not isinstance(child, list))
        else:
            out.append((item.title, []))
    return out


def text(reader: pypdf.PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def cli(*args: str) -> int:
    """The command line, in this process: exit code (argparse's usage errors included)."""
    try:
        return cli_module.main(list(args))
    except SystemExit as exc:
        return int(exc.code or 0)


def cli_json(capsys, db: Path, *args: str) -> list[dict]:
    capsys.readouterr()
    assert cli(*args, "--db", str(db), "--format", "json") == 0
    return json.loads(capsys.readouterr().out)


def test_the_pack_has_its_sections_in_order(pack_pdf):
    sections = outline(pack_pdf)
    assert [title for title, _ in sections] == SECTIONS
    parts = dict(sections)
    assert parts["Heatmaps"] == ["Partnership × typology", "Partnership × mechanism", "Typology × mechanism"]
    assert parts["Timeline"] == ["Entries over time", "Milestones and setbacks per year"]
    assert parts["Legacy register"] == ["Structures by current status", "Legacy register"]
    assert parts["Evidence and voice"] == ["The programme's contribution", "In their words"]
    assert len(parts["Area summaries"]) == 12  # every demo partnership has entries


def test_evidence_section_matches_the_data(pack_pdf, demo, cli_file, capsys):
    """Contribution counts as the summary command gives them; recorded quotes with their speaker."""
    body = " ".join(text(pack_pdf).split())
    for row in cli_json(capsys, cli_file, "summary", "--by", "contribution,kind"):
        label = (row["contribution"] or "not rated").capitalize()
        assert f"{label} {row['kind']} {row['count']}" in body, row
    quotes = queries.quotes(demo, Filters(), limit=60)
    assert not quotes.empty
    first = quotes.iloc[0]
    assert " ".join(str(first["quote"]).split())[:40] in body


def test_page_count_is_within_bounds(pack_pdf):
    assert 8 <= len(pack_pdf.pages) <= 25


def test_title_page_says_what_the_pack_covers(pack_pdf):
    first = pack_pdf.pages[0].extract_text()
    assert "Systems change meeting pack" in first
    assert re.search(r"Filters\s+All entries", first)
    assert "14 March 2026, 09:30 UTC" in first
    assert "As it stood at" not in first
    for title in SECTIONS:
        assert re.search(rf"{title} \.+ \d+", first), title  # the contents, with page numbers
    assert pack_pdf.metadata.title == "Systems change meeting pack"


def test_figures_match_the_summary_command(pack_pdf, cli_file, capsys):
    body = text(pack_pdf)
    kinds = {r["kind"]: r["count"] for r in cli_json(capsys, cli_file, "summary", "--by", "kind")}
    assert re.search(rf"\nEntries {sum(kinds.values())}\n", body)
    assert re.search(rf"\nMilestones {kinds['milestone']}\n", body)
    assert re.search(rf"\nSetbacks {kinds['setback']}\n", body)
    per_partnership: dict[str, dict[str, int]] = {}
    for row in cli_json(capsys, cli_file, "summary", "--by", "partnership,kind"):
        per_partnership.setdefault(row["partnership"], {"milestone": 0, "setback": 0})[row["kind"]] = row["count"]
    for name, c in per_partnership.items():
        line = f"{name} {c['milestone'] + c['setback']} {c['milestone']} {c['setback']}"
        assert line in body, line
    for row in cli_json(capsys, cli_file, "summary", "--by", "typology"):
        assert f"\n{row['typology']} {row['count']}\n" in body, row
    structures = cli_json(capsys, cli_file, "structures")
    assert re.search(rf"Structures recorded {len(structures)}\n", body)
    hosted = sum(1 for s in structures if s["status"] == "Hosted elsewhere")
    assert re.search(rf"Structures hosted elsewhere {hosted}\n", body)


def test_area_summaries_are_the_generated_ones(pack_pdf):
    golden = (ROOT / "tests" / "golden" / "compare_summaries.txt").read_text(encoding="utf-8")
    body = re.sub(r"\s+", " ", text(pack_pdf))
    voices = golden.split("## VOICES\n", 1)[1].split("\n", 1)[0]
    assert voices[:80] in body


def test_charts_are_vector_drawings_with_selectable_text(pack_pdf):
    for page in pack_pdf.pages:
        xobjects = page["/Resources"].get("/XObject")
        assert not xobjects or all(x.get_object()["/Subtype"] != "/Image" for x in xobjects.get_object().values())
    heatmap_page = next(p for p in pack_pdf.pages if "Partnership × typology\n" in p.extract_text())
    words = heatmap_page.extract_text()
    assert "Coproduction" in words and "Golden Key" in words  # axis labels inside the chart are text


def test_long_tables_repeat_their_header_on_every_page(tmp_path, write_file):
    settings = Settings(db=str(tmp_path / "long.duckdb"))
    rows = [
        valid_row(id=f"s{i}", structure=f"Structure number {i:03d}", title=f"Set up structure {i}", date="2019")
        for i in range(140)
    ]
    with Store(settings.db, settings) as store:
        assert import_file(store, write_file(rows), actor=ADMIN).ok
        reader = pypdf.PdfReader(io.BytesIO(report.pdf_bytes(store, Filters(), generated=GENERATED)))
    pages = [p.extract_text() for p in reader.pages]
    table_pages = [p for p in pages if "Structure number" in p]
    assert len(table_pages) >= 3
    header = re.compile(r"Partnership Structure Typology Current status Host organisation Since Last\s+entry Entries")
    assert all(header.search(p) for p in table_pages)
    found = sorted({int(n) for p in table_pages for n in re.findall(r"Structure number (\d{3})", p)})
    assert found == list(range(140))  # every row, once the pages are put together


def test_as_at_and_filters_are_on_the_title_page(demo):
    moment = datetime(2030, 1, 2, 3, 4)
    filters = Filters(partnerships=("voices",), kinds=("milestone",), as_at=moment)
    reader = pypdf.PdfReader(io.BytesIO(report.pdf_bytes(demo, filters, generated=GENERATED)))
    first = reader.pages[0].extract_text()
    assert "partnerships: VOICES; kind: milestones" in first
    assert "As it stood at 2 January 2030, 03:04 UTC" in first
    assert re.search(r"\nEntries 8\n", text(reader))


def test_the_filter_line_gives_an_as_at_time_as_the_title_page_does(demo):
    """An as-at moment within a day (``report --as-at 2024-01-02T03:04``) is not "the end of" the day."""
    moment = datetime(2024, 1, 2, 3, 4)
    pack = report.build(demo, Filters(as_at=moment), generated=GENERATED)
    lines = dict(report.title_lines(pack))
    assert lines["As it stood at"] == "2 January 2024, 03:04 UTC"
    assert lines["Filters"] == "as at 2024-01-02 03:04 (UTC)"
    whole_day = report.build(demo, Filters(as_at=report._moment("2024-01-02")), generated=GENERATED)
    assert dict(report.title_lines(whole_day))["Filters"] == "as at the end of 2024-01-02 (UTC)"


def test_compared_areas_get_their_own_section(demo):
    reader = pypdf.PdfReader(
        io.BytesIO(report.pdf_bytes(demo, Filters(), areas=["voices", "golden-key"], generated=GENERATED))
    )
    sections = dict(outline(reader))
    assert sections["Areas compared"] == [
        "Typology profile",
        "Mechanism profile",
        "Milestones and setbacks per year",
        "Legacy",
    ]
    assert sections["Area summaries"] == ["VOICES", "Golden Key"]
    assert "Areas compared VOICES; Golden Key" in reader.pages[0].extract_text()


@pytest.mark.parametrize("months", [True, False])
def test_a_binned_timeline_by_month_says_where_year_only_entries_are_counted(demo, monkeypatch, months):
    """Too many entries to draw one by one and counted by month, an entry dated by year only (common
    for legacy outcomes) lands in January of its year. The timeline page says so; the pack's caption
    did not, so a January that looked busy in the pack had no explanation."""
    max_rows = queries.count_entries(demo, Filters()) - 1 if months else 40  # binned by month, by year
    points, binned = queries.timeline(demo, Filters(), "partnership", max_rows=max_rows)
    assert binned and charts.binned_by_year(points) is not months
    timeline = queries.timeline  # as if there were more entries than a chart may draw one by one
    monkeypatch.setattr(
        queries, "timeline", lambda *args, **kwargs: timeline(*args, **{**kwargs, "max_rows": max_rows})
    )
    pack = report.build(demo, Filters(), generated=GENERATED)
    (figure,) = [b for s in pack.sections for b in s.blocks if b.title == "Entries over time"]
    assert isinstance(figure, report.Figure) and figure.caption.startswith("Too many entries to draw one by one")
    said = "The periods are months: an entry dated by year only is counted in January of its year."
    assert (said in figure.caption) is months


def test_the_pdf_still_works_without_a_truetype_font(demo):
    pack = report.build(demo, Filters(partnerships=("voices",)), generated=GENERATED)
    reader = pypdf.PdfReader(io.BytesIO(report.pdf(pack, font=None)))
    assert "Systems change meeting pack" in reader.pages[0].extract_text()
    assert [title for title, _ in outline(reader)] == SECTIONS


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.h2: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_h2 = tag == "h2"

    def handle_endtag(self, tag):
        self._in_h2 = False

    def handle_data(self, data):
        if self._in_h2:
            self.h2.append(data)


def test_html_version_has_the_same_content(demo, write_file, tmp_path):
    page = report.html(report.build(demo, Filters(), generated=GENERATED))
    parser = _Tags()
    parser.feed(page)
    assert parser.h2 == ["Contents", *SECTIONS]
    assert parser.tags.count("svg") == 6 and "script" not in parser.tags
    assert (
        parser.tags.count("thead") == 6
    )  # headline figures, by partnership, by typology, register, contribution, quotes
    assert "14 March 2026, 09:30 UTC" in page
    settings = Settings(db=str(tmp_path / "x.duckdb"))
    with Store(settings.db, settings) as store:
        hostile = valid_row(id="h", structure="<script>alert(1)</script>", title="=cmd")
        assert import_file(store, write_file([hostile]), actor=ADMIN).ok
        page = report.html(report.build(store, Filters()))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_report_command(cli_file, tmp_path, capsys):
    out = tmp_path / "pack.pdf"
    done = subprocess.run(  # once as people run it
        [sys.executable, "-m", "tracker", "report", "--out", str(out), "--partnership", "VOICES",
         "--partnership", "golden key", "--from", "2016", "--to", "2021", "--db", str(cli_file)],
        cwd=ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "wrote the meeting pack" in done.stdout
    first = pypdf.PdfReader(out).pages[0].extract_text()
    assert "partnerships: VOICES, Golden Key; dates: 2016-01-01 to 2021-12-31" in first
    html_out = tmp_path / "pack.html"
    assert cli("report", "--out", str(html_out), "--compare", "voices", "blackpool", "--db", str(cli_file)) == 0
    page = html_out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and ">Areas compared<" in page


def test_report_as_at_a_day_includes_what_was_recorded_that_day(tmp_path, write_file):
    """``--as-at 2024-03-01`` is the tracker at the end of that day (UTC), as the app's as-at date
    and the pack's own filter line ("as at the end of 2024-03-01") say, not at its first moment."""
    from tracker.store import utcnow

    path = tmp_path / "today.duckdb"
    with Store(str(path), Settings(db=str(path))) as store:
        assert import_file(store, write_file([valid_row(id="e1")]), actor=ADMIN).ok
    today = utcnow().date().isoformat()  # the day the entry was recorded
    out = tmp_path / "pack.html"
    assert cli("report", "--out", str(out), "--as-at", today, "--db", str(path)) == 0
    page = out.read_text(encoding="utf-8")
    assert f"as at the end of {today} (UTC)" in page
    assert "<tr><td>Entries</td><td>1</td></tr>" in page
    assert report._moment(f"{today}T00:00") == datetime.fromisoformat(f"{today}T00:00")  # a time is kept


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--partnership", "Voicez"], 1, "did you mean 'VOICES'?"),
        (["--programme", "Changing Futures"], 1, "unknown programme 'Changing Futures'"),
        (["--compare", "voices"], 1, "--compare takes 2 to 6"),
        (  # the pack compared them with none of their entries, by slug ("golden-key; blackpool")
            ["--partnership", "VOICES", "--compare", "Golden Key", "blackpool"],
            1,
            "cannot compare 'Golden Key', 'blackpool': the --partnership filter leaves them out",
        ),
        (["--from", "2022", "--to", "2019"], 1, "--from is after --to"),
        (["--from", "2019-13"], 2, "months run 01 to 12"),
        (["--as-at", "yesterday"], 2, "is not a date and time"),
        # a moment after now: the title page said "As it stood at 1 January 2999, 23:59 UTC"
        (["--as-at", "2999-01-01"], 2, "'2999-01-01' is after today"),
        (["--as-at", "2999-01-01T10:00"], 2, "'2999-01-01T10:00' is after now"),
        (["--out-format", "x"], 2, "unrecognized arguments"),
    ],
)
def test_report_command_refuses_bad_input(cli_file, tmp_path, capsys, args, code, message):
    assert cli("report", "--out", str(tmp_path / "p.pdf"), "--db", str(cli_file), *args) == code
    assert message in capsys.readouterr().err
    assert not (tmp_path / "p.pdf").exists()


def test_report_command_checks_the_output_file(cli_file, tmp_path, capsys):
    assert cli("report", "--out", str(tmp_path / "p.docx"), "--db", str(cli_file)) == 2
    assert cli("report", "--out", str(tmp_path / "missing" / "p.pdf"), "--db", str(cli_file)) == 2
    assert "no such folder" in capsys.readouterr().err


def test_report_command_refuses_an_output_that_is_a_folder(cli_file, tmp_path, capsys):
    (tmp_path / "pack.pdf").mkdir()
    assert cli("report", "--out", str(tmp_path / "pack.pdf"), "--db", str(cli_file)) == 2
    err = capsys.readouterr().err
    assert "is a folder" in err and "Traceback" not in err


def test_the_pack_buttons_on_the_compare_page(cli_file, tmp_path, monkeypatch, deferred):
    path = tmp_path / "app.duckdb"
    shutil.copy(cli_file, path)
    monkeypatch.setenv("TRACKER_DB", str(path))
    made = deferred  # the callables behind the download buttons, by file name
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["area"] = ["voices", "golden-key"]
    at.query_params["kind"] = "milestone"
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    pdf_name = next(n for n in made if n.startswith("meeting-pack-") and n.endswith(".pdf"))
    reader = pypdf.PdfReader(io.BytesIO(made[pdf_name]()))
    first = reader.pages[0].extract_text()
    assert "kind: milestones" in first and "Areas compared VOICES; Golden Key" in first
    html_name = next(n for n in made if n.startswith("meeting-pack-") and n.endswith(".html"))
    assert b"Areas compared" in made[html_name]()


def test_a_chart_download_names_the_as_at_day_once(cli_file, tmp_path, monkeypatch, deferred):
    """A chart downloaded "as at" a day says so once, in the words of the pack's filter line; its
    subtitle read "as at the end of 2024-03-01 (UTC) · as it stood at 2024-03-01 23:59 UTC"."""
    path = tmp_path / "app.duckdb"
    shutil.copy(cli_file, path)
    monkeypatch.setenv("TRACKER_DB", str(path))
    made = deferred  # the callables behind the download buttons, by file name
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    day = datetime.now(UTC).date().isoformat()  # the demo was recorded today
    at.query_params["as_at"] = day
    at.run()
    at.switch_page("pages/heatmaps.py").run()
    assert not at.exception
    svg = str(made[next(n for n in made if n.endswith(".svg"))]())  # type: ignore[operator]
    assert f">as at the end of {day} (UTC)</text>" in svg and "as it stood at" not in svg


def test_the_packs_status_chart_offers_a_retired_status_only_while_a_structure_has_it(demo_file, tmp_path):
    """As on the legacy page: a retired status no structure has is not in the legend (#8)."""
    from tracker import admin

    path = tmp_path / "retired.duckdb"
    shutil.copy(demo_file, path)
    with Store(str(path), Settings(db=str(path))) as store:
        for slug, label in (("dormant", "Dormant"), ("paused", "Paused")):
            admin.add_term(store, ADMIN, "status", slug, label)
        row = valid_row(id="paused-1", partnership="VOICES", date="2023", structure="Peer hub", status="Paused")
        (tmp_path / "paused.csv").write_bytes(csv_bytes([row]))
        assert import_file(store, str(tmp_path / "paused.csv"), actor=ADMIN).ok
        for slug in ("dormant", "paused"):
            admin.set_retired(store, ADMIN, "status", slug, True)
        pack = report.build(store, Filters(), generated=GENERATED)
    (figure,) = [
        block
        for section in pack.sections
        for block in section.blocks
        if isinstance(block, report.Figure) and block.title == "Structures by current status"
    ]
    assert ">Paused<" in figure.svg and ">Dormant<" not in figure.svg
