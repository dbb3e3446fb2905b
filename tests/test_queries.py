"""Summaries and structure histories, computed in SQL, checked against hand-made data."""

from datetime import date, datetime

import pandas as pd
import pytest

from tests.conftest import ADMIN, valid_row
from tracker import access, admin, charts, entries, links, queries, verification
from tracker.filters import Filters, end_of_day
from tracker.importer import import_file


@pytest.fixture
def marg(store, write_file):
    """MaRG's history in VOICES, entered out of date order, plus a setback without status."""
    rows = [
        valid_row(id="m3", date="2021", status="hosted elsewhere", host="Stoke-on-Trent City Council"),
        valid_row(id="m1", date="2015-06", status="continuing"),
        valid_row(id="m2", date="2019-04-01", status="hosted elsewhere", host="Stoke-on-Trent City Council"),
        valid_row(id="m4", date="2022-02", kind="setback", status="", mechanisms="", structure="  marg "),
        valid_row(
            id="x1",
            partnership="Golden Key",
            date="2018",
            structure="Shared database",
            status="continuing",
            typology="Infrastructure, pathways and processes",
        ),
        valid_row(
            id="x2",
            partnership="Golden Key",
            date="2018",
            structure="Shared database",
            status="decommissioned",
            typology="Infrastructure, pathways and processes",
        ),
    ]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    return store


def structure(store, name):
    frame = queries.structures(store)
    return frame[frame["structure"].str.lower().str.strip() == name.lower()].iloc[0]


def test_current_status_is_the_latest_dated_entry_with_a_status(marg):
    row = structure(marg, "marg")
    assert row["status"] == "Hosted elsewhere"
    assert row["host"] == "Stoke-on-Trent City Council"
    assert row["since"] == "2019-04-01"  # when the current status and host began, as entered
    assert row["entries"] == 4  # the setback counts, and " marg " is the same structure
    assert row["last_entry"] == "2022-02"


def test_equal_dates_go_to_the_later_entered_entry(marg):
    assert structure(marg, "shared database")["status"] == "Decommissioned"


def test_structure_with_no_status_yet(store, write_file):
    import_file(
        store, write_file([valid_row(id="s", kind="setback", status="", mechanisms="", structure="Board")]), actor=ADMIN
    )
    row = structure(store, "board")
    assert row["status"] == "Not recorded"
    assert row["status_slug"] is None


def test_summary_by_one_field_in_taxonomy_order(marg):
    rows = queries.summary(marg, ["typology"])
    assert rows == [
        {"typology": "Approaches to coordinating support", "count": 4},
        {"typology": "Infrastructure, pathways and processes", "count": 2},
    ]


def test_summary_by_two_fields(marg):
    rows = queries.summary(marg, ["partnership", "kind"])
    assert rows == [
        {"partnership": "Golden Key", "kind": "milestone", "count": 2},
        {"partnership": "VOICES", "kind": "milestone", "count": 3},
        {"partnership": "VOICES", "kind": "setback", "count": 1},
    ]


def test_summary_by_mechanism_counts_each_mechanism(marg):
    rows = {r["mechanism"]: r["count"] for r in queries.summary(marg, ["mechanism"])}
    assert rows == {"Personal relationships": 5, "Cross-agency networks and groups": 5, None: 1}


def test_summary_by_year_and_status(marg):
    rows = queries.summary(marg, ["year"])
    assert [r["year"] for r in rows] == [2015, 2018, 2019, 2021, 2022]
    statuses = {r["status"]: r["count"] for r in queries.summary(marg, ["status"])}
    assert statuses == {"Continuing": 2, "Hosted elsewhere": 2, "Decommissioned": 1, None: 1}


@pytest.mark.parametrize("by", [[], ["colour"], ["kind", "kind"], ["kind", "year", "sector"]])
def test_summary_rejects_bad_fields(store, by):
    with pytest.raises(ValueError, match="--by takes one or two"):
        queries.summary(store, by)


