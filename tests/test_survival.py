"""Kaplan–Meier survival, checked against a hand-worked example, and honest censoring."""

from datetime import date, datetime

import pandas as pd
import pytest

from tests.conftest import ADMIN, valid_row
from tracker import queries, survival, synth, verification
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.survival import cohort, curves, kaplan_meier, median_survival


def test_kaplan_meier_matches_the_hand_worked_example():
    # five structures: stopped at 2, censored at 3, stopped at 3, stopped at 5, censored at 8 (months)
    steps = kaplan_meier([2, 3, 3, 5, 8], [True, False, True, True, False])
    assert steps[["time", "at_risk", "events", "censored"]].values.tolist() == [
        [0, 5, 0, 0],
        [2, 5, 1, 0],
        [3, 4, 1, 1],
        [5, 2, 1, 0],
        [8, 1, 0, 1],
    ]
    # S(2) = 4/5; S(3) = 0.8 × 3/4 = 0.6; S(5) = 0.6 × 1/2 = 0.3; censoring at 8 leaves it at 0.3
    assert steps["survival"].round(6).tolist() == [1.0, 0.8, 0.6, 0.3, 0.3]
    assert median_survival(steps) == 5.0


def test_no_events_means_the_curve_stays_at_one():
    steps = kaplan_meier([1, 4, 9], [False, False, False])
    assert steps["survival"].tolist() == [1.0, 1.0, 1.0, 1.0]
    assert median_survival(steps) is None


@pytest.fixture
def structures(store, write_file):
    """VOICES funding ended 2022-06-30. Three structures with different fates."""
    rows = [
        # closed 6 months after funding ended → an event at ~6 months
        valid_row(id="a1", structure="A", date="2016", status="continuing"),
        valid_row(id="a2", structure="A", date="2022-12-31", kind="setback", status="decommissioned", mechanisms=""),
        # still running, last confirmed 2023-06-30 → censored at ~12 months
        valid_row(id="b1", structure="B", date="2017", status="continuing"),
        valid_row(id="b2", structure="B", date="2023-06-30", status="hosted elsewhere", host="Council"),
        # still running but last heard of in 2019: no news since funding ended → left out, not counted as survival
        valid_row(id="c1", structure="C", date="2019-03-01", status="continuing"),
        # stopped before funding ended → not at risk after it
        valid_row(id="d1", structure="D", date="2020-01-01", status="decommissioned"),
    ]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    return store


def test_cohort_after_funding_end_censors_at_the_last_confirmation(structures):
    found = cohort(structures, Filters(), "funding_end")
    by_name = found.structures.set_index("structure")
    assert sorted(by_name.index) == ["A", "B"]
    assert bool(by_name.loc["A", "event"]) and round(by_name.loc["A", "months"], 1) == 6.0
    assert not bool(by_name.loc["B", "event"]) and round(by_name.loc["B", "months"], 1) == 12.0
    assert (found.stopped_before_origin, found.unconfirmed_since_origin) == (1, 1)
    steps, _ = curves(structures, Filters(), "funding_end")
    assert steps["survival"].round(3).tolist() == [1.0, 0.5, 0.5]


def test_structures_of_a_partnership_still_funded_are_left_out_after_funding_end_and_counted(structures, write_file):
    """No end date, no time since funding ended: out of those curves, and said so (counted), in both
    the structure-by-structure cohort and the curves counted in SQL; from the structure's own start
    they are followed."""
    from tracker import admin

    admin.save_partnership(
        structures,
        ADMIN,
        {"slug": "cf-test", "name": "CF Test", "programme": "Changing Futures", "area": "Test", "end_date": None},
    )
    rows = [valid_row(id=f"cf{i}", partnership="cf-test", structure=f"CF {i}", date="2023") for i in range(3)]
    assert import_file(structures, write_file(rows, "cf.csv"), actor=ADMIN).ok
    for origin, expected in (("funding_end", 3), ("start", 0)):
        found = cohort(structures, Filters(), origin)
        _, counts = curves(structures, Filters(), origin)
        assert found.no_origin == counts.no_origin == expected, origin
        assert ("CF 0" in set(found.structures["structure"])) == (expected == 0)


