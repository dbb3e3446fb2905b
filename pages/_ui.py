"""Shared page furniture: the sidebar filter bar (synced with the URL), tables and chart wrappers.

Not a page: files in pages/ starting with "_" are helpers, not registered in app.py.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal
from urllib.parse import urlsplit

import altair as alt
import pandas as pd
import streamlit as st

from pages import _meeting, _present
from tracker import app_state, queries
from tracker.access import Member
from tracker.filters import EARLIEST, PARAMS, Filters, end_of_day, from_params, narrow, to_params
from tracker.models import CONTRIBUTIONS
from tracker.taxonomy import Vocab

FILTER_KEYS = {field: f"f_{param}" for param, field in PARAMS.items()} | {
    "date_from": "f_from",
    "date_to": "f_to",
    "as_at": "f_as_at",
}
URL_KEYS = [*PARAMS, "from", "to", "as_at"]
DATE_FIELDS = ("date_from", "date_to", "as_at")


def vocab() -> Vocab:
    """The current vocabularies (cached until they change)."""
    return app_state.vocab()


def _seed_from_url(v: Vocab) -> list[str]:
    """On a session's first run, set the filter widgets from the URL; return notes on unknown values."""
    if st.session_state.get("_filters_seeded"):
        return []
    params = {key: st.query_params.get_all(key) for key in URL_KEYS}
    filters, notes = from_params(params, v)
    for field, key in FILTER_KEYS.items():
        value = getattr(filters, field)
        if field == "as_at" and value is not None:
            value = value.date()
        st.session_state[key] = list(value) if isinstance(value, tuple) else value
    st.session_state["_filters_seeded"] = True
    return notes


def _clear() -> None:
    for field, key in FILTER_KEYS.items():
        st.session_state[key] = None if field in DATE_FIELDS else []


def _back_to_now() -> None:
    st.session_state[FILTER_KEYS["as_at"]] = None


def filter_bar(unfiltered: str | None = None) -> tuple[Filters, list[str]]:
    """Draw the shared filters in the sidebar; return the current filter and notes on the URL.

    ``unfiltered``: said under the heading on a page the filters do not shape (they stay set for
    the pages they do)."""
    v = vocab()
    notes = _seed_from_url(v)
    partnerships = {p.slug: p.name for p in v.partnerships}
    with st.sidebar:
        top = st.columns([3, 2], vertical_alignment="bottom")
        top[0].markdown("**Filters**")
        top[1].button("Clear all", on_click=_clear, key="f_clear", width="stretch")
        if unfiltered:
            st.caption(unfiltered)
        programmes = sorted({p.programme for p in v.partnerships})
        st.multiselect("Programme", programmes, key=FILTER_KEYS["programmes"], placeholder="All programmes")
        st.multiselect(
            "Partnerships",
            list(partnerships),
            format_func=partnerships.get,
            key=FILTER_KEYS["partnerships"],
            placeholder="All partnerships",
        )
        dates = st.columns(2)
        dates[0].date_input(
            "From",
            value=None,
            min_value=EARLIEST,
            max_value=date.today(),
            key=FILTER_KEYS["date_from"],
            format="YYYY-MM-DD",
        )
        dates[1].date_input(
            "To",
            value=None,
            min_value=EARLIEST,
            max_value=date.today(),
            key=FILTER_KEYS["date_to"],
            format="YYYY-MM-DD",
        )
        st.multiselect(
            "Kind",
            ["milestone", "setback"],
            format_func=lambda k: f"{k.title()}s",
            key=FILTER_KEYS["kinds"],
            placeholder="Milestones and setbacks",
        )
        st.multiselect(
            "Programme's contribution",
            list(CONTRIBUTIONS),
            format_func=str.capitalize,
            key=FILTER_KEYS["contributions"],
            placeholder="Any contribution",
            help="Direct: the programme made it happen; contributory: one of several causes; influenced: others "
            "made it happen, influenced by the programme; unclear.",
        )
        for field, vocabulary, label in (
            ("typologies", "typology", "Typology"),
            ("conditions", "condition", "Conditions of systems change (FSG)"),
            ("statuses", "status", "Status"),
            ("mechanisms", "mechanism", "Mechanisms"),
            ("sectors", "sector", "Sectors"),
        ):
            lookup = v[vocabulary]
            st.multiselect(
                label,
                list(lookup.labels),
                format_func=lookup.label,
                key=FILTER_KEYS[field],
                placeholder={"Typology": "All typologies", "Status": "All statuses"}.get(label, "All"),
            )
        st.divider()
        st.date_input(
            "As at",
            value=None,
            min_value=EARLIEST,
            max_value=date.today(),
            key=FILTER_KEYS["as_at"],
            format="YYYY-MM-DD",
            help="Show the tracker as it stood at the end of this day (UTC), e.g. what was shown at the last "
            "SCAN meeting. Leave empty for now.",
        )
    values: dict[str, Any] = {}
    for field, key in FILTER_KEYS.items():
        value = st.session_state.get(key)
        values[field] = value if field in DATE_FIELDS else tuple(value or ())
    if values["as_at"] is not None:
        values["as_at"] = end_of_day(values["as_at"])
    if values["date_from"] and values["date_to"] and values["date_from"] > values["date_to"]:
        notes.append("The 'From' date is after the 'To' date; the dates are ignored until that is fixed.")
        values["date_from"] = values["date_to"] = None
    filters = Filters(**values)
    _write_url(to_params(filters), URL_KEYS)
    return filters, notes


