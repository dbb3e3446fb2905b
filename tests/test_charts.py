"""Chart builders, checked on the Vega-Lite spec they produce.

No browser and no Streamlit: each test builds a small DataFrame by hand, in the
shape the SQL layer hands over, and asserts on concrete values in
``chart.to_dict()`` — encodings, scales, labels, the rows shipped — so that a
broken feature fails here rather than on a projector in a funders' meeting.
Filters are evaluated with a tiny interpreter for the few Vega expressions the
builders use, to check which rows each layer actually draws.
"""

from __future__ import annotations

import re
from typing import Any

import altair as alt
import pandas as pd
import pyarrow as pa
import pytest

from tracker import charts
from tracker.charts import KIND_SHAPES, MAX_ROWS, STATUS_COLOURS, TYPOLOGY_PALETTE

TYPOLOGIES = [
    "Approaches to coordinating support",
    "Infrastructure, pathways and processes",
    "Culture and values",
]
STATUSES = ["Continuing", "Hosted elsewhere", "Decommissioned", "Not recorded"]


# --- helpers ----------------------------------------------------------------------------------


def spec_of(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec, validated against the schema."""
    return chart.to_dict(validate=True)


def rows_of(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    """The data rows a layer reads (its own data, or the data it inherits from the top level)."""
    data = layer.get("data") or spec["data"]
    return spec["datasets"][data["name"]]


def vega_test(expression: str, datum: dict[str, Any]) -> bool:
    """Evaluate the small subset of Vega expressions used in the builders' filters."""
    python = expression.replace("===", "==").replace("!==", "!=").replace("&&", " and ").replace("||", " or ")
    python = re.sub(r"!\s*\(", " not (", python)
    python = re.sub(r"datum\.(\w+)", r"datum.get('\1')", python)
    return bool(eval(python, {"datum": datum, "isValid": lambda v: v is not None and v == v}))


def drawn(spec: dict[str, Any], layer: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows that survive a layer's filter transforms."""
    rows = rows_of(spec, layer)
    for step in layer.get("transform", []):
        if "filter" in step:
            rows = [row for row in rows if vega_test(step["filter"], row)]
    return rows


def layer_where(spec: dict[str, Any], mark: str, **fields: str) -> dict[str, Any]:
    """The one layer with this mark type whose encodings use these fields, e.g. ``x="start"``."""
    found = [
        layer
        for layer in spec["layer"]
        if layer["mark"]["type"] == mark
        and all(layer["encoding"].get(channel, {}).get("field") == field for channel, field in fields.items())
    ]
    assert len(found) == 1, f"expected one {mark} layer with {fields}, found {len(found)}"
    return found[0]


def tooltip_titles(layer: dict[str, Any]) -> dict[str, str]:
    return {item["field"]: item.get("title", item["field"]) for item in layer["encoding"]["tooltip"]}


def walk(node: Any):
    """Every dict inside a spec."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for item in node:
            yield from walk(item)


# --- sample data in the SQL layer's shapes ------------------------------------------------------


def cells(count: list[int] | None = None, net: list[int] | None = None) -> pd.DataFrame:
    """A complete 2 × 2 grid, deliberately not in display order."""
    counts = count or [1, 3, 0, 4]
    nets = net or [1, 3, -2, 0]
    rows = [
        ("Zeta partnership", 0, "zeta", "Culture and values", 1, "culture"),
        ("Zeta partnership", 0, "zeta", "Approaches to coordinating support", 0, "coordinating"),
        ("Alpha partnership", 1, "alpha", "Culture and values", 1, "culture"),
        ("Alpha partnership", 1, "alpha", "Approaches to coordinating support", 0, "coordinating"),
    ]
    frame = pd.DataFrame(rows, columns=["row", "row_order", "row_key", "col", "col_order", "col_key"])
    frame["count"] = counts
    frame["total"] = frame.groupby("row")["count"].transform("sum")
    frame["share"] = frame["count"] / frame["total"].where(frame["total"] > 0, 1)
    frame["net"] = nets
    return frame


def points() -> pd.DataFrame:
    """One entry of each precision in one lane, one day entry in a second lane (listed first)."""
    frame = pd.DataFrame(
        [
            ("B lane", 2, "d2", "Set up hub", "2020-03-15", "day", "2020-03-15", "2020-03-16", "milestone"),
            ("A lane", 1, "y1", "MaRG set up", "2019", "year", "2019-01-01", "2020-01-01", "milestone"),
            ("A lane", 1, "m1", "Funding cut", "2019-06", "month", "2019-06-01", "2019-07-01", "setback"),
            (
                "A lane",
                1,
                "d1",
                "Protocol signed",
                "2019-06-30",
                "day",
                "2019-06-30",
                "2019-07-01",
                "milestone",
            ),
        ],
        columns=["lane", "lane_order", "id", "title", "date_text", "precision", "start", "end", "kind"],
    )
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    frame["typology"] = [TYPOLOGIES[0], TYPOLOGIES[1], TYPOLOGIES[2], TYPOLOGIES[0]]
    frame["status"] = ["Continuing", None, float("nan"), "Hosted elsewhere"]
    frame["mechanisms"] = ["Flexibility; Personal relationships", None, "", "Leadership"]
    frame["source"] = [None, "Annual report", None, None]
    frame["partnership"] = ["Bravo", "Alpha", "Alpha", "Alpha"]
    frame["structure"] = [None, "MaRG", None, "Hub"]
    return frame


def segments() -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            ("A lane", 1, "2018-04-01", "2021-04-01", "Continuing", "Continuing — programme funded"),
            (
                "A lane",
                1,
                "2021-04-01",
                None,
                "Hosted elsewhere",
                "Hosted elsewhere — Stoke-on-Trent City Council",
            ),
            ("C lane", 3, "2018-01-01", "2019-01-01", "Decommissioned", None),
        ],
        columns=["lane", "lane_order", "start", "end", "status", "label"],
    )
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def binned_points() -> pd.DataFrame:
    frame = pd.DataFrame(
        [
            ("A lane", 1, "2019-06-01", "2019-07-01", "milestone", TYPOLOGIES[0], 12),
            ("A lane", 1, "2019-06-01", "2019-07-01", "setback", TYPOLOGIES[1], 3),
        ],
        columns=["lane", "lane_order", "start", "end", "kind", "typology", "count"],
    )
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def status_counts() -> pd.DataFrame:
    return pd.DataFrame(
        [
            ("VOICES", "Decommissioned", 1),
            ("VOICES", "Continuing", 3),
            ("VOICES", "Hosted elsewhere", 2),
            ("VOICES", "Not recorded", 1),
            ("Bridge", "Continuing", 2),
            ("Bridge", "Hosted elsewhere", 0),
            ("Bridge", None, 1),
        ],
        columns=["partnership", "status", "structures"],
    )


def year_counts() -> pd.DataFrame:
    return pd.DataFrame(
        [(2019, "milestone", 4), (2019, "setback", 1), (2020, "milestone", 7), (2020, "setback", 0)],
        columns=["year", "kind", "entries"],
    )


def all_charts() -> dict[str, alt.TopLevelMixin]:
    return {
        "heatmap": charts.heatmap(cells(), "count", "Partnership", "Typology"),
        "timeline": charts.timeline(points(), segments(), lane_title="Partnership", typologies=TYPOLOGIES),
        "binned": charts.timeline(binned_points(), None, lane_title="Partnership", typologies=TYPOLOGIES, binned=True),
        "legacy": charts.legacy_status_bar(status_counts(), statuses=STATUSES),
        "years": charts.year_bars(year_counts()),
    }


# --- heatmap ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("metric", "scheme", "domain", "labels"),
    [
        ("count", "blues", [0, 4.0], ["1", "3", "0", "4"]),
        ("share", "blues", [0, 1.0], ["25%", "75%", "0%", "100%"]),
        ("net", "blueorange", [-3.0, 3.0], ["+1", "+3", "−2", "0"]),
    ],
)
def test_heatmap_colours_and_labels_follow_the_metric(metric, scheme, domain, labels):
    spec = spec_of(charts.heatmap(cells(), metric, "Partnership", "Typology"))
    rect = layer_where(spec, "rect")
    colour = rect["encoding"]["color"]
    assert colour["field"] == metric
    assert colour["type"] == "quantitative"
    assert colour["scale"]["scheme"] == scheme
    assert colour["scale"]["domain"] == domain
    if metric == "net":
        assert colour["scale"]["domainMid"] == 0
        assert colour["scale"]["reverse"] is True  # positive (more milestones) in blue, like the year bars

    text = layer_where(spec, "text")
    assert text["encoding"]["text"]["field"] == "label"
    assert [row["label"] for row in rows_of(spec, text)] == labels


def test_heatmap_text_colour_switches_at_sixty_percent_of_the_largest_value():
    spec = spec_of(charts.heatmap(cells([1, 10, 0, 4]), "count", "Partnership", "Typology"))
    colour = layer_where(spec, "text")["encoding"]["color"]
    tests = [condition["test"] for condition in colour["condition"]]
    assert tests[0] == "abs(datum['count']) > 6.0"
    assert colour["condition"][0]["value"] == "#FFFFFF"
    assert colour["value"] == "#111111"
    assert "datum['count'] == 0" in tests  # zeros are muted, not shouting


def test_heatmap_net_scale_is_symmetric_around_zero():
    frame = cells()
    frame["net"] = [5, -1, 0, 2]
    colour = layer_where(spec_of(charts.heatmap(frame, "net", "P", "T")), "rect")["encoding"]["color"]
    assert colour["scale"]["domain"] == [-5.0, 5.0]


def test_heatmap_has_the_cell_selection_on_row_and_column_keys():
    spec = spec_of(charts.heatmap(cells(), "count", "Partnership", "Typology"))
    (param,) = spec["params"]
    assert param["name"] == "cell"
    assert param["select"]["type"] == "point"
    assert param["select"]["fields"] == ["row_key", "col_key"]
    rect = layer_where(spec, "rect")
    stroke_width = rect["encoding"]["strokeWidth"]
    assert stroke_width["condition"] == [{"param": "cell", "empty": False, "value": 4}]
    assert rect["encoding"]["stroke"]["condition"] == [{"param": "cell", "empty": False, "value": "#000000"}]


def test_heatmap_sorts_rows_and_columns_by_their_order_not_alphabetically():
    spec = spec_of(charts.heatmap(cells(), "count", "Partnership", "Typology"))
    encoding = layer_where(spec, "rect")["encoding"]
    assert encoding["y"]["sort"] == ["Zeta partnership", "Alpha partnership"]
    assert encoding["x"]["sort"] == ["Approaches to coordinating support", "Culture and values"]


def test_heatmap_axes_titles_and_readable_column_labels():
    encoding = layer_where(spec_of(charts.heatmap(cells(), "count", "Partnership", "Typology")), "rect")["encoding"]
    assert encoding["y"]["axis"]["title"] == "Partnership"
    assert encoding["x"]["title"] == "Typology"
    assert encoding["x"]["axis"]["labelAngle"] == -35
    assert encoding["x"]["axis"]["labelOverlap"] is False  # no label silently dropped
    assert encoding["x"]["axis"]["labelLimit"] >= len("Infrastructure, pathways and processes") * 7


def test_heatmap_tooltip_shows_the_cell_in_full():
    rect = layer_where(spec_of(charts.heatmap(cells(), "count", "Partnership", "Typology")), "rect")
    titles = tooltip_titles(rect)
    assert titles["row"] == "Partnership"
    assert titles["col"] == "Typology"
    assert {"count", "share", "net_text", "total"} <= set(titles)
    share = next(item for item in rect["encoding"]["tooltip"] if item["field"] == "share")
    assert share["format"] == ".0%"


def test_heatmap_size_grows_with_rows_and_columns():
    small = spec_of(charts.heatmap(cells(), "count", "P", "T"))
    assert small["height"] == 2 * 42
    many = pd.concat([cells().assign(row=lambda f, i=i: f["row"] + str(i), row_order=i) for i in range(5)])
    assert spec_of(charts.heatmap(many, "count", "P", "T"))["height"] == 10 * 42
    assert small["autosize"] == {"type": "fit-x", "contains": "padding"}


def test_compact_heatmap_drops_labels_only_on_big_grids():
    small = spec_of(charts.heatmap(cells(), "count", "P", "T", compact=True))
    assert [layer["mark"]["type"] for layer in small["layer"]] == ["rect", "text"]
    assert small["height"] < spec_of(charts.heatmap(cells(), "count", "P", "T"))["height"]

    grid = pd.DataFrame(
        [
            {
                "row": f"Row {r}",
                "row_order": r,
                "row_key": f"r{r}",
                "col": f"Col {c}",
                "col_order": c,
                "col_key": f"c{c}",
                "count": r + c,
                "share": 0.1,
                "net": 0,
                "total": 10,
            }
            for r in range(16)
            for c in range(10)
        ]
    )
    big = spec_of(charts.heatmap(grid, "count", "P", "T", compact=True))
    assert [layer["mark"]["type"] for layer in big["layer"]] == ["rect"]
    assert big["params"][0]["name"] == "cell"


def test_heatmap_rejects_an_unknown_metric():
    with pytest.raises(ValueError, match="metric"):
        charts.heatmap(cells(), "mean", "P", "T")


def test_heatmap_rejects_missing_columns():
    with pytest.raises(ValueError, match="row_key"):
        charts.heatmap(cells().drop(columns="row_key"), "count", "P", "T")


# --- timeline ---------------------------------------------------------------------------------


def test_day_entries_are_points_at_their_date():
    spec = spec_of(charts.timeline(points(), None, lane_title="Partnership", typologies=TYPOLOGIES))
    day = layer_where(spec, "point", x="start")
    assert "x2" not in day["encoding"]
    assert day["encoding"]["x"]["type"] == "temporal"
    assert sorted(row["id"] for row in drawn(spec, day)) == ["d1", "d2"]


def test_year_and_month_entries_are_spans_over_the_whole_period():
    spec = spec_of(charts.timeline(points(), None, lane_title="Partnership", typologies=TYPOLOGIES))
    span = layer_where(spec, "bar", x="start")
    assert span["encoding"]["x2"]["field"] == "end"
    rows = {row["id"]: row for row in drawn(spec, span)}
    assert sorted(rows) == ["m1", "y1"]
    # "2019" covers 1 January 2019 up to (not including) 1 January 2020: never a point on 1 January.
    assert (rows["y1"]["start"], rows["y1"]["end"]) == ("2019-01-01T00:00:00", "2020-01-01T00:00:00")
    assert (rows["m1"]["start"], rows["m1"]["end"]) == ("2019-06-01T00:00:00", "2019-07-01T00:00:00")
    assert span["mark"]["height"] <= 12


def test_spans_carry_the_kind_shape_at_their_midpoint():
    spec = spec_of(charts.timeline(points(), None, lane_title="Partnership", typologies=TYPOLOGIES))
    centre = layer_where(spec, "point", x="mid")
    assert {"calculate": "(time(datum.start) + time(datum.end)) / 2", "as": "mid"} in centre["transform"]
    assert sorted(row["id"] for row in drawn(spec, centre)) == ["m1", "y1"]
    assert centre["encoding"]["shape"]["field"] == "kind"


def test_kind_is_a_shape_and_typology_a_stable_colour():
    spec = spec_of(charts.timeline(points(), None, lane_title="Partnership", typologies=TYPOLOGIES))
    for layer in spec["layer"]:
        colour = layer["encoding"]["color"]
        assert colour["field"] == "typology"
        assert colour["scale"]["domain"] == TYPOLOGIES
        assert colour["scale"]["range"] == TYPOLOGY_PALETTE[:3]
        assert colour["legend"]["title"] == "Typology"
    shape = layer_where(spec, "point", x="start")["encoding"]["shape"]
    assert shape["field"] == "kind"
    assert shape["scale"] == {"domain": list(KIND_SHAPES), "range": list(KIND_SHAPES.values())}
    assert shape["legend"]["title"] == "Kind"


def test_typology_colours_cycle_when_there_are_more_than_eight():
    many = [f"Typology {i}" for i in range(10)]
    spec = spec_of(charts.timeline(points().assign(typology=many[6:]), None, lane_title="P", typologies=many))
    scale = spec["layer"][0]["encoding"]["color"]["scale"]
    assert scale["domain"] == many
    assert scale["range"] == [*TYPOLOGY_PALETTE, *TYPOLOGY_PALETTE[:2]]


def test_timeline_tooltip_shows_the_date_as_entered():
    spec = spec_of(charts.timeline(points(), None, lane_title="Partnership", typologies=TYPOLOGIES))
    for layer in spec["layer"]:
        titles = tooltip_titles(layer)
        assert titles["date_text"] == "Date"
        assert {
            "title",
            "partnership",
            "structure",
            "typology",
            "kind",
            "status",
            "mechanisms",
            "source",
        } <= set(titles)


def test_timeline_missing_optional_values_read_as_a_dash_or_not_recorded():
    spec = spec_of(charts.timeline(points(), None, lane_title="P", typologies=TYPOLOGIES))
    rows = {row["id"]: row for row in rows_of(spec, spec["layer"][0])}
    assert rows["y1"]["status"] == "Not recorded"
    assert rows["m1"]["status"] == "Not recorded"  # NaN
    assert rows["m1"]["mechanisms"] == "—"  # blank string
    assert rows["d2"]["structure"] == "—"
    assert rows["y1"]["source"] == "Annual report"


def test_timeline_lanes_follow_lane_order_and_height_follows_lanes():
    spec = spec_of(charts.timeline(points(), segments(), lane_title="Partnership", typologies=TYPOLOGIES))
    y = spec["layer"][0]["encoding"]["y"]
    assert y["sort"] == ["A lane", "B lane", "C lane"]  # C lane has a status segment only
    assert y["axis"]["title"] == "Partnership"
    assert y["axis"]["labelLimit"] >= 260
    assert spec["height"] == max(200, 34 * 3)
    assert spec["width"] == "container"
    assert "title" not in spec


def test_status_segments_are_faint_bands_labelled_in_text():
    spec = spec_of(charts.timeline(points(), segments(), lane_title="P", typologies=TYPOLOGIES))
    band = layer_where(spec, "bar", x="seg_start")
    assert band["mark"]["height"] == 26
    assert band["mark"]["fillOpacity"] == pytest.approx(0.35)
    assert band["encoding"]["color"] == {"field": "colour", "type": "nominal", "scale": None}
    rows = rows_of(spec, band)
    assert [row["colour"] for row in rows] == [
        STATUS_COLOURS["Continuing"],
        STATUS_COLOURS["Hosted elsewhere"],
        STATUS_COLOURS["Decommissioned"],
    ]
    words = layer_where(spec, "text", x="seg_start")
    assert words["encoding"]["text"]["field"] == "label"
    assert words["mark"]["align"] == "left"
    assert [row["label"] for row in rows_of(spec, words)] == [
        "Continuing — programme funded",
        "Hosted elsewhere — Stoke-on-Trent City Council",
        "Decommissioned",  # no label given: the status itself is written
    ]
    assert set(tooltip_titles(band).values()) == {"Status", "Detail", "From", "To"}
    # Bands come first, so they sit behind the entries.
    assert spec["layer"].index(band) < spec["layer"].index(layer_where(spec, "point", x="start"))


def test_binned_timeline_sizes_marks_by_count():
    spec = spec_of(charts.timeline(binned_points(), None, lane_title="Partnership", typologies=TYPOLOGIES, binned=True))
    (layer,) = spec["layer"]
    encoding = layer["encoding"]
    assert layer["mark"]["type"] == "point"
    assert encoding["size"]["field"] == "count"
    assert encoding["shape"]["field"] == "kind"
    assert encoding["color"]["scale"]["domain"] == TYPOLOGIES
    assert encoding["x"]["field"] == "mid"
    assert {"calculate": "(time(datum.start) + time(datum.end)) / 2", "as": "mid"} in layer["transform"]
    assert set(tooltip_titles(layer)) == {"lane", "period", "kind", "typology", "count"}
    assert charts.spec_rows(
        charts.timeline(binned_points(), None, lane_title="P", typologies=TYPOLOGIES, binned=True)
    ) == len(binned_points())


def year_binned_points() -> pd.DataFrame:
    """Counts summed into years, typologies rolled up, as ``queries.timeline`` gives them when even
    the months of every typology are more rows than a chart may ship."""
    frame = pd.DataFrame(
        [
            ("A lane", 1, "2019-01-01", "2020-01-01", "milestone", "(several)", 240),
            ("A lane", 1, "2020-01-01", "2021-01-01", "setback", "(several)", 31),
        ],
        columns=["lane", "lane_order", "start", "end", "kind", "typology", "count"],
    )
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


def test_binned_timeline_tooltip_names_a_year_bin_as_a_year_not_its_first_month():
    """A year's count must not read "Month: January 2019" in the tooltip."""
    spec = spec_of(
        charts.timeline(year_binned_points(), None, lane_title="Partnership", typologies=TYPOLOGIES, binned=True)
    )
    (layer,) = spec["layer"]
    period = next(item for item in layer["encoding"]["tooltip"] if item["title"] in ("Month", "Year", "Period"))
    assert period["title"] == "Year"
    assert [row[period["field"]] for row in rows_of(spec, layer)] == ["2019", "2020"]

    months = spec_of(charts.timeline(binned_points(), None, lane_title="P", typologies=TYPOLOGIES, binned=True))
    (layer,) = months["layer"]
    period = next(item for item in layer["encoding"]["tooltip"] if item["title"] in ("Month", "Year", "Period"))
    assert period["title"] == "Month"
    assert [row[period["field"]] for row in rows_of(months, layer)] == ["June 2019", "June 2019"]


def test_binned_timeline_colours_typologies_rolled_up_as_several():
    """A value outside an ordinal scale's domain gets no colour in Vega: the filled marks were drawn
    without a fill, white outlines on white, and the timeline looked empty."""
    spec = spec_of(
        charts.timeline(year_binned_points(), None, lane_title="Partnership", typologies=TYPOLOGIES, binned=True)
    )
    (layer,) = spec["layer"]
    scale = layer["encoding"]["color"]["scale"]
    assert scale["domain"][: len(TYPOLOGIES)] == TYPOLOGIES  # the typologies keep their colours
    assert "(several)" in scale["domain"]
    colour = scale["range"][scale["domain"].index("(several)")]
    assert colour not in scale["range"][: len(TYPOLOGIES)]  # not mistaken for a typology
    assert colour.upper() != "#FFFFFF"


# --- legacy status bar ------------------------------------------------------------------------


def test_legacy_bar_colours_follow_statuses_order():
    spec = spec_of(charts.legacy_status_bar(status_counts(), statuses=STATUSES))
    bar = layer_where(spec, "bar")
    colour = bar["encoding"]["color"]
    assert colour["field"] == "status"
    assert colour["scale"]["domain"] == STATUSES
    assert colour["scale"]["range"] == [STATUS_COLOURS[status] for status in STATUSES]
    assert colour["legend"]["title"] == "Current status"
    stack = next(step for step in bar["transform"] if "stack" in step)
    assert stack["sort"] == [{"field": "status_order"}]
    order = {row["status"]: row["status_order"] for row in rows_of(spec, bar)}
    assert order == {status: index for index, status in enumerate(STATUSES)}


def test_legacy_bar_writes_the_status_in_each_segment():
    spec = spec_of(charts.legacy_status_bar(status_counts(), statuses=STATUSES))
    words = layer_where(spec, "text")
    assert words["encoding"]["text"]["field"] == "shown"
    shown = next(step for step in words["transform"] if step.get("as") == "shown")
    assert "datum.label" in shown["calculate"]
    labels = [row["label"] for row in rows_of(spec, words)]
    assert labels == ["1 decomm.", "3 continuing", "2 hosted", "1 not rec.", "2 continuing", "", "1 not rec."]


def test_legacy_bar_one_bar_per_partnership_sorted_by_name():
    spec = spec_of(charts.legacy_status_bar(status_counts(), statuses=STATUSES))
    bar = layer_where(spec, "bar")
    assert bar["encoding"]["y"]["sort"] == ["Bridge", "VOICES"]
    assert bar["encoding"]["x"]["title"] == "Structures"
    assert set(tooltip_titles(bar)) == {"partnership", "status", "structures"}


def test_counts_are_written_with_thousands_separators():
    """At a programme's scale a segment holds 12,345 structures: read on a projector, not "12345"."""
    big = status_counts().assign(structures=[1, 12345, 2, 1, 2, 0, 1])
    spec = spec_of(charts.legacy_status_bar(big, statuses=STATUSES))
    words = layer_where(spec, "text")
    labels = [row["label"] for row in rows_of(spec, words)]
    numbers = [row["number"] for row in rows_of(spec, words)]
    assert "12,345 continuing" in labels and "12,345" in numbers
    bar = layer_where(spec, "bar")
    assert bar["encoding"]["x"]["axis"]["format"] == ",d"
    grid = cells([1234, 0, 3, 45678], [1500, -2000, 0, 3])
    heat = spec_of(charts.heatmap(grid, "count", "P", "T"))
    text = layer_where(heat, "text")
    assert [row["label"] for row in rows_of(heat, text)] == ["1,234", "0", "3", "45,678"]
    assert [row["net_text"] for row in rows_of(heat, text)] == ["+1,500", "−2,000", "0", "+3"]
    assert {t["format"] for t in layer_where(heat, "rect")["encoding"]["tooltip"] if t["type"] == "quantitative"} == {
        ",d",
        ".0%",
    }


# --- year bars --------------------------------------------------------------------------------


def test_year_bars_mirror_setbacks_below_zero_with_numbers_on_bars():
    spec = spec_of(charts.year_bars(year_counts()))
    bar = layer_where(spec, "bar")
    assert bar["encoding"]["x"] == {**bar["encoding"]["x"], "field": "year", "type": "ordinal"}
    assert bar["encoding"]["y"]["field"] == "signed"
    assert {"calculate": "datum.kind === 'setback' ? -datum.entries : datum.entries", "as": "signed"} in bar[
        "transform"
    ]
    colour = bar["encoding"]["color"]
    assert colour["scale"] == {"domain": ["milestone", "setback"], "range": ["#0072B2", "#D55E00"]}
    assert colour["legend"]["title"] == "Kind"

    texts = [layer for layer in spec["layer"] if layer["mark"]["type"] == "text"]
    assert {layer["encoding"]["text"]["field"] for layer in texts} == {"entries"}
    labelled = sorted((row["year"], row["kind"]) for layer in texts for row in drawn(spec, layer))
    # Every non-empty bar carries its number; an empty one carries no stray "0".
    assert labelled == [(2019, "milestone"), (2019, "setback"), (2020, "milestone")]


# --- all builders -----------------------------------------------------------------------------


def test_spec_rows_counts_exactly_the_input_rows():
    assert charts.spec_rows(charts.heatmap(cells(), "share", "P", "T")) == 4
    assert charts.spec_rows(charts.timeline(points(), None, lane_title="P", typologies=TYPOLOGIES)) == 4
    assert charts.spec_rows(charts.timeline(points(), segments(), lane_title="P", typologies=TYPOLOGIES)) == 7
    assert charts.spec_rows(charts.legacy_status_bar(status_counts(), statuses=STATUSES)) == 7
    assert charts.spec_rows(charts.year_bars(year_counts())) == 4


def test_spec_rows_also_counts_inline_values():
    chart = alt.Chart(alt.Data(values=[{"a": 1}, {"a": 2}])).mark_point().encode(x="a:Q")
    assert charts.spec_rows(chart) == 2


def _too_many(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.concat([frame] * (MAX_ROWS // len(frame) + 1), ignore_index=True)


@pytest.mark.parametrize(
    "build",
    [
        lambda: charts.heatmap(_too_many(cells()), "count", "P", "T"),
        lambda: charts.timeline(_too_many(points()), None, lane_title="P", typologies=TYPOLOGIES),
        lambda: charts.timeline(_too_many(binned_points()), None, lane_title="P", typologies=TYPOLOGIES, binned=True),
        lambda: charts.legacy_status_bar(_too_many(status_counts()), statuses=STATUSES),
        lambda: charts.year_bars(_too_many(year_counts())),
    ],
    ids=["heatmap", "timeline", "binned", "legacy", "years"],
)
def test_more_than_max_rows_is_refused(build):
    with pytest.raises(ValueError, match="5,000"):
        build()


def test_timeline_counts_points_and_segments_together_against_the_limit():
    many_points = pd.concat([points()] * 1000, ignore_index=True)  # 4,000 rows
    many_segments = pd.concat([segments()] * 400, ignore_index=True)  # 1,200 rows
    with pytest.raises(ValueError, match="5,200 rows"):
        charts.timeline(many_points, many_segments, lane_title="P", typologies=TYPOLOGIES)


def test_exactly_max_rows_is_allowed():
    frame = pd.DataFrame(
        {"year": range(MAX_ROWS), "kind": "milestone", "entries": 1},
    )
    assert charts.spec_rows(charts.year_bars(frame)) == MAX_ROWS


@pytest.mark.parametrize("empty", [None, pd.DataFrame()], ids=["none", "no-columns"])
def test_empty_input_gives_a_valid_chart_with_no_rows(empty):
    built = [
        charts.heatmap(empty, "net", "P", "T"),
        charts.heatmap(empty, "count", "P", "T", compact=True),
        charts.timeline(empty, empty, lane_title="P", typologies=TYPOLOGIES),
        charts.timeline(empty, None, lane_title="P", typologies=[], binned=True),
        charts.legacy_status_bar(empty, statuses=STATUSES),
        charts.year_bars(empty),
    ]
    for chart in built:
        spec = spec_of(chart)
        assert spec["layer"]
        assert charts.spec_rows(chart) == 0


def test_empty_frames_with_their_columns_give_valid_charts():
    built = [
        charts.heatmap(cells().iloc[0:0], "share", "P", "T"),
        charts.timeline(points().iloc[0:0], segments().iloc[0:0], lane_title="P", typologies=TYPOLOGIES),
        charts.legacy_status_bar(status_counts().iloc[0:0], statuses=STATUSES),
        charts.year_bars(year_counts().iloc[0:0]),
    ]
    for chart in built:
        spec_of(chart)
        assert charts.spec_rows(chart) == 0


@pytest.mark.parametrize("name", ["heatmap", "timeline", "binned", "legacy", "years"])
def test_text_is_projector_sized(name):
    spec = spec_of(all_charts()[name])
    label_sizes = [node["labelFontSize"] for node in walk(spec) if "labelFontSize" in node]
    title_sizes = [node["titleFontSize"] for node in walk(spec) if "titleFontSize" in node]
    assert label_sizes
    assert title_sizes
    assert min(label_sizes) >= 13
    assert min(title_sizes) >= 16
    # Explicit autosize, so that Streamlit's default ("fit") cannot squeeze the plot's height.
    assert spec["autosize"]["type"] == "fit-x"


def test_builders_are_pure_and_leave_the_input_alone():
    frame = points()
    before = frame.copy()
    charts.timeline(frame, None, lane_title="P", typologies=TYPOLOGIES)
    pd.testing.assert_frame_equal(frame, before)


def test_survival_curves_are_steps_with_censor_marks():
    from tracker.charts import survival_curves

    steps = pd.DataFrame(
        {
            "group": ["A", "A", "A", "B", "B"],
            "time": [0.0, 2.0, 5.0, 0.0, 3.0],
            "at_risk": [3, 3, 2, 2, 2],
            "events": [0, 1, 0, 0, 1],
            "censored": [0, 0, 1, 0, 0],
            "survival": [1.0, 2 / 3, 2 / 3, 1.0, 0.5],
        }
    )
    spec = survival_curves(steps).to_dict()
    line, marks, samples, labels = spec["layer"]
    assert line["mark"]["interpolate"] == "step-after"
    assert line["encoding"]["y"]["scale"]["domain"] == [0, 1]
    assert marks["mark"]["shape"] == "cross" and {"filter": "datum.censored > 0"} in marks["transform"]
    # Each group named right of the plot, level with its curve's end: A ends at 2/3, B at 1/2
    assert labels["mark"]["type"] == "text" and labels["encoding"]["text"]["field"] == "group"
    assert labels["mark"]["x"] == "width" and samples["mark"]["type"] == "rule"  # a piece of each line
    assert samples["mark"]["x"] == {"expr": "width + 4"} and samples["encoding"]["strokeDash"]["field"] == "group"
    ends = {row["group"]: row["survival"] for row in spec["datasets"][labels["data"]["name"]]}
    assert ends == {"A": pytest.approx(2 / 3), "B": 0.5}
    assert line["encoding"]["color"]["legend"] is None  # the names at the ends are the legend
    assert charts.spec_rows(survival_curves(steps)) == 5 + 2
    assert survival_curves(pd.DataFrame(columns=list(steps.columns))).to_dict()


def test_survival_names_at_close_ends_are_moved_apart_and_many_groups_get_a_legend():
    assert charts._spread([1.0, 1.0, 1.0, 2 / 3, 0.5, 0.0], 0.05) == pytest.approx([1.0, 0.95, 0.9, 2 / 3, 0.5, 0.0])
    assert charts._spread([0.02, 0.0, 0.0], 0.05) == pytest.approx([0.1, 0.05, 0.0])  # none under 0
    assert charts._spread([1.0] * 21, 0.05)[-1] == pytest.approx(0.0)  # 21 at the top fill the scale
    many = pd.DataFrame(
        {
            "group": [f"G{i:02}" for i in range(charts.END_LABELS_MAX + 1)],
            "time": 0.0,
            "at_risk": 1,
            "events": 0,
            "censored": 1,
            "survival": 1.0,
        }
    )
    spec = charts.survival_curves(many).to_dict()
    assert len(spec["layer"]) == 2 and spec["layer"][0]["encoding"]["color"]["legend"]["title"] == "Group"
    # Past the palette's eight colours the lines are dashed, then dotted: no two curves look the same
    line = spec["layer"][0]["encoding"]
    looks = list(zip(line["color"]["scale"]["range"], map(tuple, line["strokeDash"]["scale"]["range"]), strict=True))
    assert len(set(looks)) == len(many) and looks[0][1] == () and looks[8][1] != ()


def _two_entries(**columns: list) -> pd.DataFrame:
    """Two timeline points in lane "A" of partnership "P"; ``columns`` override the defaults."""
    return pd.DataFrame(
        {
            "lane": ["A", "A"],
            "lane_order": [1, 1],
            "id": ["e1", "e2"],
            "title": ["t1", "t2"],
            "kind": ["milestone", "milestone"],
            "status": [None, None],
            "mechanisms": [None, None],
            "source": [None, None],
            "partnership": ["P", "P"],
            "structure": [None, None],
            **columns,
        }
    )


def test_timeline_context_bands_are_clipped_to_the_entries_and_rings_mark_tagged_entries():
    points = _two_entries(
        date_text=["2020-04", "2019"],
        precision=["month", "year"],
        start=pd.to_datetime(["2020-04-01", "2019-01-01"]),
        end=pd.to_datetime(["2020-05-01", "2020-01-01"]),
        kind=["milestone", "setback"],
        typology=["Culture", "Leadership"],
        status=["Continuing", None],
        mechanisms=["COVID-19 pandemic; Flexibility", "Personal relationships"],
    )
    context = pd.DataFrame(
        {
            "label": ["Austerity", "COVID-19 lockdown", "ICSs statutory"],
            "start": pd.to_datetime(["2010-06-22", "2020-03-23", "2022-07-01"]),
            "end": pd.to_datetime(["2019-09-05", "2020-06-24", None]),
            "mechanism": ["Austerity", "COVID-19 pandemic", "Other related programmes"],
            "note": ["", "", ""],
            "point": [False, False, True],
        }
    )
    spec = charts.timeline(
        points, None, lane_title="Partnership", typologies=["Culture", "Leadership"], context=context
    ).to_dict()
    context_data = next(v for v in spec["datasets"].values() if v and "note" in v[0])
    labels = [row["label"] for row in context_data]
    assert labels == ["Austerity", "COVID-19 lockdown"]  # the 2022 event lies outside the entries' range
    assert context_data[0]["start"].startswith("2018-11")  # austerity clipped to the axis start
    rings = [layer for layer in spec["layer"] if layer.get("mark", {}).get("size") == 420]
    ring_rows = spec["datasets"][rings[0]["data"]["name"]]
    assert [row["mechanisms"] for row in ring_rows] == ["COVID-19 pandemic; Flexibility"]


def test_timeline_context_labels_are_written_only_where_they_fit_first_come_first_served():
    points = _two_entries(
        date_text=["2010", "2022"],
        precision=["year", "year"],
        start=pd.to_datetime(["2010-01-01", "2022-01-01"]),
        end=pd.to_datetime(["2011-01-01", "2023-01-01"]),
        typology=["Culture", "Culture"],
    )
    context = pd.DataFrame(
        {
            "label": ["Austerity", "COVID-19 lockdown", "Everyone In", "Third lockdown", "ICSs statutory"],
            "start": pd.to_datetime(["2012-06-22", "2020-03-23", "2020-03-26", "2021-01-06", "2022-07-01"]),
            "end": pd.to_datetime(["2019-09-05", "2020-06-24", None, "2021-03-08", None]),
            "mechanism": ["Austerity"] + ["COVID-19 pandemic"] * 3 + ["Other related programmes"],
            "note": [""] * 5,
            "point": [False, False, True, False, True],
        }
    )
    spec = charts.timeline(points, None, lane_title="Partnership", typologies=["Culture"], context=context).to_dict()
    rows = {r["label"]: r for r in next(v for v in spec["datasets"].values() if v and "room" in v[0])}
    low, high = pd.Timestamp("2009-11-02"), pd.Timestamp("2023-03-02")  # the entries' range ± 60 days

    def share(a: str, b: str | pd.Timestamp) -> float:
        return (pd.Timestamp(b) - pd.Timestamp(a)) / (high - low)

    # On a 480-pixel axis of 13.3 years "COVID-19 lockdown" needs 127 px, 3.5 years: "Everyone In"
    # (three days later), "Third lockdown" (9 months) and "ICSs statutory" (2.3 years) get no label.
    assert rows["Everyone In"]["room"] == rows["Third lockdown"]["room"] == rows["ICSs statutory"]["room"] == 0
    assert rows["Austerity"]["room"] == pytest.approx(share("2012-06-22", "2020-03-23"))
    assert rows["COVID-19 lockdown"]["room"] == pytest.approx(share("2020-03-23", high))  # up to the axis end
    (text,) = [layer for layer in spec["layer"] if layer.get("mark", {}).get("type") == "text"]
    fits = next(step["calculate"] for step in text["transform"] if step.get("as") == "shown")
    assert fits == "datum.room * width >= 7 * length(datum.label) + 8 ? datum.label : ''"
    assert text["encoding"]["text"]["field"] == "shown"


def test_pages_draw_the_spec_unchecked_and_unchanged():
    """Pages skip the schema check on every rerun (#6): the spec is the same, only not re-checked."""
    frame = pd.DataFrame({"x": ["a", "b"], "y": [1, 2]})
    chart = alt.Chart(frame).mark_bar().encode(x="x:N", y="y:Q")
    assert charts.unvalidated(chart).to_dict() == chart.to_dict(validate=True)
    broken = alt.Chart(frame).mark_bar().encode(x="x:N")
    broken["width"] = "wide"  # not a width Vega-Lite knows
    with pytest.raises(alt.utils.schemapi.SchemaValidationError):
        broken.to_dict(validate=True)
    assert charts.unvalidated(broken).to_dict()["width"] == "wide"


@pytest.mark.parametrize(
    "value",
    [
        "text",
        3,
        2.5,
        True,
        None,
        alt.X("x:Q"),
        alt.value(1),
        [1, "a"],
        {"a": 1},
        pd.Timestamp("2020-01-01"),
        pd.DataFrame({"a": [1]}),
        type("Schemaish", (), {"_schema": {"type": "object"}, "to_dict": lambda self: {}})(),
    ],
    ids=["text", "int", "float", "bool", "none", "channel", "value", "list", "dict", "timestamp", "frame", "schemaish"],
)
def test_the_quick_schema_like_check_answers_as_altairs_own(value):
    # tracker.charts answers Altair's SchemaLike check at once for plain values (#6)
    assert alt.utils.schemapi.SchemaLike is charts._SchemaLike
    assert isinstance(value, charts._SchemaLike) == isinstance(value, charts._QuickSchemaLike.ORIGINAL)


def test_every_chart_is_the_same_with_altairs_own_schema_like_check(monkeypatch):
    quick = {name: chart.to_dict() for name, chart in all_charts().items()}
    monkeypatch.setattr(alt.utils.schemapi, "SchemaLike", charts._QuickSchemaLike.ORIGINAL)
    assert {name: chart.to_dict() for name, chart in all_charts().items()} == quick


def test_display_text_names_every_missing_or_blank_value_and_keeps_the_rest_in_place():
    # charts._text writes each distinct value once (#6): the result must still line up row by row
    series = pd.Series(
        ["Housing", None, float("nan"), pd.NA, "  ", "", "Housing", 3, pd.NaT, "Health"], index=range(10, 20)
    )
    text = charts._text(series, "(none)")
    assert text.tolist() == [
        "Housing", "(none)", "(none)", "(none)", "(none)", "(none)", "Housing", "3", "(none)", "Health",
    ]  # fmt: skip
    assert text.index.tolist() == list(range(10, 20)) and text.dtype == pd.Series(["text"]).dtype
    assert charts._text(pd.Series([], dtype=object)).tolist() == []
    assert charts._text(pd.Series([pd.Timestamp("2020-06-01")] * 2)).tolist() == ["2020-06-01 00:00:00"] * 2


def test_binned_counts_are_by_year_only_when_every_period_is_longer_than_a_month():
    assert charts.binned_by_year(year_binned_points())
    assert not charts.binned_by_year(binned_points())
    assert not charts.binned_by_year(binned_points().iloc[0:0])
    mixed = pd.concat([year_binned_points(), binned_points()])
    assert not charts.binned_by_year(mixed)


def test_a_frame_that_several_layers_draw_is_sent_as_one_arrow_table():
    # The timeline's outside events are drawn by three layers (bands, lines, labels): Streamlit
    # converted the frame for each; arrow_data converts each frame once (#6).
    points = _two_entries(
        date_text=["2020-04", "2019"],
        precision=["month", "year"],
        start=pd.to_datetime(["2020-04-01", "2019-01-01"]),
        end=pd.to_datetime(["2020-05-01", "2020-01-01"]),
        typology=["Culture", "Leadership"],
    )
    context = pd.DataFrame(
        {
            "label": ["Austerity", "COVID-19 lockdown"],
            "start": pd.to_datetime(["2010-06-22", "2020-03-23"]),
            "end": pd.to_datetime(["2019-09-05", "2020-06-24"]),
            "mechanism": ["Austerity", "COVID-19 pandemic"],
            "note": ["", ""],
            "point": [False, False],
        }
    )
    chart = charts.timeline(points, None, lane_title="P", typologies=["Culture", "Leadership"], context=context)
    frames = [layer.data for layer in chart.layer if isinstance(layer.data, pd.DataFrame)]
    assert len(frames) >= 4 and len({id(frame) for frame in frames}) < len(frames)  # layers share a frame
    expected = chart.to_dict()
    charts.arrow_data(chart)
    tables = [layer.data for layer in chart.layer if layer.data is not alt.Undefined]
    assert all(isinstance(table, pa.Table) for table in tables)
    assert len({id(table) for table in tables}) == len({id(frame) for frame in frames})
    assert {table.num_rows for table in tables} == {len(frame) for frame in frames}
    # the chart itself is unchanged: only how its rows travel
    spec = chart.to_dict()
    assert [layer["mark"] for layer in spec["layer"]] == [layer["mark"] for layer in expected["layer"]]


def test_a_frame_arrow_cannot_take_is_left_for_streamlits_own_fixes():
    mixed = pd.DataFrame({"x": [1, "a"], "y": [1, 2]})  # a column of numbers and text
    chart = alt.Chart(mixed).mark_bar().encode(x="x:N", y="y:Q")
    assert charts.arrow_data(chart).data is mixed


def test_timeline_context_axis_runs_to_the_end_of_the_status_bands():
    """With outside events shown, the time axis is fixed: it must still reach the end of the status
    bands (a structure running today is drawn to today), or the bands run past the plot, under the
    legend, and their labels are cut at its edge (seen on a projector: "Hosted elsewhere — Sto…")."""
    points = _two_entries(
        date_text=["2015", "2022-02"],
        precision=["year", "month"],
        start=pd.to_datetime(["2015-01-01", "2022-02-01"]),
        end=pd.to_datetime(["2016-01-01", "2022-03-01"]),
        typology=["Culture", "Culture"],
        status=["Continuing", "Hosted elsewhere"],
    )
    bands = pd.DataFrame(
        {
            "lane": ["A", "A"],
            "lane_order": [1, 1],
            "start": pd.to_datetime(["2015-01-01", "2022-02-01"]),
            "end": pd.to_datetime(["2022-02-01", "2026-11-27"]),  # still hosted elsewhere: runs to today
            "status": ["Continuing", "Hosted elsewhere"],
            "label": ["Continuing", "Hosted elsewhere — Stockport Homes"],
        }
    )
    context = pd.DataFrame(
        {
            "label": ["Austerity", "ICSs statutory"],
            "start": pd.to_datetime(["2010-06-22", "2022-07-01"]),
            "end": pd.to_datetime(["2019-09-05", None]),
            "mechanism": ["Austerity", "Other related programmes"],
            "note": ["", ""],
            "point": [False, True],
        }
    )
    spec = charts.timeline(points, bands, lane_title="Structure", typologies=["Culture"], context=context).to_dict()
    context_layer = next(layer for layer in spec["layer"] if "scale" in layer.get("encoding", {}).get("x", {}))
    low, high = (pd.Timestamp(day) for day in context_layer["encoding"]["x"]["scale"]["domain"])
    assert low == pd.Timestamp("2014-11-02")  # the entries' start, 60 days before
    assert high == pd.Timestamp("2026-11-27")  # the bands' end: the axis stops where "ongoing" does
    context_rows = next(v for v in spec["datasets"].values() if v and "room" in v[0])
    assert [row["label"] for row in context_rows] == ["Austerity", "ICSs statutory"]  # 2022 is on the axis now
    # Without bands the axis is the entries' range, as before.
    plain = charts.timeline(points, None, lane_title="Structure", typologies=["Culture"], context=context).to_dict()
    plain_layer = next(layer for layer in plain["layer"] if "scale" in layer.get("encoding", {}).get("x", {}))
    assert pd.Timestamp(plain_layer["encoding"]["x"]["scale"]["domain"][1]) == pd.Timestamp("2022-04-30")