def test_cohort_from_the_structures_own_start(structures):
    found = cohort(structures, Filters(), "start", by="partnership")
    assert set(found.structures["structure"]) == {"A", "B", "C", "D"}
    assert set(found.structures["group"]) == {"VOICES"}
    d = found.structures.set_index("structure").loc["D"]
    assert bool(d["event"]) and d["months"] == 0


def test_a_closed_structure_is_never_flagged_as_not_confirmed_in_the_register(structures):
    """Only a structure still running can go unconfirmed: "Needs checking" and the overview count
    those alone, but the register (and its CSV) flagged A and D, closed in 2022 and 2020, as "Not
    confirmed for 12+ months", a check nobody can make (no button, nothing to confirm)."""
    from datetime import date

    from tracker import entries, verification

    no_status = valid_row(id="e1", structure="E", date="2021", kind="setback", status="", mechanisms="")
    entries.save_entry(structures, no_status, actor=ADMIN)  # a structure with no status recorded yet
    frame = verification.register(structures, today=date(2026, 3, 1)).set_index("structure")
    assert not frame.loc["E", "unverified"]  # nothing to confirm (and no failure on its missing status)
    assert frame.loc[["A", "D"], "status"].tolist() == ["Decommissioned", "Decommissioned"]
    assert not frame.loc[["A", "D"], "unverified"].any()
    assert frame.loc[["A", "D"], "confirmation"].tolist() == ["", ""]
    assert frame.loc[["B", "C"], "unverified"].all()  # still running, last heard of in 2023 and 2019
    csv_text = verification.register_csv(structures, today=date(2026, 3, 1)).decode("utf-8-sig")
    flagged = [line.split(",")[1] for line in csv_text.splitlines()[1:] if "Not confirmed" in line]
    assert sorted(flagged) == ["B", "C"], csv_text


def test_unverified_structures_and_one_click_confirmation(structures):
    from datetime import date

    from tracker import verification
    from tracker.access import Forbidden, Member

    frame = verification.register(structures, today=date(2024, 3, 1)).set_index("structure")
    assert bool(frame.loc["C", "unverified"]) and not bool(frame.loc["B", "unverified"])  # 2023-06 is within 12 months
    assert list(verification.to_check(structures, today=date(2024, 3, 1))["structure"]) == ["C"]
    saved = verification.confirm(structures, ADMIN, "voices", "c", "running", when=date(2024, 2, 1))
    assert (saved.kind, saved.status, saved.structure) == ("milestone", "continuing", "C")
    assert verification.to_check(structures, today=date(2024, 3, 1)).empty
    closed = verification.confirm(structures, ADMIN, "voices", "b", "closed", when=date(2024, 2, 2))
    assert (closed.kind, closed.status) == ("setback", "decommissioned")
    frame = verification.register(structures, today=date(2024, 3, 1)).set_index("structure")
    assert frame.loc["B", "status"] == "Decommissioned"
    with pytest.raises(Forbidden):
        verification.confirm(structures, Member("x@y.org", "viewer"), "voices", "a", "running")


def test_a_closure_is_recorded_with_the_date_the_lead_knows(structures):
    """A lead checking the list often knows only the year a structure closed: the closure takes that
    date (not today's), so survival counts the months it really ran."""
    from tracker import verification

    closed = verification.confirm(structures, ADMIN, "voices", "b", "closed", when="2024")
    assert (closed.kind, closed.status, closed.date.text, closed.date.precision) == (
        "setback",
        "decommissioned",
        "2024",
        "year",
    )
    frame = verification.register(structures, today=date(2025, 3, 1)).set_index("structure")
    assert frame.loc["B", "status"] == "Decommissioned" and frame.loc["B", "since"] == "2024"
    by_name = cohort(structures, Filters(), "funding_end").structures.set_index("structure")
    assert bool(by_name.loc["B", "event"])  # closed in 2024 (counted from the start of that year)
    assert round(by_name.loc["B", "months"]) == 18  # funding ended 2022-06-30; dated today it ran ~32


def test_a_closure_known_by_its_year_only_closes_a_structure_last_heard_of_that_year(structures):
    """C was last recorded running on 2019-03-01; the lead knows only that it closed in 2019. The two
    dates overlap, so the closure, recorded last, is the latest (#8)."""
    verification.confirm(structures, ADMIN, "voices", "c", "closed", when="2019")
    frame = verification.register(structures, today=date(2025, 3, 1)).set_index("structure")
    assert (frame.loc["C", "status"], frame.loc["C", "since"]) == ("Decommissioned", "2019")


