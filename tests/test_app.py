"""The dashboard through Streamlit's AppTest: every page runs, filters and links drive the figures,
the form and the upload page keep users' work safe."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ADMIN, ROOT, csv_bytes, valid_row
from tracker import access, charts, queries, survival, verification
from tracker.config import Settings
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import Store
from tracker.wording import quantity

APP = str(ROOT / "app.py")
TIMEOUT = 60


from streamlit.runtime.pages_manager import PagesManager  # noqa: E402

LEGACY_INIT = PagesManager.__init__


@pytest.fixture(autouse=True)
def navigation_mode(monkeypatch):
    """Run AppTest as a long-running server does: in st.navigation mode from the start.

    AppTest resets Streamlit's "legacy pages/ folder" flag before every run, so each rerun
    would start in legacy mode and bounce through the pages' frame guard (losing button
    clicks). A real server leaves that mode after its first run.
    """

    def init(self, *args, **kwargs):
        LEGACY_INIT(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)


def registered_pages() -> list[str]:
    return re.findall(r'st\.Page\("(pages/[^"]+\.py)"', (ROOT / "app.py").read_text())


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    with Store(str(path), Settings(db=str(path))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    return path


@pytest.fixture
def db(tmp_path, demo_file, monkeypatch) -> Path:
    """A private copy of the demo database, used by the app under test."""
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_file, path)
    monkeypatch.setenv("TRACKER_DB", str(path))
    return path


def app(page: str | None = None, **params: str | list[str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, at.exception
    return at


def open_table(at: AppTest, chart_key: str) -> AppTest:
    """Open the "Data behind this chart" expander of the chart with ``chart_key`` (as a click does:
    the page runs again and draws the table, which is not drawn while the expander is closed)."""
    at.session_state[f"{chart_key}_data"] = True
    at.run()
    assert not at.exception, at.exception
    return at


def plain(markdown: str) -> str:
    """Markdown as read: user text in messages is escaped (and URLs/emails unlinked) by _ui.inert."""
    return markdown.replace("\\", "").replace("\u2060", "")


def metric(at: AppTest, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_every_page_file_is_registered():
    files = sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py") if not p.name.startswith("_"))
    assert files == sorted(registered_pages())


@pytest.mark.parametrize("page", registered_pages())
def test_page_runs_without_exception(db, page):
    at = app(page)
    assert at.title, f"{page} has no title"


@pytest.mark.parametrize("page", registered_pages())
def test_page_runs_on_an_empty_database(tmp_path, monkeypatch, page):
    monkeypatch.setenv("TRACKER_DB", str(tmp_path / "empty.duckdb"))
    at = app(page)
    assert not at.exception


@pytest.mark.parametrize(
    ("target", "says"),
    [
        ("", "TRACKER_DB: it is empty"),
        ("postgresql://tracker@127.0.0.1:1/tracker", "cannot open the PostgreSQL database"),
    ],
)
def test_a_database_that_cannot_be_opened_is_named_on_the_page_not_a_traceback(monkeypatch, target, says):
    # port 1 on this machine: nothing listens there, so the connection is refused at once
    monkeypatch.setenv("TRACKER_DB", target)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert "cannot open its database" in at.error[0].value and says in at.error[0].value
    assert not at.metric and not at.title  # no page drawn on a store that is not there


def test_admin_tabs_draw_only_the_open_one_and_stay_open_after_a_save(db):
    at = app("pages/admin.py")
    assert [t.label for t in at.tabs] == ["Members", "Partnerships", "Taxonomy", "Audit log", "Backup"]
    assert [h.value for h in at.header] == ["Members"]  # the other tabs are not drawn until opened
    for view in ("Taxonomy", "Audit log", "Backup", "Partnerships"):
        at.session_state["admin_view"] = view
        at.run()
        assert not at.exception, at.exception
        assert [h.value for h in at.header] == [view]
    form = {t.label: t for t in at.text_input}
    form["Slug"].input("Not A Slug!")
    next(b for b in at.button if b.label == "Save partnership").click().run()
    assert any("Nothing was changed" in plain(e.value) for e in at.error)
    assert [h.value for h in at.header] == ["Partnerships"]
    form = {t.label: t for t in at.text_input}
    assert form["Slug"].value == "Not A Slug!"  # the input is kept to correct
    form["Slug"].input("changing-futures-test")
    form["Name"].input("Changing Futures Test")
    form["Programme"].input("Changing Futures")
    form["Area"].input("Testshire")
    next(b for b in at.button if b.label == "Save partnership").click().run()
    assert not at.exception, at.exception
    assert any("Saved Changing Futures Test." in plain(s.value) for s in at.success)
    assert [h.value for h in at.header] == ["Partnerships"]  # still on the tab the form is on
    (listed,) = [d.value for d in at.dataframe]
    assert "changing-futures-test" in set(listed["slug"])


def test_renaming_a_partnership_keeps_its_funding_dates(db):
    """The form starts empty: renaming VOICES (slug, name, programme, area) left its dates blank and
    so erased its funding end, and the legacy register then called it "still funded"."""
    from tracker import admin

    with Store(str(db), Settings(db=str(db))) as store:
        before = admin.partnerships(store).set_index("slug").loc["voices"]
    assert before["end_date"] is not None and before["end_date"] == before["end_date"]
    at = app("pages/admin.py")
    at.session_state["admin_view"] = "Partnerships"
    at.run()
    form = {t.label: t for t in at.text_input}
    for label, value in (("Slug", "voices"), ("Name", "VOICES Stoke"), ("Programme", before["programme"])):
        form[label].input(value)
    form["Area"].input(before["area"])
    next(b for b in at.button if b.label == "Save partnership").click().run()
    assert not at.exception, at.exception
    assert any("Saved VOICES Stoke." in plain(s.value) for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        after = admin.partnerships(store).set_index("slug").loc["voices"]
    assert after["name"] == "VOICES Stoke"
    assert (after["start_date"], after["end_date"]) == (before["start_date"], before["end_date"])


def test_a_funding_end_date_recorded_by_mistake_can_be_cleared(db):
    """An empty date keeps the stored one, so an end date saved by mistake could never be taken
    away: the register and survival went on counting a partnership still funded as ended."""
    from tracker import admin

    with Store(str(db), Settings(db=str(db))) as store:
        before = admin.partnerships(store).set_index("slug").loc["voices"]
    at = app("pages/admin.py")
    at.session_state["admin_view"] = "Partnerships"
    at.run()
    form = {t.label: t for t in at.text_input}
    for label, value in (("Slug", "voices"), ("Name", before["name"]), ("Programme", before["programme"])):
        form[label].input(value)
    form["Area"].input(before["area"])
    next(c for c in at.checkbox if c.label == "Still funded: no end date").check()
    next(b for b in at.button if b.label == "Save partnership").click().run()
    assert not at.exception, at.exception
    with Store(str(db), Settings(db=str(db))) as store:
        after = admin.partnerships(store).set_index("slug").loc["voices"]
    assert after["end_date"] is None or after["end_date"] != after["end_date"]  # None, or NaT in the frame
    assert after["start_date"] == before["start_date"]  # the start kept


def test_a_term_action_without_a_term_chosen_says_so_and_keeps_the_label(db):
    """Rename with no term chosen did nothing at all: no change, no word."""
    at = app("pages/admin.py")
    at.session_state["admin_view"] = "Taxonomy"
    at.run()
    (new_label,) = [t for t in at.text_input if t.label == "New label"]
    new_label.input("Leadership and vision")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert not at.exception, at.exception
    assert any("choose a term first" in e.value for e in at.error), [e.value for e in at.error]
    assert next(t for t in at.text_input if t.label == "New label").value == "Leadership and vision"


@pytest.mark.parametrize(
    ("tab", "form", "button", "says"),
    [
        (
            "Partnerships",
            {"Slug": "voices-two", "Name": "VOICES", "Programme": "Fulfilling Lives", "Area": "Stoke"},
            "Save partnership",
            "Name: another partnership ('voices') already has this name",
        ),
        ("Taxonomy", {"Slug": "Peer Mentoring", "Label": "Peer mentoring"}, "Add term", "Slug: use lower-case letters"),
    ],
    ids=["partnership", "term"],
)
def test_admin_forms_name_the_field_as_the_form_labels_it(db, tab, form, button, says):
    """Problems on the partnership and taxonomy forms name the field by its label, not its column."""
    at = app("pages/admin.py")
    at.session_state["admin_view"] = tab
    at.run()
    fields = {t.label: t for t in at.text_input}
    for label, value in form.items():
        fields[label].input(value)
    next(b for b in at.button if b.label == button).click().run()
    assert not at.exception, at.exception
    errors = [plain(e.value) for e in at.error]
    assert any(says in e for e in errors), errors
    assert not any("column " in e for e in errors), errors
    assert {label: t.value for label, t in ((t.label, t) for t in at.text_input) if label in form} == form


def test_remove_member_without_a_member_chosen_says_so(db):
    at = app("pages/admin.py")
    next(b for b in at.button if b.label == "Remove member").click().run()
    assert not at.exception, at.exception
    assert any("choose a member first" in e.value for e in at.error), [e.value for e in at.error]


def test_the_remove_member_form_names_each_member_as_the_rename_form_does(db):
    """Two members with names: the remove list offered bare email addresses, so an admin choosing whom
    to take off the tracker could not see the name or role of the person behind one (#4)."""
    with Store(str(db), Settings(db=str(db))) as store:
        access.save_member(store, ADMIN, {"email": "jo@example.org", "role": "viewer", "name": "Jo Smith"})
        access.save_member(store, ADMIN, {"email": "kim@example.org", "role": "viewer"})
    at = app("pages/admin.py")
    gone = at.selectbox(key="remove_member")
    assert {"Jo Smith <jo@example.org> (viewer)", "kim@example.org (viewer)"} <= set(gone.options), gone.options
    gone.set_value("jo@example.org")
    next(b for b in at.button if b.label == "Remove member").click().run()
    assert not at.exception, at.exception
    assert any("Removed Jo Smith <jo@example.org> (viewer)." in plain(s.value) for s in at.success)
    assert "jo@example.org" not in [m[0] for m in _members(db)]


def _members(db):
    with Store(str(db), Settings(db=str(db))) as store:
        sql = "SELECT email, name, role, added_at, added_by FROM members ORDER BY email"
        return store.cursor().execute(sql).fetchall()


def _listed(at: AppTest) -> dict[str, str | None]:
    """The members table on the admin page: name by email."""
    (listed,) = [d.value for d in at.dataframe]
    return dict(zip(listed["email"], listed["name"], strict=True))


def test_a_member_is_added_with_a_name_which_is_listed_changed_and_cleared(db):
    """The admin page took no name and listed none: a member's name could be neither given, seen nor
    changed there (#4). Changing it keeps the role and when and by whom the member was added."""
    at = app("pages/admin.py")
    form = {t.label: t for t in at.text_input}
    form["Email address"].input("jo@example.org")
    form["Name"].input("Jo Smith")
    at.radio(key="member_role").set_value("viewer")
    next(b for b in at.button if b.label == "Save member").click().run()
    assert not at.exception, at.exception
    assert any("Saved jo@example.org." in plain(s.value) for s in at.success)
    assert _listed(at) == {"jo@example.org": "Jo Smith"}
    (added,) = _members(db)
    assert added[1:3] == ("Jo Smith", "viewer")
    # the name alone: no role to choose again, nothing else changes
    at.selectbox(key="rename_member").set_value("jo@example.org")
    at.text_input(key="rename_name").input("Jo Smith-Jones")
    next(b for b in at.button if b.label == "Save name").click().run()
    assert not at.exception, at.exception
    assert any("Saved the name of jo@example.org." in plain(s.value) for s in at.success)
    assert _listed(at) == {"jo@example.org": "Jo Smith-Jones"}
    assert _members(db) == [("jo@example.org", "Jo Smith-Jones", "viewer", added[3], added[4])]
    # clearing is asked for explicitly; a name typed as well is a contradiction, and nothing changes
    at.checkbox(key="rename_clear").check()
    next(b for b in at.button if b.label == "Save name").click().run()
    assert any("type a new name or tick “No name”, not both" in plain(e.value) for e in at.error)
    assert _members(db)[0][1] == "Jo Smith-Jones"
    at.text_input(key="rename_name").input("")
    next(b for b in at.button if b.label == "Save name").click().run()
    assert not at.exception, at.exception
    assert any("Cleared the name of jo@example.org." in plain(s.value) for s in at.success)
    assert _members(db) == [("jo@example.org", None, "viewer", added[3], added[4])]
    # saving the member again with the name left blank keeps it; a blank new name is not a way to clear it
    at.checkbox(key="rename_clear").uncheck()
    at.text_input(key="rename_name").input("Jo Smith")
    next(b for b in at.button if b.label == "Save name").click().run()
    next(t for t in at.text_input if t.label == "Name").input("")
    next(b for b in at.button if b.label == "Save member").click().run()
    assert not at.exception, at.exception
    assert _listed(at) == {"jo@example.org": "Jo Smith"}
    at.text_input(key="rename_name").input("  ")
    next(b for b in at.button if b.label == "Save name").click().run()
    assert any("Name: is blank: give the new name, or clear the name" in plain(e.value) for e in at.error)
    assert _listed(at) == {"jo@example.org": "Jo Smith"}


def test_a_name_not_allowed_is_refused_naming_the_field_and_what_was_typed_stays(db):
    too_long = "x" * 201
    says = "Name: is too long: 201 characters, the limit is 200; shorten it"
    at = app("pages/admin.py")
    form = {t.label: t for t in at.text_input}
    form["Email address"].input("jo@example.org")
    form["Name"].input(too_long)
    at.radio(key="member_role").set_value("viewer")
    next(b for b in at.button if b.label == "Save member").click().run()
    assert not at.exception, at.exception
    assert any(says in plain(e.value) for e in at.error), [e.value for e in at.error]
    form = {t.label: t for t in at.text_input}
    assert (form["Email address"].value, form["Name"].value) == ("jo@example.org", too_long)
    assert at.radio(key="member_role").value == "viewer"
    assert _members(db) == []
    form["Name"].input("Jo Smith")
    next(b for b in at.button if b.label == "Save member").click().run()
    at.selectbox(key="rename_member").set_value("jo@example.org")
    at.text_input(key="rename_name").input("Jo\tSmith")
    next(b for b in at.button if b.label == "Save name").click().run()
    assert not at.exception, at.exception
    assert any("Name: must be a single line" in plain(e.value) for e in at.error), [e.value for e in at.error]
    assert at.text_input(key="rename_name").value == "Jo\tSmith"
    assert at.selectbox(key="rename_member").value == "jo@example.org"
    assert _members(db)[0][1] == "Jo Smith"


def test_overview_figures_follow_the_filters(db):
    at = app()
    assert metric(at, "Entries") == "89"
    at.multiselect(key="f_partnership").set_value(["voices"]).run()
    with Store(str(db), Settings(db=str(db))) as store:
        expected = queries.count_entries(store, Filters(partnerships=("voices",)))
    assert metric(at, "Entries") == str(expected)
    assert at.query_params["partnership"] == ["voices"] or at.query_params["partnership"] == "voices"


def test_a_link_with_filters_reproduces_the_numbers(db):
    at = app(partnership=["voices", "golden-key"], kind="setback")
    with Store(str(db), Settings(db=str(db))) as store:
        figures = queries.headline(store, Filters(partnerships=("voices", "golden-key"), kinds=("setback",)))
    assert metric(at, "Entries") == str(figures["entries"])
    assert metric(at, "Setbacks") == str(figures["entries"])
    assert at.multiselect(key="f_partnership").value == ["voices", "golden-key"]


def test_unknown_values_in_a_link_are_ignored_with_a_note(db):
    at = app(partnership=["voices", "atlantis"], typology="Leadrship", to="not-a-date")
    warnings = " ".join(plain(w.value) for w in at.warning)
    assert "partnership 'atlantis'" in warnings and "typology 'Leadrship'" in warnings
    assert "'to' date is ignored: 'not-a-date' is not a date in the form YYYY, YYYY-MM or YYYY-MM-DD" in warnings
    assert at.multiselect(key="f_partnership").value == ["voices"]


def test_a_links_unknown_filter_value_is_named_as_typed_not_drawn_as_markdown(db):
    """``?partnership=![x](http://…)`` drew a picture from another site in the note under the title."""
    typed = "![x](http://evil.example/x.png) **bold**"
    at = app(partnership=typed, to="[y](javascript:alert(1))")
    notes = [w.value for w in at.warning if "The link" in plain(w.value)]
    assert any(f"partnership '{typed}'" in plain(n) for n in notes), notes
    assert any("'[y](javascript:alert(1))'" in plain(n) for n in notes), notes
    for note in notes:
        assert "![x](" not in note and "**bold**" not in note and "[y](" not in note, note


def test_a_filter_matching_nothing_says_so(db):
    at = app(partnership="voices", typology="leadership", kind="setback", sector="domestic-abuse")
    assert any("No entries match these filters" in i.value for i in at.info)


def test_heatmap_metric_and_view_live_in_the_url(db):
    at = app("pages/heatmaps.py", metric="share", view="typology-mechanism")
    assert at.query_params.get("metric") in ("share", ["share"])
    assert not at.exception


def test_an_unknown_page_choice_in_a_link_is_ignored_with_a_note(db):
    """``?metric=shares`` (a typo) showed counts without a word, unlike an unknown filter value."""
    at = app("pages/heatmaps.py", metric="shares", view="partnership-mechanism")
    assert any("metric 'shares'" in plain(w.value) and "ignored" in w.value for w in at.warning), [
        w.value for w in at.warning
    ]
    assert at.query_params.get("view") in ("partnership-mechanism", ["partnership-mechanism"])  # the rest is kept
    at = app("pages/compare.py", by="programmes")
    assert any("by 'programmes'" in plain(w.value) for w in at.warning), [w.value for w in at.warning]
    at = app("pages/heatmaps.py", metric="share")  # a known value: no note
    assert not any("ignored" in w.value for w in at.warning)


def test_timeline_structure_lanes(db):
    at = app("pages/timeline.py", lanes="structure")
    assert not at.exception
    assert any("Status of each structure" in e.label for e in at.expander)
    assert not any("too many to give each a lane" in i.value for i in at.info)


OUTSIDE_EVENTS = "Grey bands mark outside events"


def outside_events(at: AppTest):
    return next(t for t in at.toggle if t.label.startswith("Show outside events"))


def test_timeline_outside_events_switch_lives_in_the_url(db):
    """The switch was the one choice on the timeline a link did not keep (#3): a link shared with the
    outside events off opened with them on. Off is kept as ``?context=off``; on, the default, leaves
    the link clean."""
    at = app("pages/timeline.py", lanes="structure", context="off")
    assert outside_events(at).value is False
    assert not any(OUTSIDE_EVENTS in c.value for c in at.caption)
    assert at.query_params.get("context") in ("off", ["off"])
    assert at.query_params.get("lanes") in ("structure", ["structure"])  # the lanes are kept beside it
    outside_events(at).set_value(True).run()
    assert any(OUTSIDE_EVENTS in c.value for c in at.caption)
    assert "context" not in at.query_params
    outside_events(at).set_value(False).run()
    assert at.query_params.get("context") in ("off", ["off"])
    at = app("pages/timeline.py")  # no word in the link: on, as before
    assert outside_events(at).value is True and "context" not in at.query_params
    at = app("pages/timeline.py", context="of")  # a typo is said, not silently read as on
    assert any("context 'of'" in plain(w.value) and "ignored" in w.value for w in at.warning), [
        w.value for w in at.warning
    ]


def test_timeline_names_a_wrong_outside_event_and_draws_the_entries(db, tmp_path, monkeypatch):
    # An event whose mechanism slug has a typo matched no entries without a word (#3): the page
    # says which file, event and slug, and draws the timeline without the outside events.
    from tracker import context

    events = tmp_path / "events.toml"
    events.write_text('[[event]]\nlabel = "Lockdown"\nstart = 2020-03-23\nmechanism = "covid19"\n')
    monkeypatch.setattr(context, "CONTEXT_FILE", events)
    at = app("pages/timeline.py")
    assert any(str(events) in plain(e.value) and "unknown mechanism 'covid19'" in plain(e.value) for e in at.error), [
        e.value for e in at.error
    ]
    assert any(e.label.startswith("Data behind this chart") for e in at.expander)  # the entries are drawn


def test_timeline_with_more_structures_than_lanes_draws_the_busiest_and_says_so(db, monkeypatch):
    monkeypatch.setattr(queries, "STRUCTURE_LANES", 5)  # as if there were thousands of structures
    at = app("pages/timeline.py", lanes="structure")
    with Store(str(db), Settings(db=str(db))) as store:
        structures = len(queries.structures(store))
        only, _ = queries.structure_lanes(store, Filters(), 5)
        names = queries.structures(store).set_index(["partnership_slug", "structure_key"]).loc[list(only)]
    assert any(
        f"{structures} structures match: too many to give each a lane. The 5 with the most entries are drawn" in i.value
        for i in at.info
    )
    at = open_table(at, "timeline_structure")
    (table,) = [d.value for d in at.dataframe if "title" in d.value]  # the entries drawn, not the status bands
    assert set(table["lane"]) == {f"{r.partnership} · {r.structure}" for r in names.itertuples()}


@pytest.mark.parametrize("months", [True, False])
def test_a_binned_timeline_by_month_says_where_year_only_entries_are_counted(db, monkeypatch, months):
    """Counted by month, an entry dated by year only (common for legacy outcomes) lands in January
    of its year: a January that looks busy may be the year's undated-by-month entries. The page says
    so when the marks are months, and not when they are years."""
    with Store(str(db), Settings(db=str(db))) as store:
        max_rows = queries.count_entries(store, Filters()) - 1 if months else 40  # binned by month, by year
        points, binned = queries.timeline(store, Filters(), "partnership", max_rows=max_rows)
        assert binned and charts.binned_by_year(points) is not months
    monkeypatch.setattr(queries.timeline, "__defaults__", ("partnership", max_rows, ()))  # as if there were thousands
    at = app("pages/timeline.py")
    (warning,) = [w.value for w in at.warning if "too many to draw one by one" in w.value]
    assert ("an entry dated by year only is counted in January of its year" in warning) is months


FORM = {
    "e_partnership": "voices",
    "e_date": "2023-05",
    "e_kind": "milestone",
    "e_title": "Expert Citizens join the ICS board",
    "e_typology": "coproduction",
    "e_status": "continuing",
    "e_mechanisms": ["lived-experience"],
}


def fill(at: AppTest, values: dict) -> None:
    for key, value in values.items():
        if key in ("e_partnership", "e_typology", "e_status"):
            at.selectbox(key=key).set_value(value)
        elif key == "e_kind":
            at.radio(key=key).set_value(value)
        elif key in ("e_mechanisms", "e_sectors"):
            at.multiselect(key=key).set_value(value)
        else:
            at.text_input(key=key).set_value(value)
    at.run()


def test_form_saves_a_valid_entry_visible_at_once(db):
    at = app("pages/log_entry.py")
    fill(at, FORM)
    at.button(key="e_save").click().run()
    assert not at.exception
    assert any("Saved “Expert Citizens join the ICS board”" in s.value for s in at.success)
    at.switch_page("pages/overview.py").run()
    assert metric(at, "Entries") == "90"


def test_form_keeps_input_and_shows_errors_by_the_fields(db):
    at = app("pages/log_entry.py")
    fill(at, {**FORM, "e_date": "2019-13", "e_status": "hosted-elsewhere"})
    at.button(key="e_save").click().run()
    errors = [e.value for e in at.error]
    assert any("Nothing was saved" in e for e in errors)
    assert any("months run 01 to 12" in e for e in errors)
    assert any("Host" in e and "is required" in e for e in errors)
    assert at.text_input(key="e_title").value == FORM["e_title"]
    assert at.text_input(key="e_date").value == "2019-13"
    with Store(str(db), Settings(db=str(db))) as store:
        assert queries.count_entries(store) == 89


def test_editing_an_entry_from_a_link(db):
    at = app("pages/log_entry.py", edit="voices-marg-council-2022")
    assert at.title[0].value == "Edit an entry"
    assert "MaRG" in at.text_input(key="e_title").value or at.text_input(key="e_title").value
    at.text_input(key="e_title").set_value("MaRG hosted by the city council (edited)").run()
    at.button(key="e_save").click().run()
    assert any("Updated" in s.value for s in at.success)


def test_the_form_after_another_page_is_a_new_entry_never_one_saved_over_the_entry_last_edited(db):
    """Streamlit forgets the form's fields on another page: back on "Log an entry" the form was
    "Edit an entry" with empty fields, and what was typed there replaced the entry opened before."""
    at = app("pages/log_entry.py", edit="voices-marg-council-2022")
    at.switch_page("pages/overview.py").run()
    del at.query_params["edit"]  # the sidebar's "Log an entry"
    at.switch_page("pages/log_entry.py").run()
    assert at.title[0].value == "Log an entry"
    assert not at.text_input(key="e_title").value
    fill(at, FORM)
    at.button(key="e_save").click().run()
    assert any("Saved “Expert Citizens join the ICS board”" in s.value for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        from tracker import entries

        assert (
            entries.get_entry(store, "voices-marg-council-2022").title
            == "MaRG now hosted by Stoke-on-Trent City Council"
        )
        assert queries.count_entries(store) == 90


def test_editing_the_same_entry_again_prefills_every_field(db):
    """After another page, or after "New entry", a link to edit the entry last opened fills the form again
    (it showed empty fields, or a blank new entry); so does a second "Changed…" link for a structure."""
    at = app("pages/log_entry.py", edit="voices-marg-council-2022")

    def form() -> dict:
        return {
            "title": at.title[0].value,
            "e_title": at.text_input(key="e_title").value,
            "e_date": at.text_input(key="e_date").value,
            "e_status": at.selectbox(key="e_status").value,
            "e_host": at.text_input(key="e_host").value,
            "e_mechanisms": at.multiselect(key="e_mechanisms").value,
            "e_sectors": at.multiselect(key="e_sectors").value,
            "e_structure": at.selectbox(key="e_structure").value,
        }

    loaded = form()
    assert loaded["title"] == "Edit an entry" and loaded["e_host"] == "Stoke-on-Trent City Council"
    assert loaded["e_date"] == "2022-04-01" and loaded["e_mechanisms"] and loaded["e_sectors"]
    at.switch_page("pages/overview.py").run()
    at.query_params["edit"] = "voices-marg-council-2022"  # "Edit …" under an entry list
    at.switch_page("pages/log_entry.py").run()
    assert form() == loaded
    at.button(key="e_new").click().run()
    assert at.title[0].value == "Log an entry"
    at.query_params["edit"] = "voices-marg-council-2022"
    at.switch_page("pages/log_entry.py").run()
    assert form() == loaded

    structure = {"partnership": "voices", "structure": "Multi-agency Resolution Group (MaRG)"}
    at = app("pages/log_entry.py", **structure)  # "Changed…" on the legacy register
    at.switch_page("pages/legacy.py").run()
    at.switch_page("pages/log_entry.py").run()
    assert at.selectbox(key="e_partnership").value == "voices"
    assert at.selectbox(key="e_structure").value == structure["structure"]


def test_upload_of_an_invalid_file_reports_rows_and_stores_nothing(db):
    at = app("pages/import_export.py")
    bad = csv_bytes([valid_row(id="n1"), valid_row(id="n2", typology="Leadrship")])
    at.file_uploader(key="upload").set_value(("bad.csv", bad, "text/csv")).run()
    assert any("nothing was stored" in e.value for e in at.error)
    table = at.dataframe[0].value
    assert list(table["row"]) == [3] and "did you mean 'Leadership'?" in table["problem"][0]
    with Store(str(db), Settings(db=str(db))) as store:
        assert queries.count_entries(store) == 89


def test_upload_of_a_valid_file_previews_then_imports(db):
    at = app("pages/import_export.py")
    good = csv_bytes([valid_row(id="n1"), valid_row(id="n2")])
    at.file_uploader(key="upload").set_value(("good.csv", good, "text/csv")).run()
    assert any("is valid" in s.value for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        assert queries.count_entries(store) == 89  # a dry run first
    at.button(key="do_import").click().run()
    assert any("Imported" in s.value for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        assert queries.count_entries(store) == 91


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_the_upload_page_takes_every_format_the_export_buttons_give(db, fmt):
    """A JSON or Parquet file exported here, edited and brought back, is checked and imported."""
    import io

    from tracker import interchange

    at = app("pages/import_export.py")
    assert {f".{f}" for f in interchange.FORMATS} <= set(at.get("file_uploader")[0].proto.type)
    rows = [valid_row(id="n1"), valid_row(id="n2", title="Expert Citizens CIC set up")]
    for row in rows:  # lists, as the export writes them
        for column in interchange.LIST_COLUMNS:
            row[column] = [v.strip() for v in row[column].split(";") if v.strip()]
    out = io.BytesIO()
    interchange.WRITERS[fmt](rows, out)
    media = interchange.MEDIA_TYPES[fmt]
    at.file_uploader(key="upload").set_value((f"edited.{fmt}", out.getvalue(), media)).run()
    assert any("is valid" in s.value for s in at.success), [e.value for e in at.error]
    at.button(key="do_import").click().run()
    assert any("Imported" in s.value for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        assert queries.count_entries(store) == 91


@pytest.mark.parametrize("fmt", ["json", "parquet"])
def test_a_large_upload_is_checked_with_a_bar_or_a_running_count(db, fmt, monkeypatch):
    """Over 200 kB the check shows its progress: a bar for Parquet (its rows are in its metadata), a
    running count for JSON on one line, where the records cannot be known before reading them (#2)."""
    import io
    import json
    import secrets

    from tracker import interchange, limits

    rows = [valid_row(id=f"big{i}", description=secrets.token_hex(1900)) for i in range(150)]
    for row in rows:
        for column in interchange.LIST_COLUMNS:
            row[column] = [v.strip() for v in row[column].split(";") if v.strip()]
    out = io.BytesIO()
    interchange.WRITERS[fmt](rows, out)
    data = out.getvalue() if fmt == "parquet" else json.dumps(json.loads(out.getvalue())).encode()
    assert len(data) > 200_000
    expected: list[int | None] = []
    count = limits.expected_rows

    def counted(stream, kind):
        expected.append(count(stream, kind))
        return expected[-1]

    monkeypatch.setattr(limits, "expected_rows", counted)
    at = app("pages/import_export.py")
    at.file_uploader(key="upload").set_value((f"big.{fmt}", data, interchange.MEDIA_TYPES[fmt])).run()
    assert not at.exception, at.exception
    assert any("is valid" in s.value for s in at.success), [e.value for e in at.error]
    assert expected == [150 if fmt == "parquet" else None]


def test_a_deep_link_after_a_server_start_still_runs_inside_the_frame(db, monkeypatch):
    """In Streamlit's legacy pages/ mode a page could run alone; the frame guard prevents it."""
    monkeypatch.setattr(PagesManager, "__init__", LEGACY_INIT)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    at.switch_page("pages/timeline.py").run()
    assert not at.exception
    assert at.sidebar.multiselect(key="f_partnership") is not None
    assert at.title[0].value == "Timeline"


def test_delete_then_restore_from_the_edit_page(db):
    at = app("pages/log_entry.py", edit="voices-marg-2015")
    at.button(key="e_delete").click().run()
    assert any("Deleted" in s.value for s in at.success)
    assert any("was deleted by local-admin" in plain(w.value) for w in at.warning)
    at.button(key="e_restore").click().run()
    assert any("Restored" in s.value for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        assert queries.count_entries(store) == 89


def test_an_edit_on_a_stale_version_is_refused_and_the_text_kept(db):
    at = app("pages/log_entry.py", edit="voices-marg-2015")
    with Store(str(db), Settings(db=str(db))) as store:  # someone else saves first
        from tracker import entries

        theirs = entries.get_entry(store, "voices-marg-2015")
        data = {
            k: getattr(theirs, k)
            for k in (
                "id",
                "partnership",
                "kind",
                "title",
                "description",
                "typology",
                "status",
                "host",
                "mechanisms",
                "structure",
                "sectors",
                "source",
            )
        }
        entries.save_entry(
            store,
            {**data, "date": theirs.date.text, "title": "Their title"},
            actor=ADMIN.__class__("colleague@voices.org", "admin"),
        )
    at.text_input(key="e_title").set_value("My title").run()
    at.button(key="e_save").click().run()
    assert any("changed by colleague@voices.org" in plain(e.value) for e in at.error)
    assert at.text_input(key="e_title").value == "My title"
    assert any("The version now stored" in e.label for e in at.expander)


def _someone_else_retitles(db: Path, title: str) -> None:
    from tracker import entries

    with Store(str(db), Settings(db=str(db))) as store:
        theirs = entries.get_entry(store, "voices-marg-2015")
        data = theirs.model_dump(include=set(entries.EntryIn.model_fields) - {"date"})
        entries.save_entry(
            store,
            {**data, "date": theirs.date.text, "title": title},
            actor=ADMIN.__class__("colleague@voices.org", "admin"),
        )


def test_after_a_conflict_saving_again_keeps_my_text_over_the_version_shown_only(db):
    """The conflict says "compare and save again": a save after the stored version is shown puts the
    user's text over that version (it refused again and again); a change made after it was shown
    is refused once more, never overwritten unseen."""
    at = app("pages/log_entry.py", edit="voices-marg-2015")
    _someone_else_retitles(db, "Their title")
    at.text_input(key="e_title").set_value("My title").run()
    at.button(key="e_save").click().run()
    assert any("compare and save again" in plain(e.value) for e in at.error)
    assert any("The version now stored (version 2" in plain(e.label) for e in at.expander)
    _someone_else_retitles(db, "Their second title")  # after the comparison was drawn
    at.button(key="e_save").click().run()
    assert any("changed by colleague@voices.org" in plain(e.value) for e in at.error)
    assert any("The version now stored (version 3" in plain(e.label) for e in at.expander)
    assert at.text_input(key="e_title").value == "My title"
    at.button(key="e_save").click().run()
    assert not at.error, [e.value for e in at.error]
    assert any("Updated" in s.value for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        from tracker import entries

        saved = entries.get_entry(store, "voices-marg-2015")
        assert (saved.title, saved.version) == ("My title", 4)


def test_a_retired_term_is_not_offered_for_a_new_entry_but_kept_on_an_entry_that_has_it(db):
    """The admin page says a retired term is "no longer offered for new entries"; the form offered it."""
    from tracker import admin

    with Store(str(db), Settings(db=str(db))) as store:
        admin.set_retired(store, ADMIN, "typology", "coordinating-support", True)
        admin.set_retired(store, ADMIN, "mechanism", "flexibility", True)
        admin.set_retired(store, ADMIN, "sector", "housing", True)
    at = app("pages/log_entry.py")
    assert "Approaches to coordinating support" not in at.selectbox(key="e_typology").options
    assert "Leadership" in at.selectbox(key="e_typology").options
    assert "Flexibility" not in at.multiselect(key="e_mechanisms").options
    assert "Housing and homelessness" not in at.multiselect(key="e_sectors").options
    at = app("pages/log_entry.py", edit="voices-marg-2015")  # tagged with both before they were retired
    assert at.selectbox(key="e_typology").value == "coordinating-support"
    assert "flexibility" in at.multiselect(key="e_mechanisms").value
    at.text_input(key="e_title").set_value("MaRG set up (edited)").run()
    at.button(key="e_save").click().run()
    assert any("Updated" in s.value for s in at.success), [e.value for e in at.error]
    assert "Approaches to coordinating support" in at.selectbox(key="e_typology").options


def legacy(view: str | None = None) -> AppTest:
    """The legacy register page with one of its tabs open (the register by default)."""
    at = app("pages/legacy.py")
    if view:
        at.session_state["legacy_view"] = view
        at.run()
        assert not at.exception, at.exception
    return at


def test_legacy_tabs_draw_only_the_open_list(db):
    at = legacy()
    assert [t.label for t in at.tabs] == ["Register", "Needs checking", "Links across programmes"]
    assert [d for d in at.dataframe if "confirmation" in d.value.columns]  # the register
    assert not [b for b in at.button if b.key and b.key.startswith("ok_")]  # no checks drawn
    assert not [d for d in at.dataframe if "to_structure" in d.value.columns]  # nor links
    assert any(m.label == "Structures" for m in at.metric)  # the summary stays above the tabs
    at = legacy("Needs checking")
    assert [b for b in at.button if b.key and b.key.startswith("ok_")]
    assert not [d for d in at.dataframe if "confirmation" in d.value.columns]
    at = legacy("Links across programmes")
    assert [t for t in at.toggle if t.key == "link_form_open"]
    assert not [b for b in at.button if b.key and b.key.startswith("ok_")]
    assert not [d for d in at.dataframe if "confirmation" in d.value.columns]


def test_a_link_opens_a_legacy_tab_and_the_overview_links_to_the_checks(db):
    at = app("pages/legacy.py", legacy_view="Needs checking")
    assert [b for b in at.button if b.key and b.key.startswith("ok_")]  # the checks, not the register
    assert not [d for d in at.dataframe if "confirmation" in d.value.columns]
    link = next(p for p in app().get("page_link") if p.proto.label == "Check them on the legacy register")
    assert link.proto.query_string == "legacy_view=Needs+checking"


def test_legacy_register_lists_unconfirmed_structures_and_confirms_in_one_click(db):
    at = legacy("Needs checking")
    chooser = at.selectbox(key="check_partnership")
    assert len(chooser.options) > 1 and all(" to check" in o for o in chooser.options)
    assert not [b for b in at.button if b.key and b.key.startswith("ok_voices_")]  # one partnership at a time
    for option in chooser.options:  # every partnership's list reads as words: no "nan" for a missing host
        at.selectbox(key="check_partnership").set_value(option).run()
        listed = [m.value for m in at.markdown if "last confirmed" in m.value]
        assert listed and not [m for m in listed if "(nan)" in m or "(None)" in m], (option, listed)
    chooser = at.selectbox(key="check_partnership")
    chooser.set_value("VOICES").run()
    buttons = [b for b in at.button if b.key and b.key.startswith("ok_voices_")]
    assert buttons, "VOICES structures should need checking (demo data ends in 2022)"
    before = len([b for b in at.button if b.key and b.key.startswith("ok_")])
    buttons[0].click().run()
    assert any("is still running, as of today" in s.value for s in at.success)
    after = len([b for b in at.button if b.key and b.key.startswith("ok_")])
    assert after == before - 1


def test_legacy_check_closed_records_the_structure_as_decommissioned_when_it_closed(db):
    """The lead says when it closed (the year, the month if known): dated today, survival would count
    every year since as one it ran."""
    at = legacy("Needs checking")
    at.selectbox(key="check_partnership").set_value("VOICES").run()
    button = next(b for b in at.button if b.key and b.key.startswith("closed_voices_"))
    key = button.key.removeprefix("closed_voices_")
    assert button.disabled  # no year chosen yet
    year = at.selectbox(key=f"closed_year_voices_{key}")
    assert year.value is None and year.options[0] == str(date.today().year)
    year.set_value(2023).run()
    at.selectbox(key=f"closed_month_voices_{key}").set_value("March").run()
    at.button(key=f"closed_voices_{key}").click().run()
    assert not at.exception, at.exception
    assert any("closed in 2023-03" in plain(s.value) for s in at.success), [s.value for s in at.success]
    with Store(str(db), Settings(db=str(db))) as store:
        row = verification.register(store).set_index("structure_key").loc[key]
    assert (row["status_slug"], row["since"]) == ("decommissioned", "2023-03")
    assert not [b for b in at.button if b.key == f"closed_voices_{key}"]  # no longer to check


def test_the_legacy_chart_legend_offers_a_retired_status_only_while_a_structure_has_it(db, tmp_path):
    """A status an admin retired stayed in the legend of "Structures by current status" with nothing
    drawn in its colour; one a structure still has is offered with it, as before (#8)."""
    import json

    from tracker import admin

    with Store(str(db), Settings(db=str(db))) as store:
        for slug, label in (("dormant", "Dormant"), ("paused", "Paused")):
            admin.add_term(store, ADMIN, "status", slug, label)
        row = valid_row(id="paused-1", partnership="VOICES", date="2023", structure="Peer hub", status="Paused")
        path = tmp_path / "paused.csv"
        path.write_bytes(csv_bytes([row]))
        assert import_file(store, str(path), actor=ADMIN).ok
        for slug in ("dormant", "paused"):
            admin.set_retired(store, ADMIN, "status", slug, True)
    at = app("pages/legacy.py")
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    (bars,) = [layer for spec in specs for layer in spec.get("layer", []) if layer["mark"]["type"] == "bar"]
    legend = bars["encoding"]["color"]["scale"]["domain"]
    assert "Paused" in legend and "Dormant" not in legend
    assert {"Continuing", "Hosted elsewhere", "Decommissioned"} <= set(legend)


def test_the_closure_question_shows_a_structure_name_as_typed(db, tmp_path):
    """A widget label is Markdown: a structure named with ** or a link was drawn bold or as a link."""
    from pages._ui import inert
    from tracker.entries import structure_key

    name = "**Peer** hub [more](http://example.org)"
    with Store(str(db), Settings(db=str(db))) as store:
        (tmp_path / "h.csv").write_bytes(csv_bytes([valid_row(id="h1", date="2019", structure=name)]))
        assert import_file(store, str(tmp_path / "h.csv"), actor=ADMIN).ok
    at = legacy("Needs checking")
    at.selectbox(key="check_partnership").set_value("VOICES").run()
    question = at.selectbox(key=f"closed_year_voices_{structure_key(name)}")
    assert question.label == f"When did {inert(name)} close?" and "\\*\\*Peer" in question.label


def test_legacy_check_closed_with_only_the_year_known(db):
    at = legacy("Needs checking")
    at.selectbox(key="check_partnership").set_value("VOICES").run()
    key = next(b for b in at.button if b.key and b.key.startswith("closed_voices_")).key.removeprefix("closed_voices_")
    at.selectbox(key=f"closed_year_voices_{key}").set_value(2024).run()
    at.button(key=f"closed_voices_{key}").click().run()
    assert any("closed in 2024." in plain(s.value) for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        row = verification.register(store).set_index("structure_key").loc[key]
    assert (row["status_slug"], row["since"]) == ("decommissioned", "2024")


def test_a_check_of_a_structure_gone_since_the_list_was_drawn_says_so(db):
    """Another lead deletes the structure's entries while the list is open: "Still running" is
    refused in words and records nothing; it stopped the page with a LookupError traceback."""
    from tracker import entries

    at = legacy("Needs checking")
    at.selectbox(key="check_partnership").set_value("VOICES").run()
    button = next(b for b in at.button if b.key and b.key.startswith("ok_voices_"))
    key = button.key.removeprefix("ok_voices_")
    with Store(str(db), Settings(db=str(db))) as store:
        gone = (
            store.cursor()
            .execute("SELECT id FROM entries WHERE partnership = 'voices' AND structure_key = ?", [key])
            .fetchall()
        )
        for (entry_id,) in gone:
            entries.delete_entry(store, entry_id, actor=ADMIN)
        before = store.cursor().execute("SELECT count(*) FROM audit_log").fetchone()[0]
    button.click().run()
    assert not at.exception, at.exception
    assert any("Not recorded" in e.value and "no longer on the register" in e.value for e in at.error)
    with Store(str(db), Settings(db=str(db))) as store:
        assert store.cursor().execute("SELECT count(*) FROM audit_log").fetchone()[0] == before


def test_still_running_for_a_structure_closed_since_the_list_was_drawn_is_refused(db):
    """Another lead records the structure as closed while the list is open: "Still running" recorded
    a milestone "Still running: …" with the status decommissioned and said it was still running."""
    from tracker import entries

    at = legacy("Needs checking")
    at.selectbox(key="check_partnership").set_value("VOICES").run()
    button = next(b for b in at.button if b.key and b.key.startswith("ok_voices_"))
    key = button.key.removeprefix("ok_voices_")
    with Store(str(db), Settings(db=str(db))) as store:
        name = verification.register(store).set_index("structure_key").loc[key, "structure"]
        row = valid_row(id="closed-meanwhile", structure=name, date="2024-03", kind="setback", mechanisms="")
        entries.save_entry(store, {**row, "status": "Decommissioned"}, actor=ADMIN)
        before = store.cursor().execute("SELECT count(*) FROM entries").fetchone()[0]
    button.click().run()
    assert not at.exception, at.exception
    assert not any("is still running" in s.value for s in at.success)
    assert any("Not recorded" in e.value and "decommissioned" in e.value for e in at.error)
    with Store(str(db), Settings(db=str(db))) as store:
        assert store.cursor().execute("SELECT count(*) FROM entries").fetchone()[0] == before
        assert verification.register(store).set_index("structure_key").loc[key, "status_slug"] == "decommissioned"


def test_legacy_checks_show_ten_at_a_time_and_refill_as_they_are_recorded(db):
    from tracker import entries

    with Store(str(db), Settings(db=str(db))) as store:
        for n in range(12):  # twelve more VOICES structures nobody has confirmed since 2019
            entries.save_entry(
                store, valid_row(id=f"old-{n}", title=f"Panel {n} set up", structure=f"Panel {n:02d}"), actor=ADMIN
            )
        total = int(verification.due(store).set_index("slug").loc["voices", "to_check"])
    at = legacy("Needs checking")
    at.selectbox(key="check_partnership").set_value("VOICES").run()

    def shown() -> list:
        return [b for b in at.button if b.key and b.key.startswith("ok_voices_")]

    assert total >= 13 and len(shown()) == 10
    assert any(f"The 10 confirmed longest ago of {total}" in c.value for c in at.caption)
    shown()[0].click().run()
    assert any("is still running, as of today" in s.value for s in at.success)
    assert len(shown()) == 10  # the next one takes its place
    assert any(f"The 10 confirmed longest ago of {total - 1}" in c.value for c in at.caption)


def register_table(at: AppTest):
    (table,) = [d.value for d in at.dataframe if "confirmation" in d.value.columns]
    return table


def test_legacy_register_pages_through_every_structure(db, monkeypatch):
    """A page of the register at a time (#6), every structure reachable, the page in the URL."""
    monkeypatch.setattr(verification, "PAGE_ROWS", 10)
    with Store(str(db), Settings(db=str(db))) as store:
        whole = verification.register(store)
    assert len(whole) == 24
    at = legacy()
    assert at.number_input(key="register_page").label == "Page (of 3)"
    assert any("Structures 1–10 of 24, by partnership and name" in c.value for c in at.caption)
    seen = list(register_table(at)["structure"])
    for page in (2, 3):
        at.number_input(key="register_page").set_value(page).run()
        assert not at.exception, at.exception
        seen += list(register_table(at)["structure"])
    assert any("Structures 21–24 of 24" in c.value for c in at.caption)
    assert seen == list(whole["structure"])  # each structure once, in the register's order
    again = app("pages/legacy.py", register_page="2")  # a link opens that page (the browser keeps it in the URL)
    assert list(register_table(again)["structure"]) == list(whole["structure"][10:20])


def test_legacy_register_search_and_status_narrow_it_and_say_when_nothing_matches(db, monkeypatch):
    monkeypatch.setattr(verification, "PAGE_ROWS", 10)
    at = legacy()
    at.number_input(key="register_page").set_value(2).run()
    at.multiselect(key="register_status").select("continuing").run()
    assert at.number_input(key="register_page").value == 1  # a new choice starts at its first page
    assert at.number_input(key="register_page").label == "Page (of 2)"
    assert set(register_table(at)["status"]) == {"Continuing"} and len(register_table(at)) == 10
    at.text_input(key="register_find").input("network").run()
    assert list(register_table(at)["structure"]) == ["Coproduction network", "Trauma-Informed Network"]
    at.multiselect(key="register_status").unselect("continuing").run()
    at.text_input(key="register_find").input("").run()
    at.number_input(key="register_page").set_value(2).run()
    at.text_input(key="register_find").input("e").run()  # still more than a page
    assert at.number_input(key="register_page").value == 1  # a new search starts at its first page too
    assert (
        at.number_input(key="register_page").label.startswith("Page (of ")
        and "(of 1)" not in at.number_input(key="register_page").label
    )
    at.text_input(key="register_find").input("golden").run()  # a partnership's name, any case
    table = register_table(at)
    assert set(table["partnership"]) == {"Golden Key"} and len(table) == 3
    assert any("Structures 1–3 of 3 matching the search" in c.value for c in at.caption)
    at.multiselect(key="register_status").select("decommissioned").run()
    assert set(register_table(at)["status"]) == {"Decommissioned"} and len(register_table(at)) == 2
    at.text_input(key="register_find").input("expert citizens cic").run()  # a host
    assert not [d for d in at.dataframe if "confirmation" in d.value.columns]
    assert any("No structure matching “expert citizens cic” has that current status" in i.value for i in at.info)
    at.multiselect(key="register_status").unselect("decommissioned").run()
    table = register_table(at)
    assert list(table["structure"]) == ["Expert Citizens CIC"]  # named so, and hosted by it
    at.text_input(key="register_find").input("no such structure").run()
    assert any("No structure matches “no such structure”" in i.value for i in at.info)
    at.text_input(key="register_find").input("").run()
    at.multiselect(key="register_status").select(verification.NO_STATUS).run()
    assert any("No structure has that current status under these filters" in i.value for i in at.info)
    assert not at.exception, at.exception
    linked = app("pages/legacy.py", register_find="golden", register_status="Decommissioned")  # labels in the URL
    assert len(register_table(linked)) == 2


def test_legacy_register_starts_again_at_the_first_page_when_the_filters_change(db, monkeypatch):
    """Other filters, other structures: the first page, also when the open page still exists; a
    page that no longer exists (a stale link) is not an error."""
    monkeypatch.setattr(verification, "PAGE_ROWS", 10)
    at = legacy()
    at.number_input(key="register_page").set_value(3).run()
    at.multiselect(key="f_partnership").select("voices").run()  # two structures: one page
    assert not at.exception, at.exception
    assert at.number_input(key="register_page").value == 1
    assert set(register_table(at)["partnership"]) == {"VOICES"}
    at.multiselect(key="f_partnership").unselect("voices").run()
    at.number_input(key="register_page").set_value(2).run()
    at.multiselect(key="f_kind").select("milestone").run()  # other structures, still more than a page
    assert at.number_input(key="register_page").label != "Page (of 1)"
    assert at.number_input(key="register_page").value == 1
    stale = app("pages/legacy.py", register_page="9")  # a link to a page that no longer exists
    assert stale.number_input(key="register_page").value == 1 and len(register_table(stale)) == 10


def test_legacy_register_table_leaves_a_missing_host_blank(db):
    """Structures not hosted elsewhere have no host: the cell is empty, not "None" (read on a projector)."""
    at = app("pages/legacy.py")
    (table,) = [d.value for d in at.dataframe if "confirmation" in d.value.columns]
    assert len(table) > 5 and (table["host"] == "").any()
    assert table["host"].notna().all()
    assert (table.loc[table["status"] == "Hosted elsewhere", "host"] != "").all()


def test_legacy_register_table_gives_the_structure_name_the_room(db):
    """A successor team reads the register for the structures' names: on a 1,400-pixel screen the
    name was cut ("Multiple Disadvantage Accreditat…") while the partnership, already the sorted
    column and written in full in the table above, took the widest column; the current status and
    host come next, before the typology."""
    import json

    at = app("pages/legacy.py")
    (element,) = [d for d in at.dataframe if "confirmation" in d.value.columns]
    config = json.loads(element.proto.columns)
    assert config["structure"]["width"] == 320  # "medium" is 200 pixels
    assert config["partnership"]["width"] == "medium"
    # what survived and who hosts it now in view beside the name; the typology further along
    assert list(element.proto.column_order)[:4] == ["partnership", "structure", "status", "host"]


def test_legacy_funding_end_reads_still_funded_when_there_is_none(db):
    """A partnership whose funding has not ended shows "still funded", not "None"."""
    from tracker import admin

    with Store(str(db), Settings(db=str(db))) as store:
        voices = next(p for p in store.vocab().partnerships if p.slug == "voices")
        admin.save_partnership(
            store, ADMIN, {"slug": "voices", "name": voices.name, "programme": voices.programme, "area": voices.area}
        )
    at = app("pages/legacy.py")
    (ended,) = [d.value for d in at.dataframe if "share_surviving" in d.value.columns]
    shown = dict(zip(ended["partnership"], ended["partnership_end"], strict=True))
    assert shown["VOICES"] == "still funded"
    assert shown["Golden Key"] == "2022-03-31"


def test_legacy_link_form_searches_structures_and_links_them(db):
    at = legacy("Links across programmes")
    assert not [t for t in at.text_input if t.key == "link_find_earlier"]  # closed until wanted
    at.toggle(key="link_form_open").set_value(True).run()
    at.text_input(key="link_find_earlier").set_value("resolution group").run()
    at.text_input(key="link_find_later").set_value("EXPERT citizens").run()
    earlier = next(s for s in at.selectbox if s.label == "Earlier structure")
    later = next(s for s in at.selectbox if s.label.startswith("Carried on as"))
    assert earlier.options == ["Multi-agency Resolution Group (MaRG) — VOICES"]
    assert later.options == ["Expert Citizens CIC — VOICES", "National Expert Citizens Group (NECG) — Golden Key"]
    earlier.set_value(earlier.options[0])
    later.set_value(later.options[0])
    next(b for b in at.button if b.label == "Add link").click().run()
    assert not at.exception, at.exception
    assert any("Linked:" in plain(s.value) for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        row = verification.register(store).set_index("structure").loc["Multi-agency Resolution Group (MaRG)"]
    assert row["carried_on_as"] == "Expert Citizens CIC (VOICES, Fulfilling Lives)"


def test_overview_and_survival_flag_unverified_structures(db):
    with Store(str(db), Settings(db=str(db))) as store:
        due = verification.unverified(store)["running"]
        listed = verification.to_check(store)
    assert due > 0 and due == len(listed)  # demo data: funding ended in 2022, nothing confirmed since
    at = app()
    assert any(f"{due:,} structures still running as far as we know have not" in plain(w.value) for w in at.warning)
    at = app("pages/survival.py")
    assert any(f"Unverified: {due:,} structures still running have not" in c.value for c in at.caption)


@pytest.mark.parametrize(("slug", "words"), [("golden-key", "1 structure"), ("manchester", "2 structures")])
def test_counts_of_structures_to_check_are_written_as_people_write_them(db, slug, words):
    """ "1 structure has", "2 structures have": not "structure(s)" on a projector."""
    verb = "has" if words.startswith("1 ") else "have"
    at = app(partnership=slug)
    assert any(
        f"{words} still running as far as we know {verb} not been confirmed" in plain(w.value) for w in at.warning
    )
    at = app("pages/legacy.py", partnership=slug)
    at.session_state["legacy_view"] = "Needs checking"
    at.run()
    assert any(f"{words} recorded as running {verb} not been confirmed" in c.value for c in at.caption)
    assert not any("(s)" in plain(e.value) for e in [*at.caption, *at.warning, *at.markdown])


def test_survival_page_draws_curves_and_says_who_is_left_out(db):
    from tracker import admin, entries

    at = app("pages/survival.py", origin="start", split="typology")
    assert not at.exception
    assert any(m.label == "Structures followed" for m in at.metric)
    at = app("pages/survival.py")
    text = " ".join([*(c.value for c in at.caption), *(i.value for i in at.info)])
    assert "have no status recorded since funding ended" in text
    assert "funding has not ended" not in text
    # a partnership still funded (as Changing Futures' are): its structures are left out, out loud
    with Store(str(db), Settings(db=str(db))) as store:
        admin.save_partnership(
            store, ADMIN, {"slug": "cf-test", "name": "CF Test", "programme": "Changing Futures", "area": "Test"}
        )
        for i in range(3):
            entries.save_entry(
                store, valid_row(id=f"cf{i}", partnership="cf-test", structure=f"CF {i}", date="2023"), actor=ADMIN
            )
    at = app("pages/survival.py")
    text = " ".join([*(c.value for c in at.caption), *(i.value for i in at.info)])
    assert "3 belong to partnerships whose funding has not ended (no end date recorded)" in text
    at = app("pages/survival.py", origin="start")
    assert "funding has not ended" not in " ".join(c.value for c in at.caption)


def test_survival_page_suggests_only_what_would_bring_the_left_out_in(db):
    """The caption said "Confirm structures on the legacy register to bring them in" whatever was
    left out: also when only structures closed before funding ended or still funded were, which no
    confirmation brings in, and for those with no status at all, which the register cannot confirm."""
    with Store(str(db), Settings(db=str(db))) as store:
        cohort = survival.curves(store, Filters(), "funding_end", "none")[1]
    assert cohort.unconfirmed_since_origin and cohort.stopped_before_origin  # the demo has both
    caption = next(c.value for c in app("pages/survival.py").caption if c.value.startswith("Left out"))
    assert "To bring them in, confirm the status of those with no news on the legacy register." in caption
    # Golden Key: one followed, one closed before funding ended: left out, with nothing to confirm
    with Store(str(db), Settings(db=str(db))) as store:
        golden = survival.curves(store, Filters(partnerships=("golden-key",)), "funding_end", "none")[1]
    assert golden.followed and golden.stopped_before_origin and not golden.unconfirmed_since_origin
    caption = next(
        c.value for c in app("pages/survival.py", partnership="golden-key").caption if c.value.startswith("Left out")
    )
    assert caption == "Left out: 1 stopped before funding ended."
    for c in app("pages/survival.py", origin="start").caption:  # counted from the start: no funding words
        assert "funding ended" not in c, c


def test_survival_page_with_no_structure_followed_still_says_why_and_what_to_change(db):
    """With no structure followed the page stopped after "no curve to draw": the unverified line and
    what would bring the left-out in were never shown, and filters selecting no structure at all
    were told that none had news since the starting point (#8)."""
    with Store(str(db), Settings(db=str(db))) as store:
        manchester = Filters(partnerships=("manchester",))
        cohort = survival.curves(store, manchester, "funding_end", "none")[1]
        due = verification.unverified(store, manchester)["running"]
    assert not cohort.followed and cohort.unconfirmed_since_origin and due  # demo: none confirmed since 2022
    at = app("pages/survival.py", partnership="manchester")
    assert not at.metric
    assert any("no curve to draw" in i.value for i in at.info)
    captions = [c.value for c in at.caption]
    assert any(c.startswith(f"Unverified: {quantity(due, 'structure')} still running") for c in captions), captions
    assert (
        f"Left out: {cohort.unconfirmed_since_origin} have no status recorded since funding ended. "
        "To bring them in, confirm the status of those with no news on the legacy register."
    ) in captions
    # West Yorkshire's one structure closed before funding ended: no confirmation brings it in, but
    # counting from the structures' start draws its curve
    at = app("pages/survival.py", partnership="wy-fi")
    caption = next(c.value for c in at.caption if c.value.startswith("Left out"))
    assert caption.startswith("Left out: 1 stopped before funding ended.")
    assert caption.endswith(
        "To follow those that stopped before funding ended, count months “After the structure started”."
    )
    assert any(
        m.label == "Structures followed" for m in app("pages/survival.py", partnership="wy-fi", origin="start").metric
    )
    # filters that select no structure at all: said so, with how to widen them
    at = app("pages/survival.py", partnership="wy-fi", kind="setback")
    assert any(i.value.startswith("No structure matches these filters") and "Widen them" in i.value for i in at.info)
    assert not any("after this starting point" in i.value for i in at.info)


@pytest.mark.parametrize("page", ["pages/heatmaps.py", "pages/legacy.py", "pages/import_export.py"])
def test_the_caption_counts_what_the_filters_select_of_every_entry(db, page):
    with Store(str(db), Settings(db=str(db))) as store:
        total = queries.count_entries(store)
        voices = queries.count_entries(store, Filters(partnerships=("voices",)))
    assert 0 < voices < total
    everything = next(c.value for c in app(page).caption if " entries · " in c.value)
    assert everything.startswith(f"{total:,} of {total:,} entries · ")
    one = next(c.value for c in app(page, partnership="voices").caption if " entries · " in c.value)
    assert one.startswith(f"{voices:,} of {total:,} entries · ")


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/heatmaps.py", "pages/timeline.py"])
def test_as_at_a_past_day_the_caption_counts_of_the_entries_there_were_then(db, monkeypatch, page, write_file):
    """ "3 of 92 entries · as at …" read as if filters left 89 entries out: the 89 were recorded later."""
    from datetime import datetime

    from tracker import entries

    monkeypatch.setattr(entries, "utcnow", lambda: datetime(2022, 6, 1, 9, 0))
    rows = [valid_row(id=f"old{i}", date="2019", structure=f"Old {i}") for i in range(3)]
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, write_file(rows), actor=ADMIN).ok
    monkeypatch.undo()
    monkeypatch.setenv("TRACKER_DB", str(db))
    caption = next(c.value for c in app(page, as_at="2022-06-01").caption if " entries · " in c.value)
    assert caption.startswith("3 of 3 entries · "), caption
    caption = next(c.value for c in app(page, as_at="2022-06-01", kind="setback").caption if " entries · " in c.value)
    assert caption.startswith("0 of 3 entries · "), caption


def test_a_chart_table_is_drawn_only_while_its_expander_is_open(db):
    # The text alternative of every chart: a table in an expander, drawn only when opened (#6).
    at = app("pages/legacy.py")
    expander = next(e for e in at.expander if e.label.startswith("Data behind this chart"))
    assert not expander.dataframe
    tables = len(at.dataframe)
    open_table(at, "legacy_bar")
    expander = next(e for e in at.expander if e.label.startswith("Data behind this chart"))
    table = expander.dataframe[0].value
    assert list(table.columns[:3]) == ["partnership", "status", "structures"]
    assert table["structures"].sum() == int(metric(at, "Structures").replace(",", ""))
    assert len(at.dataframe) == tables + 1
    at.run()  # stays open on the next run
    assert len(at.dataframe) == tables + 1


def test_shares_in_a_chart_table_read_as_percentages(db):
    import json

    at = open_table(app("pages/heatmaps.py"), "heat_partnership-typology_meam_count")
    table = next(d for d in at.dataframe if "share" in d.value.columns)
    config = json.loads(table.proto.columns)
    assert config["share"] == {"label": "Share of row", "type_config": {"type": "number", "format": "percent"}}
    assert config["count"] == {"label": "Entries"}


def test_survival_page_says_when_times_are_rounded_to_fit_a_chart(db, monkeypatch):
    monkeypatch.setattr(survival, "MAX_STEPS", 12)  # as at a million entries, where days do not fit
    at = app("pages/survival.py", origin="start", split="typology")
    assert not at.exception
    assert any("rounded down to whole" in c.value for c in at.caption)
    table = next(d.value for d in open_table(at, "survival_start_typology").dataframe if "survival" in d.value.columns)
    assert (table["time"] % 1 == 0).all()
    monkeypatch.setattr(survival, "MAX_STEPS", 4000)
    at = app("pages/survival.py", origin="start", split="programme")  # another split: not a cached result
    assert not any("rounded down to whole" in c.value for c in at.caption)


def test_heatmaps_switch_to_the_second_typology(db):
    at = app("pages/heatmaps.py", scheme="fsg", view="partnership-typology")
    assert any("re-sliced through the crosswalk" in c.value for c in at.caption)
    table = next(
        d.value for d in open_table(at, "heat_partnership-typology_fsg_count").dataframe if "col" in d.value.columns
    )
    assert "Mental models" in set(table["col"])


def test_form_records_a_quote_with_its_speaker_and_contribution(db):
    at = app("pages/log_entry.py")
    fill(at, FORM)
    at.text_area(key="e_quote").set_value("It has been absolutely critical").run()
    at.selectbox(key="e_speaker").set_value("Stakeholder, Housing").run()
    at.selectbox(key="e_contribution").set_value("contributory").run()
    at.button(key="e_save").click().run()
    assert any("Saved" in s.value for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:
        rows = [r for r in queries.export_rows(store) if r["title"] == FORM["e_title"]]
    assert (rows[0]["quote"], rows[0]["speaker"], rows[0]["contribution"]) == (
        "It has been absolutely critical",
        "Stakeholder, Housing",
        "contributory",
    )


def test_contribution_filter_lives_in_the_url(db):
    at = app(contribution="influenced")
    with Store(str(db), Settings(db=str(db))) as store:
        expected = queries.count_entries(store, Filters(contributions=("influenced",)))
    assert 0 < expected < 89
    assert metric(at, "Entries") == str(expected)


def test_lists_that_show_the_latest_few_say_so(db, monkeypatch):
    """The audit log and the recently deleted entries show the newest few; at a programme's scale
    there are many more, and the pages say how many they show (#6)."""
    from pages import _ui
    from tests.conftest import ADMIN as actor
    from tracker import entries

    with Store(str(db), Settings(db=str(db))) as store:
        for entry_id in queries.entry_list(store, Filters(), limit=6)["id"]:
            entries.delete_entry(store, entry_id, actor=actor)

    def deleted(at: AppTest) -> tuple[str, list[str]]:
        (gone,) = [e for e in at.expander if e.label.startswith("Recently deleted")]
        return gone.label, [c.value for c in gone.caption]

    label, captions = deleted(app("pages/log_entry.py"))
    assert label == "Recently deleted entries (6)" and not any("are listed" in c for c in captions)
    monkeypatch.setattr(_ui, "DELETED_SHOWN", 4)  # as if there were more than the page lists
    at = app("pages/log_entry.py")
    label, captions = deleted(at)
    assert label == "Recently deleted entries (6)" and any(
        "The 4 most recently deleted are listed." in c for c in captions
    )
    assert len([link for link in at.get("page_link") if "deleted" in link.proto.label]) == 4
    monkeypatch.setattr(_ui, "DELETED_READ", 5)  # more deleted than are read: "5+"
    assert deleted(app("pages/log_entry.py"))[0] == "Recently deleted entries (5+)"

    def audit_note(at: AppTest) -> bool:
        at.session_state["admin_view"] = "Audit log"
        at.run()
        assert not at.exception, at.exception
        return any("changes are shown, newest first" in c.value for c in at.caption)

    assert not audit_note(app("pages/admin.py"))
    monkeypatch.setattr(_ui, "AUDIT_SHOWN", 3)
    at = app("pages/admin.py")
    assert audit_note(at) and any("The latest 3 changes are shown" in c.value for c in at.caption)
    assert len(at.dataframe[0].value) == 3


def test_an_export_larger_than_a_download_holds_says_what_to_do_instead(db, monkeypatch):
    """A download is built in the app's memory: at a million entries a CSV of everything took 23 s
    and 2.6 GB. Beyond TRACKER_MAX_EXPORT_ROWS the page says so and offers the ways that work (#6)."""
    monkeypatch.setenv("TRACKER_MAX_EXPORT_ROWS", "50")  # the demo data has 89 entries

    def export_buttons(at: AppTest) -> list[str]:
        return [b.proto.label for b in at.get("download_button") if b.proto.label in ("CSV", "XLSX", "JSON", "PARQUET")]

    at = app("pages/import_export.py")
    warning = next(w.value for w in at.warning if "one download from the app holds" in w.value)
    assert "89 entries match: more than the 50" in warning and "python -m tracker export FILE" in warning
    assert export_buttons(at) == []
    at = app("pages/import_export.py", partnership="voices")  # narrowed below the limit: the buttons are back
    assert not any("one download from the app holds" in w.value for w in at.warning)
    assert export_buttons(at) == ["CSV", "XLSX", "JSON", "PARQUET"]


def _cell_list(picked_row: str, partnerships: tuple[str, ...]) -> None:  # run by AppTest.from_function
    import streamlit as st

    from pages import _ui
    from tracker import access, app_state, queries
    from tracker.filters import Filters

    st.session_state["member"] = access.LOCAL_ADMIN  # as the frame (app.py) names it in local mode
    filters = Filters(partnerships=partnerships)
    cells = queries.heatmap(app_state.store(), filters, "partnership", "typology")
    picked = (picked_row, "coordinating-support")
    _ui.cell_entries(filters, cells, "partnership", "typology", picked)


def test_a_heatmap_cell_picked_before_the_filters_changed_lists_nothing_from_outside_them(db):
    """The chart keeps a clicked cell when its data changes; a cell no longer in the grid (VOICES,
    after filtering to Golden Key) lists no entries of it, and the page asks for a click instead."""
    shown = AppTest.from_function(_cell_list, args=("voices", ("voices",)), default_timeout=TIMEOUT).run()
    assert not shown.exception
    assert any("VOICES" in m.value and "entr" in m.value for m in shown.markdown)
    stale = AppTest.from_function(_cell_list, args=("voices", ("golden-key",)), default_timeout=TIMEOUT).run()
    assert not stale.exception
    assert not stale.dataframe and not any("VOICES" in m.value for m in stale.markdown)
    assert any("Click a cell" in c.value for c in stale.caption)


def test_a_label_with_markdown_characters_reads_as_typed_in_the_caption_and_a_cells_heading(db):
    """A term's label (typed on the admin page) was drawn as Markdown in the caption under the title
    and in the heading of a heatmap cell's entries: a link to another site, bold, a formula."""
    from tracker import admin

    label = "Coordinating **support** [more](http://evil.example) $x$"
    with Store(str(db), Settings(db=str(db))) as store:
        admin.rename_term(store, ADMIN, "typology", "coordinating-support", label)
    caption = next(
        c.value for c in app("pages/heatmaps.py", typology="coordinating-support").caption if " · " in c.value
    )
    assert f"typology: {label}" in plain(caption)
    assert "**support**" not in caption and "[more](" not in caption and "$x$" not in caption
    at = AppTest.from_function(_cell_list, args=("voices", ("voices",)), default_timeout=TIMEOUT).run()
    assert not at.exception
    (heading,) = [m.value for m in at.markdown if "entr" in m.value and "VOICES" in m.value]
    assert label in plain(heading)
    assert "**support**" not in heading and "[more](" not in heading and "$x$" not in heading


def test_an_edit_of_an_entry_someone_deleted_keeps_the_text_through_the_restore(db):
    at = app("pages/log_entry.py", edit="voices-marg-2015")
    with Store(str(db), Settings(db=str(db))) as store:  # someone else deletes it meanwhile
        from tracker import entries

        entries.delete_entry(store, "voices-marg-2015", actor=ADMIN.__class__("colleague@voices.org", "admin"))
    at.text_input(key="e_title").set_value("My title").run()  # the page now says it was deleted
    assert any("was deleted by colleague@voices.org" in plain(w.value) for w in at.warning)
    assert at.text_input(key="e_title").value == "My title"
    at.button(key="e_restore").click().run()
    assert any("Restored" in s.value for s in at.success)
    assert at.text_input(key="e_title").value == "My title"  # the message promised: your text is kept
    at.button(key="e_save").click().run()
    assert not at.error, [e.value for e in at.error]
    with Store(str(db), Settings(db=str(db))) as store:
        assert entries.get_entry(store, "voices-marg-2015").title == "My title"


def test_a_file_refused_for_a_missing_partnership_is_checked_again_once_it_is_added(db):
    at = app("pages/import_export.py")
    rows = csv_bytes([valid_row(id="n1", partnership="Newtown Futures")])
    at.file_uploader(key="upload").set_value(("new.csv", rows, "text/csv")).run()
    assert any("Fix these" in e.value for e in at.error)
    assert "Newtown Futures" in at.dataframe[0].value["problem"][0]
    with Store(str(db), Settings(db=str(db))) as store:  # an admin adds the partnership meanwhile
        from tracker import admin

        admin.save_partnership(
            store, ADMIN, {"slug": "newtown", "name": "Newtown Futures", "programme": "Changing Futures", "area": "N"}
        )
    at.run()  # the same upload, the next interaction: checked against the tracker as it is now
    assert not at.error, [e.value for e in at.error]
    assert any("is valid" in s.value for s in at.success)
    at.button(key="do_import").click().run()
    with Store(str(db), Settings(db=str(db))) as store:
        assert queries.count_entries(store) == 90


def test_an_import_refused_after_its_check_shows_the_rows_and_offers_no_stale_preview(db):
    at = app("pages/import_export.py")
    with Store(str(db), Settings(db=str(db))) as store:
        from tracker import entries

        theirs = entries.get_entry(store, "voices-marg-2015")
    good = csv_bytes([valid_row(id="n1"), valid_row(id=theirs.id, title="Changed title")])
    at.file_uploader(key="upload").set_value(("good.csv", good, "text/csv")).run()
    assert any("1 would be created, 1 would be updated" in s.value for s in at.success)
    with Store(str(db), Settings(db=str(db))) as store:  # someone deletes that entry meanwhile
        entries.delete_entry(store, theirs.id, actor=ADMIN)
    at.button(key="do_import").click().run()
    assert any("Nothing was stored" in e.value for e in at.error)
    assert not any("is valid" in s.value for s in at.success)  # not the stale check
    table = at.dataframe[0].value
    assert list(table["row"]) == [3] and "was deleted by" in table["problem"][0]
    at.run()  # the next run still says so, and offers no import of the stale preview
    assert not any("is valid" in s.value for s in at.success)
    assert not [b for b in at.button if b.key == "do_import"]
    with Store(str(db), Settings(db=str(db))) as store:
        assert queries.count_entries(store) == 88


def test_legacy_survival_table_shows_whole_percentages_and_fits_the_screen(db):
    """ "33%" on a projector, not "33.33%": the share still running is shown in whole percent, from
    the share the query computes (Golden Key: 1 of its 3 structures still running in the demo). And
    every column fits the main column of a 1,400-pixel screen (~920 px): with the partnership's
    column "large", the last column's numbers were out of view to the right."""
    at = app("pages/legacy.py")
    (element,) = [d for d in at.dataframe if "share_surviving" in d.value.columns]
    shown = dict(zip(element.value["partnership"], element.value["share_surviving"], strict=True))
    assert shown["Golden Key"] == 33 and shown["VOICES"] == 100
    config = json.loads(element.proto.columns)["share_surviving"]["type_config"]
    assert (config["format"], config["min_value"], config["max_value"]) == ("%d%%", 0, 100)
    columns = json.loads(element.proto.columns)
    widths = [columns[name].get("width") for name in element.proto.column_order]
    assert all(isinstance(width, int) for width in widths), widths
    assert sum(widths) <= 920 and columns["partnership"]["width"] >= 320, widths


def test_in_present_mode_the_latest_entries_rows_are_tall_enough_to_wrap(db):
    """Present mode's type is larger (a 20 px root), so Streamlit's threshold for wrapping, 4rem,
    is 80 px there: at 66 px the titles and names were cut on the projector, not wrapped."""
    from pages import _present

    assert f"html {{ font-size: {_present.ROOT_FONT_PX}px; }}" in _present.CSS
    at = app(present="1")
    (element,) = [d for d in at.dataframe if "title" in d.value.columns]
    assert element.proto.row_height > 4 * _present.ROOT_FONT_PX


def test_overview_latest_entries_fit_the_screen_with_long_text_wrapped(db):
    """The latest entries on a projector: every column in the ~920 px main column of a 1,400-pixel
    screen (the status column was out of view to the right, typologies cut: "Strategy and com…"),
    and rows tall enough that Streamlit wraps a long title, name or typology (over 64 px) instead
    of cutting it."""
    at = app()
    (element,) = [d for d in at.dataframe if "title" in d.value.columns]
    assert list(element.proto.column_order) == ["date", "partnership", "kind", "title", "typology", "status"]
    columns = json.loads(element.proto.columns)
    widths = {name: columns[name].get("width") for name in element.proto.column_order}
    assert all(isinstance(width, int) for width in widths.values()), widths
    assert sum(widths.values()) + 35 <= 920, widths  # 35: the row-selection column
    assert widths["title"] == max(widths.values()), widths
    assert element.proto.row_height > 64  # Streamlit's threshold for wrapping text in a cell
    assert element.proto.placeholder == "—"  # a setback with no status, not Streamlit's "None"
    assert element.value["status"].isna().any()  # the demo's latest ten include such a setback


VIEWS = [
    *((page, None) for page in registered_pages()),
    ("pages/legacy.py", "Needs checking"),
    ("pages/legacy.py", "Links across programmes"),
    *(("pages/admin.py", tab) for tab in ("Partnerships", "Taxonomy", "Audit log", "Backup")),
]


@pytest.mark.parametrize(("page", "tab"), VIEWS, ids=[f"{page[6:-3]}-{tab or 'first'}" for page, tab in VIEWS])
def test_every_empty_choice_says_what_to_choose(db, page, tab):
    """No list left empty shows Streamlit's own "Choose options" / "Choose an option": it says what
    belongs in it (the member form's partnerships said "Choose options", the taxonomy's term
    "Choose an option"). Every page, and each tab that is drawn only when open."""
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.run()
    at.switch_page(page)
    if tab:
        at.session_state["legacy_view" if page == "pages/legacy.py" else "admin_view"] = tab
    at.run()
    assert not at.exception, at.exception
    assert not tab or any(t.label == tab for t in at.tabs)
    empty = [box for box in at.multiselect if not box.value] + [box for box in at.selectbox if box.value is None]
    generic = [(box.label, box.proto.placeholder) for box in empty if box.proto.placeholder in ("", "Choose options")]
    assert not generic, generic


def test_a_heatmap_cells_entries_leave_out_the_cells_own_pair_and_fit_the_screen(db):
    """The entries behind a partnership × typology cell: its partnership and typology are in the
    heading, not repeated in every row, and the other columns fit a 1,400-pixel screen with long
    text wrapped (the table was ~1,600 px wide: host, structure and source out of view)."""
    at = AppTest.from_function(_cell_list, args=("voices", ("voices",)), default_timeout=TIMEOUT).run()
    assert not at.exception
    (element,) = at.dataframe
    order = list(element.proto.column_order)
    assert order == ["date", "kind", "title", "status", "structure", "host", "source", "source_url"]
    columns = json.loads(element.proto.columns)
    widths = [columns[name].get("width") for name in order]
    assert all(isinstance(width, int) for width in widths) and sum(widths) + 35 <= 920, widths
    assert element.proto.row_height > 64


@pytest.mark.parametrize(
    ("page", "said"),
    [("pages/log_entry.py", "not this form"), ("pages/admin.py", "not this page"), ("pages/overview.py", None)],
)
def test_the_sidebar_says_where_the_filters_do_not_apply(db, page, said):
    """The entry form and Admin keep the sidebar's filters (for the pages they shape) but are not
    filtered by them: the sidebar says so there, and nowhere else."""
    at = app(page)
    notes = [c.value for c in at.sidebar.caption if "They shape the Explore pages" in c.value]
    assert (notes and said in notes[0]) if said else not notes, notes


def _font_sizes(node: object) -> list[float]:
    """Every font size in a Vega-Lite spec (its data left out)."""
    if isinstance(node, dict):
        found = [v for k, v in node.items() if k in ("fontSize", "labelFontSize", "titleFontSize")]
        return found + [s for k, v in node.items() if k not in ("datasets", "data") for s in _font_sizes(v)]
    return [s for item in node for s in _font_sizes(item)] if isinstance(node, list) else []


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/timeline.py", "pages/legacy.py", "pages/survival.py"])
def test_in_present_mode_the_charts_type_is_larger_too(db, page):
    """Present mode's page type grows by a quarter (a 20 px root); a chart's type is set in pixels
    and stayed as it was, small on a projector. In present mode each chart is sent with every font
    size, and the heights that make room for them, a quarter larger."""
    from pages import _present

    def specs(**params: str) -> list[dict]:
        return [json.loads(c.proto.spec) for c in app(page, **params).get("vega_lite_chart")]

    plain, presented = specs(), specs(present="1")
    assert plain and len(plain) == len(presented)
    for normal, large in zip(plain, presented, strict=True):
        sizes, larger = _font_sizes(normal), _font_sizes(large)
        assert sizes and larger == [round(s * _present.SCALE) for s in sizes]
        assert large.get("datasets") == normal.get("datasets")  # the same data
        if isinstance(normal.get("height"), int):
            assert large["height"] == round(normal["height"] * _present.SCALE)


def test_a_larger_spec_is_a_new_one_and_leaves_the_data_alone():
    from pages import _present

    data = {"d": [{"fontSize": 10, "height": 5}]}
    spec = {"datasets": data, "layer": [{"mark": {"type": "text", "fontSize": 12, "clip": True}}], "height": 100}
    large = _present.larger(spec)
    assert large["layer"][0]["mark"] == {"type": "text", "fontSize": 15, "clip": True}  # True is not a size
    assert large["height"] == 125 and large["datasets"] is data  # the data neither walked nor copied
    assert spec["layer"][0]["mark"]["fontSize"] == 12 and spec["height"] == 100  # the cached spec as it was
