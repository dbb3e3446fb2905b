"""Altair chart builders for the dashboard: a DataFrame in, a Vega-Lite chart out.

The functions are pure: no Streamlit, no database. The SQL layer aggregates
first, so each builder only adds display strings (labels, tooltips) and leaves
geometry to Vega-Lite transforms. Every builder refuses more than ``MAX_ROWS``
rows, because each row is shipped to the browser inside the chart spec.

The charts are read on a projector in meetings, so fonts are large and marks
few. Colours come from colour-blind-safe palettes, and what matters is never
carried by colour alone: kind (milestone or setback) is also a shape or a
position, and sustainability status is also written as text.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import altair as alt
import numpy as np
import pandas as pd
import pyarrow as pa

# Altair checks every schema object against the Vega-Lite schema as it is built ("debug mode"),
# which costs more than building the page's data. The builders' output is validated whole in
# tests/test_charts.py instead (``to_dict()`` validates), so the app builds without it.
alt.utils.schemapi.disable_debug_mode()


class _QuickSchemaLike(type):
    """``isinstance(x, SchemaLike)`` answered at once for plain values (#6).

    Turning a chart into a dict, Altair asks of every value in it whether it is ``SchemaLike``, a
    runtime-checkable Protocol; on Python 3.11 each such check inspects the value's class
    (``inspect.getattr_static``): ~250 checks and 1.5 ms for a heatmap, more for the timeline.
    Text, numbers, booleans and None never are; anything else gets Altair's own check. Same
    answers, so the same specs (tests/test_charts.py checks both).
    """

    PLAIN = frozenset({str, int, float, bool, type(None)})
    ORIGINAL = alt.utils.schemapi.SchemaLike

    def __instancecheck__(cls, value: Any) -> bool:
        return type(value) not in cls.PLAIN and isinstance(value, cls.ORIGINAL)


class _SchemaLike(metaclass=_QuickSchemaLike):
    pass


alt.utils.schemapi.SchemaLike = _SchemaLike  # type: ignore[misc,assignment]  # read by to_dict as a global

TYPOLOGY_PALETTE: list[str] = [
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#000000",
    "#F0E442",
]
"""Okabe–Ito colours for typology categories, cycled when there are more categories."""

STATUS_COLOURS: dict[str, str] = {
    "Continuing": "#009E73",
    "Hosted elsewhere": "#56B4E9",
    "Decommissioned": "#8C8C8C",
    "Not recorded": "#D9D9D9",
}
KIND_SHAPES: dict[str, str] = {"milestone": "circle", "setback": "triangle-down"}
KIND_COLOURS: dict[str, str] = {"milestone": "#0072B2", "setback": "#D55E00"}
MAX_ROWS = 5000
"""The most data rows any chart may embed; callers aggregate in SQL first."""

METRICS: tuple[str, ...] = ("count", "share", "net")
STATUS_WORDS: dict[str, str] = {
    "Continuing": "continuing",
    "Hosted elsewhere": "hosted",
    "Decommissioned": "decomm.",
    "Not recorded": "not rec.",
}
"""Short words written inside status bar segments, so status is readable without colour."""

# Projector-sized type, set on each axis and legend (not in a top-level config, so
# that the charts can still be layered or concatenated by the pages).
LABEL_SIZE = 15
TITLE_SIZE = 17
TEXT_DARK = "#111111"
LABEL_COLOUR = "#1F1F1F"
TEXT_MUTED = "#5f5f5f"
MISSING = "—"
OTHER_STATUS_COLOUR = "#BDBDBD"
OTHER_TYPOLOGY_COLOUR = "#9E9E9E"
"""Typology values outside the vocabulary (the binned timeline's "(several)")."""

_HEATMAP_COLUMNS = (
    "row",
    "col",
    "row_order",
    "col_order",
    "row_key",
    "col_key",
    "count",
    "share",
    "net",
    "total",
)
_POINT_COLUMNS = ("lane", "lane_order", "start", "end", "kind", "typology", "precision")
_POINT_TEXT_COLUMNS = (
    "title",
    "date_text",
    "partnership",
    "structure",
    "mechanisms",
    "source",
    "quote",
    "speaker",
    "contribution",
)
_BINNED_COLUMNS = ("lane", "lane_order", "start", "end", "kind", "typology", "count")
_SEGMENT_COLUMNS = ("lane", "lane_order", "start", "end", "status", "label")
_STATUS_COUNT_COLUMNS = ("partnership", "status", "structures")
_YEAR_COLUMNS = ("year", "kind", "entries")

# Dates arrive as ISO strings; a missing one (NaT) arrives as null or "".
_HAS_START = "isValid(datum.start) && datum.start !== ''"
_HAS_END = "isValid(datum.end) && datum.end !== ''"
# Fit the width (to the container, or to the given width) and let the height follow the
# content. Streamlit's default, "fit", squeezes the plot into the height including the axes.
_FIT_X = alt.AutoSizeParams(type="fit-x", contains="padding")
_KIND_LABEL_EXPR = "datum.label == 'setback' ? 'Setback' : datum.label == 'milestone' ? 'Milestone' : datum.label"


# --- shared helpers ---------------------------------------------------------------------------


_Chart = TypeVar("_Chart", bound=alt.TopLevelMixin)


def unvalidated(chart: _Chart) -> _Chart:
    """``chart``, drawn without checking its Vega-Lite spec against the schema again on every
    rerun (that check is a fifth of a dashboard page's run, #6). Every builder in this module is
    checked against the schema by tests/test_charts.py; a copy of the chart validates as usual."""
    object.__setattr__(chart, "to_dict", functools.partial(type(chart).to_dict, chart, validate=False))
    return chart


def arrow_data(chart: _Chart) -> _Chart:
    """``chart`` with each of its data frames (its layers' and sub-charts' too) as an Arrow table,
    each frame converted once. Streamlit sends a chart's data as Arrow and converted a frame every
    time a layer named it: the timeline's outside events three times, and its 3,500 binned rows
    through pandas' slower path (#6: 16 -> 8 ms of the timeline's first run after a write). A frame
    Arrow cannot take as it is stays a frame, for Streamlit's own fixes."""
    converted: dict[int, Any] = {}

    def visit(node: Any) -> None:
        data = getattr(node, "data", alt.Undefined)
        if isinstance(data, pd.DataFrame):
            if id(data) not in converted:
                try:
                    converted[id(data)] = pa.Table.from_pandas(data)  # as Streamlit converts it
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
                    converted[id(data)] = data
            node.data = converted[id(data)]
        for part in ("layer", "hconcat", "vconcat", "concat"):
            children = getattr(node, part, alt.Undefined)
            if isinstance(children, list):
                for child in children:
                    visit(child)
        inner = getattr(node, "spec", alt.Undefined)
        if isinstance(inner, alt.SchemaBase):
            visit(inner)

    visit(chart)
    return chart


def _layer(*charts: alt.Chart, data: pd.DataFrame | None = None, **props: Any) -> alt.LayerChart:
    """``alt.layer(*charts).properties(**props)``, built the cheap way (#6).

    ``alt.LayerChart(...)`` deep-copies every layer twice, names unnamed layers by hashing them
    (data and all) and validates each selection against the schema while lifting it to the top;
    ``.properties`` checks each value too. Together that cost more than the page's query. Here the
    layers are named by position and a layer's selections are lifted to the top level with that
    name as their view, as Altair would, without the copies (the layers are ours, built just
    before). The whole spec is still validated by tests/test_charts.py.
    """
    named: list[alt.Chart] = []
    lifted: list[Any] = []
    # One data set for every layer is given once, on the top level, as Altair does.
    if data is None and charts and charts[0].data is not alt.Undefined:
        data = charts[0].data if all(c.data is charts[0].data for c in charts) else None
    for i, chart in enumerate(charts):
        if chart.name in (None, alt.Undefined) or chart.params is not alt.Undefined or chart.data is data:
            chart = chart.copy(deep=False)
            if chart.data is data:
                chart.data = alt.Undefined
            if chart.name in (None, alt.Undefined):
                chart.name = f"layer{i}"
            for param in [] if chart.params is alt.Undefined else chart.params:
                if isinstance(param, alt.VariableParameter):
                    lifted.append(param)
                else:  # a selection: on the top level, naming the view it belongs to
                    lifted.append(alt.TopLevelSelectionParameter(**param.to_dict(validate=False), views=[chart.name]))
            chart.params = alt.Undefined
        named.append(chart)
    layered = alt.LayerChart.__new__(alt.LayerChart)
    alt.TopLevelLayerSpec.__init__(
        layered,
        layer=named,
        **({"data": data} if data is not None else {}),
        **({"params": lifted} if lifted else {}),
        **props,
    )
    # to_dict starts from copy(deep=False), which for a LayerChart runs the constructor again:
    # copies and lifting once more. This chart is already in its final shape.
    object.__setattr__(layered, "copy", functools.partial(_copy_layered, layered))
    return layered


def _copy_layered(chart: alt.LayerChart, deep: Any = True, ignore: list[str] | None = None) -> alt.LayerChart:
    """``chart.copy``, where a shallow copy takes the same properties without rebuilding the chart."""
    if deep is not False:
        return alt.LayerChart.copy(chart, deep, ignore)
    shallow = alt.LayerChart.__new__(alt.LayerChart)
    object.__setattr__(shallow, "_args", chart._args)
    object.__setattr__(shallow, "_kwds", dict(chart._kwds))
    return shallow


def spec_rows(chart: alt.TopLevelMixin) -> int:
    """Count the data rows embedded in a chart's Vega-Lite spec (named datasets and inline values)."""
    spec = chart.to_dict()
    total = sum(len(rows) for rows in spec.get("datasets", {}).values())

    def inline(node: Any) -> int:
        if isinstance(node, dict):
            own = node.get("data", {})
            found = len(own["values"]) if isinstance(own, dict) and isinstance(own.get("values"), list) else 0
            return found + sum(inline(value) for key, value in node.items() if key != "datasets")
        if isinstance(node, list):
            return sum(inline(item) for item in node)
        return 0

    return total + inline(spec)


def _frame(df: pd.DataFrame | None, columns: Sequence[str], what: str, copy: bool = True) -> pd.DataFrame:
    """A copy of ``df`` with the contract's columns, empty if ``df`` is None or empty.
    ``copy=False``: ``df`` itself, for callers that never change it (their layers copy what they change)."""
    if df is None or df.empty:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in columns})
    if len(df) > MAX_ROWS:
        raise ValueError(
            f"{what}: {len(df):,} rows is more than the {MAX_ROWS:,} a chart may ship; aggregate in SQL first"
        )
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")
    return df.copy() if copy else df


