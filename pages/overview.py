"""Overview: headline figures for the current filter, latest entries, and a small heatmap."""

import streamlit as st

from pages import _ui
from tracker import app_state, charts, queries, verification
from tracker.wording import agree, quantity

_ui.frame_guard()

st.title("Overview")
filters = _ui.current_filters()
LATEST = ["date", "partnership", "kind", "title", "typology", "status"]
# Widths that fit the main column of a 1,400-pixel screen (~920 px with the row-selection column),
# long titles, names and typologies wrapped: a projector shows every column without a sideways scroll.
LATEST_WIDTHS = {"date": 95, "partnership": 160, "kind": 85, "title": 280, "typology": 145, "status": 120}
# the heatmap and the latest entries are read while the figures are (app_state.ahead)
app_state.ahead(queries.heatmap, filters, "partnership", "typology")
app_state.ahead(queries.entry_list, filters, limit=10, columns=tuple(LATEST))
figures = app_state.read(verification.figures, filters)  # with the unverified structures
_ui.filter_caption(filters, figures["entries"])

if figures["entries"] == 0:
    _ui.no_entries()
    st.stop()

st.header("Entries")
cols = st.columns(4)
cols[0].metric("Entries", f"{figures['entries']:,}")
cols[1].metric("Milestones", f"{figures['milestones']:,}")
cols[2].metric("Setbacks", f"{figures['setbacks']:,}")
cols[3].metric("Partnerships", f"{figures['partnerships']:,}")

st.header("Structures and their current status")
cols = st.columns(4)
cols[0].metric("Structures recorded", f"{figures['structures']:,}")
cols[1].metric("Continuing", f"{figures['continuing']:,}")
cols[2].metric("Hosted elsewhere", f"{figures['hosted-elsewhere']:,}")
cols[3].metric("Decommissioned", f"{figures['decommissioned']:,}")
if figures["not-recorded"]:
    n = figures["not-recorded"]
    st.caption(f"{quantity(n, 'structure')} {agree(n, 'has', 'have')} no status recorded yet.")
if figures["running"]:
    months = app_state.store().settings.verify_months
    st.warning(
        f"**{quantity(figures['running'], 'structure')} still running as far as we know "
        f"{agree(figures['running'], 'has', 'have')} not been confirmed for "
        f"{months} months or more** — their status may be out of date. The legacy register lists them per "
        "partnership under *Needs checking*.",
        icon=":material/pending_actions:",
    )
    st.page_link(
        "pages/legacy.py",
        label="Check them on the legacy register",
        icon=":material/arrow_forward:",
        query_params={**_ui.filter_params(filters), "legacy_view": "Needs checking"},
    )

st.header("Area × typology")
cells = app_state.read(queries.heatmap, filters, "partnership", "typology")
_ui.chart_with_table(
    _ui.chart(charts.heatmap, cells, "count", "Partnership", "Typology"),
    cells,
    key="overview_heat",
    description="entries per partnership and typology",
    columns={"row": "Partnership", "col": "Typology", "count": "Entries"},
)
st.page_link(
    "pages/heatmaps.py",
    label="Open the full heatmaps",
    icon=":material/grid_on:",
    query_params=_ui.filter_params(filters),
)

st.header("Latest entries")
latest = app_state.read(queries.entry_list, filters, limit=10, columns=tuple(LATEST))
_ui.entry_table(latest, key="overview_latest", columns=LATEST, widths=LATEST_WIDTHS)
