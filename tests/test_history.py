"""Nothing anyone does silently destroys another person's work: versions, soft deletes, history, as-at."""

import threading
import time
from datetime import datetime

import pytest

from tests.conftest import ADMIN, valid_row
from tracker import entries, history, queries
from tracker.entries import Conflict
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import utcnow


@pytest.fixture
def one(store, write_file):
    assert import_file(store, write_file([valid_row(id="e1")]), actor=ADMIN).ok
    return store


def test_update_delete_restore_round_trip_keeps_the_entry_and_the_trail(one):
    original = entries.get_entry(one, "e1")
    entries.save_entry(
        one, valid_row(id="e1", title="Changed", status="decommissioned"), actor=ADMIN, base_version=original.version
    )
    entries.save_entry(one, valid_row(id="e1"), actor=ADMIN, base_version=2)
    entries.delete_entry(one, "e1", actor=ADMIN)
    assert queries.count_entries(one) == 0
    assert entries.get_entry(one, "e1").deleted_at is not None
    entries.restore_entry(one, "e1", actor=ADMIN)
    back = entries.get_entry(one, "e1")
    fields = (
        "partnership",
        "date",
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
    assert {f: getattr(back, f) for f in fields} == {f: getattr(original, f) for f in fields}
    trail = history.entry_history(one, "e1")
    assert [(t["version"], t["action"]) for t in trail] == [
        (1, "create"),
        (2, "update"),
        (3, "update"),
        (4, "delete"),
        (5, "restore"),
    ]
    assert "title: MaRG set up → Changed" in trail[1]["changes"]
    assert all(t["who"] == ADMIN.email for t in trail)
    actions = [r[0] for r in one.cursor().execute("SELECT action FROM audit_log ORDER BY happened_at").fetchall()]
    assert actions[-5:] == ["import", "entry.update", "entry.update", "entry.delete", "entry.restore"]


def test_saving_an_edit_made_on_an_older_version_is_refused_and_names_who(one):
    other = ADMIN.__class__("colleague@voices.org", "admin")
    entries.save_entry(one, valid_row(id="e1", title="Theirs"), actor=other, base_version=1)
    with pytest.raises(Conflict) as info:
        entries.save_entry(one, valid_row(id="e1", title="Mine"), actor=ADMIN, base_version=1)
    assert "changed by colleague@voices.org at" in str(info.value)
    assert entries.get_entry(one, "e1").title == "Theirs"


def test_an_edit_saved_between_the_version_check_and_the_write_is_not_overwritten(one, monkeypatch):
    """save_entry checked the user's version, then planned the write from the version stored at that
    moment: a colleague's save landing in between was overwritten without a conflict (the plan took
    their version as the base). The colleague's save is made to land exactly there."""
    other = ADMIN.__class__("colleague@voices.org", "admin")
    real_plan = entries.Staging.plan
    landed = []

    def plan_after_a_colleague_saves(self):
        if not landed:  # once: the colleague's own save plans through here too
            landed.append(other)
            entries.save_entry(one, valid_row(id="e1", title="Theirs"), actor=other, base_version=1)
        return real_plan(self)

    monkeypatch.setattr(entries.Staging, "plan", plan_after_a_colleague_saves)
    with pytest.raises(Conflict) as info:
        entries.save_entry(one, valid_row(id="e1", title="Mine"), actor=ADMIN, base_version=1)
    assert "changed by colleague@voices.org at" in str(info.value)
    assert entries.get_entry(one, "e1").title == "Theirs"  # theirs kept, mine refused (the page keeps my text)


def test_many_threads_editing_the_same_entry_from_the_same_version_one_wins(one):
    results: list[str] = []
    barrier = threading.Barrier(8)

    def edit(n: int) -> None:
        barrier.wait()
        try:
            entries.save_entry(one, valid_row(id="e1", title=f"Edit {n}"), actor=ADMIN, base_version=1)
            results.append("ok")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=edit, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results) == ["conflict"] * 7 + ["ok"]
    updates = (
        one.cursor().execute("SELECT count(*) FROM entry_history WHERE id = 'e1' AND action = 'update'").fetchone()
    )
    assert updates[0] == 1
    assert entries.get_entry(one, "e1").version == 2


