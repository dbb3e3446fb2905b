"""Systems Change Tracker — the router and frame: page config, shared filters, navigation."""

import streamlit as st

from pages import _ui

st.set_page_config(
    page_title="Systems Change Tracker",
    page_icon=":material/timeline:",
    layout="wide",
    initial_sidebar_state="expanded",
)

PAGES = {
    "Explore": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/timeline.py", title="Timeline", icon=":material/timeline:"),
        st.Page("pages/heatmaps.py", title="Heatmaps", icon=":material/grid_on:"),
        st.Page("pages/legacy.py", title="Legacy register", icon=":material/account_balance:"),
    ],
    "Record": [
        st.Page("pages/log_entry.py", title="Log an entry", icon=":material/edit_note:"),
        st.Page("pages/import_export.py", title="Import / export", icon=":material/swap_vert:"),
    ],
}

page = st.navigation(PAGES)
filters, notes = _ui.filter_bar()
st.session_state["filters"] = filters
for note in notes:
    st.warning(note, icon=":material/link_off:")
page.run()