def test_filters_narrow_the_counts(marg):
    from datetime import date

    assert queries.count_entries(marg, Filters(partnerships=("golden-key",))) == 2
    assert queries.count_entries(marg, Filters(kinds=("setback",))) == 1
    assert queries.count_entries(marg, Filters(statuses=("hosted-elsewhere",))) == 2
    # a year-precision date overlaps any range touching its year
    assert queries.count_entries(marg, Filters(date_from=date(2021, 6, 1), date_to=date(2021, 6, 30))) == 1
    assert queries.count_entries(marg, Filters(mechanisms=("flexibility",))) == 0
    assert queries.count_entries(marg, Filters(programmes=("Fulfilling Lives",))) == 6


def test_sql_metacharacters_in_filters_are_just_values(marg):
    evil = ("voices' OR '1'='1", "x); DROP TABLE entries; --")
    assert queries.count_entries(marg, Filters(partnerships=evil, typologies=evil, sectors=evil)) == 0
    assert queries.count_entries(marg) == 6


def test_heatmap_grid_is_complete_and_counts_match_the_summary(marg):
    cells = queries.heatmap(marg, Filters(), "partnership", "typology")
    assert len(cells) == 12 * 6  # every partnership × every typology, zeros included
    voices = cells[(cells["row_key"] == "voices") & (cells["col_key"] == "coordinating-support")].iloc[0]
    assert (voices["count"], voices["total"], voices["net"]) == (4, 4, 2)  # 3 milestones − 1 setback
    assert voices["share"] == 1.0
    assert cells["count"].sum() == queries.count_entries(marg)


def test_heatmap_by_mechanism_counts_each_mechanism_and_shares_use_distinct_entries(marg):
    cells = queries.heatmap(marg, Filters(), "partnership", "mechanism")
    voices = cells[cells["row_key"] == "voices"].set_index("col_key")
    assert voices.loc["personal-relationships", "count"] == 3
    assert voices.loc["personal-relationships", "share"] == 0.75  # 3 of VOICES' 4 entries


def test_heatmap_respects_the_filter_domain(marg):
    cells = queries.heatmap(
        marg, Filters(partnerships=("voices",), typologies=("culture", "leadership")), "partnership", "typology"
    )
    assert set(cells["row_key"]) == {"voices"} and set(cells["col_key"]) == {"culture", "leadership"}


def test_clicking_a_cell_lists_exactly_the_entries_behind_it(marg):
    entries = queries.cell_entries(marg, Filters(), "partnership", "voices", "mechanism", "personal-relationships")
    assert sorted(entries["id"]) == ["m1", "m2", "m3"]
    entries = queries.cell_entries(
        marg, Filters(kinds=("setback",)), "partnership", "voices", "typology", "coordinating-support"
    )
    assert list(entries["id"]) == ["m4"]


@pytest.mark.parametrize(
    "columns",
    [("date", "partnership", "kind", "title", "typology", "status"), ("mechanisms",), ("title", "id", "quote")],
)
def test_an_entry_list_of_some_columns_is_those_columns_of_the_whole_list(marg, columns):
    """A table reads only what it shows (#6); what it reads is what the whole list says."""
    whole = queries.entry_list(marg, Filters(), limit=4, offset=1)
    some = queries.entry_list(marg, Filters(), limit=4, offset=1, columns=columns)
    expected = ["id", *(c for c in columns if c != "id")]
    assert list(some.columns) == expected
    assert list(whole.columns) == list(queries.ENTRY_FIELDS)
    assert len(some) == 4
    assert some.equals(whole[expected])


def test_an_entry_list_refuses_a_column_it_does_not_have(marg):
    with pytest.raises(ValueError, match="'password'"):
        queries.entry_list(marg, Filters(), columns=("title", "password"))


def test_quotes_are_in_the_order_of_every_entry_list_when_dates_share_a_start(store, write_file):
    """A year, its first month and its first day begin on the same day: the meeting pack's quotes
    list them as the entry lists do (the longer period, which ends later, first), not in the order
    they happened to be entered."""
    rows = [
        valid_row(id=f"q-{precision}", date=day, quote=f"said of {day}", speaker="Stakeholder, Housing")
        for precision, day in (("year", "2019"), ("day", "2019-01-01"), ("month", "2019-01"))
    ]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    listed = queries.entry_list(store, Filters())["date"].tolist()
    assert listed == ["2019", "2019-01", "2019-01-01"]
    assert queries.quotes(store, Filters())["date"].tolist() == listed


