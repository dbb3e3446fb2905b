"""Admin: members and their roles, partnerships, taxonomy terms, and the audit log."""

from datetime import date

import streamlit as st

from pages import _ui
from tracker import access, admin, app_state, backup, history
from tracker.access import Forbidden
from tracker.errors import InvalidInput
from tracker.taxonomy import VOCABULARIES

_ui.frame_guard()

st.title("Admin")
member = app_state.member()
if not member.is_admin:
    st.info("Only administrators can manage members, partnerships and the taxonomy.", icon=":material/lock:")
    st.stop()
store = app_state.store()
vocab = _ui.vocab()


MEMBER_FIELDS = {"email": "Email address", "role": "Role", "partnerships": "Partnerships", "name": "Name"}


def report(action, *args, done: str, fields: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Run an admin action; show what happened, or each problem in plain words (input is kept),
    naming a field as its form labels it when ``fields`` gives the label."""
    try:
        action(store, member, *args)
    except InvalidInput as exc:
        said = [f"{fields[p.column]}: {p.message}" if p.column in (fields or {}) else str(p) for p in exc.problems]
        st.error("Nothing was changed:\n\n" + "\n".join(f"- {_ui.inert(p)}" for p in said), icon=":material/error:")
    except Forbidden as exc:
        st.error(f"Nothing was changed: {_ui.inert(exc)}.", icon=":material/lock:")
    else:  # run again so that the lists above the form show the change; say what was done
        st.session_state["admin_done"] = done
        st.rerun()


# The partnership form's labels, by the columns its problems name (#4: "Name: …", not "column name: …").
PARTNERSHIP_FIELDS = {
    "slug": "Slug",
    "name": "Name",
    "programme": "Programme",
    "area": "Area",
    "start_date": "Start",
    "end_date": "Funding ended",
}

if done := st.session_state.pop("admin_done", None):
    st.success(_ui.inert(done), icon=":material/check_circle:")

# Each tab is drawn only when open (#6: the partnership list and the term counts read every entry).
members_tab, partnerships_tab, taxonomy_tab, audit_tab, backup_tab = st.tabs(
    ["Members", "Partnerships", "Taxonomy", "Audit log", "Backup"], key="admin_view", on_change="rerun"
)

if members_tab.open:
    with members_tab:
        st.header("Members")
        st.caption(
            "Admins manage everything; viewers (funders) read everything; editors (partnership leads) "
            "change entries of their own partnerships only. People who sign in without being a member see "
            "only a request-access page."
        )
        members = app_state.read(access.list_members)
        rows = [
            {
                "email": m.email,
                "name": m.name,
                "role": m.role,
                "partnerships": ", ".join(vocab["partnership"].label(p) for p in sorted(m.partnerships)),
            }
            for m in members
        ]
        described = {m.email: m.describe() for m in members}  # "Jo Smith <jo@example.org> (viewer)"

        def choose_member(key: str) -> str | None:
            """A member's email, chosen from the list as people read it: name, email and role."""
            return st.selectbox(
                "Member",
                list(described),
                index=None,
                placeholder="Choose a member",
                format_func=lambda e: described.get(e, e),
                key=key,
            )

        if rows:
            st.dataframe(rows, hide_index=True, width="stretch")
        else:
            st.info("No members yet. Add the first administrator below (or with `python -m tracker member add`).")
        with st.form("member_form"):
            st.subheader("Add a member, or change one")
            email = st.text_input("Email address", placeholder="name@organisation.org")
            member_name = st.text_input(
                "Name",
                placeholder="optional, e.g. Ada Lovelace",
                help="Left blank, a member's stored name is kept; change or clear it alone under "
                "“Change a member's name”.",
            )
            role = st.radio(
                "Role",
                access.ROLES,
                horizontal=True,
                index=2,
                format_func={"admin": "Admin", "viewer": "Viewer (funder)", "editor": "Editor (partnership lead)"}.get,
                key="member_role",
            )
            chosen = st.multiselect(
                "Partnerships (editors only)",
                list(vocab["partnership"].labels),
                format_func=vocab["partnership"].label,
                placeholder="The partnerships whose entries an editor may change",
            )
            if st.form_submit_button("Save member", type="primary"):
                report(
                    access.save_member,
                    {"email": email, "role": role, "partnerships": chosen, "name": member_name},
                    done=f"Saved {email}.",
                    fields=MEMBER_FIELDS,
                )
        with st.form("rename_member_form"):
            st.subheader("Change a member's name")
            st.caption("Their role and partnerships, and when and by whom they were added, stay as they are.")
            who = choose_member("rename_member")
            new_name = st.text_input("New name", key="rename_name")
            clear = st.checkbox("No name: clear the stored one", key="rename_clear")
            if st.form_submit_button("Save name"):
                if not who:
                    st.error("Nothing was changed: choose a member first.", icon=":material/error:")
                elif clear and new_name.strip():
                    st.error(
                        "Nothing was changed: type a new name or tick “No name”, not both.", icon=":material/error:"
                    )
                else:
                    report(
                        access.set_member_name,
                        who,
                        None if clear else new_name,
                        done=f"Cleared the name of {who}." if clear else f"Saved the name of {who}.",
                        fields=MEMBER_FIELDS,
                    )
        with st.form("remove_member"):
            st.subheader("Remove a member")
            gone = choose_member("remove_member")
            if st.form_submit_button("Remove member"):
                if gone:
                    report(access.remove_member, gone, done=f"Removed {described.get(gone, gone)}.")
                else:
                    st.error("Nothing was changed: choose a member first.", icon=":material/error:")

if partnerships_tab.open:
    with partnerships_tab:
        st.header("Partnerships")
        st.dataframe(
            app_state.read(admin.partnerships),
            hide_index=True,
            width="stretch",
            column_config={
                "start_date": st.column_config.DateColumn("Start"),
                "end_date": st.column_config.DateColumn("Funding ended"),
            },
        )
        with st.form("partnership_form"):
            st.subheader("Add a partnership, or change one")
            st.caption(
                "A partnership is found by its slug, which never changes; renaming it keeps all its entries. "
                "Dates left empty keep the partnership's stored dates; tick *Still funded* to clear an end date."
            )
            cols = st.columns(2)
            slug = cols[0].text_input("Slug", placeholder="e.g. changing-futures-lancashire")
            name = cols[1].text_input("Name")
            programme = cols[0].text_input("Programme", placeholder="e.g. Changing Futures")
            area = cols[1].text_input("Area")
            start = cols[0].date_input("Start", value=None)
            end = cols[1].date_input("Funding ended", value=None)
            still_funded = cols[1].checkbox(
                "Still funded: no end date",
                help="Clears a funding end date recorded by mistake; the legacy register and survival "
                "then count the partnership as still funded.",
            )
            if st.form_submit_button("Save partnership", type="primary"):
                data = {"slug": slug, "name": name, "programme": programme, "area": area}
                # the form starts empty: dates left out keep the stored ones (the end date unless cleared)
                data = admin.with_stored_dates(store, {**data, "start_date": start, "end_date": end})
                if still_funded:
                    data["end_date"] = None
                report(admin.save_partnership, data, done=f"Saved {name}.", fields=PARTNERSHIP_FIELDS)

if taxonomy_tab.open:
    with taxonomy_tab:
        st.header("Taxonomy")
        st.caption(
            "Renaming a term keeps every entry tagged with it. A term in use can be retired — no longer "
            "offered for new entries — but not deleted."
        )
        vocabulary = (
            st.segmented_control(
                "Vocabulary", VOCABULARIES, default="typology", key="admin_vocabulary", format_func=str.capitalize
            )
            or "typology"
        )
        terms = app_state.read(admin.term_usage, vocabulary)
        st.dataframe(
            terms,
            hide_index=True,
            width="stretch",
            column_order=["slug", "label", "group_name", "retired", "entries"],
            column_config={"group_name": "Group", "entries": "Entries using it"},
        )
        slugs = list(terms["slug"])
        left, right = st.columns(2, gap="large")
        with left, st.form("rename_term"):
            st.subheader("Rename or retire a term")
            which = st.selectbox(
                "Term",
                slugs,
                format_func=lambda s: vocab[vocabulary].label(s),
                index=None,
                placeholder="Choose the term to rename, retire or bring back",
            )
            new_label = st.text_input("New label")
            rename = st.form_submit_button("Rename")
            retire = st.form_submit_button("Retire")
            bring_back = st.form_submit_button("Un-retire")
            delete = st.form_submit_button("Delete (only if never used)")
            if not which and (rename or retire or bring_back or delete):
                st.error("Nothing was changed: choose a term first.", icon=":material/error:")
            elif which and rename:
                report(
                    admin.rename_term,
                    vocabulary,
                    which,
                    new_label,
                    done=f"Renamed to “{new_label}”.",
                    fields={"slug": "Term", "label": "New label"},
                )
            elif which and (retire or bring_back):
                report(
                    admin.set_retired,
                    vocabulary,
                    which,
                    retire,
                    done="Retired." if retire else "Back in use.",
                    fields={"slug": "Term"},
                )
            elif which and delete:
                report(admin.delete_term, vocabulary, which, done="Deleted.", fields={"slug": "Term"})
        with right, st.form("add_term"):
            st.subheader("Add a term")
            new_slug = st.text_input("Slug", placeholder="lower-case-with-hyphens")
            label = st.text_input("Label")
            group = st.text_input("Group (mechanisms)", placeholder="e.g. Mechanisms for change")
            if st.form_submit_button("Add term", type="primary"):
                report(
                    admin.add_term,
                    vocabulary,
                    new_slug,
                    label,
                    group or None,
                    done=f"Added “{label}”.",
                    fields={"slug": "Slug", "label": "Label", "grp": "Group (mechanisms)"},
                )

if audit_tab.open:
    with audit_tab:
        st.header("Audit log")
        log = app_state.read(history.audit_log, _ui.AUDIT_SHOWN)
        st.caption(
            "Every change, append-only: who, when, what. The full history of an entry is on its edit page."
            + (
                f" The latest {_ui.AUDIT_SHOWN:,} changes are shown, newest first; the whole log is in a backup."
                if len(log) >= _ui.AUDIT_SHOWN
                else ""
            )
        )
        st.dataframe(
            log,
            hide_index=True,
            width="stretch",
            column_config={
                "when": st.column_config.DatetimeColumn("When (UTC)"),
                "detail": st.column_config.TextColumn("Detail", width="large"),
            },
        )

if backup_tab.open:
    with backup_tab:
        st.header("Backup")
        st.caption(
            "A consistent snapshot of the whole database — entries, history, audit log, members, partnerships and "
            "taxonomy — as Parquet files with a manifest, in one zip. Restore it into a new, empty database "
            "(see README, 'Reliability and safety'):"
        )
        st.code(
            f"python -m tracker restore tracker-backup-{date.today():%Y-%m-%d}.zip --db data/restored.duckdb",
            language=None,
        )
        st.download_button(
            "Download a backup (zip)",
            data=lambda: backup.zip_bytes(store, app_state.current(member)),  # built when clicked: the member as now
            file_name=f"tracker-backup-{date.today():%Y-%m-%d}.zip",
            mime="application/zip",
            icon=":material/backup:",
            key="backup_download",
        )
