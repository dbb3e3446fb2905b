"""The dashboard's pages (routed by app.py) and their shared parts (the modules named with a "_").

Streamlit takes a ``pages/`` folder beside the entry script for its legacy multipage layout until
``st.navigation`` has run once in the server process: the first run after a start lists every file
here in the sidebar ("app", "auth", "ui", "meeting"…) until app.py's menu replaces it 2-3 s later,
and a deep link (``/timeline?…``) runs its page file alone. This package is imported by the first
thing that run executes (app.py, or that page), before anything slow: it swaps that list for an
empty, hidden menu at once, leaves the legacy layout and starts the run again through app.py.
``_ui.frame_guard`` stays as the second line: a page that finds itself run alone reruns too.
"""

from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

if PagesManager.uses_pages_directory and get_script_run_ctx(suppress_warning=True) is not None:
    from pathlib import Path

    import streamlit as st

    # Every page app.py may route to, under the same address, so that the link opened (/timeline?…)
    # is the page the rerun shows; app.py's menu then keeps only those the member may see.
    routed = sorted(p.stem for p in Path(__file__).parent.glob("[!_]*.py"))
    st.navigation(
        [st.Page(f"pages/{name}.py", default=name == "overview") for name in routed], position="hidden"
    )  # also leaves the legacy layout for the process
    st.rerun()  # through app.py, which draws the real menu (this module is imported again then: a no-op)
