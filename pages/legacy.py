"""Legacy register: which structures survived, who hosts them now, and since when."""

import streamlit as st

from pages import _ui
from tracker import app_state, charts, interchange, queries

_ui.frame_guard()

st.title("Legacy register")
filters = _ui.current_filters()
register = app_state.read(queries.structures, filters)
_ui.filter_caption(filters, app_state.read(queries.count_entries, filters))

if register.empty:
    st.info(
        "No structures match these filters. Entries name a structure (a board, network, service or "
        "policy) to appear here."
    )
    st.stop()

survival = app_state.read(queries.survival, filters)
structures = int(survival["structures"].sum())
surviving = int(survival["surviving"].sum())
confirmed = int(survival["confirmed_after_end"].sum())
cols = st.columns(3)
cols[0].metric("Structures", f"{structures:,}")
cols[1].metric("Still running", f"{surviving:,}", help="Current status continuing or hosted elsewhere")
cols[2].metric("Share still running", f"{surviving / structures:.0%}")
st.caption(
    f"{confirmed} of the {surviving} still running have a status recorded after their partnership's funding "
    "ended; the rest are running as far as the last entry says."
)

st.header("Structures by current status")
counts = app_state.read(queries.structure_status_counts, filters)
statuses = [*_ui.vocab()["status"].labels.values(), queries.NOT_RECORDED]
_ui.chart_with_table(
    charts.legacy_status_bar(counts, statuses=statuses),
    counts,
    key="legacy_bar",
    description="structures per partnership and status",
    columns={"partnership": "Partnership", "status": "Current status", "structures": "Structures"},
)

st.header("Still running after funding ended")
st.dataframe(
    survival,
    hide_index=True,
    width="stretch",
    column_order=[
        "partnership",
        "partnership_end",
        "structures",
        "surviving",
        "share_surviving",
        "confirmed_after_end",
    ],
    column_config={
        "partnership": st.column_config.TextColumn("Partnership", width="large"),
        "partnership_end": st.column_config.DateColumn("Funding ended"),
        "structures": "Structures",
        "surviving": "Still running",
        "share_surviving": st.column_config.ProgressColumn(
            "Share still running", format="percent", min_value=0, max_value=1
        ),
        "confirmed_after_end": st.column_config.NumberColumn(
            "Confirmed after funding ended", help="Still running, with a status recorded after the end date"
        ),
    },
)

st.header("Register")
st.dataframe(
    register,
    hide_index=True,
    width="stretch",
    column_order=["partnership", "structure", "typology", "status", "host", "since", "last_entry", "entries"],
    column_config={
        "partnership": "Partnership",
        "structure": st.column_config.TextColumn("Structure", width="medium"),
        "typology": "Typology",
        "status": "Current status",
        "host": "Host organisation",
        "since": st.column_config.TextColumn("Since", help="Date of the entry that began the current status"),
        "last_entry": "Last entry",
        "entries": "Entries",
    },
)
st.download_button(
    "Download the register (CSV)",
    data=lambda: interchange.frame_csv(register, queries.REGISTER_COLUMNS),
    file_name="legacy-register.csv",
    mime="text/csv",
    icon=":material/download:",
)
