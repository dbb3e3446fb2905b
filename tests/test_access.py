"""The permission matrix, enforced in tracker/ itself: role × action × own/other partnership.

Hiding a button is never the protection; these call the write functions directly.
"""

import json

import pytest

from tests.conftest import ADMIN, csv_bytes, valid_row
from tracker import access, admin, entries
from tracker.access import Forbidden, Member
from tracker.errors import InvalidInput
from tracker.importer import import_file

EDITOR = Member("lead@voices.org", "editor", frozenset({"voices"}))
VIEWER = Member("funder@fund.org", "viewer")
OTHER_EDITOR = Member("lead@goldenkey.org", "editor", frozenset({"golden-key"}))
ROLES = {"admin": ADMIN, "editor": EDITOR, "viewer": VIEWER}


@pytest.fixture
def seeded(store, write_file):
    rows = [valid_row(id="own"), valid_row(id="other", partnership="Golden Key")]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    return store


def attempt(store, role, action, target):
    """Run one action as one role on one partnership's entry; True when it was allowed."""
    actor = ROLES[role]
    entry_id = "own" if target == "own" else "other"
    partnership = "VOICES" if target == "own" else "Golden Key"
    try:
        if action == "create":
            entries.save_entry(store, valid_row(id=None, partnership=partnership), actor=actor, expect="new")
        elif action == "edit":
            entries.save_entry(
                store, valid_row(id=entry_id, partnership=partnership, title="Edited"), actor=actor, expect="existing"
            )
        elif action == "delete":
            entries.delete_entry(store, entry_id, actor=actor)
        elif action == "restore":
            entries.delete_entry(store, entry_id, actor=ADMIN)
            entries.restore_entry(store, entry_id, actor=actor)
    except Forbidden:
        return False
    return True


MATRIX = [
    # role, action, own partnership?, allowed
    *[("admin", a, t, True) for a in ("create", "edit", "delete", "restore") for t in ("own", "other")],
    *[("editor", a, "own", True) for a in ("create", "edit", "delete", "restore")],
    *[("editor", a, "other", False) for a in ("create", "edit", "delete", "restore")],
    *[("viewer", a, t, False) for a in ("create", "edit", "delete", "restore") for t in ("own", "other")],
]


@pytest.mark.parametrize(("role", "action", "target", "allowed"), MATRIX)
def test_entry_permission_matrix(seeded, role, action, target, allowed):
    before = seeded.cursor().execute("SELECT count(*) FROM entry_history").fetchone()[0]
    assert attempt(seeded, role, action, target) is allowed
    if not allowed:  # a refused write leaves no trace but the admin's own setup
        after = seeded.cursor().execute("SELECT count(*) FROM entry_history").fetchone()[0]
        assert after - before == (1 if action == "restore" else 0)


def test_editor_cannot_move_another_partnerships_entry_into_their_own(seeded):
    with pytest.raises(Forbidden):
        entries.save_entry(seeded, valid_row(id="other", partnership="VOICES"), actor=EDITOR)
    assert entries.get_entry(seeded, "other").partnership == "golden-key"


def test_importer_refuses_rows_of_partnerships_the_member_may_not_edit(seeded, write_file):
    rows = [
        valid_row(id="n1"),
        valid_row(id="n2", partnership="Golden Key"),
        valid_row(id="other", partnership="VOICES"),
    ]
    report = import_file(seeded, write_file(rows), actor=EDITOR)
    assert [str(p) for p in report.problems] == [
        "row 3, column partnership: lead@voices.org may not change entries of Golden Key (only those of VOICES)",
        "row 4, column partnership: the entry with this id belongs to Golden Key, whose entries lead@voices.org"
        " may not change (only those of VOICES)",
    ]
    assert entries.get_entry(seeded, "n1") is None  # all or nothing


def test_viewer_import_is_refused_row_by_row(seeded, write_file):
    report = import_file(seeded, write_file([valid_row(id="v1")]), actor=VIEWER)
    assert not report.ok and str(report.problems[0]).endswith(
        "may not change entries of VOICES (funder@fund.org is a viewer and may change none)"
    ), report.problems


def test_editor_import_of_own_rows_succeeds(seeded, write_file):
    report = import_file(seeded, write_file([valid_row(id="n1"), valid_row(id="own", title="New")]), actor=EDITOR)
    assert report.ok and (report.created, report.updated) == (1, 1)