def _text(series: pd.Series, missing: str = MISSING) -> pd.Series:
    """Strings for display: None, NaN and blanks become ``missing``."""
    # Each distinct value is written once: a column of a timeline's 3,500 rows holds a few dozen
    # (a value at a time, ~1.5 ms a column; pandas' astype/where/map made three copies, #6).
    codes, distinct = pd.factorize(series, use_na_sentinel=False)
    texts = pd.array([_plain(value) or missing for value in distinct], dtype="str")  # as pandas infers text
    return pd.Series(texts.take(codes), index=series.index, name=series.name)


def _absent(value: Any) -> bool:
    """None, NaN, NA or NaT: a missing value as pandas stores it."""
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and math.isnan(value))


def _plain(value: Any) -> str:
    """One value as display text, "" for None, NaN or blanks (:func:`_text` for a single value)."""
    return "" if _absent(value) or not (text := str(value)).strip() else text


def _ordered(frame: pd.DataFrame, label: str, order: str) -> list[str]:
    """Distinct labels sorted by their order column (then by label), for an explicit axis sort."""
    if frame.empty:
        return []
    # Each label's first place in NumPy, then a sort of the few dozen labels: a pandas groupby and
    # sort cost ~2 ms, and a loop over a timeline's 3,500 rows in Python ~3 ms (#6).
    codes, names = pd.factorize(frame[label].astype(str), use_na_sentinel=False)
    positions = pd.to_numeric(frame[order], errors="coerce").to_numpy(dtype=float, na_value=math.inf)
    first = np.full(len(names), math.inf)
    np.minimum.at(first, codes, positions)
    place = dict(zip(map(str, names), first.tolist(), strict=True))
    return sorted(place, key=lambda name: (place[name], name))


def _axis(**kwargs: Any) -> alt.Axis:
    style = {
        "labelFontSize": LABEL_SIZE,
        "labelColor": LABEL_COLOUR,
        "titleFontSize": TITLE_SIZE,
        "titleColor": TEXT_DARK,
        "titleFontWeight": "bold",
    }
    return alt.Axis(**{**style, **kwargs})


