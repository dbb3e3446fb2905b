"""Legacy register: which structures survived, who hosts them now, and since when."""

import calendar
from datetime import date

import streamlit as st

from pages import _present, _ui
from tracker import app_state, charts, links, queries, verification
from tracker.access import Forbidden, Member
from tracker.errors import InvalidInput
from tracker.filters import Filters
from tracker.wording import agree, quantity

_ui.frame_guard()

st.title("Legacy register")
filters = _ui.current_filters()
CHECKS_SHOWN = 10  # structures to check shown at a time, a row of buttons each; the list refills
LINK_CHOICES = 50  # structures offered in each list of the link form
app_state.ahead(queries.legacy_summary, filters)  # read while the count is (app_state.ahead)
_ui.filter_caption(filters, app_state.read(queries.count_entries, filters))
summary = app_state.read(queries.legacy_summary, filters)  # figures, chart and table from one query
survival = queries.survival_of(summary)
structures = int(survival["structures"].sum())
if not structures:
    st.info(
        "No structures match these filters. Entries name a structure (a board, network, service or "
        "policy) to appear here."
    )
    st.stop()

surviving = int(survival["surviving"].sum())
confirmed = int(survival["confirmed_after_end"].sum())
cols = st.columns(3)
cols[0].metric("Structures", f"{structures:,}")
cols[1].metric("Still running", f"{surviving:,}", help="Current status continuing or hosted elsewhere")
cols[2].metric("Share still running", f"{surviving / structures:.0%}")
st.caption(  # the survival page's rule, queries.confirmed_since (#8)
    f"{confirmed:,} of the {surviving:,} still running have been confirmed since their partnership's funding "
    "ended: their status was last recorded or confirmed on the day funding ended or later (an entry dated by "
    "year or month counts to the end of it, never past the day it was saved), as the survival page counts "
    "them. The rest are running as far as an earlier entry says."
)

st.header("Structures by current status")
counts = app_state.derive(queries.status_counts_of, summary)
statuses = queries.status_legend(_ui.vocab()["status"], counts["status"])
_ui.chart_with_table(
    _ui.chart(charts.legacy_status_bar, counts, statuses=statuses),
    counts,
    key="legacy_bar",
    description="structures per partnership and status",
    columns={"partnership": "Partnership", "status": "Current status", "structures": "Structures"},
)

st.header("Still running after funding ended")
st.dataframe(
    # A programme still running has no end date: say so, rather than Streamlit's grey "None".
    survival.assign(
        partnership_end=survival["partnership_end"].dt.strftime("%Y-%m-%d").fillna("still funded"),
        share_surviving=(survival["share_surviving"] * 100).round(),  # "33%" on a projector, not "33.33%"
    ),
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
        # Widths that fit the main column of a 1,400-pixel screen (~920 px): with the partnership
        # "large", the last column's numbers sat out of view to the right.
        "partnership": st.column_config.TextColumn("Partnership", width=330),
        "partnership_end": st.column_config.TextColumn("Funding ended", width=110),
        "structures": st.column_config.NumberColumn("Structures", width=90),
        "surviving": st.column_config.NumberColumn("Still running", width=100),
        "share_surviving": st.column_config.ProgressColumn(
            "Share still running", format="%d%%", min_value=0, max_value=100, width=130
        ),
        "confirmed_after_end": st.column_config.NumberColumn(
            "Confirmed since end",
            help="Still running, last confirmed on the day funding ended or later (as the survival page counts)",
            width=140,
        ),
    },
)


MONTHS = ("Not known", *calendar.month_name[1:])


def _closed_when(partnership: str, key: str) -> str | None:
    """The closure date the lead chose in a row's "Closed" box: "2023" or "2023-06" (None: no year)."""
    year = st.session_state.get(f"closed_year_{partnership}_{key}")
    month = MONTHS.index(st.session_state.get(f"closed_month_{partnership}_{key}") or MONTHS[0])
    return None if year is None else f"{year}-{month:02d}" if month else str(year)