@pytest.mark.parametrize("role", ["editor", "viewer"])
def test_only_admins_manage_members_partnerships_and_taxonomy(seeded, role):
    actor = ROLES[role]
    with pytest.raises(Forbidden):
        access.save_member(seeded, actor, {"email": "x@y.org", "role": "viewer"})
    with pytest.raises(Forbidden):
        access.remove_member(seeded, actor, "x@y.org")
    with pytest.raises(Forbidden):
        admin.rename_term(seeded, actor, "typology", "culture", "Culture change")
    with pytest.raises(Forbidden):
        admin.add_term(seeded, actor, "sector", "education", "Education")
    with pytest.raises(Forbidden):
        admin.save_partnership(seeded, actor, {"slug": "x", "name": "X", "programme": "P", "area": "A"})


def test_members_roles_and_partnerships(store):
    saved = access.save_member(
        store, ADMIN, {"email": " Jo@Example.ORG ", "role": "editor", "partnerships": ["VOICES", "golden key"]}
    )
    assert saved == Member("jo@example.org", "editor", frozenset({"voices", "golden-key"}))
    assert access.get_member(store, "JO@example.org") == saved
    with pytest.raises(InvalidInput, match="an editor needs at least one partnership"):
        access.save_member(store, ADMIN, {"email": "a@b.org", "role": "editor"})
    with pytest.raises(InvalidInput, match="did you mean 'VOICES'"):
        access.save_member(store, ADMIN, {"email": "a@b.org", "role": "editor", "partnerships": ["Voice"]})
    with pytest.raises(InvalidInput, match="not an email address"):
        access.save_member(store, ADMIN, {"email": "nobody", "role": "viewer"})
    assert access.remove_member(store, ADMIN, "jo@example.org") is True
    assert access.get_member(store, "jo@example.org") is None
    actions = [r[0] for r in store.cursor().execute("SELECT action FROM audit_log ORDER BY happened_at").fetchall()]
    assert actions[-2:] == ["member.add", "member.remove"]


def _added(store, email):
    return store.cursor().execute("SELECT name, added_at, added_by FROM members WHERE email = ?", [email]).fetchone()


def test_a_change_of_role_keeps_when_and_by_whom_a_member_was_added_and_their_name(store):
    """A change of role or partnerships replaced the member's row: "added" became the time and actor
    of the change, and the name was lost, since the admin page and `member add` send none (#4)."""
    access.save_member(store, ADMIN, {"email": "jo@example.org", "role": "viewer", "name": "Jo Smith"})
    name, added_at, added_by = _added(store, "jo@example.org")
    assert (name, added_by) == ("Jo Smith", ADMIN.email)
    deputy = Member("deputy@example.org", "admin")
    # as the admin page and the command line send it: no name; then a blank one
    page = {"email": "jo@example.org", "role": "editor", "partnerships": ["VOICES"]}
    assert access.save_member(store, deputy, page).name == "Jo Smith"
    assert (
        access.save_member(store, deputy, {**page, "role": "viewer", "partnerships": [], "name": "  "}).role == "viewer"
    )
    assert _added(store, "jo@example.org") == ("Jo Smith", added_at, ADMIN.email)
    # a new name given replaces the old one; the date and the actor of the first add stay
    assert access.save_member(store, deputy, {**page, "name": "Jo Smith-Jones"}).name == "Jo Smith-Jones"
    assert _added(store, "jo@example.org") == ("Jo Smith-Jones", added_at, ADMIN.email)
    sql = "SELECT action FROM audit_log WHERE action LIKE 'member.%' ORDER BY happened_at"
    assert [r[0] for r in store.cursor().execute(sql).fetchall()] == ["member.add", *["member.update"] * 3]


def _member_events(store):
    sql = "SELECT action, detail FROM audit_log WHERE action LIKE 'member.%' ORDER BY happened_at"
    return [(a, json.loads(d)) for a, d in store.cursor().execute(sql).fetchall()]