def _band_axis(title: str | None, **kwargs: Any) -> alt.Axis:
    """A left axis for category labels, its title set horizontally above the labels (never on top of them)."""
    return _axis(
        title=title,
        ticks=False,
        domain=False,
        labelPadding=8,
        titleAngle=0,
        titleAlign="right",
        titleBaseline="bottom",
        titleX=-8,
        titleY=-10,
        **kwargs,
    )


LINE_CHARS = 36
"""Characters of a band axis's label that stay on one line (~270 px at :data:`LABEL_SIZE`); a longer
label is broken at a space onto two lines, so that an area's full name is read on a projector
instead of "Fulfilling Lives Lambeth, Southwark and Lewi…" (and the plot keeps the width)."""
_LINE_LIMIT = 300  # px a line of a wrapped label may take before Vega cuts it (~40 characters; a name of ~75)


def _two_lines(text: str, chars: int = LINE_CHARS) -> list[str] | None:
    """``text`` as two lines broken at the space that makes the longer line shortest; None when it
    fits on one line or has no space to break at."""
    if len(text) <= chars:
        return None
    spaces = [i for i, c in enumerate(text) if c == " "]
    if not spaces:
        return None
    # "Partnership · Structure" (a structure's lane): the partnership on one line, the structure on the next
    joined = text.find(" · ")
    if joined > 0 and max(joined + 2, len(text) - joined - 3) <= _LINE_LIMIT // 7.5:
        return [text[: joined + 2], text[joined + 3 :]]
    at = min(spaces, key=lambda i: (max(i, len(text) - i - 1), -i))
    return [text[:at], text[at + 1 :]]


def _wrapped_band_axis(title: str | None, labels: Sequence[str], limit: int) -> alt.Axis:
    """:func:`_band_axis` whose labels longer than :data:`LINE_CHARS` are drawn on two lines (Vega
    draws a label given as an array of strings a line each). ``limit``: the one-line labels' width.
    The bands must be at least two lines high (~32 px)."""
    # Keys carry a prefix, so that no label can name one of an object's own properties ("constructor")
    wrapped = {f"k:{label}": two for label in dict.fromkeys(labels) if (two := _two_lines(str(label)))}
    if not wrapped:
        return _band_axis(title, labelLimit=limit)
    lines = f"({json.dumps(wrapped, ensure_ascii=True)})['k:' + datum.value]"  # the label's lines, or null
    return _band_axis(
        title,
        labelLimit=_LINE_LIMIT,
        labelExpr=f"{lines} || datum.label",
        labelLineHeight=LABEL_SIZE + 1,
        # Vega sets a label's first line on the band's middle (vega/vega#2879): a two-line label is
        # raised by half a line ("line-bottom") so that the pair is centred on its band.
        labelBaseline={"condition": {"test": lines, "value": "line-bottom"}, "value": "middle"},
    )


def _legend(title: str | list[str], **kwargs: Any) -> alt.Legend:
    style = {
        "labelFontSize": LABEL_SIZE,
        "labelColor": LABEL_COLOUR,
        "titleFontSize": TITLE_SIZE,
        "titleColor": TEXT_DARK,
        "labelLimit": 320,
        "symbolOpacity": 1,
        "symbolStrokeWidth": 0,
    }
    return alt.Legend(title=title, **{**style, **kwargs})


def _palette(n: int) -> list[str]:
    """``n`` typology colours, cycling the Okabe–Ito palette."""
    return [TYPOLOGY_PALETTE[i % len(TYPOLOGY_PALETTE)] for i in range(max(n, 1))]


def _check_total(what: str, *frames: pd.DataFrame | None) -> None:
    rows = sum(len(frame) for frame in frames if frame is not None)
    if rows > MAX_ROWS:
        raise ValueError(
            f"{what}: {rows:,} rows is more than the {MAX_ROWS:,} a chart may ship; aggregate in SQL first"
        )


# --- heatmap ----------------------------------------------------------------------------------


def _count_label(value: Any) -> str:
    return f"{int(value):,}" if pd.notna(value) else ""


def _share_label(value: Any) -> str:
    return f"{float(value):.0%}" if pd.notna(value) else ""


def _net_label(value: Any) -> str:
    if pd.isna(value):
        return ""
    number = int(value)
    return f"+{number:,}" if number > 0 else f"−{-number:,}" if number < 0 else "0"


_LABELLERS: dict[str, Callable[[Any], str]] = {
    "count": _count_label,
    "share": _share_label,
    "net": _net_label,
}
_METRIC_TITLES = {"count": "Entries", "share": "Share of row", "net": ["Net", "(milestones − setbacks)"]}


def _on_cell(value: Any) -> list[dict[str, Any]]:
    """A condition: ``value`` where the heatmap's clicked cell is. Written out as ``alt.when`` would
    write it: Altair resolves ``alt.when`` by validating it against the schema (~5 ms per channel)."""
    return [{"param": "cell", "empty": False, "value": value}]