def test_a_closure_known_by_its_year_only_is_never_dated_before_the_structure_was_last_known_running(structures):
    """C was running on 2019-03-01 and closed in 2019. Survival took the closure as 1 January 2019, two
    months before C was last known running: from its start (2019, the closure's year), it ran no time
    at all. The closure cannot have come before 2019-03-01: it is counted from then, the earliest it
    can be, so C ran 59 days."""
    verification.confirm(structures, ADMIN, "voices", "c", "closed", when="2019")
    for filters in (Filters(partnerships=("voices",)), Filters(partnerships=("voices",), as_at=datetime(2100, 1, 1))):
        by_name = cohort(structures, filters, "start").structures.set_index("structure")
        assert bool(by_name.loc["C", "event"])
        assert round(by_name.loc["C", "months"] * survival.DAYS_PER_MONTH) == (date(2019, 3, 1) - date(2019, 1, 1)).days
        steps, _ = curves(structures, filters, "start")
        closed_at = steps[steps["events"] > 0]["time"] * survival.DAYS_PER_MONTH
        assert 59 in set(closed_at.round())  # the curve steps down there


@pytest.mark.parametrize(
    ("when", "says"),
    [
        ("2018", "C has a later status entry (continuing, dated 2019-03-01); a closure in 2018 would come before it"),
        ("2019-02", "a closure in 2019-02 would come before it"),
        ("2999", "'2999' is in the future"),
        ("June 2023", "is not a date in the form YYYY, YYYY-MM or YYYY-MM-DD"),
    ],
)
def test_a_closure_the_register_could_not_show_is_refused_and_nothing_is_stored(structures, when, says):
    from tracker import verification
    from tracker.errors import InvalidInput

    before = queries.count_entries(structures)
    with pytest.raises(InvalidInput) as refused:
        verification.confirm(structures, ADMIN, "voices", "c", "closed", when=when)
    assert says in str(refused.value)
    assert queries.count_entries(structures) == before
    frame = verification.register(structures, today=date(2025, 3, 1)).set_index("structure")
    assert frame.loc["C", "status"] == "Continuing"


def test_a_structure_with_a_long_name_can_be_confirmed(store):
    """A structure name may be 200 characters, as long as a title: "Still running: " before it made
    the title too long, so its one-click check was refused (a traceback on the legacy register)."""
    from tracker import entries

    name = "Partnership board for " + "multiple disadvantage " * 8
    name = name[:200].strip()
    entries.save_entry(store, valid_row(id="long", structure=name), actor=ADMIN)
    key = entries.structure_key(name)
    for outcome, word in (("running", "Still running"), ("closed", "Closed")):
        saved = verification.confirm(store, ADMIN, "voices", key, outcome, when=date(2024, 2, 1))
        assert saved.structure == name and saved.title.startswith(f"{word}: Partnership board")
        assert len(saved.title) <= 200 and saved.title.endswith("…")


def test_structures_stopping_at_the_origin_show_as_a_drop_at_zero():
    steps = kaplan_meier([0, 0, 4], [True, False, False])
    assert steps[["time", "survival"]].round(6).values.tolist()[:2] == [[0.0, 1.0], [0.0, round(2 / 3, 6)]]


def test_counts_give_the_same_curve_as_one_row_per_structure():
    counted = kaplan_meier([1.0, 2.0, 2.0, 5.0], [True, True, False, False], [3, 1, 2, 4])
    expanded = kaplan_meier(
        [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 5.0, 5.0, 5.0, 5.0],
        [True, True, True, True, False, False, False, False, False, False],
    )
    pd.testing.assert_frame_equal(counted, expanded)
    assert counted["survival"].tolist() == pytest.approx([1.0, 0.7, 0.7 * 6 / 7, 0.6])


