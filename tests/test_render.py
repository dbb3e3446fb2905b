"""Charts as files, drawn on the server: every chart builder renders to a real PNG and a real SVG,
and the download buttons under the charts in the app hand out those files and the data as CSV."""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
import shutil
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ADMIN, ROOT, valid_row
from tracker import charts, compare, queries, render
from tracker.config import Settings
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import Store

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SVG = "{http://www.w3.org/2000/svg}svg"


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's IHDR chunk (after checking the signature)."""
    assert data[:8] == PNG_MAGIC, "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def svg_root(text: str | bytes) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == SVG, root.tag
    return root


def svg_text(root: ET.Element) -> str:
    return " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("render") / "demo.duckdb"
    with Store(str(path), Settings(db=str(path))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    return path


@pytest.fixture(scope="module")
def demo(demo_file):
    with Store(str(demo_file), Settings(db=str(demo_file))) as store:
        yield store


@pytest.fixture(scope="module")
def every_chart(demo) -> dict[str, object]:
    """One chart from each builder the app uses, on the demo data."""
    store = demo
    statuses = ["Continuing", "Hosted elsewhere", "Decommissioned", "Not recorded"]
    points, binned = queries.timeline(store, Filters(), "structure")
    result = compare.compare(store, Filters(), "partnership", ["voices", "golden-key"])
    return {
        "heatmap": charts.heatmap(queries.heatmap(store, Filters(), "partnership", "typology"), "share", "P", "T"),
        "timeline": charts.timeline(
            points, queries.status_segments(store), lane_title="Structure", typologies=[], binned=binned
        ),
        "year_bars": charts.year_bars(queries.year_counts(store)),
        "legacy": charts.legacy_status_bar(queries.structure_status_counts(store), statuses=statuses),
        "typology_profile": compare.profile_chart(result.typology, category_title="Typology"),
        "mechanism_profile": compare.profile_chart(result.mechanism, category_title="Mechanism", colour_by="group"),
        "years_compared": compare.year_chart(result.years),
        "legacy_compared": compare.legacy_chart(result.legacy, statuses),
    }


@pytest.mark.parametrize(
    "name",
    [
        "heatmap",
        "timeline",
        "year_bars",
        "legacy",
        "typology_profile",
        "mechanism_profile",
        "years_compared",
        "legacy_compared",
    ],
)
def test_every_chart_renders_to_png_and_svg(every_chart, name):
    chart = every_chart[name]
    image = render.png(chart, title="A chart", subtitle="All entries")
    width, height = png_size(image)
    assert width >= 600 and height >= 250 and len(image) > 10_000
    drawing = render.svg(chart, title="A chart", subtitle="All entries")
    root = svg_root(drawing)
    svg_width, svg_height = float(root.get("width")), float(root.get("height"))
    assert svg_width >= 300 and svg_height >= 125 and len(drawing) > 5_000
    assert width == pytest.approx(svg_width * render.PNG_SCALE, abs=2)  # PNGs are twice the size: sharp on a projector
    words = svg_text(root)
    assert "A chart" in words and "All entries" in words  # the title and subtitle travel with the image


def test_svg_keeps_text_as_text(every_chart):
    root = svg_root(render.svg(every_chart["heatmap"]))
    words = svg_text(root)
    assert "VOICES" in words and "Coproduction" in words
    assert not list(root.iter("{http://www.w3.org/2000/svg}image"))  # vector, no embedded bitmap


def test_static_spec_fixes_container_widths_and_leaves_the_chart_alone(every_chart):
    chart = every_chart["year_bars"]
    assert chart.to_dict()["width"] == "container"
    spec = render.static_spec(chart, width=700, title="T", subtitle="S", font="DejaVu Sans")
    assert spec["width"] == 700 and spec["title"]["text"] == "T" and spec["title"]["subtitle"] == "S"
    assert spec["config"]["font"] == "DejaVu Sans"
    assert chart.to_dict()["width"] == "container"
    assert "container" not in str(render.static_spec(every_chart["timeline"]))


def test_table_csv_renames_columns_and_neutralises_formulas():
    table = pd.DataFrame({"area": ["=HYPERLINK(1)", "VOICES"], "entries": [1, None], "hidden": ["x", "y"]})
    data = render.table_csv(table, {"area": "Area", "entries": "Entries", "missing": "Not there"})
    assert data.startswith("\ufeff".encode())
    lines = data.decode("utf-8-sig").splitlines()
    assert lines == ["Area,Entries", "'=HYPERLINK(1),1.0", "VOICES,"]
    assert render.table_csv(table).decode("utf-8-sig").splitlines()[0] == "area,entries,hidden"


def test_file_stem():
    assert render.file_stem("Entries per partnership and typology") == "entries-per-partnership-and-typology"
    assert render.file_stem("×××") == "chart"


# --- the buttons in the app ----------------------------------------------------------------------


@pytest.fixture
def app_db(tmp_path, demo_file, monkeypatch) -> Path:
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_file, path)
    monkeypatch.setenv("TRACKER_DB", str(path))
    return path


