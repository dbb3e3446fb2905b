"""What each role sees, through AppTest with Streamlit's own `at.user` and `at.secrets`."""

from __future__ import annotations

import re
import shutil
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ADMIN, ROOT
from tests.test_app import APP, TIMEOUT, navigation_mode  # noqa: F401  (autouse fixture)
from tracker import access
from tracker.config import Settings
from tracker.importer import import_file
from tracker.store import Store

AUTH = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "k" * 48,
        "microsoft": {
            "client_id": "id",
            "client_secret": "secret",
            "server_metadata_url": "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration",
        },
    }
}


@pytest.fixture(scope="module")
def demo_with_members(tmp_path_factory):
    path = tmp_path_factory.mktemp("roles") / "roles.duckdb"
    with Store(str(path), Settings(db=str(path))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
        access.save_member(store, ADMIN, {"email": "admin@fund.org", "role": "admin"})
        access.save_member(store, ADMIN, {"email": "funder@fund.org", "role": "viewer"})
        access.save_member(store, ADMIN, {"email": "lead@voices.org", "role": "editor", "partnerships": ["VOICES"]})
    return path


@pytest.fixture
def db(tmp_path, demo_with_members, monkeypatch):
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_with_members, path)
    monkeypatch.setenv("TRACKER_DB", str(path))
    return path


def run_as(email: str | None, page: str | None = None, secrets=AUTH, **params) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets = secrets
    at.user = {"is_logged_in": True, "email": email, "name": email} if email else {"is_logged_in": False}
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    return " ".join(
        [
            *(m.value for m in at.markdown),
            *(t.value for t in at.title),
            *(i.value for i in at.info),
            *(e.value for e in at.error),
            *(w.value for w in at.warning),
            *(c.value for c in at.caption),
        ]
    )


def test_not_signed_in_sees_only_a_sign_in_page(db):
    at = run_as(None)
    assert [b.label for b in at.button] == ["Sign in with Microsoft"]
    assert not at.metric and not at.dataframe


def plain(text: str) -> str:
    """Markdown as it reads: escapes resolved, the word joiners that keep addresses from linking gone."""
    return re.sub(r"\\(.)", r"\1", text).replace("\u2060", "")


def test_signed_in_non_member_sees_request_access_and_no_data(db):
    at = run_as("stranger@else.org")
    assert at.title[0].value == "Request access"
    assert "stranger@else.org" in plain(texts(at))
    assert not at.metric and not at.dataframe and not at.sidebar.multiselect


def test_a_member_whose_email_the_provider_has_not_verified_sees_no_data(db):
    """Members are known by email: an address the provider says is unverified is not taken as theirs."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets = AUTH
    at.user = {"is_logged_in": True, "email": "admin@fund.org", "email_verified": False}
    at.run()
    assert not at.exception, at.exception
    assert at.title[0].value == "Email address not verified"
    assert "admin@fund.org" in plain(texts(at)) and "has not been verified" in texts(at)
    assert not at.metric and not at.dataframe and not at.sidebar.multiselect
    assert [b.label for b in at.button] == ["Sign out"]
    at.user = {"is_logged_in": True, "email": "admin@fund.org", "email_verified": True}
    at.run()
    assert next(m.value for m in at.metric if m.label == "Entries") == "89"


@pytest.mark.parametrize("verified", [False, None])
def test_the_email_a_sign_in_claims_is_shown_as_text(db, verified):
    """The address comes from the provider's token, unchecked: Markdown in it is shown, not drawn."""
    email = "![x](http://evil.example/x.png)**bold**@else.org"
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.secrets = AUTH
    at.user = {"is_logged_in": True, "email": email, "email_verified": verified}
    at.run()
    assert not at.exception, at.exception
    shown = " ".join(m.value for m in at.markdown)
    assert email in plain(shown) and "](http" not in shown and "**bold**" not in shown


def test_the_signed_in_address_is_shown_as_typed_in_the_sidebar(db):
    """Underscores are common in addresses (jo_smith_x@…): drawn as Markdown, "_smith_" came out in
    italics and the underscores vanished from the address shown."""
    with Store(str(db), Settings(db=str(db))) as store:
        access.save_member(store, ADMIN, {"email": "jo_smith_x@fund.org", "role": "viewer"})
    at = run_as("jo_smith_x@fund.org")
    (caption,) = [c.value for c in at.sidebar.caption if "Signed in as" in c.value]
    assert plain(caption) == "Signed in as **jo_smith_x@fund.org** · viewer", caption
    assert "_smith_" not in caption  # escaped, so no italics


def test_viewer_reads_everything_but_has_no_editing(db):
    at = run_as("funder@fund.org")
    assert next(m.value for m in at.metric if m.label == "Entries") == "89"
    assert "Signed in as **funder@fund.org** · viewer" in plain(texts(at))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/log_entry.py")  # not in a viewer's navigation at all
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/admin.py")
    at.switch_page("pages/import_export.py").run()
    assert not at.file_uploader and "Viewers can export but not import" in texts(at)
    assert [b.label for b in at.get("download_button")]  # exports are available


