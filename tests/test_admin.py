"""Reference data is managed safely: renames keep entries, used terms can only be retired."""

import pandas as pd
import pytest

from tests.conftest import ADMIN, valid_row
from tracker import admin, entries, queries
from tracker.errors import InvalidInput
from tracker.importer import import_file


@pytest.fixture
def used(store, write_file):
    assert import_file(store, write_file([valid_row(id="e1", typology="Culture")]), actor=ADMIN).ok
    return store


def test_renaming_a_term_keeps_every_entry_tagged_with_it(used):
    admin.rename_term(used, ADMIN, "typology", "culture", "Culture and practice")
    assert queries.summary(used, ["typology"]) == [{"typology": "Culture and practice", "count": 1}]
    assert entries.get_entry(used, "e1").typology == "culture"
    # the new label is accepted on import, and so is the slug
    assert (
        entries.save_entry(used, valid_row(id="e2", typology="culture and practice"), actor=ADMIN).typology == "culture"
    )


def test_a_rename_that_would_be_ambiguous_is_refused(used):
    with pytest.raises(InvalidInput, match="would be confused with the existing term 'Leadership'"):
        admin.rename_term(used, ADMIN, "typology", "culture", "leadership")


def test_a_term_in_use_can_be_retired_but_not_deleted(used):
    with pytest.raises(InvalidInput, match="can be retired"):
        admin.delete_term(used, ADMIN, "typology", "culture")
    admin.set_retired(used, ADMIN, "typology", "culture", True)
    usage = admin.term_usage(used, "typology").set_index("slug")
    assert bool(usage.loc["culture", "retired"]) and usage.loc["culture", "entries"] == 1
    assert used.vocab()["typology"].resolve("Culture") == "culture"  # old entries still validate


def test_a_deleted_entry_still_pins_its_terms(used):
    entries.delete_entry(used, "e1", actor=ADMIN)
    with pytest.raises(InvalidInput, match="and their history"):
        admin.delete_term(used, ADMIN, "typology", "culture")


def test_term_usage_counts_live_entries_only(used):
    """The Admin taxonomy table's "Entries using it": a deleted entry no longer uses its terms (as
    the partnerships table counts only live entries); restored, it does again."""
    tagged = {"typology": "culture", "status": "continuing", "mechanism": "personal-relationships"}
    tagged["sector"] = "housing"

    def counts():
        return {v: int(admin.term_usage(used, v).set_index("slug").loc[s, "entries"]) for v, s in tagged.items()}

    assert counts() == dict.fromkeys(tagged, 1)
    entries.delete_entry(used, "e1", actor=ADMIN)
    assert counts() == dict.fromkeys(tagged, 0)
    assert admin.partnerships(used).set_index("slug").loc["voices", "entries"] == 0
    entries.restore_entry(used, "e1", actor=ADMIN)
    assert counts() == dict.fromkeys(tagged, 1)


def test_every_terms_count_is_its_live_entries_in_a_whole_programme(store):
    """The taxonomy table's counts for every term of every vocabulary, against counting by hand, with
    some entries deleted and one edited (the grouped queries, the mechanisms' from stored counts)."""
    assert import_file(store, store.settings.sample, actor=ADMIN).ok
    cur = store.cursor()
    ids = [row[0] for row in cur.execute("SELECT id FROM entries ORDER BY id").fetchall()]
    for entry_id in ids[::7]:
        entries.delete_entry(store, entry_id, actor=ADMIN)
    entries.save_entry(store, valid_row(id="extra", mechanisms="austerity", sectors="housing"), actor=ADMIN)
    entries.save_entry(store, valid_row(id="extra", mechanisms="covid-19", sectors=""), actor=ADMIN)  # signed rows
    live = "SELECT id FROM entries WHERE deleted_at IS NULL"
    by_hand = {
        "typology": f"SELECT typology, count(*) FROM entries WHERE id IN ({live}) GROUP BY 1",
        "status": f"SELECT status, count(*) FROM entries WHERE id IN ({live}) AND status IS NOT NULL GROUP BY 1",
        "mechanism": f"SELECT mechanism, count(*) FROM entry_mechanisms WHERE entry_id IN ({live}) GROUP BY 1",
        "sector": f"SELECT sector, count(*) FROM entry_sectors WHERE entry_id IN ({live}) GROUP BY 1",
    }
    for vocabulary, sql in by_hand.items():
        expected = dict(cur.execute(sql).fetchall())
        table = admin.term_usage(store, vocabulary)
        assert set(table["slug"]) >= set(expected), vocabulary
        assert {slug: n for slug, n in zip(table["slug"], table["entries"], strict=True) if n} == expected, vocabulary
        assert sum(expected.values()) > 0, vocabulary