def heatmap(
    cells: pd.DataFrame | None, metric: str, row_title: str, col_title: str, *, compact: bool = False
) -> alt.LayerChart:
    """A clickable grid of rows × columns coloured and labelled by ``metric`` (count, share or net).

    Clicking a cell sets the point selection ``"cell"`` to its ``row_key`` and ``col_key``.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {', '.join(METRICS)}, not {metric!r}")
    frame = _frame(cells, _HEATMAP_COLUMNS, "heatmap")
    frame["label"] = frame[metric].map(_LABELLERS[metric])
    frame["net_text"] = frame["net"].map(_net_label)

    values = pd.to_numeric(frame[metric], errors="coerce").abs()
    biggest = float(values.max()) if values.notna().any() else 0.0
    if metric == "net":
        bound = max(biggest, 1.0)
        scale = alt.Scale(scheme="blueorange", reverse=True, domain=[-bound, bound], domainMid=0)
    else:
        scale = alt.Scale(scheme="blues", domain=[0, biggest if biggest > 0 else 1])

    rows = _ordered(frame, "row", "row_order")
    cols = _ordered(frame, "col", "col_order")
    row_step, col_step = (26, 40) if compact else (42, 84)
    row_limit = 200 if compact else 300
    cell = alt.selection_point(name="cell", fields=["row_key", "col_key"], on="click", clear="dblclick")

    base = alt.Chart().encode(  # the data goes on the layer: Altair hashes each layer's own data
        x=alt.X(
            field="col",
            type="nominal",
            sort=cols,
            title=col_title,
            # Angled, never dropped: angled labels do not collide even when their boxes overlap.
            axis=_axis(
                orient="bottom",
                labelAngle=-35,
                labelLimit=160 if compact else 320,
                labelOverlap=False,
                ticks=False,
                domain=False,
            ),
        ),
        y=alt.Y(
            field="row",
            type="nominal",
            sort=rows,
            # compact rows are one line high: cut, the tooltip has the name
            axis=_band_axis(row_title, labelLimit=row_limit)
            if compact
            else _wrapped_band_axis(row_title, rows, row_limit),
        ),
        tooltip=[
            alt.Tooltip(field="row", type="nominal", title=row_title),
            alt.Tooltip(field="col", type="nominal", title=col_title),
            alt.Tooltip(field="count", type="quantitative", title="Entries", format=",d"),
            alt.Tooltip(field="share", type="quantitative", title="Share of row", format=".0%"),
            alt.Tooltip(field="net_text", type="nominal", title="Net (milestones − setbacks)"),
            alt.Tooltip(field="total", type="quantitative", title="Entries in row", format=",d"),
        ],
    )
    legend = None if compact else _legend(_METRIC_TITLES[metric], format=".0%" if metric == "share" else ",d")
    rect = (
        base.mark_rect()
        .encode(
            color=alt.Color(field=metric, type="quantitative", scale=scale, legend=legend),
            stroke=alt.StrokeValue(value="#CFCFCF", condition=_on_cell("#000000")),
            strokeWidth=alt.StrokeWidthValue(value=0.75, condition=_on_cell(4)),
            # Draw the selected cell last, so that its neighbours do not paint over its outline.
            order=alt.OrderValue(value=0, condition=_on_cell(1)),
        )
        .add_params(cell)
    )
    layers: list[alt.Chart] = [rect]
    if not (compact and len(frame) > 150):
        threshold = round(0.6 * biggest, 6)
        text = base.mark_text(fontSize=11 if compact else 16, fontWeight="bold", baseline="middle").encode(
            text=alt.Text(field="label", type="nominal"),
            color=alt.ColorValue(
                value=TEXT_DARK,
                condition=[
                    {"test": f"abs(datum['{metric}']) > {threshold}", "value": "#FFFFFF"},
                    {"test": f"datum['{metric}'] == 0", "value": TEXT_MUTED},
                ],
            ),
        )
        layers.append(text)
    # The width covers the row labels and the legend too (autosize fit-x), so that the grid
    # keeps its cell size when shown at its own width and fills the page when stretched.
    label_px = min(row_limit, 8 * max((len(str(row)) for row in rows), default=4)) + 16
    legend_px = 0 if compact else 110
    return _layer(
        *layers,
        data=frame,
        width=col_step * max(len(cols), 1) + label_px + legend_px,
        height=row_step * max(len(rows), 1),
        autosize=_FIT_X,
    )


# --- timeline ---------------------------------------------------------------------------------


def _lanes(*frames: pd.DataFrame) -> list[str]:
    parts = [frame[["lane", "lane_order"]] for frame in frames if not frame.empty]
    if len(parts) > 1:
        return _ordered(pd.concat(parts, ignore_index=True), "lane", "lane_order")
    return _ordered(parts[0], "lane", "lane_order") if parts else []


_ENTRY_TOOLTIP = (  # an entry's tooltip on the timeline: field, title
    ("title", "Entry"),
    ("date_text", "Date"),
    ("partnership", "Partnership"),
    ("structure", "Structure"),
    ("typology", "Typology"),
    ("kind", "Kind"),
    ("status", "Status"),
    ("mechanisms", "Mechanisms"),
    ("contribution", "Programme's contribution"),
    ("quote", "Quote"),
    ("speaker", "Speaker"),
    ("source", "Source"),
)


def _time(field: str) -> alt.X:
    """The shared time axis: years as labels, no title (the page heading says what it is)."""
    return alt.X(
        field=field,
        type="temporal",
        title=None,
        axis=_axis(format="%Y", tickCount="year", gridColor="#E6E6E6", labelOverlap=True),
    )


def _kind_shape() -> alt.Shape:
    return alt.Shape(
        field="kind",
        type="nominal",
        scale=alt.Scale(domain=list(KIND_SHAPES), range=list(KIND_SHAPES.values())),
        legend=_legend("Kind", labelExpr=_KIND_LABEL_EXPR, symbolSize=220, symbolFillColor="#444444"),
    )


def _segment_layers(segments: pd.DataFrame, y: alt.Y) -> list[alt.Chart]:
    """Faint status bands, each labelled with its status text, behind a lane's entries."""
    frame = segments.copy()
    frame["status"] = _text(frame["status"], "Not recorded")
    frame["label"] = [
        label if label != MISSING else status
        for label, status in zip(_text(frame["label"]), frame["status"], strict=True)
    ]
    frame["colour"] = frame["status"].map(lambda status: STATUS_COLOURS.get(status, OTHER_STATUS_COLOUR))
    base = (
        alt.Chart(frame)
        .transform_filter(_HAS_START)
        .transform_calculate(
            seg_start="time(datum.start)",
            # A segment without an end is still running: draw it to today.
            seg_end=f"{_HAS_END} ? time(datum.end) : now()",
            to_text=f"{_HAS_END} ? timeFormat(toDate(datum.end), '%-d %b %Y') : 'ongoing'",
        )
        .encode(
            y=y,
            x=_time("seg_start"),
            tooltip=[
                alt.Tooltip(field="status", type="nominal", title="Status"),
                alt.Tooltip(field="label", type="nominal", title="Detail"),
                alt.Tooltip(field="seg_start", type="temporal", title="From", format="%-d %b %Y"),
                alt.Tooltip(field="to_text", type="nominal", title="To"),
            ],
        )
    )
    band = base.mark_bar(height=26, fillOpacity=0.35, cornerRadius=3).encode(
        x2=alt.X2(field="seg_end"), color=alt.Color(field="colour", type="nominal", scale=None)
    )
    words = base.mark_text(
        align="left",
        baseline="top",
        dx=5,
        dy=-12,
        fontSize=12,
        color=TEXT_DARK,
        limit=alt.ExprRef("max(0, scale('x', datum.seg_end) - scale('x', datum.seg_start) - 8)"),
    ).encode(text=alt.Text(field="label", type="nominal"))
    return [band, words]


