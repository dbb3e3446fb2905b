"""Meeting furniture: downloads under every chart (PNG, SVG, CSV), the meeting pack buttons, and a
multiple choice kept in the URL (the areas on the compare page).

Not a page: files in pages/ starting with "_" are helpers, not registered in app.py. Files are
generated only when a button is clicked (``st.download_button(data=callable)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from tracker import app_state, render, report
from tracker.filters import Filters, describe


def url_choices(
    label: str,
    options: dict[str, str],
    key: str,
    *,
    max_selections: int,
    placeholder: str,
    default: Sequence[str] = (),
) -> tuple[list[str], list[str]]:
    """A multiple choice kept in the URL (``?key=a&key=b``); returns the choice and notes on unknown
    values. ``default``: the choice when the page is first drawn and the link names none, or when
    the options change (the sidebar's filters) while nothing is chosen; a choice cleared by hand
    stays cleared while the options stay the same."""
    state_key = f"u_{key}"
    offered_key = f"u_{key}_offered"  # the options of the last run, to see them change
    changed = st.session_state.get(offered_key) != tuple(options)
    st.session_state[offered_key] = tuple(options)
    notes: list[str] = []
    if state_key not in st.session_state:
        wanted = list(dict.fromkeys(v for v in st.query_params.get_all(key) if v.strip())) or list(default)
        unknown = [v for v in wanted if v not in options]
        if unknown:
            from pages._ui import inert  # here: _ui imports this module

            notes.append(  # the values are the link's text, shown as typed (never Markdown)
                f"The link asked for {key} {', '.join(inert(repr(v)) for v in unknown)}, not available here; ignored."
            )
        known = [v for v in wanted if v in options]
        if len(known) > max_selections:
            notes.append(f"The link names {len(known)} areas; the first {max_selections} are shown.")
        st.session_state[state_key] = known[:max_selections]
    else:  # the options follow the sidebar filters: drop what is no longer offered
        st.session_state[state_key] = [v for v in st.session_state[state_key] if v in options] or (
            list(default)[:max_selections] if changed else []
        )
    chosen: list[str] = st.multiselect(
        label,
        list(options),
        format_func=options.get,
        key=state_key,
        max_selections=max_selections,
        placeholder=placeholder,
    )
    if chosen:
        if st.query_params.get_all(key) != chosen:
            st.query_params[key] = chosen
    elif key in st.query_params:
        del st.query_params[key]
    return chosen, notes


def _scope_words() -> str:
    """The current filters in words (the as-at moment among them), for the subtitle of a downloaded chart."""
    filters: Filters = st.session_state.get("filters", Filters())
    return describe(filters, app_state.vocab())


def download_buttons(
    chart: Callable[[], Any],
    table: pd.DataFrame,
    *,
    key: str,
    description: str,
    columns: dict[str, str] | None = None,
) -> None:
    """PNG, SVG and CSV of one chart (``chart()`` builds it), drawn on the server when clicked (no browser needed)."""
    stem = render.file_stem(description)
    title = description[:1].upper() + description[1:]
    subtitle = _scope_words()
    with st.container(horizontal=True, gap="small", key=f"dl_{key}"):
        st.download_button(
            "PNG",
            data=lambda: render.png(chart(), title=title, subtitle=subtitle),
            file_name=f"{stem}.png",
            mime="image/png",
            key=f"{key}_png",
            icon=":material/image:",
            type="tertiary",
            on_click="ignore",
            help="The chart as a picture (PNG), for slides and documents",
        )
        st.download_button(
            "SVG",
            data=lambda: render.svg(chart(), title=title, subtitle=subtitle),
            file_name=f"{stem}.svg",
            mime="image/svg+xml",
            key=f"{key}_svg",
            icon=":material/draw:",
            type="tertiary",
            on_click="ignore",
            help="The chart as a vector drawing (SVG): sharp at any size",
        )
        st.download_button(
            "CSV",
            data=lambda: render.table_csv(table, columns),
            file_name=f"{stem}.csv",
            mime="text/csv",
            key=f"{key}_csv",
            icon=":material/table_view:",
            type="tertiary",
            on_click="ignore",
            help="The data behind the chart (CSV)",
        )


def pack_buttons(filters: Filters, by: str = "partnership", areas: list[str] | None = None) -> None:
    """The meeting pack for the current filters (and the areas compared), as PDF and as HTML."""
    store = app_state.store()
    chosen = list(areas or [])
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "Meeting pack (PDF)",
            data=lambda: report.pdf_bytes(store, filters, by=by, areas=chosen),
            file_name=f"meeting-pack-{stamp}.pdf",
            mime="application/pdf",
            key="pack_pdf",
            icon=":material/picture_as_pdf:",
            type="primary",
            on_click="ignore",
        )
        st.download_button(
            "Meeting pack (HTML)",
            data=lambda: report.html_bytes(store, filters, by=by, areas=chosen),
            file_name=f"meeting-pack-{stamp}.html",
            mime="text/html",
            key="pack_html",
            icon=":material/html:",
            on_click="ignore",
        )