def test_editor_can_only_choose_their_partnership(db):
    at = run_as("lead@voices.org", "pages/log_entry.py")
    assert at.selectbox(key="e_partnership").options == ["VOICES"]


def test_editor_sees_another_partnerships_entry_read_only(db):
    at = run_as("lead@voices.org", "pages/log_entry.py", edit="gk-necg-consultation-2022")
    assert "belongs to Golden Key. You can read it, but only that partnership's editors" in texts(at)
    assert not at.text_input and not [b for b in at.button if b.key == "e_save"]


def test_admin_sees_the_admin_page(db):
    at = run_as("admin@fund.org", "pages/admin.py")
    assert at.title[0].value == "Admin"
    assert "lead@voices.org" in str(at.dataframe[0].value)


def test_an_unsafe_cookie_secret_stops_the_app(db):
    bad = {"auth": {**AUTH["auth"], "cookie_secret": "REPLACE-WITH-A-LONG-RANDOM-STRING"}}
    at = run_as("admin@fund.org", secrets=bad)
    assert at.title[0].value == "Sign-in is not set up safely"
    assert not at.metric


def test_local_mode_banner_on_every_page(db):
    at = run_as(None, secrets={})
    assert "Local mode" in texts(at)
    at.switch_page("pages/timeline.py").run()
    assert "Local mode" in texts(at)


def test_local_mode_refuses_a_public_address_unless_allowed(db, monkeypatch):
    from pages import _auth

    monkeypatch.setattr(_auth, "server_address", lambda: "0.0.0.0")
    at = run_as(None, secrets={})
    assert "refuses to serve" in texts(at) and not at.metric
    monkeypatch.setenv("TRACKER_ALLOW_REMOTE_LOCAL_MODE", "1")
    at = run_as(None, secrets={})
    assert at.metric


def test_as_at_link_shows_the_past_with_a_banner(db):
    at = run_as(None, secrets={}, as_at="2000-01-01")
    assert "As at the end of 1 January 2000" in texts(at)  # a day as people write it, not "01"
    assert next(m.value for m in at.metric if m.label == "Entries") == "0" if at.metric else True
    at = run_as(None, secrets={}, as_at=date.today().isoformat())
    assert next(m.value for m in at.metric if m.label == "Entries") == "89"


def test_as_at_turns_editing_off(db):
    at = run_as(None, "pages/log_entry.py", secrets={}, as_at=date.today().isoformat())
    assert "cannot be logged or edited" in texts(at)
    assert ROOT.exists()


def audit_count(db) -> int:
    with Store(str(db), Settings(db=str(db))) as store:
        return store.cursor().execute("SELECT count(*) FROM audit_log").fetchone()[0]


def test_a_role_taken_away_counts_at_the_next_click(db):
    """A button's callback runs before the frame identifies the member again: it must act with the
    member as stored now, not as drawn (an editor made viewer, moved to another partnership or
    removed kept their rights for one more click: the save, delete or restore went through)."""
    from tracker import entries

    changes = [
        {"email": "lead@voices.org", "role": "viewer"},
        {"email": "lead@voices.org", "role": "editor", "partnerships": ["Golden Key"]},
        None,  # removed
    ]
    for change in changes:
        at = run_as("lead@voices.org", "pages/log_entry.py", edit="voices-marg-2015")
        at.text_input(key="e_title").set_value("Changed after my rights were taken away")
        with Store(str(db), Settings(db=str(db))) as store:
            if change is None:
                access.remove_member(store, ADMIN, "lead@voices.org")
            else:
                access.save_member(store, ADMIN, change)
        before = audit_count(db)
        at.button(key="e_save").click().run()
        assert not at.exception, at.exception
        assert audit_count(db) == before, change  # nothing stored, nothing recorded
        with Store(str(db), Settings(db=str(db))) as store:
            assert (
                entries.get_entry(store, "voices-marg-2015").title == "Multi-agency Resolution Group (MaRG) established"
            ), change
            access.save_member(store, ADMIN, {"email": "lead@voices.org", "role": "editor", "partnerships": ["VOICES"]})
        if change is not None and change["role"] == "editor":  # still on the entry page: says why
            assert "belongs to VOICES. You can read it" in texts(at)
        if change is None:
            assert at.title[0].value == "Request access"
    at = run_as("lead@voices.org", "pages/log_entry.py", edit="voices-marg-2015")
    with Store(str(db), Settings(db=str(db))) as store:
        access.save_member(store, ADMIN, {"email": "lead@voices.org", "role": "viewer"})
    before = audit_count(db)
    at.button(key="e_delete").click().run()
    assert not at.exception, at.exception
    assert audit_count(db) == before
    with Store(str(db), Settings(db=str(db))) as store:
        assert entries.get_entry(store, "voices-marg-2015").deleted_at is None