def test_a_members_name_can_be_changed_or_cleared_and_nothing_else_changes(store):
    """A member's name could be given only with a role (a blank one kept the stored name), so it
    could be neither changed on its own nor ever cleared (#4)."""
    access.save_member(store, ADMIN, {"email": "jo@example.org", "role": "editor", "partnerships": ["VOICES"]})
    _, added_at, added_by = _added(store, "jo@example.org")
    deputy = Member("deputy@example.org", "admin")
    renamed = access.set_member_name(store, deputy, " JO@example.org ", "  Jo Smith  ")
    assert renamed == Member("jo@example.org", "editor", frozenset({"voices"}), "Jo Smith")
    assert _added(store, "jo@example.org") == ("Jo Smith", added_at, added_by)
    assert access.set_member_name(store, deputy, "jo@example.org", None).name is None  # cleared, explicitly
    assert _added(store, "jo@example.org") == (None, added_at, added_by)
    assert access.get_member(store, "jo@example.org").role == "editor"


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("x" * 201, "column name: is too long: 201 characters, the limit is 200; shorten it"),
        ("Jo\nSmith", "column name: must be a single line (it contains a line break or tab)"),
        ("Jo\x00Smith", "column name: contains a control character (invisible code); retype or remove it"),
        ("   ", "column name: is blank: give the new name, or clear the name"),
    ],
)
def test_a_name_that_is_not_allowed_is_refused_naming_the_field(store, name, problem):
    """The one model (MemberIn) checks a name however it comes: with a role, or on its own."""
    access.save_member(store, ADMIN, {"email": "jo@example.org", "role": "viewer", "name": "Jo Smith"})
    events = len(_member_events(store))
    with pytest.raises(InvalidInput) as refused:
        access.set_member_name(store, ADMIN, "jo@example.org", name)
    assert [str(p) for p in refused.value.problems] == [problem]
    if name.strip():  # with a role a blank name keeps the stored one, as the admin page's form says
        with pytest.raises(InvalidInput) as refused:
            access.save_member(store, ADMIN, {"email": "jo@example.org", "role": "viewer", "name": name})
        assert [str(p) for p in refused.value.problems] == [problem]
    assert _added(store, "jo@example.org")[0] == "Jo Smith" and len(_member_events(store)) == events


def test_only_admins_name_members_and_only_members_are_named(store):
    access.save_member(store, ADMIN, {"email": "jo@example.org", "role": "viewer"})
    with pytest.raises(Forbidden, match="only admins can manage members"):
        access.set_member_name(store, EDITOR, "jo@example.org", "Jo")
    with pytest.raises(InvalidInput, match=r"nobody@example\.org is not a member"):
        access.set_member_name(store, ADMIN, "nobody@example.org", "Nobody")
    assert access.get_member(store, "nobody@example.org") is None
    assert access.get_member(store, "jo@example.org").name is None


def test_a_name_change_is_audited_as_a_change_of_role_is(store):
    """The audit log said only "jo@example.org (viewer)" before and after: a name given, changed or
    cleared left no trace of what it was (#4)."""
    access.save_member(store, ADMIN, {"email": "jo@example.org", "role": "viewer", "name": "Jo Smith"})
    access.save_member(store, ADMIN, {"email": "jo@example.org", "role": "editor", "partnerships": ["VOICES"]})
    access.set_member_name(store, ADMIN, "jo@example.org", "Jo Smith-Jones")
    access.set_member_name(store, ADMIN, "jo@example.org", None)
    access.remove_member(store, ADMIN, "jo@example.org")
    assert _member_events(store) == [
        ("member.add", {"before": None, "after": "Jo Smith <jo@example.org> (viewer)"}),
        (
            "member.update",
            {"before": "Jo Smith <jo@example.org> (viewer)", "after": "Jo Smith <jo@example.org> (editor: voices)"},
        ),
        (
            "member.update",
            {
                "before": "Jo Smith <jo@example.org> (editor: voices)",
                "after": "Jo Smith-Jones <jo@example.org> (editor: voices)",
            },
        ),
        (
            "member.update",
            {"before": "Jo Smith-Jones <jo@example.org> (editor: voices)", "after": "jo@example.org (editor: voices)"},
        ),
        ("member.remove", {"before": "jo@example.org (editor: voices)"}),
    ]


def test_cli_member_add_of_an_existing_member_keeps_when_they_were_added(tmp_path):
    from tracker.cli import main
    from tracker.config import Settings
    from tracker.store import Store

    db = str(tmp_path / "m.duckdb")
    with Store(db, Settings(db=db)) as store:
        access.save_member(store, ADMIN, {"email": "jo@example.org", "role": "viewer", "name": "Jo Smith"})
        first = _added(store, "jo@example.org")
    assert main(["member", "add", "jo@example.org", "--role", "editor", "--partnership", "VOICES", "--db", db]) == 0
    with Store(db, Settings(db=db)) as store:
        assert _added(store, "jo@example.org") == first
        assert access.get_member(store, "jo@example.org").role == "editor"


