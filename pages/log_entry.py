"""Log an entry (or edit one): the same model as the importer checks it; errors sit by their fields."""

from typing import Any

import streamlit as st

from pages import _ui
from tracker import app_state, entries, history, queries
from tracker.access import Forbidden
from tracker.errors import InvalidInput
from tracker.interchange import COLUMNS
from tracker.models import CONTRIBUTIONS, SPEAKER_ROLES

_ui.frame_guard()

FIELDS = tuple(c for c in COLUMNS if c != "id")  # the form's fields: the interchange columns
LISTS = ("mechanisms", "sectors")
SPEAKERS = list(SPEAKER_ROLES)
KEY = "e_{}".format


def _blank() -> None:
    for field in FIELDS:
        st.session_state[KEY(field)] = [] if field in LISTS else None
    st.session_state[KEY("kind")] = "milestone"
    st.session_state["e_id"] = None
    st.session_state["e_version"] = None
    st.session_state["e_errors"] = {}
    st.session_state["e_conflict"] = None
    st.session_state["e_seen_version"] = None
    st.session_state["e_loaded"] = None  # a link to edit any entry loads it, even the one last loaded


def _load(entry_id: str) -> bool:
    entry = entries.get_entry(app_state.store(), entry_id)
    if entry is None:
        return False
    for field in FIELDS:
        value = getattr(entry, field)
        st.session_state[KEY(field)] = value.text if field == "date" else value
    st.session_state["e_id"] = entry.id
    st.session_state["e_version"] = entry.version
    st.session_state["e_errors"] = {}
    st.session_state["e_conflict"] = None
    st.session_state["e_seen_version"] = None
    return True


def _values() -> dict[str, Any]:
    data = {field: st.session_state.get(KEY(field)) for field in FIELDS}
    if data["status"] != "hosted-elsewhere":
        data["host"] = None  # the host field is hidden: nothing typed there counts
    data["id"] = st.session_state.get("e_id")
    return data


def _save() -> None:
    editing = st.session_state.get("e_id")
    st.session_state["e_saved"] = None
    base = st.session_state.get("e_version")
    if editing and st.session_state.get("e_conflict") == editing and st.session_state.get("e_seen_version"):
        # after a conflict the user has seen the stored version beside their text: saving again puts
        # their text over that version, and over no later one they have not seen
        base = st.session_state["e_seen_version"]
    try:
        saved = entries.save_entry(
            app_state.store(),
            _values(),
            actor=app_state.member(),
            expect="existing" if editing else "new",
            base_version=base,
        )
    except InvalidInput as exc:
        st.session_state["e_errors"] = {p.column or "": p.message for p in exc.problems}
        return
    except entries.Conflict as exc:
        st.session_state["e_errors"] = {"": f"Not saved: {exc}"}
        st.session_state["e_conflict"] = editing
        return
    except Forbidden as exc:
        st.session_state["e_errors"] = {"": f"Not saved: {exc}."}
        return
    except entries.NotFound:
        st.session_state["e_errors"] = {
            "": "This entry no longer exists. Your text is kept: choose **New entry** to save it as a new one."
        }
        return
    st.session_state["e_saved"] = {"id": saved.id, "title": saved.title, "edited": bool(editing)}
    if editing:
        _load(saved.id)
    else:
        _blank()


def _delete() -> None:
    entry_id = st.session_state.get("e_id")
    try:
        entries.delete_entry(
            app_state.store(), entry_id, actor=app_state.member(), base_version=st.session_state.get("e_version")
        )
    except (entries.Conflict, Forbidden) as exc:
        st.session_state["e_errors"] = {"": f"Not deleted: {exc}"}
        return
    except entries.NotFound:
        pass
    st.session_state["e_saved"] = {"id": entry_id, "title": st.session_state.get(KEY("title")), "deleted": True}
    _load(entry_id)


def _restore() -> None:
    entry_id = st.session_state.get("e_id")
    try:
        restored = entries.restore_entry(app_state.store(), entry_id, actor=app_state.member())
    except (entries.Conflict, Forbidden, entries.NotFound) as exc:
        st.session_state["e_errors"] = {"": f"Not restored: {exc}"}
        return
    st.session_state["e_saved"] = {"id": entry_id, "title": restored.title, "restored": True}
    # The form keeps what the user typed (an edit begun before someone else deleted the entry). A
    # delete and this restore change no content, so if they are all that happened since the version
    # the edit began from, it goes on from the restored one; otherwise a save shows the Conflict.
    base = st.session_state.get("e_version")
    if base is not None and restored.version - base <= 2:
        st.session_state["e_version"] = restored.version
    st.session_state["e_errors"] = {}
    st.session_state["e_conflict"] = None
    st.session_state["e_seen_version"] = None