@pytest.mark.parametrize("origin", ["funding_end", "start"])
@pytest.mark.parametrize("by", ["none", "partnership"])
def test_curves_counted_in_sql_match_the_structure_by_structure_cohort(structures, origin, by):
    steps, counts = curves(structures, Filters(), origin, by)
    found = cohort(structures, Filters(), origin, by)
    assert (counts.followed, counts.stopped) == (len(found.structures), int(found.structures["event"].sum()))
    assert (counts.stopped_before_origin, counts.unconfirmed_since_origin, counts.no_status) == (
        found.stopped_before_origin,
        found.unconfirmed_since_origin,
        found.no_status,
    )
    for name, group in found.structures.groupby("group"):
        expected = kaplan_meier(group["months"], group["event"])
        got = steps[steps["group"] == name].drop(columns="group").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, expected)


def test_a_structure_without_a_group_is_followed_but_in_no_curve(structures):
    # A typology no longer in the vocabulary has no label: its structure has no group (NULL),
    # counts among those followed, and is drawn in no curve (none named "" or "None").
    everyone = curves(structures, Filters(), "funding_end", "typology")[1].followed
    with structures.transaction() as cur:
        cur.execute("UPDATE structure_register SET typology = 'gone' WHERE structure = 'B'")
    steps, counts = curves(structures, Filters(), "funding_end", "typology")
    assert counts.followed == everyone == 2
    assert steps["group"].notna().all() and set(steps["group"]) == {"Approaches to coordinating support"}
    assert steps["at_risk"].iloc[0] == 1  # structure A alone in the curve