def test_an_admin_cannot_take_away_their_own_admin_role(store):
    """As with removing yourself: otherwise the last admin could lock everyone out of the admin page."""
    boss = access.save_member(store, ADMIN, {"email": "boss@example.org", "role": "admin"})
    for role, partnerships in (("viewer", []), ("editor", ["VOICES"])):
        data = {"email": "boss@example.org", "role": role, "partnerships": partnerships}
        with pytest.raises(Forbidden, match="your own admin role"):
            access.save_member(store, boss, data)
    assert access.get_member(store, "boss@example.org").role == "admin"
    access.save_member(store, boss, {"email": "boss@example.org", "role": "admin", "name": "Boss"})  # still allowed
    other = access.save_member(store, ADMIN, {"email": "other@example.org", "role": "admin"})
    assert access.save_member(store, other, {"email": "boss@example.org", "role": "viewer"}).role == "viewer"


@pytest.mark.parametrize("actor", [access.LOCAL_ADMIN, access.system_member()], ids=["local-mode", "cli"])
def test_the_last_admin_can_be_neither_removed_nor_demoted(store, actor):
    """Removing or demoting the only admin left nobody who could manage members on the Admin page:
    the local-mode admin (before sign-in is set up) and the command line could both do it."""
    access.save_member(store, ADMIN, {"email": "boss@example.org", "role": "admin"})
    access.save_member(store, ADMIN, {"email": "funder@example.org", "role": "viewer"})
    events = store.cursor().execute("SELECT count(*) FROM audit_log").fetchone()[0]
    with pytest.raises(Forbidden, match=r"boss@example\.org is the only admin; make another member an admin first"):
        access.remove_member(store, actor, "boss@example.org")
    for role, partnerships in (("viewer", []), ("editor", ["VOICES"])):
        with pytest.raises(Forbidden, match="the only admin"):
            access.save_member(store, actor, {"email": "boss@example.org", "role": role, "partnerships": partnerships})
    assert access.get_member(store, "boss@example.org").role == "admin"
    assert store.cursor().execute("SELECT count(*) FROM audit_log").fetchone()[0] == events
    # other members come and go as before; with a second admin, either can be demoted or removed
    assert access.remove_member(store, actor, "funder@example.org")
    access.save_member(store, actor, {"email": "deputy@example.org", "role": "admin"})
    assert access.save_member(store, actor, {"email": "boss@example.org", "role": "viewer"}).role == "viewer"
    with pytest.raises(Forbidden, match=r"deputy@example\.org is the only admin"):
        access.remove_member(store, actor, "deputy@example.org")
    assert access.save_member(store, actor, {"email": "boss@example.org", "role": "admin"}).role == "admin"
    assert access.remove_member(store, actor, "deputy@example.org")


def test_cli_refuses_to_remove_or_demote_the_only_admin_with_a_message(capsys, tmp_path):
    from tracker.cli import main

    db = str(tmp_path / "m.duckdb")
    assert main(["member", "add", "boss@example.org", "--role", "admin", "--db", db]) == 0
    capsys.readouterr()
    assert main(["member", "remove", "boss@example.org", "--db", db]) == 1
    assert "error: boss@example.org is the only admin" in capsys.readouterr().err
    assert main(["member", "add", "boss@example.org", "--role", "viewer", "--db", db]) == 1
    assert "error: boss@example.org is the only admin" in capsys.readouterr().err
    assert main(["member", "list", "--format", "csv", "--db", db]) == 0
    assert "boss@example.org,admin," in capsys.readouterr().out


def test_cli_member_commands_act_as_a_recorded_system_admin(capsys, tmp_path):
    from tracker.cli import main

    db = str(tmp_path / "m.duckdb")
    assert main(["member", "add", "lead@voices.org", "--role", "editor", "--partnership", "VOICES", "--db", db]) == 0
    assert main(["member", "add", "x@y.org", "--role", "editor", "--db", db]) == 1
    assert main(["member", "list", "--format", "json", "--db", db]) == 0
    out = capsys.readouterr().out
    assert '"email": "lead@voices.org"' in out and '"partnerships": "voices"' in out
    assert main(["member", "remove", "lead@voices.org", "--db", db]) == 0
    assert main(["member", "remove", "lead@voices.org", "--db", db]) == 1
    from tracker.config import Settings
    from tracker.store import Store

    with Store(db, Settings(db=db)) as store:
        actors = {
            r[0] for r in store.cursor().execute("SELECT actor FROM audit_log WHERE action LIKE 'member.%'").fetchall()
        }
    assert len(actors) == 1 and actors.pop().startswith("system:cli:")


def test_csv_bytes_helper_round_trip():
    assert csv_bytes([valid_row()]).startswith(b"id,partnership")