def _take_theirs() -> None:
    """After a conflict, load the stored version (the user has seen it beside their own text)."""
    entry_id = st.session_state.get("e_conflict")
    if entry_id:
        _load(entry_id)


def _new() -> None:
    _blank()
    st.session_state["e_saved"] = None
    st.query_params.pop("edit", None)


def _stored_text(vocab: Any, field: str, value: Any) -> str:
    """A stored field's value as the form shows it (labels, not slugs), inert."""
    vocabulary = {"typology": "typology", "mechanisms": "mechanism", "sectors": "sector"}.get(field)
    values = value if isinstance(value, list) else [value] if value else []
    if vocabulary:
        values = [vocab[vocabulary].label(v) for v in values]
    return _ui.inert("; ".join(str(v) for v in values)) if values else "—"


def offered(lookup: Any, field: str) -> list[str]:
    """The terms to offer: all but the retired ones, which stay only where this entry has them already."""
    chosen = st.session_state.get(KEY(field))
    kept = set(chosen) if isinstance(chosen, list) else {chosen}
    return [slug for slug in lookup.labels if slug not in lookup.retired or slug in kept]


def error(field: str) -> None:
    """The problem with one field, right under it."""
    message = st.session_state.get("e_errors", {}).get(field)
    if message:
        text = f"{field.capitalize()} {message}" if message[0].islower() else message
        st.error(_ui.inert(text), icon=":material/error:")  # messages quote what the user typed


# Streamlit forgets the form's fields when another page runs (its widgets are not drawn there),
# but not which entry they were for: coming back, start again rather than showing an entry's id
# with empty fields (what was typed then would be saved over that entry).
if "e_errors" not in st.session_state or KEY("kind") not in st.session_state:
    _blank()
    st.session_state["e_prefilled"] = None  # so a "Changed…" link fills the form again
wanted = st.query_params.get("edit")
if wanted and st.session_state.get("e_loaded") != wanted:
    st.session_state["e_loaded"] = wanted
    if not _load(wanted):
        st.warning(f"No entry has the id '{_ui.inert(wanted)}'. It may have been deleted.")
prefill = (st.query_params.get("partnership"), st.query_params.get("structure"))
if not wanted and prefill[0] and st.session_state.get("e_prefilled") != prefill:
    # "Changed…" on the legacy register: a new entry about that structure, ready for its new status
    st.session_state["e_prefilled"] = prefill
    _blank()
    st.session_state[KEY("partnership")] = prefill[0]
    st.session_state[KEY("structure")] = prefill[1]

vocab = _ui.vocab()
editing = st.session_state.get("e_id")
st.title("Edit an entry" if editing else "Log an entry")
st.caption(
    "A milestone or setback for one partnership. Fields marked * are required; a year alone is a "
    "fine date when that is all anyone remembers."
)

saved = st.session_state.get("e_saved")
if saved:
    if saved.get("deleted"):
        st.success(f"Deleted “{_ui.inert(saved['title'])}”. It can be restored below.", icon=":material/delete:")
    elif saved.get("restored"):
        st.success(f"Restored “{_ui.inert(saved['title'])}”.", icon=":material/restore_from_trash:")
    else:
        st.success(
            f"{'Updated' if saved['edited'] else 'Saved'} “{_ui.inert(saved['title'])}” (id {_ui.inert(saved['id'])}). "
            "It shows on every page now.",
            icon=":material/check_circle:",
        )
        st.page_link("pages/timeline.py", label="See it on the timeline", icon=":material/timeline:")
member = app_state.member()
if _ui.current_filters().as_at is not None:
    st.info(
        "You are looking at the tracker as it stood in the past (see **As at** in the sidebar), so "
        "entries cannot be logged or edited here. Clear the as-at date to make changes.",
        icon=":material/history:",
    )
    st.stop()
if not member.can_write:
    st.info(
        f"You are signed in as {member.email}, a **viewer**: you can read every page but not log or "
        "change entries. Ask an admin if you need editor access for your partnership.",
        icon=":material/visibility:",
    )
    st.stop()

current = entries.get_entry(app_state.store(), editing) if editing else None
if current is not None and not member.can_edit(current.partnership):
    st.info(
        f"“{_ui.inert(current.title)}” belongs to {_ui.inert(vocab['partnership'].label(current.partnership))}. "
        "You can read it, but only "
        "that partnership's editors (or an admin) can change it.",
        icon=":material/lock:",
    )
    st.button("Log a new entry instead", on_click=_new, key="e_new_instead", icon=":material/add:")
    st.stop()
