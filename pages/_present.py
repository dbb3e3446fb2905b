"""Present mode: the dashboard on a projector in a SCAN meeting.

No sidebar (the filters stay as they were, and stay in the URL), no editing controls (the
"Record" pages leave the navigation, which moves to the top; entry tables offer no edit link),
and larger type. ``?present=1`` in a link opens the view in present mode.

Not a page: files in pages/ starting with "_" are helpers, not registered in app.py.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import streamlit as st

PARAM = "present"
STATE = "present"
TOGGLE = "present_toggle"
EDITING_SECTIONS = ("Record", "Manage")
"""Navigation sections that change data: left out in present mode."""

ROOT_FONT_PX = 20
"""The page's root font size in present mode (``html { font-size }`` below; Streamlit's own is 16 px)."""

CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"], [data-testid="stSidebarCollapseButton"] { display: none !important; }
html { font-size: 20px; }
[data-testid="stMainBlockContainer"] { max-width: none; padding-left: 3rem; padding-right: 3rem; }
[data-testid="stMetricValue"] { font-size: 3rem; }
[data-testid="stMetricLabel"] p { font-size: 1.1rem; }
[data-testid="stCaptionContainer"] { font-size: 0.95rem; }
</style>
"""


SCALE = ROOT_FONT_PX / 16
"""How much larger the charts' type (and their heights, to keep room for it) is in present mode."""
_SCALED = frozenset(
    {"fontSize", "labelFontSize", "titleFontSize", "labelLineHeight", "lineHeight", "labelLimit", "height", "step"}
)
_DATA = frozenset({"datasets", "data", "values"})


def larger(spec: Any) -> Any:
    """A chart's Vega-Lite spec with its type ``SCALE`` times larger, and its heights and label
    widths with it (the page's type grows with the root font size in present mode; a chart's, set
    in pixels, did not). A new spec: the cached one, shared by every session, is left as it is; its
    data is not walked."""
    if isinstance(spec, dict):
        return {
            key: value
            if key in _DATA
            else round(value * SCALE)
            if key in _SCALED and isinstance(value, (int, float)) and not isinstance(value, bool)
            else larger(value)
            for key, value in spec.items()
        }
    if isinstance(spec, list):
        return [larger(item) for item in spec]
    return spec


def active() -> bool:
    """Whether this session is in present mode (first read from ``?present=1``)."""
    if STATE not in st.session_state:
        st.session_state[STATE] = st.query_params.get(PARAM, "").strip().lower() in ("1", "true", "yes", "on")
    return bool(st.session_state[STATE])


def navigation(pages: Mapping[str, Sequence[Any]], present: bool) -> dict[str, list[Any]]:
    """The navigation's sections, without the editing ones in present mode."""
    return {section: list(items) for section, items in pages.items() if not (present and section in EDITING_SECTIONS)}


def position(present: bool) -> str:
    """Where the navigation goes: the top bar in present mode (the sidebar is hidden)."""
    return "top" if present else "sidebar"


def _toggled() -> None:
    st.session_state[STATE] = bool(st.session_state[TOGGLE])


def frame(present: bool) -> None:
    """The toggle (at the foot of the sidebar, or top right when presenting), the URL flag, the projector styles."""
    st.session_state[TOGGLE] = present
    label, help_text = "Present mode", "For a projector: no sidebar or editing controls, larger type; filters are kept"
    if present:
        with st.container(horizontal=True, horizontal_alignment="right"):
            st.toggle(label, key=TOGGLE, on_change=_toggled, help=help_text)
        st.html(CSS)
        if st.query_params.get(PARAM) != "1":
            st.query_params[PARAM] = "1"
    else:
        st.sidebar.divider()
        st.sidebar.toggle(label, key=TOGGLE, on_change=_toggled, help=help_text)
        if PARAM in st.query_params:
            del st.query_params[PARAM]
