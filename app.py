"""Systems Change Tracker — the router and frame: page config, who is signing in, filters, navigation."""

import streamlit as st

from pages import _auth, _present, _ui
from tracker import app_state

st.set_page_config(
    page_title="Systems Change Tracker",
    page_icon="📈",  # an emoji: a Material icon here makes every browser fetch it from Google's font servers
    layout="wide",
    initial_sidebar_state="expanded",
)

problem = app_state.open_problem()
if problem is not None:  # a bad TRACKER_DB or a database server that cannot be reached

    def database_problem() -> None:
        st.error(f"**The tracker cannot open its database.** {problem}", icon=":material/database:")
        st.caption("Nothing was changed. Fix the setting or start the database, then reload this page.")

    _auth.alone("Database problem", database_problem)  # one page, no menu
app_state.begin_run()  # the data version is read once per run (tracker/app_state.py)
member = _auth.identify()  # stops here with a sign-in or request-access page when needed

PAGES = {
    "Explore": [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/timeline.py", title="Timeline", icon=":material/timeline:"),
        st.Page("pages/heatmaps.py", title="Heatmaps", icon=":material/grid_on:"),
        st.Page("pages/legacy.py", title="Legacy register", icon=":material/account_balance:"),
        st.Page("pages/survival.py", title="Survival", icon=":material/monitor_heart:"),
        st.Page("pages/compare.py", title="Compare areas", icon=":material/compare_arrows:"),
    ],
    "Record": [
        st.Page("pages/log_entry.py", title="Log an entry", icon=":material/edit_note:"),
        st.Page("pages/import_export.py", title="Import / export", icon=":material/swap_vert:"),
    ],
    "Manage": [
        st.Page("pages/admin.py", title="Admin", icon=":material/admin_panel_settings:"),
    ],
}
if not member.can_write:
    PAGES["Record"] = [p for p in PAGES["Record"] if p.title == "Import / export"]  # viewers may export
if not member.is_admin:
    PAGES.pop("Manage")

present = _present.active()  # present mode: no Record pages, navigation on top, no sidebar
page = st.navigation(_present.navigation(PAGES, present), position=_present.position(present))
_auth.sidebar_identity(member, signed_in=_auth.auth_config() is not None)
# The filters shape the Explore pages and the export; on the entry form and Admin they are only kept.
UNFILTERED = {
    "Log an entry": "They shape the Explore pages and the export, not this form (an “As at” date only stops editing).",
    "Admin": "They shape the Explore pages and the export, not this page.",
}
filters, notes = _ui.filter_bar(UNFILTERED.get(page.title))
st.session_state["filters"] = filters
_present.frame(present)  # the toggle (foot of the sidebar, or top right when presenting) and the styles
if member is _auth.LOCAL_ADMIN:
    _auth.local_mode_banner()
_ui.as_at_banner(filters)
for note in notes:  # they quote the link's text: shown as typed, never drawn as Markdown
    st.warning(_ui.inert(note), icon=":material/link_off:")
page.run()