def _confirm(partnership: str, key: str, outcome: str, name: str) -> None:
    when = _closed_when(partnership, key) if outcome == "closed" else None
    if outcome == "closed" and when is None:
        st.session_state["verify_message"] = ("error", f"Not recorded: choose the year {_ui.inert(name)} closed.")
        return
    try:
        verification.confirm(app_state.store(), app_state.member(), partnership, key, outcome, when=when)
    except Forbidden as exc:
        st.session_state["verify_message"] = ("error", f"Not recorded: {exc}.")
        return
    except LookupError:  # its entries were deleted (or renamed) since the list was drawn
        st.session_state["verify_message"] = (
            "error",
            f"Not recorded: {_ui.inert(name)} is no longer on the register (its entries were deleted or "
            "renamed since this list was shown).",
        )
        return
    except InvalidInput as exc:
        st.session_state["verify_message"] = ("error", f"Not recorded: {_ui.inert(exc)}")
        return
    said = "is still running, as of today" if outcome == "running" else f"closed in {when}"
    st.session_state["verify_message"] = ("success", f"Recorded: {_ui.inert(name)} {said}.")


# The three lists in tabs, each drawn only when open: a funder on a projector sees the register,
# a lead the structures to check, a successor team the links (#6: each costs a query at scale).
# The open tab is in the URL (?legacy_view=Needs+checking), so a link can open it.
member = app_state.member()
# Writing is off as at a past moment, and in present mode (no editing controls on a projector; the
# entry page a "Changed…" link opens is not in its navigation).
writable = filters.as_at is None and not _present.active()
register_tab, checks_tab, links_tab = st.tabs(
    ["Register", "Needs checking", "Links across programmes"], key="legacy_view", on_change="rerun", bind="query-params"
)


def _register_csv(filters: Filters, find: str, current: tuple[str, ...], drawn_for: Member) -> bytes:
    """The register's CSV, built when clicked (no rerun): for the member as they are then."""
    app_state.current(drawn_for)  # someone taken off the tracker since gets no fresh copy
    return verification.register_csv(app_state.store(), filters, find=find, current=current)


def _first_page() -> None:
    st.session_state["register_page"] = 1