def as_at_banner(filters: Filters) -> None:
    """Say plainly, on every page, when the view is of the past."""
    if filters.as_at is None:
        return
    cols = st.columns([5, 1], vertical_alignment="center")
    cols[0].info(
        f"**As at the end of {filters.as_at.day} {filters.as_at:%B %Y}** (UTC): the tracker as it stood then. Entries "
        "added, changed or deleted later are shown as they were.",
        icon=":material/history:",
    )
    cols[1].button("Back to now", on_click=_back_to_now, key="as_at_now", icon=":material/update:")


def _write_url(params: dict[str, list[str]], keys: list[str]) -> None:
    for key in keys:
        if key in params:
            if st.query_params.get_all(key) != params[key]:
                st.query_params[key] = params[key]
        elif key in st.query_params:
            del st.query_params[key]


def filter_params(filters: Filters) -> dict[str, list[str]]:
    """URL parameters for ``filters`` (to carry them across a page link)."""
    return to_params(filters)


def current_filters() -> Filters:
    """The filter the frame (app.py) computed for this run."""
    return st.session_state.get("filters", Filters())


def url_choice(label: str, options: dict[str, str], key: str, default: str, horizontal: bool = True) -> str:
    """A page-level choice (e.g. a heatmap metric) kept in the URL so a link reproduces the view."""
    state_key = f"u_{key}"
    unknown = None
    if state_key not in st.session_state:
        wanted = st.query_params.get(key)
        st.session_state[state_key] = wanted if wanted in options else default
        if wanted is not None and wanted not in options:  # as unknown filter values are: said, not silent
            unknown = f"The link asked for {key} '{inert(wanted)}', which this page does not have; ignored."
    choice = (
        st.segmented_control(label, list(options), format_func=options.get, key=state_key, selection_mode="single")
        if horizontal
        else st.radio(label, list(options), format_func=options.get, key=state_key)
    )
    if unknown:
        st.warning(unknown, icon=":material/link_off:")
    if choice is None:  # a segmented control can be clicked off; keep a value
        choice = default
    _write_url({key: [choice]} if choice != default else {}, [key])
    return choice


_ON = ("on", "true", "1", "yes")
_OFF = ("off", "false", "0", "no")


def url_toggle(label: str, key: str, default: bool, help: str | None = None) -> bool:
    """A page-level switch kept in the URL as :func:`url_choice` keeps a choice: ``?key=on`` or
    ``?key=off`` when it differs from ``default``, nothing when it is the default (a clean link)."""
    state_key = f"u_{key}"
    unknown = None
    if state_key not in st.session_state:
        wanted = st.query_params.get(key)
        word = (wanted or "").strip().lower()
        st.session_state[state_key] = True if word in _ON else False if word in _OFF else default
        if wanted is not None and word not in (*_ON, *_OFF):  # as unknown filter values are: said, not silent
            unknown = f"The link asked for {key} '{inert(wanted)}', which is neither 'on' nor 'off'; ignored."
    value = st.toggle(label, key=state_key, help=help)
    if unknown:
        st.warning(unknown, icon=":material/link_off:")
    _write_url({key: ["on" if value else "off"]} if value != default else {}, [key])
    return bool(value)