def test_timeline_rows_keep_the_date_as_entered_and_span_the_period(marg):
    frame, binned = queries.timeline(marg, Filters(partnerships=("voices",)))
    assert not binned and len(frame) == 4
    year = frame[frame["id"] == "m3"].iloc[0]
    assert (year["date_text"], year["precision"]) == ("2021", "year")
    assert (str(year["start"].date()), str(year["end"].date())) == ("2021-01-01", "2022-01-01")


def test_year_counts_are_a_continuous_run_of_years_with_zeros_for_empty_ones(marg):
    """The per-year chart's axis is ordinal: a year without entries must be a row, not left out,
    or 2015 and 2018 would sit side by side."""
    frame = queries.year_counts(marg)
    assert list(frame.columns) == ["year", "kind", "entries"]
    assert sorted(set(frame["year"])) == list(range(2015, 2023))
    got = {(int(r.year), r.kind): int(r.entries) for r in frame.itertuples()}
    assert len(got) == len(frame) == 16  # one row per year and kind
    assert got[(2016, "milestone")] == got[(2016, "setback")] == got[(2020, "milestone")] == 0
    assert got[(2018, "milestone")] == 2 and got[(2022, "setback")] == 1
    assert list(zip(frame["year"], frame["kind"], strict=True)) == sorted(got)  # in year order
    assert sum(got.values()) == queries.count_entries(marg)
    # a filter sets the run from its own first to last year; nothing matched, no rows
    golden = queries.year_counts(marg, Filters(partnerships=("golden-key",)))
    assert sorted(set(golden["year"])) == [2018]
    assert queries.year_counts(marg, Filters(partnerships=("golden-key",), kinds=("setback",))).empty


def test_timeline_bins_in_sql_when_there_are_too_many_entries(marg):
    frame, binned = queries.timeline(marg, Filters(), max_rows=3)
    assert binned and len(frame) <= 3
    assert set(frame.columns) >= {"lane", "start", "end", "kind", "typology", "count"}


def test_structure_lanes_and_status_segments(marg):
    frame, _ = queries.timeline(marg, Filters(), lane="structure")
    assert set(frame["lane"]) == {"VOICES · marg", "Golden Key · Shared database"}
    segments = queries.status_segments(marg, Filters(partnerships=("voices",)))
    assert list(segments["status"]) == ["Continuing", "Hosted elsewhere"]
    assert list(segments["label"])[1] == "Hosted elsewhere — Stoke-on-Trent City Council"
    assert str(segments["start"].iloc[1].date()) == "2019-04-01"
    assert segments["end"].iloc[0] == segments["start"].iloc[1]


def test_status_bands_are_drawn_on_the_lanes_of_their_structures_entries(marg, write_file):
    """Structure lanes: a structure's status bands share its entries' lane, name and place, with a
    filter that leaves out its latest spelling and with structures that have no status."""
    rows = [  # two Golden Key structures without a status, after "Shared database" by name
        valid_row(
            id=f"g{i}", partnership="Golden Key", date="2018", kind="setback", status="", mechanisms="", structure=name
        )
        for i, name in enumerate(("Steering group", "Triage"))
    ]
    assert import_file(marg, write_file(rows, "more.csv"), actor=ADMIN).ok
    for filters in (Filters(), Filters(date_to=date(2016, 12, 31))):  # the filter keeps "MaRG" of 2015, not "marg"
        points, _ = queries.timeline(marg, filters, lane="structure")
        segments = queries.status_segments(marg, filters)
        lanes = dict(zip(points["lane"], points["lane_order"], strict=True))
        assert dict(zip(segments["lane"], segments["lane_order"], strict=True)).items() <= lanes.items()
        assert charts._lanes(points, segments) == sorted(lanes, key=lanes.get)


def test_survival_counts_structures_still_running(marg):
    frame = queries.survival(marg).set_index("partnership")
    assert frame.loc["VOICES", "surviving"] == 1 and frame.loc["Golden Key", "surviving"] == 0
    assert frame.loc["VOICES", "share_surviving"] == 1.0


def test_a_filter_chooses_structures_but_their_whole_history_sets_the_status(marg):
    from datetime import date

    frame = queries.structures(marg, Filters(date_to=date(2016, 12, 31)))
    assert list(frame["structure"]) == ["marg"]  # only MaRG has an entry before 2017 (latest spelling shown)…
    assert frame.iloc[0]["status"] == "Hosted elsewhere"  # …but its current status comes from all entries