def test_unused_terms_can_be_added_and_deleted(store):
    admin.add_term(store, ADMIN, "sector", "education", "Education", None)
    assert store.vocab()["sector"].resolve("education") == "education"
    admin.delete_term(store, ADMIN, "sector", "education")
    assert store.vocab()["sector"].resolve("education") is None
    with pytest.raises(InvalidInput, match="lower-case letters"):
        admin.add_term(store, ADMIN, "sector", "Bad Slug", "Bad", None)


def test_a_status_cannot_take_the_slug_or_label_of_the_registers_no_status_choice(store):
    """The legacy register chooses structures with no status by 'not-recorded' and shows them as
    "Not recorded": a status term of that slug or label could not be told apart from them (#8)."""
    events = store.cursor().execute("SELECT count(*) FROM audit_log").fetchone()[0]
    reserved = r"column slug: 'not-recorded' is reserved: the legacy register uses it for structures with no status"
    with pytest.raises(InvalidInput, match=reserved + r".*choose another slug, e\.g\. 'status-unknown'"):
        admin.add_term(store, ADMIN, "status", "not-recorded", "Status unknown")
    with pytest.raises(InvalidInput, match=r"column label: 'Not recorded' is reserved: .*choose another label"):
        admin.add_term(store, ADMIN, "status", "unknown", "Not  Recorded")
    with pytest.raises(InvalidInput, match=r"column label: 'Not recorded' is reserved"):
        admin.rename_term(store, ADMIN, "status", "continuing", "not recorded")
    assert store.vocab()["status"].resolve("not-recorded") is None
    assert store.vocab()["status"].label("continuing") == "Continuing"
    assert store.cursor().execute("SELECT count(*) FROM audit_log").fetchone()[0] == events
    # other vocabularies have no such bucket; other slugs are fine
    admin.add_term(store, ADMIN, "sector", "not-recorded", "Not recorded")
    admin.add_term(store, ADMIN, "status", "status-unknown", "Status unknown")
    assert store.vocab()["status"].resolve("Status unknown") == "status-unknown"


def test_partnerships_are_added_and_renamed_by_slug(used):
    admin.save_partnership(
        used,
        ADMIN,
        {
            "slug": "cf-lancashire",
            "name": "Changing Futures Lancashire",
            "programme": "Changing Futures",
            "area": "Lancashire",
            "start_date": "2021-07-01",
        },
    )
    admin.save_partnership(
        used,
        ADMIN,
        {
            "slug": "voices",
            "name": "VOICES Stoke",
            "programme": "Fulfilling Lives",
            "area": "Stoke-on-Trent",
            "start_date": "2014-04-01",
            "end_date": "2022-06-30",
        },
    )
    assert queries.summary(used, ["partnership"]) == [{"partnership": "VOICES Stoke", "count": 1}]
    assert "Changing Futures" in queries.programmes(used)
    with pytest.raises(InvalidInput, match="already has this name"):
        admin.save_partnership(used, ADMIN, {"slug": "other", "name": "voices stoke", "programme": "P", "area": "A"})
    with pytest.raises(InvalidInput, match="end date is before start date"):
        admin.save_partnership(
            used,
            ADMIN,
            {
                "slug": "x",
                "name": "X",
                "programme": "P",
                "area": "A",
                "start_date": "2020-01-01",
                "end_date": "2019-01-01",
            },
        )


def test_a_partnership_change_without_dates_keeps_the_stored_ones(store):
    """The admin form starts empty: a rename leaving the dates out must not erase the funding end."""
    from datetime import date

    before = admin.partnerships(store).set_index("slug").loc["voices"]
    data = {"slug": "voices", "name": "VOICES Stoke", "programme": before["programme"], "area": before["area"]}
    admin.save_partnership(store, ADMIN, admin.with_stored_dates(store, {**data, "start_date": None, "end_date": None}))
    after = admin.partnerships(store).set_index("slug").loc["voices"]
    assert after["name"] == "VOICES Stoke"
    assert (after["start_date"], after["end_date"]) == (before["start_date"], before["end_date"])
    assert not pd.isna(after["end_date"])
    given = admin.with_stored_dates(store, {**data, "start_date": None, "end_date": date(2030, 1, 31)})
    assert given["end_date"] == date(2030, 1, 31)  # a date given is the one saved
    new = admin.with_stored_dates(store, {"slug": "brand-new", "start_date": None, "end_date": None})
    assert (new["start_date"], new["end_date"]) == (None, None)