def filter_caption(filters: Filters, shown: int) -> None:
    """One line under the title saying what the page covers."""
    from tracker.filters import describe

    # Of every entry there was at the moment shown: "as at" a past day, those recorded by then.
    # ``shown`` counts the entries ``filters`` select: with none set, that is the total (#6: a read less)
    every = Filters(as_at=filters.as_at)
    total = shown if filters == every else app_state.read(queries.count_entries, every)
    scope = describe(filters, vocab())
    st.caption(f"{shown:,} of {total:,} entries · {inert(scope)}")  # names and labels as typed


def no_entries() -> None:
    """The plain empty state."""
    st.info("No entries match these filters. Widen them in the sidebar, or choose **Clear all**.")


@dataclass(frozen=True)
class Chart:
    """A chart to draw: ``build(*args, **kwargs)`` gives the Altair chart. Built (and converted
    to Vega-Lite) only when its cached spec is missing (``app_state.chart_spec``), and again for
    a PNG or SVG download when one is clicked."""

    build: Callable[..., alt.TopLevelMixin]
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)

    def make(self) -> alt.TopLevelMixin:
        return self.build(*self.args, **self.kwargs)


def chart(build: Callable[..., alt.TopLevelMixin], *args: Any, **kwargs: Any) -> Chart:
    """``build(*args, **kwargs)``, to be drawn by :func:`chart_with_table`."""
    return Chart(build, args, kwargs)


def chart_with_table(
    chart: Chart,
    table: pd.DataFrame,
    *,
    key: str,
    description: str,
    columns: dict[str, str] | None = None,
    on_select: str = "ignore",
    selection_mode: str | None = None,
    percent: Sequence[str] = (),
) -> Any:
    """A chart plus its text alternative: the table behind it (``columns``: name -> heading;
    ``percent``: columns of fractions, shown as percentages)."""
    kwargs: dict[str, Any] = {"key": key, "width": "stretch"}
    if on_select != "ignore":
        kwargs |= {"on_select": on_select, "selection_mode": selection_mode}
    # The spec as st.altair_chart would make it, cached by what the chart is built from (#6)
    spec = app_state.chart_spec(chart.build, *chart.args, **chart.kwargs)
    event = st.vega_lite_chart(_present.larger(spec) if _present.active() else spec, **kwargs)
    _meeting.download_buttons(chart.make, table, key=key, description=description, columns=columns)
    # The table is drawn only while its expander is open (opening it reruns the page): closed, it
    # would still be converted and sent on every run, for each chart on the page (#6).
    data = st.expander(f"Data behind this chart: {description}", key=f"{key}_data", on_change="rerun")
    if data.open:
        with data:
            st.dataframe(
                table,
                hide_index=True,
                width="stretch",
                column_order=list(columns) if columns else None,
                column_config={k: _heading(k, v, percent) for k, v in (columns or {}).items()},
            )
    return event


def _heading(name: str, heading: str, percent: Sequence[str]) -> Any:
    """A table column's heading; fractions as percentages."""
    if name in percent:
        return st.column_config.NumberColumn(heading, format="percent")
    return st.column_config.Column(heading)


ENTRY_COLUMNS = {
    "date": st.column_config.TextColumn("Date", help="As entered: a year, a month or a day", width="small"),
    "partnership": st.column_config.TextColumn("Partnership"),
    "kind": st.column_config.TextColumn("Kind", width="small"),
    "title": st.column_config.TextColumn("Title", width="large"),
    "typology": st.column_config.TextColumn("Typology"),
    "status": st.column_config.TextColumn("Status"),
    "host": st.column_config.TextColumn("Host"),
    "structure": st.column_config.TextColumn("Structure"),
    "mechanisms": st.column_config.TextColumn("Mechanisms"),
    "source": st.column_config.TextColumn("Source"),
    # Only http(s) sources become links (see http_url); every source also stays plain text above.
    "source_url": st.column_config.LinkColumn("Link", display_text=r"https?://([^/?#]+)", width="small"),
}


def http_url(value: Any) -> str | None:
    """``value`` if it is a plain http(s) link (never javascript:, data: or the like), else ``None``."""
    if not isinstance(value, str) or not value.isprintable() or any(c.isspace() for c in value):
        return None
    parts = urlsplit(value)
    return value if parts.scheme.lower() in ("http", "https") and parts.hostname else None


def inert(text: Any) -> str:
    """User text for Markdown (st.markdown, messages, labels): every Markdown character escaped.

    Titles, hosts and structure names then show exactly as typed: ``![x](http://…)`` is not an
    image that calls another site, ``[x](javascript:…)`` not a link, ``**x**`` not bold.
    """
    # Streamlit's Markdown also turns bare URLs and emails into links after escapes are resolved;
    # an invisible word joiner keeps them plain text (they still read and copy the same).
    text = str(text).replace("://", ":\u2060//").replace("www.", "www\u2060.").replace("@", "@\u2060")
    return _MARKDOWN.sub(r"\\\1", text)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