def test_headline_figures(marg):
    figures = queries.headline(marg)
    assert figures == {
        "entries": 6,
        "milestones": 5,
        "setbacks": 1,
        "partnerships": 2,
        "structures": 2,
        "continuing": 0,
        "hosted-elsewhere": 1,
        "decommissioned": 1,
        "not-recorded": 0,
    }


def test_data_version_changes_on_every_write(marg, write_file):
    before, reference = queries.versions(marg)
    assert before == queries.data_version(marg)
    import_file(
        marg, write_file([valid_row(id="m1", date="2015-06", status="continuing", title="Renamed")]), actor=ADMIN
    )
    assert queries.data_version(marg) != before
    assert queries.versions(marg)[1] == reference  # an entry is not reference data: vocabularies kept (#6)


# Every kind of write, through the API the app and CLI use (#6: the data version counts the audit
# log, one event a write, not entry_history, which in the PostgreSQL mode cost a copy of every
# history row on every page run). ``marg`` has entries m1-m4 (VOICES, structure MaRG) and x1-x2.
_WRITES = {
    "a new entry from the form": lambda s: entries.save_entry(s, valid_row(id="new1", title="New"), actor=ADMIN),
    "an edited entry": lambda s: entries.save_entry(
        s, valid_row(id="m1", date="2015-06", status="continuing", title="Edited"), actor=ADMIN, expect="existing"
    ),
    "a deleted entry": lambda s: entries.delete_entry(s, "m2", actor=ADMIN),
    "a restored entry": lambda s: (
        entries.delete_entry(s, "m2", actor=ADMIN),
        setattr(s, "_version_before", queries.data_version(s)),
        entries.restore_entry(s, "m2", actor=ADMIN),
    ),
    "a structure confirmed": lambda s: verification.confirm(s, ADMIN, "voices", "marg", "running"),
    "a link added": lambda s: links.add_link(s, ADMIN, ("golden-key", "Shared database"), ("voices", "MaRG")),
    "a link removed": lambda s: (
        setattr(s, "_link", links.add_link(s, ADMIN, ("golden-key", "Shared database"), ("voices", "MaRG"))),
        setattr(s, "_version_before", queries.data_version(s)),
        links.remove_link(s, ADMIN, s._link),
    ),
    "a member added": lambda s: access.save_member(s, ADMIN, {"email": "jo@example.org", "role": "viewer"}),
    "a member removed": lambda s: (
        access.save_member(s, ADMIN, {"email": "jo@example.org", "role": "viewer"}),
        setattr(s, "_version_before", queries.data_version(s)),
        access.remove_member(s, ADMIN, "jo@example.org"),
    ),
    "a term added": lambda s: admin.add_term(s, ADMIN, "sector", "education", "Education"),
    "a partnership changed": lambda s: admin.save_partnership(
        s, ADMIN, {"slug": "voices", "name": "VOICES", "programme": "Fulfilling Lives", "area": "Stoke"}
    ),
}


@pytest.mark.parametrize("write", list(_WRITES))
def test_every_kind_of_write_changes_the_data_version(marg, write):
    marg._version_before = queries.data_version(marg)
    _WRITES[write](marg)
    after = queries.data_version(marg)
    assert after != marg._version_before
    # and it stays put while nothing is written
    assert queries.data_version(marg) == after


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE terms SET label = 'Leadership and vision' WHERE vocabulary = 'typology' AND slug = 'leadership'",
        "UPDATE terms SET retired = NOT retired WHERE vocabulary = 'typology' AND slug = 'leadership'",
        "UPDATE terms SET position = position + 100 WHERE vocabulary = 'status' AND slug = 'continuing'",
        "UPDATE partnerships SET end_date = DATE '2031-03-31' WHERE slug = 'voices'",
        "UPDATE partnerships SET name = 'VOICES Stoke' WHERE slug = 'voices'",
        "UPDATE partnerships SET area = 'Staffordshire' WHERE slug = 'voices'",
        "UPDATE conditions SET label = 'Policies and rules' WHERE slug = 'policies'",
    ],
)
def test_data_version_changes_when_reference_data_changes_without_an_audited_write(marg, change):
    # As a reseed from the config files does it: no audit event, no entry history; the cached
    # vocabularies and labels must still be read again.
    before, reference = queries.versions(marg)
    with marg.transaction() as cur:
        assert cur.execute(change).fetchone()[0] == 1  # one row changed
    after, changed = queries.versions(marg)
    assert after != before and changed != reference