if current is not None and current.deleted_at is not None:
    st.warning(
        f"This entry was deleted by {_ui.inert(current.deleted_by)} on {current.deleted_at:%Y-%m-%d %H:%M} UTC. "
        "Restore it to bring it back to every page, exactly as it was.",
        icon=":material/delete:",
    )
    st.button(
        "Restore this entry", on_click=_restore, key="e_restore", type="primary", icon=":material/restore_from_trash:"
    )
if st.session_state.get("e_errors"):
    has_fields = any(k for k in st.session_state["e_errors"])
    st.error(
        "Nothing was saved" + (": please fix the fields marked below." if has_fields else ".") + " Your text is kept.",
        icon=":material/error:",
    )
    error("")
    error("id")
if st.session_state.get("e_conflict") and current is not None:
    with st.expander(
        f"The version now stored (version {current.version}, by {_ui.inert(current.updated_by)})", expanded=True
    ):
        st.markdown(
            f"**Title:** {_ui.inert(current.title)}  \n**Date:** {current.date.text}  \n"
            f"**Status:** {vocab['status'].label(current.status) if current.status else '—'}"
            + (f" — {_ui.inert(current.host)}" if current.host else "")
        )
        st.text(current.description or "")
        shown = [
            (name, label)
            for name, label in (
                ("kind", "Kind"),
                ("typology", "Typology"),
                ("mechanisms", "Mechanisms"),
                ("structure", "Structure"),
                ("sectors", "Sectors"),
                ("source", "Source"),
                ("quote", "Quote"),
                ("speaker", "Speaker's role"),
                ("contribution", "Contribution"),
            )
            if getattr(current, name) != st.session_state.get(KEY(name))
        ]
        if shown:
            lines = [f"**{label}:** {_stored_text(vocab, name, getattr(current, name))}" for name, label in shown]
            st.markdown("**Also different from your text:**  \n" + "  \n".join(lines))
        st.session_state["e_seen_version"] = current.version
        st.caption(
            "Save again to put your text over this version, or load the stored version and re-apply your changes."
        )
        st.button("Load the stored version (discards my text)", on_click=_take_theirs, key="e_take_theirs")

partnerships = {p.slug: p.name for p in vocab.partnerships if member.can_edit(p.slug)}
left, right = st.columns(2, gap="large")
with left:
    st.selectbox(
        "Partnership *",
        list(partnerships),
        format_func=partnerships.get,
        index=None,
        placeholder="Choose a partnership",
        key=KEY("partnership"),
    )
    error("partnership")
    st.text_input(
        "Date *",
        key=KEY("date"),
        placeholder="2019, 2019-06 or 2019-06-30",
        help="Give as much as you know: a year (2019), a month (2019-06) or a day (2019-06-30).",
    )
    error("date")
    st.radio("Kind *", ["milestone", "setback"], format_func=str.capitalize, horizontal=True, key=KEY("kind"))
    error("kind")
    st.text_input("Title *", key=KEY("title"), max_chars=200, placeholder="e.g. MaRG moves to the city council")
    error("title")
    st.text_area("Description", key=KEY("description"), height=140, placeholder="What changed, and how do you know?")
    error("description")
    st.text_input(
        "Source",
        key=KEY("source"),
        placeholder="Report, page, or a link",
        help="Where this is evidenced: a report and page, or an https:// link.",
    )
    error("source")