# What an entry table shows unless told otherwise; read only these (queries.entry_list(columns=…)).
ENTRY_TABLE = ("date", "partnership", "kind", "title", "typology", "status", "host", "structure", "source")


WRAPPED_ROWS_SHOWN = 10  # a longer fitted table scrolls inside a box this many rows tall


def wrapped_row_height() -> int:
    """A row height at which Streamlit wraps a cell's text onto up to three lines: over 4rem, which
    is 64 px, and 80 px in present mode's larger type (at 66 px the text there was cut, not wrapped)."""
    return 4 * _rem() + 2


def wrapped_height(rows: int) -> Literal["content"] | int:
    """The height of a table of :func:`wrapped_row_height` rows: all of them up to
    :data:`WRAPPED_ROWS_SHOWN`, else that many in view and a scroll bar (Streamlit's own height stops
    at five and a half of these rows)."""
    if rows <= WRAPPED_ROWS_SHOWN:
        return "content"
    return WRAPPED_ROWS_SHOWN * wrapped_row_height() + 37 * _rem() // 16  # and the header row and borders


def _rem() -> int:
    """The page's root font size in pixels: larger in present mode."""
    return _present.ROOT_FONT_PX if _present.active() else 16


def entry_table(
    entries: pd.DataFrame, *, key: str, columns: list[str] | None = None, widths: dict[str, int] | None = None
) -> None:
    """Entries as a table; selecting a row offers to open it for editing.

    ``widths`` (pixels per column) fits the table to the page, with long text wrapped onto up to
    three lines rather than cut or scrolled to the side, and up to :data:`WRAPPED_ROWS_SHOWN` rows
    in view (:func:`wrapped_height`).
    """
    shown = columns or list(ENTRY_TABLE)
    if "source" in shown and "source" in entries:
        entries = entries.assign(source_url=[http_url(v) for v in entries["source"]])
        shown = [*shown, "source_url"] if "source_url" not in shown else shown
    event = st.dataframe(
        entries,
        hide_index=True,
        width="stretch",
        column_order=shown,
        column_config={
            k: {**v, "width": widths[k]} if widths and k in widths else v
            for k, v in ENTRY_COLUMNS.items()
            if k in shown
        },
        row_height=wrapped_row_height() if widths else None,
        height=wrapped_height(len(entries)) if widths else "auto",
        placeholder="—",  # a setback with no status: a dash, not Streamlit's grey "None"
        on_select="rerun",
        selection_mode="single-row",
        key=key,
    )
    if _present.active() or not app_state.member().can_write:
        return  # present mode offers no editing controls; viewers have no entry page to link to
    rows = event.selection.rows if event and hasattr(event, "selection") else []
    if rows:
        entry = entries.iloc[rows[0]]
        st.page_link(
            "pages/log_entry.py",
            label=f"Edit “{inert(entry['title'])}”",
            icon=":material/edit:",
            query_params={"edit": entry["id"]},
        )
    else:
        st.caption("Select a row to edit that entry.")


def selected_cell(event: Any) -> tuple[str, str] | None:
    """The (row_key, col_key) of the heatmap cell the user clicked, if any."""
    try:
        points = event.selection["cell"]
    except (AttributeError, KeyError, TypeError):
        return None
    if not points:
        return None
    point = points[0] if isinstance(points, list) else points
    try:
        return str(point["row_key"]), str(point["col_key"])
    except (KeyError, TypeError):
        return None


CELL_ROWS = 500  # entries listed under a heatmap cell; the rest are in its download
# A cell's entries: every column in view on a 1,400-pixel screen (~920 px), long text wrapped, and
# the cell's own partnership or typology left out (it is in the heading above the table).
CELL_COLUMNS = ("date", "partnership", "kind", "title", "typology", "status", "structure", "host", "source")
CELL_WIDTHS = {
    "date": 90,
    "partnership": 150,
    "kind": 80,
    "title": 190,
    "typology": 140,
    "status": 110,
    "structure": 110,
    "host": 100,
    "source": 140,  # a citation: "CFE Research (2022) Fulfilling Lives: …" on three lines
    "source_url": 60,
}
AUDIT_SHOWN = 500  # audit events on the admin page, newest first (a backup has all of them)
DELETED_READ = 200  # deleted entries read for the entry page's "Recently deleted" list…
DELETED_SHOWN = 20  # …and listed there, newest deletion first