def test_crosswalk_reslices_the_same_entries_through_the_mapping(marg):
    """MARG's coordinating-support entries map to Practices and Relationships (data/crosswalk.toml)."""
    cells = queries.heatmap(marg, Filters(), "partnership", "condition")
    voices = cells[cells["row_key"] == "voices"].set_index("col_key")
    assert voices.loc["practices", "count"] == 4 and voices.loc["relationships", "count"] == 4
    assert voices.loc["policies", "count"] == 0
    assert set(cells["col"]) == {
        "Policies",
        "Practices",
        "Resource flows",
        "Relationships and connections",
        "Power dynamics",
        "Mental models",
    }
    entries = queries.cell_entries(marg, Filters(), "partnership", "golden-key", "condition", "resource-flows")
    assert sorted(entries["id"]) == ["x1", "x2"]  # infrastructure → practices, resource flows
    assert queries.count_entries(marg, Filters(conditions=("mental-models",))) == 0


def test_a_retired_typology_stays_on_the_heatmap_while_entries_use_it(marg):
    from tracker import admin

    used = "coordinating-support"  # valid_row's typology: every MaRG entry has it
    unused = next(t for t in marg.vocab()["typology"].labels if t not in {used, "infrastructure"})
    for slug in (used, unused):
        admin.set_retired(marg, ADMIN, "typology", slug, True)
    columns = set(queries.heatmap(marg, Filters(), "partnership", "typology")["col_key"])
    assert used in columns and unused not in columns and "infrastructure" in columns


@pytest.mark.parametrize(("vocabulary", "used"), [("mechanism", "personal-relationships"), ("sector", "housing")])
def test_a_retired_mechanism_or_sector_stays_on_the_heatmap_only_while_entries_use_it(marg, vocabulary, used):
    """As typologies (and as Compare's grids): a retired term no entry uses is no empty column any more."""
    from datetime import datetime

    unused = next(t for t in marg.vocab()[vocabulary].labels if t != used and t not in _in_use(marg, vocabulary))
    assert used in _in_use(marg, vocabulary)
    for slug in (used, unused):
        admin.set_retired(marg, ADMIN, vocabulary, slug, True)
    for filters in (Filters(), Filters(as_at=datetime(2100, 1, 1))):
        for rows in ("partnership", "typology"):
            columns = set(queries.heatmap(marg, filters, rows, vocabulary)["col_key"])
            assert used in columns and unused not in columns, (filters, rows)
    admin.set_retired(marg, ADMIN, vocabulary, unused, False)
    assert unused in set(queries.heatmap(marg, Filters(), "partnership", vocabulary)["col_key"])


def _in_use(store, vocabulary: str) -> set[str]:
    table, column = {"mechanism": ("entry_mechanisms", "mechanism"), "sector": ("entry_sectors", "sector")}[vocabulary]
    return {r[0] for r in store.cursor().execute(f"SELECT DISTINCT {column} FROM {table}").fetchall()}