def test_too_many_steps_for_a_chart_are_rounded_down_to_whole_weeks_or_months(store, monkeypatch):
    """At a million entries the exact curves have tens of thousands of steps, more than a chart may
    ship (#6): times are then rounded down to the finest of week, month, quarter, year that fits,
    and the curve is the Kaplan–Meier estimate of the rounded times."""
    assert synth.load(store, 1500, 4, actor=ADMIN).ok
    exact, counts = curves(store, Filters(), "funding_end", "partnership")
    assert counts.step == 0 and len(exact) > 60
    found = cohort(store, Filters(), "funding_end", "partnership")
    seen = []
    for limit in [len(exact), *range(len(exact) - 1, 4, -4)]:
        monkeypatch.setattr(survival, "MAX_STEPS", limit)
        steps, counts = curves(store, Filters(), "funding_end", "partnership")
        step = counts.step
        assert step in (0.0, *survival.STEPS) and (len(steps) <= limit or step == survival.STEPS[-1])
        seen.append(step)
        assert (counts.followed, counts.stopped) == (len(found.structures), int(found.structures["event"].sum()))
        for name, group in found.structures.groupby("group"):
            months = (group["months"] // step) * step if step else group["months"]
            expected = kaplan_meier(months, group["event"])
            got = steps[steps["group"] == name].drop(columns="group").reset_index(drop=True)
            pd.testing.assert_frame_equal(got, expected)
    # coarser only when it must be
    assert seen == sorted(seen) and seen[:2] == [0.0, survival.STEPS[0]] and len(set(seen)) >= 4, seen


@pytest.mark.parametrize(
    ("today", "months", "expected"),
    [
        (date(2026, 1, 31), 12, date(2025, 1, 31)),  # a year back to the day, not to the 28th
        (date(2026, 3, 31), 1, date(2026, 2, 28)),  # a shorter month: its last day
        (date(2024, 3, 31), 1, date(2024, 2, 29)),  # a leap year's
        (date(2026, 5, 15), 12, date(2025, 5, 15)),
        (date(2026, 1, 10), 13, date(2024, 12, 10)),  # across a year end
    ],
)
def test_the_confirmation_cut_off_is_that_many_months_back_to_the_day(today, months, expected):
    assert verification.cutoff(today, months) == expected


def test_an_entry_edited_to_a_later_status_confirms_it_as_of_the_edit_not_its_first_save(store, monkeypatch):
    """A lead logs a structure in 2021 and years later edits that entry to say it is now hosted
    elsewhere (2025-02). The status was recorded at the edit: last confirmed was the day the entry was
    first saved (2021-01-10), before the date of its own status, so the register said "since 2025-02,
    last confirmed 2021-01-10, not confirmed for 12+ months" and the survival curves left it out as
    having no status recorded since the structure started."""
    from datetime import datetime

    from tracker import entries
    from tracker.store import utcnow

    monkeypatch.setattr(entries, "utcnow", lambda: datetime(2021, 1, 10, 9, 0))
    entries.save_entry(store, valid_row(id="hub", structure="Hub", date="2020"), actor=ADMIN)
    monkeypatch.undo()
    entries.save_entry(
        store,
        valid_row(id="hub", structure="Hub", date="2025-02", status="Hosted elsewhere", host="Council"),
        actor=ADMIN,
    )
    for filters in (Filters(), Filters(as_at=utcnow())):  # the stored register and the one "as at" now
        row = verification.register(store, filters, today=date(2025, 6, 1)).set_index("structure").loc["Hub"]
        assert (row["since"], row["last_confirmed"].date()) == ("2025-02", date(2025, 2, 28))
        assert not bool(row["unverified"]) or filters.as_at  # "as at" now the cut-off is a year before now
        found = cohort(store, filters, "start")
        assert found.unconfirmed_since_origin == 0 and list(found.structures["structure"]) == ["Hub"]
        assert found.structures["months"].iloc[0] * survival.DAYS_PER_MONTH == 27  # 2025-02-01 to 28, censored


def test_the_migration_corrects_last_confirmed_of_edited_entries_in_a_stored_register(store):
    """Registers stored before the fix kept the first save's day: migration 0012 recomputes them."""
    from tracker import entries
    from tracker.config import SCHEMAS_DIR
    from tracker.store import migration_sql

    entries.save_entry(store, valid_row(id="hub", structure="Hub", date="2024-02"), actor=ADMIN)
    with store.transaction() as cur:
        cur.execute("UPDATE structure_register SET last_confirmed = DATE '2021-01-10'")
    [path] = SCHEMAS_DIR.glob("0012_*.sql")
    with store.transaction() as cur:
        cur.execute(migration_sql(path, store.is_postgres))
    assert verification.register(store).set_index("structure").loc["Hub", "last_confirmed"].date() == date(2024, 2, 29)


def test_the_legacy_page_and_survival_agree_on_news_since_funding_ended(store, write_file):
    """The legacy page counted a structure as confirmed after funding ended from the first day of its
    latest status entry and only strictly after the end day; survival from its last confirmation, on
    the day or later. "2024: continuing" with funding ended 2024-03-31 was news since funding ended on
    the survival page and not on the legacy page (#8). Now both (and the areas compared) use one rule,
    queries.confirmed_since: the entry's year, month or day counts to its end, on the end day or later."""
    from tracker import admin, compare, queries

    admin.save_partnership(
        store,
        ADMIN,
        {"slug": "cf-end", "name": "CF End", "programme": "Changing Futures", "area": "End", "end_date": "2024-03-31"},
    )
    rows = [
        valid_row(id="y1", partnership="cf-end", structure="Year only", date="2024", status="continuing"),
        valid_row(id="d1", partnership="cf-end", structure="Day after", date="2024-04-01", status="continuing"),
        valid_row(id="o1", partnership="cf-end", structure="On the day", date="2024-03-31", status="continuing"),
        valid_row(id="b1", partnership="cf-end", structure="Day before", date="2024-03-30", status="continuing"),
    ]
    assert import_file(store, write_file(rows, "end.csv"), actor=ADMIN).ok
    only = Filters(partnerships=("cf-end",))
    legacy = queries.survival_of(queries.legacy_summary(store, only))
    (confirmed,) = legacy["confirmed_after_end"]
    (running,) = legacy["surviving"]
    found = cohort(store, only, "funding_end")
    _, counted = curves(store, only, "funding_end")
    (facts,) = compare.facts(store, only, "partnership", ["cf-end"])
    assert set(found.structures["structure"]) == {"Year only", "Day after", "On the day"}
    assert confirmed == found.censored == counted.censored == facts.confirmed_after_end == 3
    assert running - confirmed == found.unconfirmed_since_origin == counted.unconfirmed_since_origin == 1
    # "as at" a moment after the entries, the register is computed from history: the same rule
    past = Filters(partnerships=("cf-end",), as_at=datetime(2100, 1, 1))
    assert int(queries.survival_of(queries.legacy_summary(store, past))["confirmed_after_end"].sum()) == 3
    assert cohort(store, past, "funding_end").censored == 3


# Two entries about one structure whose dates are given to different precisions (#8). "2023-06:
# continuing" and "2023: decommissioned" overlap: they are simultaneous, so the one recorded last is
# the latest. "2022: continuing" ended before "2023-06" began: the 2023-06 entry is the latest, in
# either recording order. Each case: the entries in the order recorded, then the register's current
# status, since and last confirmed, and survival's outcome from VOICES' funding end (2022-06-30).
_MONTH_RUNNING = valid_row(id="m", structure="S", date="2023-06", status="continuing")
_YEAR_CLOSED = valid_row(id="y", structure="S", date="2023", kind="setback", status="decommissioned", mechanisms="")
_YEAR_BEFORE = valid_row(id="b", structure="S", date="2022", status="continuing")
_MONTH_CLOSED = valid_row(id="c", structure="S", date="2023-06", kind="setback", status="decommissioned", mechanisms="")
YEAR_AND_MONTH = {
    "year closure recorded last": ([_MONTH_RUNNING, _YEAR_CLOSED], ("Decommissioned", "2023", date(2023, 12, 31))),
    "year closure recorded first": ([_YEAR_CLOSED, _MONTH_RUNNING], ("Continuing", "2023-06", date(2023, 6, 30))),
    "earlier year recorded first": ([_YEAR_BEFORE, _MONTH_CLOSED], ("Decommissioned", "2023-06", date(2023, 6, 30))),
    "earlier year recorded last": ([_MONTH_CLOSED, _YEAR_BEFORE], ("Decommissioned", "2023-06", date(2023, 6, 30))),
}


@pytest.mark.parametrize("case", YEAR_AND_MONTH)
def test_overlapping_year_and_month_entries_the_one_recorded_last_is_the_current_status(store, case):
    """Entries "2023-06: continuing" and "2023: decommissioned" made the register say "Continuing since 2023-06,
    last confirmed 2023-12-31" whichever was recorded last: the year was taken as 1 January, and the
    confirmation came from the closure. The stored register, the one computed "as at" a moment and the
    legacy page's table (status, since, last confirmed) now agree on the entry recorded last."""
    from tracker import entries, queries
    from tracker.store import utcnow

    rows, expected = YEAR_AND_MONTH[case]
    for row in rows:  # one save each: recorded in this order
        entries.save_entry(store, row, actor=ADMIN)
    for filters in (Filters(), Filters(as_at=utcnow())):  # the stored register; computed from history
        (row,) = queries.structures(store, filters).to_dict("records")
        assert (row["status"], row["since"], row["last_confirmed"].date()) == expected
        page = verification.register(store, filters).set_index("structure").loc["S"]
        assert (page["status"], page["since"], page["last_confirmed"].date()) == expected


@pytest.mark.parametrize("order", ["year first", "day first"])
def test_a_run_of_one_status_is_dated_from_its_earliest_entry(store, order):
    """ "2021: network set up" and "2021-11-17: opens its events to all", both continuing, then
    "2022-06: continuing": the network has been continuing since 2021, whichever was recorded first.
    Taking the run's first entry in the order that picks the latest entry said "since 2021-11-17"."""
    from tracker import entries, queries
    from tracker.store import utcnow

    rows = [
        valid_row(id="set-up", structure="S", date="2021", status="continuing"),
        valid_row(id="events", structure="S", date="2021-11-17", status="continuing"),
    ]
    for row in rows if order == "year first" else rows[::-1]:
        entries.save_entry(store, row, actor=ADMIN)
    entries.save_entry(store, valid_row(id="later", structure="S", date="2022-06", status="continuing"), actor=ADMIN)
    for filters in (Filters(), Filters(as_at=utcnow())):
        (row,) = queries.structures(store, filters).to_dict("records")
        assert (row["status"], row["since"]) == ("Continuing", "2021")
        (band,) = queries.status_segments(store, filters).to_dict("records")
        assert band["start"].date() == date(2021, 1, 1)


@pytest.mark.parametrize("case", YEAR_AND_MONTH)
def test_survival_counts_a_year_closure_recorded_after_a_month_still_running_as_closed(store, case):
    """The structure counted as still running, censored at the closure's 2023-12-31, whichever entry
    was recorded last (#8). Now a closure that is the latest entry is an event at its date's start
    (2023-06-01), or at the last day the structure was known running before it when that is later (a
    closure in 2023 recorded after "2023-06: continuing": 2023-06-30, not 2023-01-01), and a structure
    still running is censored at its latest entry's end."""
    from tracker import entries
    from tracker.store import utcnow

    rows, (status, _, confirmed) = YEAR_AND_MONTH[case]
    for row in rows:
        entries.save_entry(store, row, actor=ADMIN)
    closed = status == "Decommissioned"
    # a closure counts from its date's start, or from the last day the structure was known running
    # before it if that is later: "2023-06: continuing" then "2023: decommissioned" closed after June
    since = {
        "year closure recorded last": date(2023, 6, 30),
        "earlier year recorded first": date(2023, 6, 1),
        "earlier year recorded last": date(2023, 6, 1),
    }.get(case)
    days = ((since if closed else confirmed) - date(2022, 6, 30)).days
    for filters in (Filters(), Filters(as_at=utcnow())):
        found = cohort(store, filters, "funding_end")
        assert found.structures[["structure", "event"]].values.tolist() == [["S", closed]]
        assert round(found.structures["months"].iloc[0] * survival.DAYS_PER_MONTH) == days
        _, counted = curves(store, filters, "funding_end")
        assert (counted.followed, counted.stopped, counted.censored) == (1, int(closed), int(not closed))


@pytest.mark.parametrize("order", ["year first", "month first"])
def test_a_month_of_the_same_status_keeps_the_confirmation_a_year_entry_gave(store, order):
    """ "2023: continuing" confirms the structure running to 2023-12-31 (a year counts to its end). A
    lead adding "2023-03: continuing" afterwards lowered that to 2023-03-31: the two overlap, the one
    recorded last was the latest, and only the latest entry confirmed. Every entry of the current run
    of one status confirms it: the register, the "needs checking" rule and survival keep 2023-12-31."""
    from tracker import entries
    from tracker.store import utcnow

    rows = [
        valid_row(id="year", structure="S", date="2023", status="continuing"),
        valid_row(id="month", structure="S", date="2023-03", status="continuing"),
    ]
    for row in rows if order == "year first" else rows[::-1]:
        entries.save_entry(store, row, actor=ADMIN)
    for filters in (Filters(), Filters(as_at=utcnow())):  # the stored register; computed from history
        (row,) = queries.structures(store, filters).to_dict("records")
        assert (row["status"], row["since"], row["last_confirmed"].date()) == ("Continuing", "2023", date(2023, 12, 31))
        page = verification.register(store, filters, today=date(2024, 6, 1)).set_index("structure").loc["S"]
        assert page["last_confirmed"].date() == date(2023, 12, 31)
        assert not bool(page["unverified"]) or filters.as_at  # "as at" now the cut-off is a year before now
        found = cohort(store, filters, "funding_end")  # VOICES' funding ended 2022-06-30
        assert (
            round(found.structures["months"].iloc[0] * survival.DAYS_PER_MONTH)
            == (date(2023, 12, 31) - date(2022, 6, 30)).days
        )


def test_the_migration_recomputes_confirmations_and_closure_dates_in_a_stored_register(store):
    """Registers stored before migration 0015 kept the latest entry's confirmation alone and no closure
    date: the migration recomputes both."""
    from tracker import entries
    from tracker.config import SCHEMAS_DIR
    from tracker.store import migration_sql

    entries.save_entry(store, valid_row(id="year", structure="S", date="2023", status="continuing"), actor=ADMIN)
    entries.save_entry(store, valid_row(id="month", structure="S", date="2023-03", status="continuing"), actor=ADMIN)
    with store.transaction() as cur:
        cur.execute("UPDATE structure_register SET last_confirmed = DATE '2023-03-31', run_from = NULL")
    [path] = SCHEMAS_DIR.glob("0015_*.sql")
    sql = migration_sql(path, store.is_postgres)
    with store.transaction() as cur:  # the column is there already: the rest of the file, as it runs
        cur.execute(sql.split("ADD COLUMN run_from DATE;", 1)[1])
    (row,) = queries.structures(store).to_dict("records")
    assert row["last_confirmed"].date() == date(2023, 12, 31)
    assert store.cursor().execute("SELECT run_from FROM structure_register").fetchone()[0] == date(2023, 1, 1)