def cell_entries(filters: Filters, cells: pd.DataFrame, rows: str, cols: str, picked: tuple[str, str] | None) -> None:
    """The entries behind the heatmap cell the user clicked: how many there are (the cell's own
    count), the latest :data:`CELL_ROWS` of them, and all of them as a download when that is not
    all (at a programme's scale a cell holds thousands, #6)."""
    if picked is not None and not ((cells["row_key"] == picked[0]) & (cells["col_key"] == picked[1])).any():
        picked = None  # a cell the chart still holds from before the filters changed: not in this grid
    if picked is None:
        st.caption("Click a cell to list the entries behind it.")
        return
    row_key, col_key = picked
    labels = cell_labels(cells, row_key, col_key)
    found = cells.loc[(cells["row_key"] == row_key) & (cells["col_key"] == col_key), "count"]
    entries = app_state.read(
        queries.cell_entries, filters, rows, row_key, cols, col_key, limit=CELL_ROWS, columns=ENTRY_TABLE
    )
    total = int(found.iloc[0]) if len(found) else len(entries)
    heading = f"**{inert(labels[0])}** × **{inert(labels[1])}**"  # names and labels as typed, not Markdown
    st.markdown(f"{heading}: {total:,} entr{'y' if total == 1 else 'ies'}")
    if entries.empty:
        st.info("No entries in this cell.")
        return
    if total > len(entries):
        st.caption(
            f"The latest {len(entries):,} are listed below. Narrow the filters (dates, kind, status…) to list "
            f"fewer, or download all {total:,}."
        )
        cell = narrow(narrow(filters, rows, row_key), cols, col_key)
        if not too_many_to_export(total):
            drawn_for = app_state.member()
            st.download_button(
                f"All {total:,} entries (CSV)",
                data=lambda: export_bytes(cell, "csv", drawn_for),
                file_name=f"entries-{row_key}-{col_key}.csv",
                mime="text/csv",
                icon=":material/download:",
                key="heat_cell_download",
            )
    fixed = {rows, cols}  # a condition (FSG) is not a typology: each type's own typology still says which
    shown = [column for column in CELL_COLUMNS if column not in fixed]
    entry_table(entries, key="heat_cell_entries", columns=shown, widths=CELL_WIDTHS)


def cell_labels(cells: pd.DataFrame, row_key: str, col_key: str) -> tuple[str, str]:
    """The display labels of a heatmap cell's row and column."""
    row = cells.loc[cells["row_key"] == row_key, "row"]
    col = cells.loc[cells["col_key"] == col_key, "col"]
    return (row.iloc[0] if len(row) else row_key, col.iloc[0] if len(col) else col_key)


def too_many_to_export(matching: int) -> bool:
    """Whether ``matching`` entries are more than one download from the app may hold; if so, say
    so and what to do instead (the file is built in the app's memory, #6)."""
    limit = app_state.store().settings.max_export_rows
    if matching <= limit:
        return False
    st.warning(
        f"{matching:,} entries match: more than the {limit:,} one download from the app holds "
        "(TRACKER_MAX_EXPORT_ROWS), as the file is built in the server's memory. Narrow the filters (a "
        "partnership, dates…), or export every entry on the server with `python -m tracker export FILE`, or "
        "make a backup (Admin).",
        icon=":material/block:",
    )
    return True


def export_bytes(filters: Filters, fmt: str, member: Member) -> bytes:
    """The entries matching ``filters`` as a file in ``fmt``, generated when the user clicks: without
    a rerun of the page, so ``member`` (who drew it) is checked again then: someone taken off the
    tracker since gets :class:`~tracker.access.Forbidden`, not the data as it is now."""
    from io import BytesIO

    from tracker import interchange

    app_state.current(member)
    out = BytesIO()
    interchange.WRITERS[fmt](queries.export_rows(app_state.store(), filters), out)
    return out.getvalue()


def frame_guard() -> None:
    """Make sure the page runs inside the frame (app.py), never on its own.

    Streamlit treats a ``pages/`` folder beside the entry script as the legacy multipage
    layout until ``st.navigation`` has run once in the process. A deep link opened right
    after the server starts (``/timeline?partnership=voices``) would then run the page
    file alone — no filters, no frame. Switching the process to ``st.navigation`` mode
    and rerunning sends that request through app.py.
    """
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:  # pragma: no cover - a future Streamlit without the legacy mode
        return
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()