if register_tab.open:
    with register_tab:
        # The register a page at a time (#6: 300,000 structures in a big programme), with its own
        # search and current-status choice; all three live in the URL, so a link reopens the view.
        cols = st.columns([4, 4, 2], vertical_alignment="bottom")
        find = cols[0].text_input(
            "Find a structure",
            key="register_find",
            placeholder="Part of its name, host organisation or partnership",
            on_change=_first_page,
            bind="query-params",
        )
        status_labels = {**_ui.vocab()["status"].labels, verification.NO_STATUS: queries.NOT_RECORDED}
        current = cols[1].multiselect(
            "Current status",
            list(status_labels),
            format_func=status_labels.get,
            key="register_status",
            placeholder="Any status",
            on_change=_first_page,
            bind="query-params",
        )
        searching = bool(find.strip() or current)
        # Other filters in the sidebar, other structures: back to the first page (a link's page is kept).
        if st.session_state.setdefault("register_page_for", filters) != filters:
            st.session_state["register_page_for"] = filters
            st.session_state["register_page"] = 1
        size = app_state.read(verification.register_size, filters, find, tuple(current)) if searching else structures
        pages = max(1, -(-size // verification.PAGE_ROWS))
        page = cols[2].number_input(
            f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key="register_page", bind="query-params"
        )
        if not size:
            text = find.strip()
            if text and current:
                said = f"No structure matching “{_ui.inert(text)}” has that current status."
            elif text:
                said = f"No structure matches “{_ui.inert(text)}”."
            else:
                said = "No structure has that current status under these filters."
            st.info(
                f"{said} Search for part of a name, host or partnership, or clear the search and the status.",
                icon=":material/search_off:",
            )
        else:
            offset = (int(page) - 1) * verification.PAGE_ROWS
            register = app_state.read(
                verification.register,
                filters,
                limit=verification.PAGE_ROWS,
                offset=offset,
                find=find,
                current=tuple(current),
                # without a search, the summary above says which partnerships the page spans
                sizes=None if searching else queries.register_sizes_of(summary),
            )
            st.caption(
                f"Structures {offset + 1:,}–{offset + len(register):,} of {size:,}"
                f"{' matching the search' if searching else ''}, by partnership and name. "
                "The CSV download has all of them."
            )
            st.dataframe(
                register.assign(host=register["host"].fillna("")),  # no host: blank, not Streamlit's grey "None"
                hide_index=True,
                width="stretch",
                column_order=[
                    "partnership",
                    "structure",
                    "status",  # what survived, and who hosts it now, in view beside the name
                    "host",
                    "since",
                    "last_confirmed",
                    "confirmation",
                    "typology",
                    "carried_on_as",
                    "grew_out_of",
                    "entries",
                ],
                column_config={
                    # the names are what a successor team reads for; the partnership (the sorted column,
                    # written in full in the table above) gets less room
                    "partnership": st.column_config.TextColumn("Partnership", width="medium"),
                    "structure": st.column_config.TextColumn("Structure", width=320),  # pixels: "large" is 400
                    "typology": "Typology",
                    "status": "Current status",
                    "host": "Host organisation",
                    "since": st.column_config.TextColumn(
                        "Since", help="Date of the entry that began the current status"
                    ),
                    "last_confirmed": st.column_config.DateColumn(
                        "Last confirmed", help="Latest entry recording or confirming the status"
                    ),
                    "confirmation": "Check",
                    "carried_on_as": st.column_config.TextColumn(
                        "Carried on as", help="Its successor, often in another programme"
                    ),
                    "grew_out_of": st.column_config.TextColumn(
                        "Grew out of", help="The earlier structure it carries on"
                    ),
                    "entries": "Entries",
                },
            )
            st.download_button(
                "Download the register (CSV)",
                data=lambda: _register_csv(filters, find, tuple(current), member),
                # built only when clicked; what the search chose, every page
                file_name="legacy-register.csv",
                mime="text/csv",
                icon=":material/download:",
            )

if checks_tab.open:
    with checks_tab:
        due = app_state.read(verification.due, filters)
        message = st.session_state.pop("verify_message", None)
        if message:
            (st.success if message[0] == "success" else st.error)(message[1])
        if due.empty:
            st.success(
                "Every structure still running has been confirmed in the last "
                f"{app_state.store().settings.verify_months} months.",
                icon=":material/verified:",
            )
        else:
            st.caption(
                f"{quantity(int(due['to_check'].sum()), 'structure')} recorded as running "
                f"{agree(int(due['to_check'].sum()), 'has', 'have')} not been confirmed for "
                f"{app_state.store().settings.verify_months} months or more. Partnership leads: check each one "
                "and record what you find — one click if nothing changed."
            )
            due = due.set_index("partnership")
            names = list(due.index)
            mine = [p for p in names if member.can_edit(due.loc[p, "slug"])]
            if st.session_state.get("check_partnership") not in (None, *names):  # all of it checked since
                del st.session_state["check_partnership"]
            # One partnership at a time, as a lead works through their list (yours first if you edit one).
            partnership = st.selectbox(
                "Partnership to check",
                names,
                index=names.index(mine[0]) if mine else 0,
                format_func=lambda p: f"{p} — {int(due.loc[p, 'to_check']):,} to check",
                key="check_partnership",
            )
            rows = app_state.read(
                verification.to_check,
                filters,
                per_partnership=CHECKS_SHOWN,
                partnership=str(due.loc[partnership, "slug"]),
            )
            total = int(due.loc[partnership, "to_check"])
            if total > len(rows):
                st.caption(f"The {len(rows)} confirmed longest ago of {total:,}; record them to see the next.")
            for row in rows.itertuples():
                cols = st.columns([4, 2, 2, 2, 2], vertical_alignment="center")
                confirmed = f"{row.last_confirmed:%Y-%m-%d}" if row.last_confirmed == row.last_confirmed else "never"
                cols[0].markdown(
                    f"**{_ui.inert(row.structure)}** · {row.status}"
                    + (f" ({_ui.inert(row.host)})" if isinstance(row.host, str) and row.host else "")
                    + f"  \nlast confirmed {confirmed}"
                )
                editable = member.can_edit(row.partnership_slug) and writable
                ids = (row.partnership_slug, row.structure_key)
                cols[1].button(
                    "Still running",
                    key=f"ok_{ids[0]}_{ids[1]}",
                    on_click=_confirm,
                    args=(*ids, "running", row.structure),
                    disabled=not editable,
                    icon=":material/check:",
                    help="Record that it is running as recorded, as of today.",
                )
                # A closure is dated as the lead knows it (often only the year), not today: dated today,
                # survival would count every year since as a year it ran (#8).
                with cols[2].popover("Closed", icon=":material/block:", disabled=not editable):
                    since = row.last_confirmed.year if row.last_confirmed == row.last_confirmed else 1990
                    years = list(range(date.today().year, min(since, date.today().year) - 1, -1))
                    year = st.selectbox(
                        f"When did {_ui.inert(row.structure)} close?",  # a name is not Markdown
                        years,
                        index=None,
                        placeholder="Year",
                        key=f"closed_year_{ids[0]}_{ids[1]}",
                    )
                    st.selectbox("Month", MONTHS, key=f"closed_month_{ids[0]}_{ids[1]}")
                    st.button(
                        "Record the closure",
                        key=f"closed_{ids[0]}_{ids[1]}",
                        on_click=_confirm,
                        args=(*ids, "closed", row.structure),
                        disabled=year is None,
                        type="primary",
                    )
                if editable:
                    cols[3].page_link(
                        "pages/log_entry.py",
                        label="Changed…",
                        icon=":material/edit:",
                        query_params={"partnership": row.partnership_slug, "structure": row.structure},
                    )

if links_tab.open:
    with links_tab:
        st.caption(
            "Which structure carried on which — for example a Fulfilling Lives network continuing under Changing "
            "Futures. Successor teams link their structures to the ones they grew out of."
        )
        found = app_state.read(links.links)
        if found.empty:
            st.info("No links yet.")
        else:
            # Every column in view on a 1,400-pixel screen (~920 px), long names wrapped: the successor
            # programme and the note were out of view to the right.
            st.dataframe(
                found,
                hide_index=True,
                width="stretch",
                row_height=_ui.wrapped_row_height(),
                height=_ui.wrapped_height(len(found)),
                column_order=[
                    "from_structure",
                    "from_partnership",
                    "from_programme",
                    "to_structure",
                    "to_partnership",
                    "to_programme",
                    "note",
                ],
                column_config={
                    "from_structure": st.column_config.TextColumn("Earlier structure", width=140),
                    "from_partnership": st.column_config.TextColumn("Partnership", width=120),
                    "from_programme": st.column_config.TextColumn("Programme", width=95),
                    "to_structure": st.column_config.TextColumn("Carried on as", width=140),
                    "to_partnership": st.column_config.TextColumn("Successor partnership", width=145),
                    "to_programme": st.column_config.TextColumn("Successor programme", width=140),
                    "note": st.column_config.TextColumn("Note", width=120),
                },
                placeholder="—",
            )
        if (
            member.can_write
            and writable
            # Closed until wanted: the lists search every structure (300,000 in a big programme) (#6).
            and st.toggle(
                "Link a structure to its successor",
                key="link_form_open",
                help="Opens a form to find an earlier structure and the one of yours that carries it on.",
            )
        ):
            editable = None if member.is_admin else tuple(sorted(member.partnerships))
            cols = st.columns(2)
            find_earlier = cols[0].text_input(
                "Find the earlier structure", key="link_find_earlier", placeholder="Part of its name or partnership"
            )
            find_later = cols[1].text_input(
                "Find your structure that carries it on", key="link_find_later", placeholder="Part of its name"
            )
            earlier_found = app_state.read(links.find_structures, find_earlier, limit=LINK_CHOICES)
            later_found = app_state.read(links.find_structures, find_later, partnerships=editable, limit=LINK_CHOICES)
            options = {label: (slug, name) for label, slug, name in earlier_found}
            mine = {label: (slug, name) for label, slug, name in later_found}
            st.caption(f"Up to {LINK_CHOICES} matches are offered in each list; type more of the name to narrow them.")
            with st.form("add_link"):
                earlier = st.selectbox("Earlier structure", list(options), index=None, placeholder="Choose a structure")
                later = st.selectbox(
                    "Carried on as (one of your partnership's structures)",
                    list(mine),
                    index=None,
                    placeholder="Choose a structure",
                )
                note = st.text_input("Note (optional)", max_chars=500)
                if st.form_submit_button("Add link", type="primary"):
                    if not earlier or not later:
                        st.error("Choose both structures.")
                    else:
                        try:
                            links.add_link(app_state.store(), member, options[earlier], mine[later], note or None)
                        except (InvalidInput, Forbidden) as exc:
                            st.error(f"Not linked: {_ui.inert(exc)}")
                        else:
                            st.success(f"Linked: {_ui.inert(earlier)} → {_ui.inert(later)}.")