def test_concurrent_imports_touching_the_same_ids_never_overwrite_silently(one, write_file):
    paths = [write_file([valid_row(id="e1", title=f"Import {n}")], name=f"i{n}.csv") for n in range(4)]
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def run(path):
        barrier.wait()
        try:
            report = import_file(one, path, actor=ADMIN)
            outcomes.append("ok" if report.ok and report.updated == 1 else f"other:{report.summary()}")
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=run, args=(p,)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    versions = one.cursor().execute("SELECT count(*) FROM entry_history WHERE id = 'e1'").fetchone()[0]
    # every import that reported success made exactly one new version; the rest were refused loudly
    assert versions == 1 + outcomes.count("ok")
    assert set(outcomes) <= {"ok", "conflict"} and "ok" in outcomes


def test_editing_a_deleted_entry_is_refused_until_restored(one):
    entries.delete_entry(one, "e1", actor=ADMIN)
    with pytest.raises(Conflict, match="restore it before editing"):
        entries.save_entry(one, valid_row(id="e1", title="x"), actor=ADMIN)


def test_importing_over_a_deleted_entry_is_refused(one, write_file):
    entries.delete_entry(one, "e1", actor=ADMIN)
    report = import_file(one, write_file([valid_row(id="e1")]), actor=ADMIN)
    assert "entry 'e1' was deleted by admin@example.org" in str(report.problems[0])


def test_as_at_shows_the_tracker_as_it_stood(one, write_file):
    time.sleep(0.01)
    first = utcnow()
    time.sleep(0.01)
    entries.save_entry(one, valid_row(id="e1", title="Renamed", typology="Culture"), actor=ADMIN)
    import_file(one, write_file([valid_row(id="e2", partnership="Golden Key")]), actor=ADMIN)
    time.sleep(0.01)
    second = utcnow()
    time.sleep(0.01)
    entries.delete_entry(one, "e1", actor=ADMIN)

    then = Filters(as_at=first)
    assert queries.count_entries(one, then) == 1
    assert [r["title"] for r in queries.export_rows(one, then)] == ["MaRG set up"]
    assert queries.summary(one, ["typology"], then) == [{"typology": "Approaches to coordinating support", "count": 1}]
    mid = Filters(as_at=second)
    assert sorted(r["title"] for r in queries.export_rows(one, mid)) == ["MaRG set up", "Renamed"]
    assert queries.summary(one, ["mechanism"], mid)[0]["count"] == 2
    assert queries.count_entries(one) == 1  # now: e1 deleted
    assert queries.count_entries(one, Filters(as_at=datetime(2000, 1, 1))) == 0
    # every page's queries accept the as-at scope
    for fn in (
        queries.headline,
        queries.structures,
        queries.year_counts,
        queries.survival,
        queries.structure_status_counts,
        queries.status_segments,
    ):
        fn(one, mid)
    assert len(queries.heatmap(one, mid, "partnership", "mechanism")) > 0
    assert not queries.timeline(one, mid)[0].empty


def test_deleted_entries_are_listed_for_restoring_by_partnership(one, write_file):
    import_file(one, write_file([valid_row(id="g1", partnership="Golden Key")]), actor=ADMIN)
    entries.delete_entry(one, "e1", actor=ADMIN)
    entries.delete_entry(one, "g1", actor=ADMIN)
    assert {d["id"] for d in history.deleted_entries(one)} == {"e1", "g1"}
    assert [d["id"] for d in history.deleted_entries(one, ["voices"])] == ["e1"]
    assert history.deleted_entries(one, []) == []


def test_history_names_changed_terms_and_partnerships_as_the_pages_do(one):
    """The changes column says "Continuing → Decommissioned", not the stored slugs."""
    entries.save_entry(
        one,
        valid_row(id="e1", partnership="Golden Key", status="Decommissioned", mechanisms="Personal relationships"),
        actor=ADMIN,
    )
    changes = history.entry_history(one, "e1")[1]["changes"]
    assert "partnership: VOICES → Golden Key" in changes
    assert "status: Continuing → Decommissioned" in changes
    assert "mechanisms: Cross-agency networks and groups, Personal relationships → Personal relationships" in changes