def test_a_retired_typology_leaves_the_heatmap_when_no_entry_uses_it_but_stays_as_at_when_one_did(marg):
    """Its entries re-categorised and the typology retired: no column for it now (the stored counts
    keep a +1 and a -1 row for it until they are compacted), but "as at" a moment when entries used
    it, a column with their count, as on Compare (not what the stored counts of now say)."""
    import time

    from tracker.store import utcnow

    used = "coordinating-support"  # every VOICES entry of MaRG has it
    time.sleep(0.01)
    then = utcnow()
    time.sleep(0.01)
    for entry_id, date_text, kind, status, host, mechanisms in (
        ("m1", "2015-06", "milestone", "continuing", "", None),
        ("m2", "2019-04-01", "milestone", "hosted elsewhere", "Stoke-on-Trent City Council", None),
        ("m3", "2021", "milestone", "hosted elsewhere", "Stoke-on-Trent City Council", None),
        ("m4", "2022-02", "setback", "", "", ""),
    ):
        changes = {"mechanisms": mechanisms} if mechanisms is not None else {}
        row = valid_row(id=entry_id, date=date_text, kind=kind, status=status, host=host, typology="Culture")
        entries.save_entry(marg, {**row, **changes}, actor=ADMIN)
    admin.set_retired(marg, ADMIN, "typology", used, True)
    assert queries.count_entries(marg, Filters(typologies=(used,))) == 0
    for filters in (Filters(), Filters(kinds=("milestone",)), Filters(date_from=date(2010, 1, 1))):
        assert used not in set(queries.heatmap(marg, filters, "partnership", "typology")["col_key"])
    queries.compact_counts(marg)  # as the counts are now and then: no rows left for the retired typology
    cells = queries.heatmap(marg, Filters(as_at=then), "partnership", "typology")
    voices = cells[cells["row_key"] == "voices"].set_index("col_key")
    assert voices.loc[used, "count"] == queries.count_entries(marg, Filters(as_at=then, typologies=(used,))) == 4
    assert voices["count"].sum() == voices["total"].iloc[0] == 4  # the row's cells add up to its entries


def test_a_term_of_another_vocabulary_with_a_used_typologys_slug_is_not_a_typology_column(marg):
    """Slugs are unique per vocabulary only: a mechanism may share a typology's slug."""
    used = "coordinating-support"  # a typology MaRG entries use
    admin.add_term(marg, ADMIN, "mechanism", used, "Coordinating support (the mechanism)")
    admin.add_term(marg, ADMIN, "sector", used, "Coordinating support (the sector)")
    cells = queries.heatmap(marg, Filters(), "partnership", "typology")
    typologies = marg.vocab()["typology"]
    assert set(cells["col"]) <= set(typologies.labels.values())
    assert (cells["col_key"] == used).sum() == cells["row_key"].nunique()  # one column, not three
    per_row = cells[cells["col_key"] == used].set_index("row_key")["count"]
    assert per_row.sum() == queries.count_entries(marg, Filters(typologies=(used,))) > 0


@pytest.fixture
def demo(store):
    assert import_file(store, store.settings.sample, actor=ADMIN).ok
    return store


def _reference_cells(store, rows, cols):
    """The heatmap the slow way: every entry's values on each dimension, counted in pandas."""

    cur = store.cursor()
    entries = cur.execute("SELECT id, partnership, typology, kind FROM entries WHERE deleted_at IS NULL").df()
    lists = {
        "mechanism": cur.execute("SELECT entry_id AS id, mechanism AS value FROM entry_mechanisms").df(),
        "sector": cur.execute("SELECT entry_id AS id, sector AS value FROM entry_sectors").df(),
        "condition": cur.execute(
            "SELECT e.id, x.condition AS value FROM entries e JOIN crosswalk x ON x.typology = e.typology"
        ).df(),
        "partnership": entries[["id", "partnership"]].rename(columns={"partnership": "value"}),
        "typology": entries[["id", "typology"]].rename(columns={"typology": "value"}),
    }
    r = lists[rows].rename(columns={"value": "row_key"})
    c = lists[cols].rename(columns={"value": "col_key"})
    pairs = entries[["id", "kind"]].merge(r, on="id").merge(c, on="id")
    cells = pairs.groupby(["row_key", "col_key"]).agg(
        count=("id", "size"), net=("kind", lambda k: int((k == "milestone").sum() - (k == "setback").sum()))
    )
    totals = entries[["id"]].merge(r, on="id").groupby("row_key")["id"].nunique().rename("total")
    return cells.reset_index(), totals


@pytest.mark.parametrize(
    "rows,cols",
    [
        ("partnership", "typology"),
        ("typology", "partnership"),
        ("mechanism", "typology"),
        ("typology", "mechanism"),
        ("mechanism", "sector"),
        ("sector", "partnership"),
        ("condition", "mechanism"),
        ("partnership", "condition"),
    ],
)
def test_every_heatmap_cell_and_row_total_is_what_counting_the_entries_gives(demo, rows, cols):
    grid = queries.heatmap(demo, Filters(), rows, cols)
    cells, totals = _reference_cells(demo, rows, cols)
    got = grid[grid["count"] > 0].set_index(["row_key", "col_key"])[["count", "net"]].sort_index()
    expected = cells.set_index(["row_key", "col_key"])[["count", "net"]].sort_index()
    assert len(got) > 3
    assert got.astype(int).equals(expected.astype(int))
    row_totals = grid.groupby("row_key")["total"].first()
    assert row_totals[row_totals > 0].sort_index().astype(int).equals(totals.sort_index().astype(int))