def test_a_viewer_selecting_an_entry_row_is_offered_no_edit_link(db):
    """Viewers have no entry page: selecting a row of an entry table (Overview's latest entries)
    stopped the page with Streamlit's "Could not find page: pages/log_entry.py"."""
    at = run_as("funder@fund.org")
    assert "Select a row to edit that entry" not in texts(at)
    at.session_state["overview_latest"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    assert not [p for p in at.get("page_link") if "Edit" in p.proto.label]
    editor = run_as("lead@voices.org")
    editor.session_state["overview_latest"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    editor.run()
    assert not editor.exception, editor.exception
    assert [p for p in editor.get("page_link") if p.proto.label.startswith("Edit")]  # editors still get it


def test_present_mode_offers_no_checks_on_the_legacy_register(db):
    """Present mode leaves the entry page out of the navigation: the "Changed…" link under each
    structure to check stopped the page for every editor and admin, and the one-click buttons,
    editing controls, stay off on a projector."""
    at = run_as("lead@voices.org", "pages/legacy.py", present="1", legacy_view="Needs checking")
    at.selectbox(key="check_partnership").set_value("VOICES").run()
    assert not at.exception, at.exception
    buttons = [b for b in at.button if b.key and b.key.startswith(("ok_voices_", "closed_voices_"))]
    assert buttons and all(b.disabled for b in buttons)
    assert not [p for p in at.get("page_link") if p.proto.label == "Changed…"]
    at.session_state["legacy_view"] = "Links across programmes"
    at.run()
    assert not at.exception, at.exception
    assert not [t for t in at.toggle if t.key == "link_form_open"]  # nor the form to link structures


def test_a_backup_download_is_refused_once_the_admin_role_is_taken_away(db, deferred):
    """The backup zip is built when the button is clicked, without a rerun of the page: it was built
    for the member as drawn, so an admin made viewer kept getting the whole database (members and
    audit log included) from the page they had open."""
    built = deferred
    at = run_as("admin@fund.org", "pages/admin.py")
    at.session_state["admin_view"] = "Backup"
    at.run()
    assert not at.exception, at.exception
    make = next(fn for name, fn in built.items() if name and name.startswith("tracker-backup-"))
    with Store(str(db), Settings(db=str(db))) as store:
        access.save_member(store, ADMIN, {"email": "deputy@fund.org", "role": "admin"})  # not the only admin
        access.save_member(store, ADMIN, {"email": "admin@fund.org", "role": "viewer"})
    before = audit_count(db)
    with pytest.raises(access.Forbidden, match=r"only admins can make backups; admin@fund\.org is viewer"):
        make()
    assert audit_count(db) == before


def _cell_list_as(email: str) -> None:  # run by AppTest.from_function: a heatmap cell of more entries than listed
    import streamlit as st

    from pages import _ui
    from tracker import access, app_state, queries
    from tracker.filters import Filters

    st.session_state["member"] = access.get_member(app_state.store(), email)  # as the frame names them
    cells = queries.heatmap(app_state.store(), Filters(), "partnership", "typology")
    _ui.cell_entries(Filters(), cells, "partnership", "typology", ("blackpool", "coproduction"))


def _cell_download_as(email: str) -> AppTest:
    at = AppTest.from_function(_cell_list_as, args=(email,), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize(
    ("page", "file_name"),
    [
        ("pages/import_export.py", "systems-change-entries.csv"),
        ("pages/import_export.py", "systems-change-entries.xlsx"),
        ("pages/legacy.py", "legacy-register.csv"),
        (None, "entries-blackpool-coproduction.csv"),  # a heatmap cell's entries
    ],
)
def test_a_click_built_download_of_the_data_is_refused_once_the_member_is_taken_off(
    db, deferred, monkeypatch, page, file_name
):
    """Exports, the register's CSV and a heatmap cell's entries are built when clicked, from the
    data as it is then, without a rerun: someone taken off the tracker since the page was drawn
    (the tab left open) got a fresh copy of everything. Now they are refused, and a member still
    on it gets the file."""
    from pages import _ui

    monkeypatch.setattr(_ui, "CELL_ROWS", 2)  # the demo's cells are small: two listed, all in the download
    _ = run_as("funder@fund.org", page) if page else _cell_download_as("funder@fund.org")
    assert file_name in deferred, sorted(deferred)
    make = deferred[file_name]
    assert len(make()) > 100  # a viewer may export: the file, while they are a member
    with Store(str(db), Settings(db=str(db))) as store:
        assert access.remove_member(store, ADMIN, "funder@fund.org")
    with pytest.raises(access.Forbidden, match=r"funder@fund\.org is no longer a member"):
        make()