with right:
    typology = vocab["typology"]
    st.selectbox(
        "Typology *",
        offered(typology, "typology"),
        format_func=typology.label,
        index=None,
        placeholder="Choose a type of change",
        key=KEY("typology"),
    )
    error("typology")
    status = vocab["status"]
    milestone = st.session_state.get(KEY("kind")) == "milestone"
    st.selectbox(
        "Status *" if milestone else "Status (optional for a setback)",
        offered(status, "status"),
        format_func=status.label,
        index=None,
        placeholder="Is it still running?",
        key=KEY("status"),
    )
    error("status")
    if st.session_state.get(KEY("status")) == "hosted-elsewhere":
        st.text_input(
            "Host organisation *",
            key=KEY("host"),
            placeholder="e.g. Stoke-on-Trent City Council",
            help="Who runs it now.",
        )
        error("host")
    mechanisms = vocab["mechanism"]
    st.multiselect(
        "Contributing mechanisms" + (" *" if milestone else ""),
        offered(mechanisms, "mechanisms"),
        format_func=mechanisms.label,
        key=KEY("mechanisms"),
        placeholder="What made it happen?",
    )
    error("mechanisms")
    chosen = st.session_state.get(KEY("partnership"))
    existing = app_state.read(queries.structure_names, chosen) if chosen else []
    typed_structure = st.session_state.get(KEY("structure"))
    if typed_structure and typed_structure not in existing:
        existing = [*existing, typed_structure]
    st.selectbox(
        "Structure",
        existing,
        index=None,
        accept_new_options=True,
        key=KEY("structure"),
        placeholder="Choose one of this partnership's structures, or type a new name",
        help="The board, network, service or policy this is about. Entries naming the same "
        "structure make up its history on the legacy register.",
    )
    error("structure")
    sectors = vocab["sector"]
    st.multiselect(
        "Sectors",
        offered(sectors, "sectors"),
        format_func=sectors.label,
        key=KEY("sectors"),
        placeholder="Which parts of the system?",
    )
    error("sectors")

with st.expander("Evidence and voice (optional)", expanded=bool(st.session_state.get(KEY("quote")))):
    ev = st.columns([3, 2], gap="large")
    ev[0].text_area(
        "Quote",
        key=KEY("quote"),
        height=100,
        max_chars=1000,
        placeholder="A short quote about this change, in the speaker's own words",
    )
    with ev[0]:
        error("quote")
    typed_speaker = st.session_state.get(KEY("speaker"))
    ev[1].selectbox(
        "Speaker's role",
        SPEAKERS + ([typed_speaker] if typed_speaker and typed_speaker not in SPEAKERS else []),
        index=None,
        accept_new_options=True,
        key=KEY("speaker"),
        placeholder="e.g. Stakeholder, Housing — or type another role",
        help="The role, never the name, of the person quoted.",
    )
    with ev[1]:
        error("speaker")
    ev[1].selectbox(
        "The programme's contribution",
        list(CONTRIBUTIONS),
        index=None,
        format_func=str.capitalize,
        key=KEY("contribution"),
        placeholder="How much did the programme contribute?",
        help="Direct: the programme made it happen. Contributory: one of several causes. Influenced: others made "
        "it happen, influenced by the programme. Unclear.",
    )
    with ev[1]:
        error("contribution")

deleted = current is not None and current.deleted_at is not None
buttons = st.columns([2, 2, 2, 6])
buttons[0].button(
    "Save changes" if editing else "Save entry",
    type="primary",
    on_click=_save,
    icon=":material/save:",
    key="e_save",
    disabled=deleted,
)
if editing:
    buttons[1].button("New entry", on_click=_new, key="e_new", icon=":material/add:")
    if not deleted:
        with buttons[2].popover("Delete", icon=":material/delete:"):
            st.write("Delete this entry? It leaves every page but stays in its history and can be restored.")
            st.button("Yes, delete it", on_click=_delete, key="e_delete", type="primary")
    with st.expander("History of this entry"):
        st.dataframe(
            history.entry_history(app_state.store(), editing),
            hide_index=True,
            width="stretch",
            column_order=["version", "when", "who", "action", "changes"],
            column_config={
                "version": "Version",
                "when": st.column_config.DatetimeColumn("When (UTC)"),
                "who": "Who",
                "action": "What",
                "changes": st.column_config.TextColumn("Changes", width="large"),
            },
        )

if not editing:
    mine = None if member.is_admin else sorted(member.partnerships)
    gone = app_state.read(history.deleted_entries, mine, _ui.DELETED_READ)
    if gone:
        many = f"{_ui.DELETED_READ:,}+" if len(gone) >= _ui.DELETED_READ else f"{len(gone):,}"
        with st.expander(f"Recently deleted entries ({many})"):
            st.caption(
                "Open one to see it and restore it, exactly as it was."
                + (
                    f" The {_ui.DELETED_SHOWN} most recently deleted are listed."
                    if len(gone) > _ui.DELETED_SHOWN
                    else ""
                )
            )
            for item in gone[: _ui.DELETED_SHOWN]:
                st.page_link(
                    "pages/log_entry.py",
                    label=f"{_ui.inert(item['title'])} — {_ui.inert(item['partnership'])}, "
                    f"deleted {item['deleted_at']:%Y-%m-%d} "
                    f"by {item['deleted_by']}",
                    icon=":material/restore_from_trash:",
                    query_params={"edit": item["id"]},
                )