def test_a_partnership_name_that_reads_as_another_partnership_is_refused(store, write_file):
    """Imports and member lists find a partnership by its name or slug, ignoring case, spaces and
    hyphens: a name that reads as another's would send its entries to that other partnership."""
    before = admin.partnerships(store)
    for data in (
        {"slug": "gk-two", "name": "Golden-Key", "programme": "P", "area": "A"},  # Golden Key's name
        {"slug": "gk-three", "name": "golden key ", "programme": "P", "area": "A"},
        {"slug": "voices-two", "name": "voices", "programme": "P", "area": "A"},  # VOICES's slug, too
        {"slug": "wy-fi-two", "name": "WY FI", "programme": "P", "area": "A"},  # wy-fi's slug
        {"slug": "opportunity-nottingham", "name": "ON", "programme": "P", "area": "A"},  # a slug as a name
    ):
        with pytest.raises(InvalidInput, match=r"already has this name|would be confused with"):
            admin.save_partnership(store, ADMIN, data)
    with pytest.raises(InvalidInput, match="would be confused with"):  # a rename, too
        admin.save_partnership(store, ADMIN, {"slug": "voices", "name": "Golden_Key", "programme": "P", "area": "A"})
    pd.testing.assert_frame_equal(admin.partnerships(store), before)  # nothing was changed
    # a partnership keeps its own name in another spelling, and a name of its own is accepted
    admin.save_partnership(store, ADMIN, {"slug": "golden-key", "name": "GOLDEN KEY", "programme": "P", "area": "A"})
    admin.save_partnership(store, ADMIN, {"slug": "gk-two", "name": "Golden Key Two", "programme": "P", "area": "A"})
    row = valid_row(id="gk", partnership="Golden Key Two")
    assert import_file(store, write_file([row]), actor=ADMIN).ok
    assert entries.get_entry(store, "gk").partnership == "gk-two"


def test_a_partnership_change_is_audited_with_what_it_was_before(store):
    """Partnerships seeded from the reference file have no event of their own: the change is the
    only record of the name and funding dates they had."""
    import json

    before = admin.partnerships(store).set_index("slug").loc["voices"]
    data = {"slug": "voices", "name": "VOICES Stoke", "programme": "Fulfilling Lives", "area": "Stoke"}
    admin.save_partnership(store, ADMIN, {**data, "start_date": "2015-01-01", "end_date": "2023-03-31"})
    action, actor, detail = (
        store.cursor()
        .execute("SELECT action, actor, detail FROM audit_log WHERE action LIKE 'partnership.%' ORDER BY happened_at")
        .fetchall()[-1]
    )
    assert (action, actor) == ("partnership.update", ADMIN.email)
    detail = json.loads(detail)
    assert detail["name"] == "VOICES Stoke" and detail["end_date"] == "2023-03-31"
    assert detail["before"] == {
        "name": before["name"],
        "programme": before["programme"],
        "area": before["area"],
        "start_date": before["start_date"].date().isoformat(),
        "end_date": before["end_date"].date().isoformat(),
    }


@pytest.mark.parametrize("slug", ["Voices-Two", "voices.two", "voices__two", "voices two", "-voices"])
def test_a_partnership_slug_that_is_not_allowed_says_what_is(store, slug):
    """The message was the one for entry ids ("letters, digits and . _ : -"): following it, an admin
    typed a slug the form refused again with the same words."""
    before = len(admin.partnerships(store))
    data = {"slug": slug, "name": "Voices Two", "programme": "P", "area": "A"}
    with pytest.raises(InvalidInput) as refused:
        admin.save_partnership(store, ADMIN, data)
    assert [(p.column, p.message) for p in refused.value.problems] == [
        (
            "slug",
            f"'{slug}' may contain only lower-case letters, digits and single hyphens, e.g. 'changing-futures-lancashire'",
        )
    ]
    assert len(admin.partnerships(store)) == before


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("name", "Voices\nTwo", "must be a single line (it contains a line break or tab)"),
        ("programme", "Fulfilling\tLives", "must be a single line (it contains a line break or tab)"),
        ("area", "Stoke\x07", "contains a control character (invisible code); retype or remove it"),
    ],
)
def test_a_partnership_name_programme_or_area_on_more_than_one_line_is_refused(store, column, value, says):
    """A partnership's name, programme and area are one line each, as entries' titles and members'
    names are: a line break split the name in the legacy register, the CSV download and the pack."""
    before = len(admin.partnerships(store))
    data = {"slug": "voices-two", "name": "Voices Two", "programme": "P", "area": "A", column: value}
    with pytest.raises(InvalidInput) as refused:
        admin.save_partnership(store, ADMIN, data)
    assert [(p.column, p.message) for p in refused.value.problems] == [(column, says)]
    assert len(admin.partnerships(store)) == before