def _entry_layers(points: pd.DataFrame, y: alt.Y, colour: alt.Color, dy: int) -> list[alt.Chart]:
    """Day-precision entries as points; year and month entries as spans with the kind shape centred."""
    frame = points.copy()
    for column in _POINT_TEXT_COLUMNS:
        frame[column] = _text(frame[column]) if column in frame else MISSING
    frame["status"] = _text(frame["status"], "Not recorded") if "status" in frame else "Not recorded"
    frame["typology"] = _text(frame["typology"])
    is_span = "datum.precision === 'year' || datum.precision === 'month'"
    base = (
        alt.Chart(frame)
        .transform_filter(_HAS_START)
        .encode(
            y=y,
            color=colour,
            tooltip=[alt.Tooltip(field=field, type="nominal", title=title) for field, title in _ENTRY_TOOLTIP],
        )
    )
    shape = {
        "filled": True,
        "size": 150,
        "stroke": "#FFFFFF",
        "strokeWidth": 1.5,
        "opacity": 1,
        "yOffset": dy,
    }
    spans = (
        base.transform_filter(is_span)
        .transform_filter(_HAS_END)
        .mark_bar(height=10, fillOpacity=0.55, cornerRadius=2, yOffset=dy)
        .encode(x=_time("start"), x2=alt.X2(field="end"))
    )
    centres = (
        base.transform_filter(is_span)
        .transform_filter(_HAS_END)
        .transform_calculate(mid="(time(datum.start) + time(datum.end)) / 2")
        .mark_point(**shape)
        .encode(x=_time("mid"), shape=_kind_shape())
    )
    days = base.transform_filter(f"!({is_span})").mark_point(**shape).encode(x=_time("start"), shape=_kind_shape())
    return [spans, centres, days]


def _dates(values: Any) -> pd.Series:
    """``values`` as datetimes (missing or unreadable ones NaT); datetimes as they are (#6: a
    conversion of what already is one costs ~1 ms a column)."""
    if isinstance(values, pd.Series) and pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    return pd.to_datetime(values, errors="coerce")


def binned_by_year(points: pd.DataFrame) -> bool:
    """Whether the binned timeline's counts are per year (else per month): every period is longer than a month."""
    if not len(points):
        return False
    spans = _dates(points["end"]).to_numpy() - _dates(points["start"]).to_numpy()
    return bool((spans >= np.timedelta64(32, "D")).all())  # a missing date (NaT) is no year


def _binned_layer(
    points: pd.DataFrame, y: alt.Y, colour: alt.Color, lane_title: str, dy: int, typology: pd.Series
) -> alt.Chart:
    """One mark per lane, month, kind and typology, sized by the number of entries (``typology``:
    the points' typologies as text)."""
    frame = points.copy()
    frame["typology"] = typology
    # Counts come per month, or summed into years when the months are too many rows: a year's
    # count is written as its year, not as "January" of it.
    starts = _dates(frame["start"])
    grain, pattern = ("Year", "%Y") if binned_by_year(frame) else ("Month", "%B %Y")
    codes, days = pd.factorize(starts, use_na_sentinel=False)  # a few hundred months among 3,500 rows
    periods = pd.array([MISSING if _absent(day) else day.strftime(pattern) for day in days], dtype="str")
    frame["period"] = periods.take(codes)
    return (
        alt.Chart(frame)
        .transform_filter(_HAS_START)
        .transform_calculate(mid="(time(datum.start) + time(datum.end)) / 2")
        .mark_point(filled=True, stroke="#FFFFFF", strokeWidth=1, opacity=0.85, yOffset=dy)
        .encode(
            x=_time("mid"),
            y=y,
            color=colour,
            shape=_kind_shape(),
            # Big marks first, so that a small mark in the same month stays visible on top.
            order=alt.Order(field="count", type="quantitative", sort="descending"),
            size=alt.Size(
                field="count",
                type="quantitative",
                scale=alt.Scale(range=[60, 700], zero=False),
                legend=_legend("Entries"),
            ),
            tooltip=[
                alt.Tooltip(field="lane", type="nominal", title=lane_title),
                alt.Tooltip(field="period", type="nominal", title=grain),
                alt.Tooltip(field="kind", type="nominal", title="Kind"),
                alt.Tooltip(field="typology", type="nominal", title="Typology"),
                alt.Tooltip(field="count", type="quantitative", title="Entries", format=",d"),
            ],
        )
    )


def timeline(
    points: pd.DataFrame | None,
    segments: pd.DataFrame | None,
    *,
    lane_title: str,
    typologies: Sequence[str],
    binned: bool = False,
    context: pd.DataFrame | None = None,
) -> alt.LayerChart:
    """One lane per partnership (or structure): entries over time, status periods as labelled bands.

    ``binned=True`` draws pre-aggregated monthly counts instead of individual entries. ``context``
    (label, start, end, mechanism, note, point) adds external events as shaded bands behind the
    lanes; entries tagged with an event's mechanism get a ring so they line up with it.
    """
    _check_total("timeline", points, segments)
    # Not copied here: each layer copies what it changes (#6).
    entries = _frame(points, _BINNED_COLUMNS if binned else _POINT_COLUMNS, "timeline points", copy=False)
    bands = _frame(segments, _SEGMENT_COLUMNS, "timeline segments", copy=False)

    typology = _text(entries["typology"])
    shown = set(typology.unique().tolist())
    domain = [str(label) for label in typologies] or sorted(shown)
    # A value outside the scale's domain gets no colour in Vega, and a filled mark without one is not
    # drawn: binned counts whose typologies are rolled up into "(several)" vanished. Such values
    # come after the typologies, in grey, so every typology keeps its colour.
    others = sorted(shown - set(domain))
    colour = alt.Color(
        field="typology",
        type="nominal",
        scale=alt.Scale(
            domain=[*domain, *others], range=[*_palette(len(domain)), *[OTHER_TYPOLOGY_COLOUR] * len(others)]
        ),
        legend=_legend("Typology", orient="bottom", columns=2, symbolSize=150),
    )
    lanes = _lanes(entries, bands)
    y = alt.Y(
        field="lane",
        type="nominal",
        sort=lanes,
        axis=_wrapped_band_axis(lane_title, lanes, 300),
    )
    dy = 5 if not bands.empty else 0

    fits = context is not None and len(entries) + len(bands) + len(context) <= MAX_ROWS  # (#6)
    layers: list[alt.Chart] = _context_layers(context, entries, bands) if fits else []
    layers += _segment_layers(bands, y) if not bands.empty else []
    if binned:
        layers.append(_binned_layer(entries, y, colour, lane_title, dy, typology))
    else:
        layers.extend(_entry_layers(entries, y, colour, dy))
        if context is not None and len(context) and "mechanisms" in entries:
            room = MAX_ROWS - len(entries) - len(bands) - len(context)
            layers.extend(_context_rings(entries, context, y, dy, room))
    # a lane whose label takes two lines gets room between it and the next label
    step = 40 if any(_two_lines(str(lane)) for lane in lanes) else 34
    return _layer(*layers, width="container", height=max(200, step * max(len(lanes), 1)), autosize=_FIT_X)