def test_the_form_offers_a_partnerships_structures_as_the_register_names_them(marg, write_file):
    """The entry form's structure choices: one per structure, in the latest spelling, in name order,
    the same names as the legacy register; a deleted structure is no longer offered (#6: read from
    the stored register)."""
    from tracker import entries

    more = [
        valid_row(id="b1", date="2016", structure="Board of partners", status="continuing"),
        valid_row(id="b2", date="2020", structure="board OF Partners", status="continuing"),  # respelled later
        valid_row(id="a1", date="2017", structure="advisory group", status="continuing"),
    ]
    assert import_file(marg, write_file(more, "more.csv"), actor=ADMIN).ok
    offered = queries.structure_names(marg, "voices")
    assert offered == ["advisory group", "board OF Partners", "marg"]  # "  marg " of 2022, trimmed
    register = queries.structures(marg)
    assert offered == register[register["partnership_slug"] == "voices"]["structure"].tolist()
    assert queries.structure_names(marg, "golden-key") == ["Shared database"]
    entries.delete_entry(marg, "a1", actor=ADMIN)
    assert queries.structure_names(marg, "voices") == ["board OF Partners", "marg"]
    assert queries.structure_names(marg, "no-such-partnership") == []


def test_status_bands_as_at_a_past_moment_run_to_that_day_not_to_today(store, write_file, monkeypatch):
    """A timeline "as at" the day of a past meeting shows each structure's current status running to
    that day, as it was drawn then, not on to today (which the tracker could not know about then)."""
    monkeypatch.setattr(entries, "utcnow", lambda: datetime(2022, 6, 1, 9, 0))  # recorded at that meeting
    rows = [
        valid_row(id="m1", date="2015-06", status="continuing"),
        valid_row(id="m2", date="2019-04-01", status="hosted elsewhere", host="Stoke-on-Trent City Council"),
    ]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    monkeypatch.undo()
    then = Filters(as_at=end_of_day(date(2022, 6, 1)))
    segments = queries.status_segments(store, then)
    assert list(segments["status"]) == ["Continuing", "Hosted elsewhere"]
    assert segments["end"].iloc[-1] == pd.Timestamp("2022-06-01")
    # now, the same band runs to today
    assert queries.status_segments(store, Filters())["end"].iloc[-1] == pd.Timestamp(date.today())


@pytest.mark.parametrize("closure_first", [False, True], ids=["closure entered last", "closure entered first"])
def test_a_status_band_starts_when_the_register_and_survival_date_its_run(store, write_file, closure_first):
    """ "2023-06: continuing", then "closed in 2023": the structure ran until at least 2023-06-30, so
    its closure is drawn from then, as the register's run_from and the survival curves date it (#8).
    It was drawn from 1 January, before the month the structure was known running. Each structure's
    last band starts on its run_from."""
    rows = [
        valid_row(id="r1", date="2021-03", status="continuing", structure="Panel"),
        valid_row(id="r2", date="2023-06", status="continuing", structure="Panel", host=""),
        valid_row(id="r3", date="2023", kind="setback", status="decommissioned", structure="Panel"),
        valid_row(id="h1", date="2019-03-01", status="continuing", structure="Hub"),
        valid_row(id="h2", date="2020", status="hosted elsewhere", host="Council", structure="Hub"),
        valid_row(id="h3", date="2020-05-10", status="hosted elsewhere", host="Council", structure="Hub"),
    ]
    if closure_first:  # "2023" entered before "2023-06": the month is the latest, running again
        rows = [rows[0], rows[2], rows[1], *rows[3:]]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    segments = queries.status_segments(store, Filters())
    panel = segments[segments["lane"].str.endswith("Panel")]
    spans = [
        (s, str(a.date()), str(b.date())) for s, a, b in zip(panel["status"], panel["start"], panel["end"], strict=True)
    ]
    if closure_first:  # closed in 2023, then known running again in June: reopened, from 30 June
        assert [s[:2] for s in spans] == [
            ("Continuing", "2021-03-01"),
            ("Decommissioned", "2023-01-01"),
            ("Continuing", "2023-06-30"),
        ]
    else:
        assert spans[0][:2] == ("Continuing", "2021-03-01") and spans[0][2] == "2023-06-30"
        assert spans[1][:3] == ("Decommissioned", "2023-06-30", spans[1][2])
    hub = segments[segments["lane"].str.endswith("Hub")]
    assert [str(d.date()) for d in hub["start"]] == ["2019-03-01", "2020-01-01"]  # nothing known between
    stored = store.cursor().execute("SELECT structure, run_from FROM structure_register").fetchall()
    last = segments.groupby("lane")["start"].max()
    assert {name: str(last[f"VOICES · {name}"].date()) for name, _ in stored} == {
        name: str(day) for name, day in stored
    }