def run_page(page: str, **params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/heatmaps.py", "pages/timeline.py", "pages/legacy.py"])
def test_every_chart_in_the_app_has_png_svg_and_csv_downloads(app_db, deferred, page):
    at = run_page(page)
    shown = len(at.get("vega_lite_chart"))
    assert shown >= 1
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("PNG") == labels.count("SVG") == labels.count("CSV") == shown
    for name, make in deferred.items():
        data = make()
        if name.endswith(".png"):
            width, height = png_size(data)
            assert width > 400 and height > 150 and len(data) > 5_000
        elif name.endswith(".svg"):
            root = svg_root(data)
            assert "All entries" in svg_text(root)  # the subtitle: the filters in words
        elif name.endswith(".csv") and name != "legacy-register.csv":
            head = data.decode("utf-8-sig").splitlines()
            assert len(head) >= 2 and "," in head[0]


def test_downloads_follow_the_filters(app_db, deferred):
    run_page("pages/heatmaps.py", partnership="voices", kind="setback")
    svg = next(make() for name, make in deferred.items() if name.endswith(".svg"))
    assert "partnerships: VOICES; kind: setbacks" in svg_text(svg_root(svg))
    csv = next(make() for name, make in deferred.items() if name.endswith(".csv"))
    rows = csv.decode("utf-8-sig").splitlines()
    assert rows[0].startswith("Partnership,Typology,Entries")
    assert {line.split(",")[0] for line in rows[1:]} == {"VOICES"}


def test_the_import_page_hands_out_the_templates_when_clicked(app_db, deferred):
    # Built only when a button is clicked (#6): the XLSX template took ~10 ms on every run.
    import openpyxl

    run_page("pages/import_export.py")
    csv = deferred["template.csv"]().decode("utf-8-sig").splitlines()
    assert csv[0].split(",")[:3] == ["id", "partnership", "date"]
    book = openpyxl.load_workbook(io.BytesIO(deferred["template.xlsx"]()))
    allowed = [row for row in book["allowed values"].iter_rows(values_only=True)]
    assert ("partnership", "VOICES", "voices", None) in allowed
    assert any(row[0] == "typology" and row[1] == "Leadership" for row in allowed)


def test_the_register_download_has_every_structure_the_search_chose(app_db, deferred, monkeypatch):
    """The page shows one page of the register; its CSV has all the structures of the search (#6)."""
    from tracker import verification

    monkeypatch.setattr(verification, "PAGE_ROWS", 2)
    run_page("pages/legacy.py", register_find="golden")
    rows = list(csv.DictReader(io.StringIO(deferred["legacy-register.csv"]().decode("utf-8-sig"))))
    assert len(rows) == 3 and {r["partnership"] for r in rows} == {"Golden Key"}
    deferred.clear()
    run_page("pages/legacy.py")
    assert len(deferred["legacy-register.csv"]().decode("utf-8-sig").splitlines()) == 24 + 1  # every structure


def _the_fullest_cell() -> None:
    """The heatmap page's list under a clicked cell, for the cell with the most entries."""
    import streamlit as st

    from pages import _ui
    from tracker import access, app_state, queries
    from tracker.filters import Filters

    st.session_state["member"] = access.LOCAL_ADMIN  # as the frame (app.py) names it in local mode
    rows, cols = st.session_state.get("dims", ("partnership", "typology"))
    cells = app_state.read(queries.heatmap, Filters(), rows, cols)
    fullest = cells.sort_values(["count", "row_key", "col_key"]).iloc[-1]
    st.session_state["fullest"] = (fullest["row_key"], fullest["col_key"], int(fullest["count"]))
    st.session_state["labels"] = (fullest["row"], fullest["col"])
    _ui.cell_entries(Filters(), cells, rows, cols, (fullest["row_key"], fullest["col_key"]))


@pytest.mark.parametrize("dims", [("partnership", "typology"), ("typology", "mechanism")])
def test_a_cell_with_more_entries_than_listed_says_how_many_and_downloads_them_all(app_db, deferred, monkeypatch, dims):
    """At a programme's scale a cell holds thousands of entries: its count is the cell's, not the
    length of the list, and the download has every one of them (#6)."""
    from pages import _ui

    monkeypatch.setattr(_ui, "CELL_ROWS", 2)
    at = AppTest.from_function(_the_fullest_cell, default_timeout=60)
    at.session_state["dims"] = dims
    at.run()
    assert not at.exception, at.exception
    row_key, col_key, count = at.session_state["fullest"]
    assert count > 2
    assert any(f": {count} entries" in m.value for m in at.markdown)
    assert any("The latest 2 are listed below" in c.value and f"download all {count}" in c.value for c in at.caption)
    assert len(at.dataframe[0].value) == 2
    rows = list(csv.DictReader(io.StringIO(deferred[f"entries-{row_key}-{col_key}.csv"]().decode("utf-8-sig"))))
    assert len(rows) == count
    field = {"partnership": "partnership", "typology": "typology", "mechanism": "mechanisms"}
    for dimension, label in zip(dims, at.session_state["labels"], strict=True):  # the file has labels
        assert all(label in [v.strip() for v in row[field[dimension]].split(";")] for row in rows), (dimension, label)


def test_a_cell_listed_whole_offers_no_extra_download(app_db, deferred):
    at = AppTest.from_function(_the_fullest_cell, default_timeout=60).run()
    assert not at.exception, at.exception
    _, _, count = at.session_state["fullest"]
    assert any(f": {count} entries" in m.value for m in at.markdown)
    assert len(at.dataframe[0].value) == count
    assert not [b for b in at.get("download_button") if "entries (CSV)" in b.proto.label]


def test_a_cell_with_more_entries_than_a_download_holds_says_so(app_db, deferred, monkeypatch):
    from pages import _ui

    monkeypatch.setattr(_ui, "CELL_ROWS", 2)
    monkeypatch.setenv("TRACKER_MAX_EXPORT_ROWS", "3")
    at = AppTest.from_function(_the_fullest_cell, default_timeout=60).run()
    assert not at.exception, at.exception
    _, _, count = at.session_state["fullest"]
    assert any(f"{count} entries match: more than the 3 one download" in w.value for w in at.warning)
    assert not [b for b in at.get("download_button") if "entries (CSV)" in b.proto.label]
    assert len(at.dataframe[0].value) == 2  # the list is still there


def test_table_csv_keeps_negative_numbers_as_numbers(store, write_file):
    """A heatmap's milestones − setbacks below zero is a number in the chart's CSV, not the text
    "'-1": only text can be a formula, so numbers are written as they are."""
    rows = [valid_row(id="s1", kind="setback", title="-cut"), valid_row(id="s2", kind="setback")]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    cells = queries.heatmap(store, Filters(), "partnership", "typology")
    cells = cells[cells["count"] > 0]
    data = render.table_csv(cells, {"row": "Partnership", "net": "Milestones − setbacks", "share": "Share"})
    assert data.decode("utf-8-sig").splitlines()[1:] == ["VOICES,-2,1.0"]
    assert render.table_csv(pd.DataFrame({"v": [-0.5, "-cut"]})).decode("utf-8-sig").splitlines()[1:] == [
        "-0.5",
        "'-cut",
    ]


def _label_lines(root: ET.Element) -> dict[str, tuple[int, float]]:
    """Each text of the drawing, its lines joined by a space: how many lines it has (Vega draws a
    label given as an array of strings as one text of a tspan a line) and where its first line is
    set (y)."""
    texts: dict[str, tuple[int, float]] = {}
    for element in root.iter("{http://www.w3.org/2000/svg}text"):
        parts = [part.strip() for part in element.itertext() if part.strip()]
        at = re.search(r"translate\([^,]+,([^)]+)\)", element.get("transform", ""))
        lines = max(1, len(list(element.iter("{http://www.w3.org/2000/svg}tspan"))))
        texts[" ".join(parts)] = (lines, float(at.group(1)) if at else math.nan)
    return texts


def test_long_area_names_are_drawn_in_full_on_two_lines(demo):
    """A projector shows "Fulfilling Lives Lambeth, Southwark and Lewisham", not "… and Lewi…": the
    timeline's lanes, the heatmap's rows and the legacy bars break a long name onto two lines."""
    points, binned = queries.timeline(demo, Filters(), "partnership")
    cells = queries.heatmap(demo, Filters(), "partnership", "typology")
    counts = queries.structure_status_counts(demo)
    drawn = {
        "timeline": (
            charts.timeline(points, None, lane_title="Partnership", typologies=[], binned=binned),
            set(points["lane"]),
        ),
        "heatmap": (charts.heatmap(cells, "count", "Partnership", "Typology"), set(cells["row"])),
        "legacy": (
            charts.legacy_status_bar(counts, statuses=["Continuing", "Hosted elsewhere", "Decommissioned"]),
            set(counts["partnership"]),
        ),
    }
    for name, (chart, areas) in drawn.items():
        texts = _label_lines(svg_root(render.svg(chart)))
        long = {area for area in areas if len(area) > charts.LINE_CHARS}
        assert "Fulfilling Lives Lambeth, Southwark and Lewisham" in long, name
        assert not [text for text in texts if text.endswith("…")], name  # nothing cut
        for area in areas:
            assert area in texts, (name, area, sorted(texts))
            assert texts[area][0] == (2 if area in long else 1), (name, area)
        # Each label centred on its band: a two-line label's first line half a line above a one-line
        # label's, so that the bands' middles are evenly spaced (Vega alone puts the first line there)
        middles = [texts[area][1] + (charts.LABEL_SIZE + 1) / 2 * (area in long) for area in sorted(areas)]
        steps = [b - a for a, b in itertools.pairwise(middles)]
        assert max(steps) - min(steps) <= 2, (name, steps)  # Vega rounds each offset to a pixel


def test_a_long_name_with_quotes_and_accents_is_drawn_as_written():
    """The long names are written into the chart's label expression: quotes, a backslash, accents and
    an object's own property names come out as typed, and a short name beside them on one line."""
    names = [
        'St Mary\'s "Housing First" Partnership \\ Wrexham and Flintshire',
        "Réseau d’accueil Île-de-France pour les personnes sans abri",
        "__proto__ toString valueOf and constructor words",
        "Short name",
    ]
    counts = pd.DataFrame(
        {"partnership": names, "status": ["Continuing"] * 4, "structures": [1, 2, 3, 4], "status_order": [1] * 4}
    )
    texts = _label_lines(svg_root(render.svg(charts.legacy_status_bar(counts, statuses=["Continuing"]))))
    for name in names:
        assert name in texts, (name, sorted(texts))
        assert texts[name][0] == (2 if len(name) > charts.LINE_CHARS else 1), name


def test_a_structures_lane_puts_its_partnership_on_one_line_and_its_name_on_the_next(demo):
    points, binned = queries.timeline(demo, Filters(), "structure")
    chart = charts.timeline(points, queries.status_segments(demo), lane_title="Structure", typologies=[], binned=binned)
    root = svg_root(render.svg(chart))
    drawn = [
        [line.text for line in text.iter("{http://www.w3.org/2000/svg}tspan")]
        for text in root.iter("{http://www.w3.org/2000/svg}text")
    ]
    # (a lane whose partnership or structure is longer than a line is broken where the lines are
    # most even, and cut at the line's width: the tooltip and the table have it whole)
    lanes = [
        lane
        for lane in dict.fromkeys(points["lane"])
        if len(lane) > charts.LINE_CHARS and max(len(part) for part in lane.split(" · ")) <= 38
    ]
    assert "Blackpool Fulfilling Lives · Multiple Disadvantage Accreditation" in lanes and len(lanes) >= 10
    for lane in lanes:
        partnership, structure = lane.split(" · ")
        assert [f"{partnership} ·", structure] in drawn, (lane, [d for d in drawn if d])


@pytest.mark.parametrize("lanes", ["partnership", "structure"])
def test_outside_events_are_named_above_the_plot_clear_of_the_lanes(demo, lanes):
    """ "COVID-19 lockdown" was written inside the plot's top edge, over the first lane's status label
    and the dashed line of a one-day event; the outside events' names now sit in a strip above it."""
    from tracker import context

    points, binned = queries.timeline(demo, Filters(), lanes)
    bands = queries.status_segments(demo) if lanes == "structure" else None
    events = context.bands(demo.vocab())
    chart = charts.timeline(points, bands, lane_title=lanes.title(), typologies=[], binned=binned, context=events)
    texts = _label_lines(svg_root(render.svg(chart, width=1000)))
    named = [label for label in events["label"] if label in texts]
    assert len(named) >= 2, sorted(texts)  # at 1,000 px: Austerity, COVID-19 lockdown…
    for label in named:
        assert texts[label][1] < 0, (label, texts[label])  # above the plot's top edge (y = 0)