_CONTEXT_FILL = "#6b6b6b"


def _time_domain(entries: pd.DataFrame, bands: pd.DataFrame | None = None) -> list[str] | None:
    """The entries' time range (so context events outside it never stretch the axis), reaching
    on to the end of the status ``bands``: a structure still running is drawn to today, and on an
    axis that stopped at its last entry the band ran on past the plot, under the legend, its label
    cut at the edge ("Hosted elsewhere — Sto…")."""
    if not len(entries) or "start" not in entries:
        return None
    starts = _dates(entries["start"])
    first, last = starts.min(), starts.max()  # missing dates left out
    if pd.isna(first):
        return None
    latest = _dates(entries["end"]).max() if "end" in entries else pd.NaT
    high = max(latest, last) if not pd.isna(latest) else last
    high += pd.Timedelta(days=60)
    if bands is not None and len(bands):
        ends = _dates(bands["end"]).max()  # a band's end is where the next begins, or today
        if not pd.isna(ends):
            high = max(high, ends)  # not beyond: the band of a structure running today ends at the axis
    return [(first - pd.Timedelta(days=60)).isoformat(), high.isoformat()]


def _context_layers(context: pd.DataFrame, entries: pd.DataFrame, bands: pd.DataFrame | None = None) -> list[alt.Chart]:
    """External events: shaded bands (or a dashed line for one-day events), labelled along the top;
    the axis is the entries' time range and the status ``bands``' (:func:`_time_domain`)."""
    domain = _time_domain(entries, bands)
    if domain is None or context is None or context.empty:
        return []
    low, high = pd.Timestamp(domain[0]), pd.Timestamp(domain[1])
    # A handful of events: prepared in plain Python (pandas' copies, masks and clips of a 7-row
    # frame cost ~3 ms of every timeline run, #6).
    events: list[dict[str, Any]] = []
    columns = ("label", "start", "end", "mechanism", "note", "point")
    for label, start, end, mechanism, note, point in zip(*(context[c].tolist() for c in columns), strict=True):
        if pd.isna(end):
            end = start
        if pd.isna(start) or not (end >= low and start <= high):
            continue  # no date, or wholly outside the entries' time range
        events.append(
            {
                "label": label,
                "start": max(pd.Timestamp(start), low),
                "end": min(pd.Timestamp(end), high),
                "mechanism": _plain(mechanism),
                "note": _plain(note),
                "point": bool(point),
            }
        )
    if not events:
        return []
    events.sort(key=lambda event: event["start"])  # stable: events on one day keep their order
    # A label is written only where it has room before the next written label starts (or the axis
    # ends): which ones could be written is chosen here, first come first served, as on a chart
    # _CONTEXT_WIDTH_PX wide; the browser then hides any of those without room at the chart's real
    # width (``room`` is the share of the axis up to the next candidate). Events without a label
    # keep their band and tooltip; overlapping words would be unreadable on a projector.
    span = high - low
    candidates: list[dict[str, Any]] = []
    for event in events:
        event["room"] = 0.0
        last = candidates[-1] if candidates else None
        if last is None or (event["start"] - last["start"]) / span * _CONTEXT_WIDTH_PX >= _label_px(last["label"]):
            candidates.append(event)
    for here, after in zip(candidates, [*candidates[1:], None], strict=True):
        end = high if after is None else after["start"]
        here["room"] = float((end - here["start"]) / span)
    frame = pd.DataFrame(events, columns=[*columns, "room"])
    x = alt.X(
        field="start",
        type="temporal",
        title=None,
        scale=alt.Scale(domain=domain),
        axis=_axis(format="%Y", tickCount="year", gridColor="#E6E6E6", labelOverlap=True),
    )
    tooltip = [
        alt.Tooltip(field="label", type="nominal", title="Context"),
        alt.Tooltip(field="note", type="nominal", title="About"),
        alt.Tooltip(field="mechanism", type="nominal", title="External factor"),
    ]
    base = alt.Chart(frame).encode(x=x, tooltip=tooltip)
    spans = (
        base.transform_filter("!datum.point")
        .mark_rect(color=_CONTEXT_FILL, opacity=0.12, clip=True)
        .encode(x2=alt.X2(field="end"))
    )
    lines = base.transform_filter("datum.point").mark_rule(color=_CONTEXT_FILL, strokeDash=[5, 4], strokeWidth=2)
    fits = f"datum.room * width >= {_CONTEXT_CHAR_PX} * length(datum.label) + {_CONTEXT_PAD_PX} ? datum.label : ''"
    labels = (
        base.transform_calculate(shown=fits)
        # Above the plot, not inside it: the first lane's status labels and the dashed lines of one-day
        # events sit at the plot's top, where a label over them could not be read.
        .mark_text(align="left", baseline="bottom", dx=3, y=-3, fontSize=12, color=TEXT_MUTED)
        .encode(text=alt.Text(field="shown", type="nominal"))
    )
    return [spans, lines, labels]


_CONTEXT_CHAR_PX = 7  # the width of a character of a context label (12 px text), generously
_CONTEXT_PAD_PX = 8
_CONTEXT_WIDTH_PX = 480  # about the axis of a timeline on a 1,400-pixel screen (the lanes and legend take the rest)


def _label_px(label: object) -> int:
    """Pixels a context label needs (as the browser reckons it, see ``fits``)."""
    return _CONTEXT_CHAR_PX * len(str(label)) + _CONTEXT_PAD_PX