@pytest.mark.parametrize("last", ["year", "day"])
def test_a_structure_lane_is_named_as_the_legacy_register_names_it_when_a_year_and_a_day_share_a_start(
    store, write_file, last
):
    """The latest spelling of a structure's name is that of its latest entry, latest as the register
    orders them: "2019" (the whole year) and "2019-01-01" overlap, so they are simultaneous and the one
    entered last names it (#8; it was always the year, as if it came after 1 January). The timeline's
    lanes (points, binned counts and status bands) use the same name."""
    rows = {
        "year": valid_row(id="y", date="2019", status="continuing", structure="MaRG"),
        "day": valid_row(id="d", date="2019-01-01", status="continuing", structure="marg"),
    }
    recorded = [row for name, row in rows.items() if name != last] + [rows[last]]
    assert import_file(store, write_file(recorded), actor=ADMIN).ok
    register = queries.structures(store)
    name = rows[last]["structure"]
    assert list(register["structure"]) == [name]
    lane = f"VOICES · {name}"
    points, _ = queries.timeline(store, Filters(), lane="structure")
    assert set(points["lane"]) == {lane}
    binned, was_binned = queries.timeline(store, Filters(), lane="structure", max_rows=1)
    assert was_binned and set(binned["lane"]) == {lane}
    assert set(queries.status_segments(store)["lane"]) == {lane}


@pytest.mark.parametrize("closure_last", [True, False], ids=["closure recorded last", "closure recorded first"])
def test_status_bands_and_one_click_checks_follow_the_entry_recorded_last_when_a_year_and_a_month_overlap(
    store, closure_last
):
    """Entries "2023-06: continuing" and "2023: decommissioned" are simultaneous: the one recorded last is
    the current status (#8). The status bands end with it, never run backwards (the year starts before
    the month), and the one-click "Still running" refuses a structure the register calls closed; the
    year was taken as 1 January, so the bands and the check saw "continuing" whichever came last."""
    from tracker.errors import InvalidInput

    running = valid_row(id="m", structure="S", date="2023-06", status="continuing")
    closed = valid_row(id="y", structure="S", date="2023", kind="setback", status="decommissioned", mechanisms="")
    for row in [running, closed] if closure_last else [closed, running]:
        entries.save_entry(store, row, actor=ADMIN)
    current = "Decommissioned" if closure_last else "Continuing"
    assert list(queries.structures(store)["status"]) == [current]
    bands = queries.status_segments(store, until=date(2025, 1, 1))
    assert bands["status"].iloc[-1] == current and len(bands) == 2
    assert (bands["end"] >= bands["start"]).all() and bands["start"].is_monotonic_increasing
    # the last band from the last day of June, where the register's run_from puts the current run:
    # a closure after the month known running, a reopening after the year known closed
    assert bands["start"].iloc[-1] == pd.Timestamp("2023-06-30")
    if closure_last:
        with pytest.raises(InvalidInput, match="now recorded as decommissioned"):
            verification.confirm(store, ADMIN, "voices", "s", "running", when=date(2024, 2, 1))
    else:
        saved = verification.confirm(store, ADMIN, "voices", "s", "running", when=date(2024, 2, 1))
        assert saved.status == "continuing"
