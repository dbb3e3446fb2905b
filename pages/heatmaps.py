"""Heatmaps: which kinds of change happen where, and which mechanisms recur. Click a cell for its entries."""

import streamlit as st

from pages import _ui
from tracker import app_state, charts, queries

_ui.frame_guard()

VIEWS = {
    "partnership-typology": "Partnership × typology",
    "partnership-mechanism": "Partnership × mechanism",
    "typology-mechanism": "Typology × mechanism",
}
METRICS = {
    "count": "Number of entries",
    "share": "Share of the row's entries",
    "net": "Milestones − setbacks",
}
TITLES = {
    "partnership": "Partnership",
    "typology": "Typology",
    "mechanism": "Mechanism",
    "condition": "Condition of systems change",
}
SCHEMES = {"meam": "MEAM six types", "fsg": "FSG six conditions"}

st.title("Heatmaps")
filters = _ui.current_filters()
total = app_state.read(queries.count_entries, filters)
_ui.filter_caption(filters, total)

# Two choices on a row and the measure under them: three side by side were too narrow for their
# options on a 1,400-pixel screen, and each column hid the end of the choice to its left.
controls = st.columns([5, 3])
with controls[0]:
    view = _ui.url_choice("Compare", VIEWS, key="view", default="partnership-typology")
with controls[1]:
    scheme = _ui.url_choice("Typology", SCHEMES, key="scheme", default="meam")
metric = _ui.url_choice("Measure", METRICS, key="metric", default="count")
rows, cols = ("condition" if d == "typology" and scheme == "fsg" else d for d in view.split("-"))

if total == 0:
    _ui.no_entries()
    st.stop()

cells = app_state.read(queries.heatmap, filters, rows, cols)
st.caption(
    {
        "count": "Each cell counts the entries with that pair. An entry with several mechanisms counts under each.",
        "share": f"Each cell is the share of that {rows}'s entries with that {cols}.",
        "net": "Milestones minus setbacks: blue where progress outweighs setbacks, orange where setbacks do.",
    }[metric]
    + (
        " Entries are re-sliced through the crosswalk from the MEAM types to FSG's six conditions "
        "(data/crosswalk.toml): an entry counts under every condition its type maps to."
        if scheme == "fsg"
        else ""
    )
)
event = _ui.chart_with_table(
    _ui.chart(charts.heatmap, cells, metric, TITLES[rows], TITLES[cols]),
    cells,
    key=f"heat_{view}_{scheme}_{metric}",
    description=f"{VIEWS[view].lower()}, {METRICS[metric].lower()}",
    columns={
        "row": TITLES[rows],
        "col": TITLES[cols],
        "count": "Entries",
        "share": "Share of row",
        "net": "Milestones − setbacks",
        "total": "Row total",
    },
    percent=("share",),
    on_select="rerun",
    selection_mode="cell",
)

st.header("Entries behind a cell")
_ui.cell_entries(filters, cells, rows, cols, _ui.selected_cell(event))
