"""Compare areas: two to six partnerships (or whole programmes) side by side, on the same scales."""

import streamlit as st

from pages import _meeting, _ui
from tracker import app_state, compare, queries

_ui.frame_guard()

st.title("Compare areas")
filters = _ui.current_filters()
_ui.filter_caption(filters, app_state.read(queries.count_entries, filters))

controls = st.columns([1, 2])
with controls[0]:
    by = _ui.url_choice("Compare", compare.BY, key="by", default="partnership")
with controls[1]:
    measure = _ui.url_choice("Profiles show", compare.PROFILE_MEASURES, key="measure", default="share")
noun = compare.BY[by].lower()
options = app_state.read(compare.area_options, filters, by)
# The sidebar narrowed to a meeting's two to six areas: those are compared, not chosen again.
narrowed = bool(filters.partnerships or filters.programmes) and compare.MIN_AREAS <= len(options) <= compare.MAX_AREAS
areas, notes = _meeting.url_choices(
    f"{compare.BY[by]} to compare",
    options,
    key="area",
    max_selections=compare.MAX_AREAS,
    placeholder=f"Choose {compare.MIN_AREAS} to {compare.MAX_AREAS} {noun}",
    default=list(options) if narrowed else (),
)
for note in notes:
    st.warning(note, icon=":material/link_off:")

if len(options) < compare.MIN_AREAS:
    st.info(f"The current filters leave fewer than two {noun} to compare. Widen them in the sidebar.")
elif len(areas) < compare.MIN_AREAS:
    st.info(f"Choose at least two {noun} to see them side by side.")
else:
    result = app_state.read(compare.compare, filters, by, tuple(areas))
    if result.empty:
        _ui.no_entries()
    else:
        st.header("Summaries")
        st.caption("Written from the data: counts, hosts and the most frequent typology and mechanism of each area.")
        per_row = 3 if len(areas) > 4 else len(areas)
        for start in range(0, len(areas), per_row):
            for column, (area, text) in zip(
                st.columns(per_row), result.summaries[start : start + per_row], strict=False
            ):
                with column.container(border=True):  # hosts and names are free text, not Markdown
                    st.subheader(_ui.inert(area))
                    st.markdown(_ui.inert(text))

        share = measure == "share"
        st.header("Typology profile")
        st.caption(
            ("Share of each area's entries" if share else "Entries of each area") + " by typology; one scale for all."
        )
        _ui.chart_with_table(
            _ui.chart(compare.profile_chart, result.typology, category_title="Typology", measure=measure),
            result.typology,
            key=f"compare_typology_{measure}",
            description="typology profile of each area",
            columns={"area": "Area", "category": "Typology", "entries": "Entries", "share": "Share of entries"},
            percent=("share",),
        )
        st.header("Mechanism profile")
        st.caption("An entry naming several mechanisms counts under each, so shares need not add up to 100 %.")
        _ui.chart_with_table(
            _ui.chart(
                compare.profile_chart, result.mechanism, category_title="Mechanism", measure=measure, colour_by="group"
            ),
            result.mechanism,
            key=f"compare_mechanism_{measure}",
            description="mechanism profile of each area",
            columns={
                "area": "Area",
                "group": "Group",
                "category": "Mechanism",
                "entries": "Entries",
                "share": "Share of entries",
            },
            percent=("share",),
        )
        st.header("Milestones and setbacks per year")
        st.caption("Milestones above the line, setbacks below it; the same years and the same scale for every area.")
        _ui.chart_with_table(
            _ui.chart(compare.year_chart, result.years),
            result.years,
            key="compare_years",
            description="milestones and setbacks per year and area",
            columns={"area": "Area", "year": "Year", "kind": "Kind", "entries": "Entries"},
        )
        st.header("Legacy")
        st.caption("Structures by current status: continuing, hosted elsewhere, decommissioned.")
        statuses = [*_ui.vocab()["status"].labels.values(), queries.NOT_RECORDED]
        _ui.chart_with_table(
            _ui.chart(compare.legacy_chart, result.legacy, statuses),
            result.legacy,
            key="compare_legacy",
            description="structures per area and current status",
            columns={"area": "Area", "status": "Current status", "structures": "Structures"},
        )

st.header("Meeting pack")
st.caption(
    "One document for the current filters: title page, headline figures, heatmaps, timeline, legacy register "
    "and a summary per area" + (", with the areas compared above." if len(areas) >= compare.MIN_AREAS else ".")
)
_meeting.pack_buttons(filters, by, areas if len(areas) >= compare.MIN_AREAS else None)