def _context_rings(
    entries: pd.DataFrame, context: pd.DataFrame, y: alt.Y, dy: int, room: int = MAX_ROWS
) -> list[alt.Chart]:
    """A ring round each entry tagged with the mechanism of an external event on the chart."""
    mechanisms = {str(m) for m in context["mechanism"].dropna() if str(m)}
    if not mechanisms:
        return []
    tagged = entries[
        _text(entries["mechanisms"], "").map(
            lambda text: any(m in {p.strip() for p in text.split(";")} for m in mechanisms)
        )
    ].copy()
    if tagged.empty or len(tagged) > room:  # no rings rather than a chart over MAX_ROWS rows (#6)
        return []
    start = pd.to_datetime(tagged["start"])
    end = pd.to_datetime(tagged["end"])
    spans = tagged["precision"].isin(["year", "month"])
    tagged["at"] = start.where(~spans, start + (end - start) / 2)
    tagged = tagged[["lane", "at", "mechanisms"]]
    return [
        alt.Chart(tagged)
        .mark_point(shape="circle", filled=False, size=420, stroke=TEXT_DARK, strokeWidth=1.5, yOffset=dy)
        .encode(
            x=alt.X(field="at", type="temporal"),
            y=y,
            tooltip=[alt.Tooltip(field="mechanisms", type="nominal", title="External factors")],
        )
    ]


# --- legacy status bar ------------------------------------------------------------------------


def legacy_status_bar(counts: pd.DataFrame | None, *, statuses: Sequence[str]) -> alt.LayerChart:
    """Structures per partnership by current status: stacked bars with the status written in each segment."""
    frame = _frame(counts, _STATUS_COUNT_COLUMNS, "legacy_status_bar")
    # A few hundred rows: prepared in plain Python, a third of the time of column-by-column pandas (#6)
    status = _text(frame["status"], "Not recorded").tolist()
    structures = pd.to_numeric(frame["structures"], errors="coerce").fillna(0).astype(int).tolist()
    order = list(dict.fromkeys([*statuses, *status]))
    position = {name: number for number, name in enumerate(order)}
    frame = frame.assign(
        status=pd.Series(status, index=frame.index, dtype=object),
        structures=pd.Series(structures, index=frame.index, dtype=int),
        status_order=[position[name] for name in status],
        label=[
            f"{n:,} {STATUS_WORDS.get(s, s.lower())}" if n > 0 else "" for n, s in zip(structures, status, strict=True)
        ],
        number=[f"{n:,}" if n > 0 else "" for n in structures],
    )
    per_bar: dict[str, int] = {}
    for partnership, n in zip(frame["partnership"].astype(str).tolist(), structures, strict=True):
        per_bar[partnership] = per_bar.get(partnership, 0) + n
    widest = max(max(per_bar.values(), default=0), 1)
    partnerships = sorted(per_bar)

    base = (
        alt.Chart(frame)
        .transform_stack(
            stack="structures",
            groupby=["partnership"],
            sort=[alt.SortField("status_order")],
            as_=["x0", "x1"],
        )
        .transform_calculate(
            # Pixel width of the segment: the full label if it fits, else the number, else nothing.
            px=f"(datum.x1 - datum.x0) / {widest} * width",
            shown="datum.px >= 8 * length(datum.label) + 10 ? datum.label : "
            "datum.px >= 8 * length(datum.number) + 8 ? datum.number : ''",
            mid="(datum.x0 + datum.x1) / 2",
        )
        .encode(
            y=alt.Y(
                field="partnership", type="nominal", sort=partnerships, axis=_wrapped_band_axis(None, partnerships, 300)
            ),
            tooltip=[
                alt.Tooltip(field="partnership", type="nominal", title="Partnership"),
                alt.Tooltip(field="status", type="nominal", title="Current status"),
                alt.Tooltip(field="structures", type="quantitative", title="Structures", format=",d"),
            ],
        )
    )
    x_scale = alt.Scale(domain=[0, widest], nice=False)
    bars = base.mark_bar(stroke="#FFFFFF", strokeWidth=1.5).encode(
        x=alt.X(
            field="x0",
            type="quantitative",
            scale=x_scale,
            title="Structures",
            axis=_axis(format=",d", tickMinStep=1, gridColor="#E6E6E6"),
        ),
        x2=alt.X2(field="x1"),
        color=alt.Color(
            field="status",
            type="nominal",
            scale=alt.Scale(domain=order, range=[STATUS_COLOURS.get(s, OTHER_STATUS_COLOUR) for s in order]),
            legend=_legend("Current status", orient="bottom", columns=2, symbolType="square", symbolSize=200),
        ),
    )
    words = base.mark_text(fontSize=LABEL_SIZE, color=TEXT_DARK, baseline="middle").encode(
        x=alt.X(field="mid", type="quantitative", scale=x_scale), text=alt.Text(field="shown", type="nominal")
    )
    return _layer(bars, words, width="container", height=max(120, 42 * max(len(partnerships), 1)), autosize=_FIT_X)


# --- milestones and setbacks per year ---------------------------------------------------------


def year_bars(counts: pd.DataFrame | None) -> alt.LayerChart:
    """Milestones (up) and setbacks (down, below zero) per year, each bar labelled with its number."""
    frame = _frame(counts, _YEAR_COLUMNS, "year_bars")
    base = (
        alt.Chart(frame)
        .transform_calculate(signed="datum.kind === 'setback' ? -datum.entries : datum.entries")
        .encode(
            x=alt.X(field="year", type="ordinal", title=None, axis=_axis(labelAngle=0, ticks=False)),
            y=alt.Y(
                field="signed",
                type="quantitative",
                # Read bottom to top along the axis: the arrows point down and up.
                title="← Setbacks    Milestones →",
                stack=None,
                scale=alt.Scale(padding=20, nice=False),  # room for the number beyond the longest bars
                axis=_axis(
                    labelExpr="format(abs(datum.value), 'd')",
                    tickMinStep=1,
                    gridColor={
                        "condition": {"test": "datum.value === 0", "value": "#333333"},
                        "value": "#E6E6E6",
                    },
                    gridWidth={"condition": {"test": "datum.value === 0", "value": 1.5}, "value": 1},
                ),
            ),
            tooltip=[
                alt.Tooltip(field="year", type="ordinal", title="Year"),
                alt.Tooltip(field="kind", type="nominal", title="Kind"),
                alt.Tooltip(field="entries", type="quantitative", title="Entries", format=",d"),
            ],
        )
    )
    bars = base.mark_bar(width={"band": 0.7}).encode(
        color=alt.Color(
            field="kind",
            type="nominal",
            scale=alt.Scale(domain=list(KIND_COLOURS), range=list(KIND_COLOURS.values())),
            legend=_legend("Kind", orient="top", labelExpr=_KIND_LABEL_EXPR, symbolType="square"),
        )
    )
    labels = [
        base.transform_filter(f"datum.kind === {json.dumps(kind)} && datum.entries > 0")
        .mark_text(fontSize=LABEL_SIZE, fontWeight="bold", color=TEXT_DARK, baseline=baseline, dy=dy)
        .encode(text=alt.Text(field="entries", type="quantitative", format=",d"))
        for kind, baseline, dy in (("milestone", "bottom", -3), ("setback", "top", 3))
    ]
    return _layer(bars, *labels, width="container", height=320, autosize=_FIT_X)


