"""Timeline: when things changed, lane by lane — one lane per partnership or per structure."""

import streamlit as st

from pages import _ui
from tracker import app_state, charts, queries
from tracker import context as context_events

_ui.frame_guard()

LANES = {"partnership": "Partnership", "structure": "Structure"}

st.title("Timeline")
filters = _ui.current_filters()
total = app_state.read(queries.count_entries, filters)
_ui.filter_caption(filters, total)
lane = _ui.url_choice("One lane per", LANES, key="lanes", default="partnership")

if total == 0:
    _ui.no_entries()
    st.stop()

only: tuple[tuple[str, str], ...] = ()
if lane == "structure":  # at a programme's scale, more structures than a chart can give a lane each (#6)
    most = queries.STRUCTURE_LANES
    picked, structures = app_state.read(queries.structure_lanes, filters, most)
    if structures > most:
        only = picked
        st.info(
            f"{structures:,} structures match: too many to give each a lane. The {most} with the most entries "
            "are drawn; narrow the filters (a partnership, a typology, dates) to see the others.",
            icon=":material/filter_list:",
        )
points, binned = app_state.read(queries.timeline, filters, lane, only=only)
if points.empty:
    st.info("None of the matching entries names a structure. Switch to one lane per partnership.")
    st.stop()
segments = app_state.read(queries.status_segments, filters, only=only) if lane == "structure" and not binned else None
if segments is not None and len(points) + len(segments) > charts.MAX_ROWS:
    st.caption("Too many structures to draw their status bands beside the entries; narrow the filters to see them.")
    segments = None  # a chart ships at most charts.MAX_ROWS rows (#6)
typologies = list(_ui.vocab()["typology"].labels.values())
# kept in the URL like the lanes, so a link shared after a SCAN meeting opens the same view (#3)
show_context = _ui.url_toggle("Show outside events (lockdowns, Everyone In, austerity…)", key="context", default=True)
try:  # the events file is data: a mistake in it is named, and the entries are drawn without it (#3)
    context = app_state.by_reference(
        context_events.bands, context_events.CONTEXT_FILE, files=(context_events.CONTEXT_FILE,)
    )
except ValueError as exc:
    st.error(f"Outside events not shown: {_ui.inert(exc)}", icon=":material/error:")
    context = None

st.caption(
    "Circles are milestones, triangles setbacks; colour shows the typology. A date given as a year or a "
    "month is drawn as a bar over that year or month."
    + (" Coloured bands show each structure's status over time." if lane == "structure" else "")
    + (
        " Grey bands mark outside events; a ring marks an entry tagged with that external factor."
        if show_context
        else ""
    )
)
if binned:
    st.warning(
        f"{total:,} entries are too many to draw one by one, so each mark counts the entries of one lane, "
        "period, kind and typology. Narrow the filters to see single entries."
        + (
            ""
            if charts.binned_by_year(points)
            else " The periods are months: an entry dated by year only is counted in January of its year."
        )
    )
_ui.chart_with_table(
    _ui.chart(
        charts.timeline,
        points,
        segments,
        lane_title=LANES[lane],
        typologies=typologies,
        binned=binned,
        context=context if show_context else None,
    ),
    points,
    key=f"timeline_{lane}",
    description="the entries on this timeline" if not binned else "counts per lane and period",
    columns=(
        {
            "lane": LANES[lane],
            "date_text": "Date",
            "kind": "Kind",
            "title": "Title",
            "typology": "Typology",
            "status": "Status",
            "mechanisms": "Mechanisms",
            "source": "Source",
        }
        if not binned
        else {
            "lane": LANES[lane],
            "start": "From",
            "kind": "Kind",
            "typology": "Typology",
            "count": "Entries",
        }
    ),
)
if segments is not None and not segments.empty:
    with st.expander("Status of each structure over time"):
        st.dataframe(
            segments,
            hide_index=True,
            width="stretch",
            column_order=["lane", "start", "end", "label"],
            column_config={
                "lane": "Structure",
                "start": st.column_config.DateColumn("From"),
                "end": st.column_config.DateColumn("Until"),
                "label": "Status",
            },
        )