# --- survival curves --------------------------------------------------------------------------

_SURVIVAL_COLUMNS = ("group", "time", "at_risk", "events", "censored", "survival")


def survival_curves(steps: pd.DataFrame | None) -> alt.LayerChart:
    """Kaplan–Meier step curves, one per group, with a tick where structures were censored.

    y is the share still running; x is months since the origin. Up to :data:`END_LABELS_MAX`
    groups are named in a column right of the plot, each level with its curve's end (moved apart
    where ends are close), a piece of its line before the name: groups are told apart without
    relying on colour alone (past the palette's eight colours, lines are dashed, then dotted), and
    the names are the legend. More groups than that get a legend.
    """
    frame = _frame(steps, _SURVIVAL_COLUMNS, "survival_curves")
    _check_total("survival_curves", frame)
    groups = _ordered(frame.assign(order=0), "group", "order") if len(frame) else []
    legend = (
        _legend("Group", orient="bottom", columns=2, symbolType="stroke", symbolStrokeWidth=3, symbolSize=300)
        if len(groups) > END_LABELS_MAX
        else None
    )
    colour = alt.Color(
        field="group",
        type="nominal",
        scale=alt.Scale(domain=groups, range=_palette(len(groups))),
        # Named at the curves' ends (below) up to END_LABELS_MAX groups, a legend beyond that: a
        # piece of each line, its colour and dashes (one legend for both channels).
        legend=legend,
    )
    x = alt.X(
        field="time",
        type="quantitative",
        title="Months",
        axis=_axis(tickMinStep=1, grid=False),
        scale=alt.Scale(zero=True),
    )
    y = alt.Y(
        field="survival",
        type="quantitative",
        title="Share still running",
        scale=alt.Scale(domain=[0, 1]),
        axis=_axis(format="%", gridColor="#E6E6E6"),
    )
    tooltip = [
        alt.Tooltip(field="group", type="nominal", title="Group"),
        alt.Tooltip(field="time", type="quantitative", title="Months", format=".1f"),
        alt.Tooltip(field="survival", type="quantitative", title="Still running", format=".0%"),
        alt.Tooltip(field="at_risk", type="quantitative", title="At risk", format=",d"),
        alt.Tooltip(field="events", type="quantitative", title="Stopped", format=",d"),
        alt.Tooltip(field="censored", type="quantitative", title="No news since (censored)", format=",d"),
    ]
    # Past the palette's eight colours a group's line is dashed, then dotted: two curves never look
    # the same (15 partnerships had Blackpool and Golden Key both in plain orange).
    dashes = [_DASHES[i // len(TYPOLOGY_PALETTE) % len(_DASHES)] for i in range(len(groups))]
    dash = alt.StrokeDash(field="group", type="nominal", scale=alt.Scale(domain=groups, range=dashes), legend=legend)
    base = alt.Chart(frame).encode(x=x, y=y, color=colour)
    line = base.mark_line(interpolate="step-after", strokeWidth=3).encode(strokeDash=dash, tooltip=tooltip)
    censored = (
        base.transform_filter("datum.censored > 0")
        .mark_point(shape="cross", size=140, filled=True, strokeWidth=1)
        .encode(tooltip=tooltip)
    )
    layers = [line, censored]
    if 1 < len(groups) <= END_LABELS_MAX:
        # Each group named in a column right of the plot, level with where its curve ends and moved
        # apart where curves end close together: written at the ends themselves, names ran past the
        # chart's right edge and over each other (three groups still at 100 %) and over the curves.
        last = frame.sort_values("time", kind="stable").groupby("group", sort=False)["survival"].last()
        order = sorted(groups, key=lambda g: -float(last[g]))  # top to bottom; ties in the legend's order
        ends = pd.DataFrame({"group": order, "survival": _spread([float(last[g]) for g in order], _END_GAP)})
        # A piece of the curve's line (its colour and dashes) and the name in dark text: pale colours
        # (yellow) as text were hard to read on a projector.
        names = alt.Chart(ends).encode(y=y)
        layers.append(
            names.mark_rule(x=alt.ExprRef(expr="width + 4"), x2=alt.ExprRef(expr="width + 26"), strokeWidth=3).encode(
                color=colour, strokeDash=dash
            )
        )
        layers.append(
            names.mark_text(
                align="left",
                baseline="middle",
                x="width",
                dx=32,
                fontSize=LABEL_SIZE,
                fontWeight="bold",
                color="#262730",
            ).encode(text=alt.Text(field="group", type="nominal"))
        )
    return _layer(*layers, data=frame, width="container", height=380, autosize=_FIT_X)


END_LABELS_MAX = 20
"""The most survival curves named at their ends; beyond that the legend alone names them."""
_DASHES: tuple[list[int], ...] = ([], [7, 4], [2, 3])  # solid, dashed, dotted: one for each turn of the palette
_END_GAP = 0.05  # of the survival scale between two end names: 19 px of the 380 px plot, a 15 px line


def _spread(values: list[float], gap: float, low: float = 0.0, high: float = 1.0) -> list[float]:
    """Positions for ``values`` (highest first) as near each as they can be with at least ``gap``
    between neighbours, within [``low``, ``high``] when there is room for them all."""
    placed: list[float] = []
    for value in values:  # down: each at its value, or a gap under the one above
        placed.append(min(value, high) if not placed else min(value, placed[-1] - gap))
    for i in range(len(placed) - 1, -1, -1):  # up: none under ``low``, each a gap over the one below
        placed[i] = max(placed[i], low if i == len(placed) - 1 else placed[i + 1] + gap)
    return placed
