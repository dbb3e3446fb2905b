"""The faster reads (#6) give exactly what the straightforward formulations give.

- The legacy register is kept in the structure_register table by every write; after imports,
  edits that move entries between structures and partnerships, deletes and restores, it must equal
  the register computed from scratch, and the migration that first fills it must agree too.
- Heatmap cells come straight from the entries (joining only list dimensions) and binned timelines
  roll up one monthly count; both are checked against the plain SQL they replaced.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import date, datetime, timedelta

import pandas as pd
import pytest

from tests.conftest import ADMIN, valid_row
from tracker import entries, queries, survival, synth, verification
from tracker.config import SCHEMAS_DIR
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import migration_sql


def stored(store) -> list[list[tuple]]:
    """The derived tables as stored: the register and the entry counts."""
    cur = store.cursor()
    return [
        cur.execute("SELECT * FROM structure_register ORDER BY ALL").fetchall(),
        # signed rows appended by each write: what counts is their sum per group
        cur.execute(
            "SELECT partnership, typology, kind, month, sum(entries) FROM entry_counts GROUP BY ALL"
            " HAVING sum(entries) <> 0 ORDER BY ALL"
        ).fetchall(),
        cur.execute(
            "SELECT partnership, typology, kind, mechanism, sum(entries) FROM mechanism_counts GROUP BY ALL"
            " HAVING sum(entries) <> 0 ORDER BY ALL"
        ).fetchall(),
    ]


def computed(store) -> list[list[tuple]]:
    """The same, computed from scratch from the entries."""
    scope, _ = Filters().scope()
    cur = store.cursor()
    columns = [r[0] for r in cur.execute("DESCRIBE structure_register").fetchall()]
    register = cur.execute(
        f"WITH {scope}, {queries._GROUPED_CTE.format(where='TRUE')} SELECT {', '.join(columns)} FROM grouped"
        " ORDER BY ALL"
    ).fetchall()
    counts = cur.execute(
        "SELECT partnership, typology, kind, CAST(date_trunc('month', date_start) AS DATE), count(*)"
        " FROM entries WHERE deleted_at IS NULL GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    mechanisms = cur.execute(
        "SELECT e.partnership, e.typology, e.kind, m.mechanism, count(*) FROM entries e"
        " JOIN entry_mechanisms m ON m.entry_id = e.id WHERE e.deleted_at IS NULL GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    return [register, counts, mechanisms]


@pytest.fixture
def demo(store):
    assert import_file(store, store.settings.sample, actor=ADMIN).ok
    return store


@pytest.mark.parametrize("few_rows", [queries.FEW_ROWS, 0], ids=["ids named", "ids joined"])
def test_the_stored_register_follows_every_kind_of_write(demo, write_file, monkeypatch, few_rows):
    """Also with every write's rows chosen by a join rather than named (as a large import's are)."""
    monkeypatch.setattr(queries, "FEW_ROWS", few_rows)
    assert stored(demo) == computed(demo) and all(stored(demo))
    # an import that adds to a structure, renames one (spacing and case), moves one to another partnership
    rows = [
        valid_row(id="p1", structure="MaRG", status="Hosted elsewhere", host="Council", date="2023"),
        valid_row(id="voices-marg-2015", partnership="Golden Key", structure="Multi-agency Resolution Group (MaRG)"),
        valid_row(id="p2", structure="multi-agency  resolution group (marg)", kind="setback", status=""),
        valid_row(id="p3", structure=""),
        valid_row(id="p4", partnership="Golden Key", structure="MaRG"),  # the same name in another area
        # a month and a year that overlap: the one recorded last is the latest (#8)
        valid_row(id="p5", structure="Year and month", date="2023-06", status="continuing"),
        valid_row(id="p6", structure="year and month", date="2023", kind="setback", status="decommissioned"),
    ]
    assert import_file(demo, write_file(rows), actor=ADMIN).ok
    assert stored(demo) == computed(demo)
    # the register read from the table and the one computed "as at" now, for those overlapping dates
    now, at = (queries.structures(demo, Filters(as_at=when)) for when in (None, datetime.now() + timedelta(days=1)))
    pd.testing.assert_frame_equal(now, at)
    assert now.set_index("structure").loc["year and month", ["status", "since"]].tolist() == ["Decommissioned", "2023"]
    # a form save that takes an entry out of its structure
    entry = entries.get_entry(demo, "p1")
    data = {k: getattr(entry, k) for k in ("id", "partnership", "kind", "title", "typology", "status", "host")}
    data |= {"date": entry.date.text, "mechanisms": entry.mechanisms, "structure": None}
    entries.save_entry(demo, data, actor=ADMIN, base_version=entry.version)
    assert stored(demo) == computed(demo)
    # deleting the only entry of a structure removes it; restoring brings it back
    only = (
        demo.cursor()
        .execute(
            "SELECT any_value(id) FROM entries WHERE structure_key IS NOT NULL AND deleted_at IS NULL"
            " GROUP BY partnership, structure_key HAVING count(*) = 1 LIMIT 1"
        )
        .fetchone()[0]
    )
    entries.delete_entry(demo, only, actor=ADMIN)
    assert stored(demo) == computed(demo)
    entries.restore_entry(demo, only, actor=ADMIN)
    assert stored(demo) == computed(demo)


def test_the_migration_fills_the_register_as_the_code_computes_it(demo, write_file):
    """The register as 0005 first filled it (and old code kept it), brought up to date by the
    migrations that refill it since: 0012 (last confirmed as edited), 0013 (the latest entry of
    overlapping dates, #8), 0015 (confirmed by the current run, closures dated from run_from). The demo
    has no overlapping dates; these structures do, in both orders."""
    rows = [
        valid_row(id="o1", structure="Closed last", date="2023-06", status="continuing"),
        valid_row(id="o2", structure="Closed last", date="2023", kind="setback", status="decommissioned"),
        valid_row(id="o3", structure="Closed first", date="2023", kind="setback", status="decommissioned"),
        valid_row(id="o4", structure="Closed first", date="2023-06", status="continuing"),
        valid_row(id="o5", structure="Renamed", date="2019", status="continuing"),
        valid_row(id="o6", structure="RENAMED", date="2019-01-01", status="continuing"),
    ]
    assert import_file(demo, write_file(rows), actor=ADMIN).ok
    before = stored(demo)
    with demo.transaction() as cur:
        for table, migration in (
            ("structure_register", "0005"),
            ("entry_counts", "0007"),
            ("mechanism_counts", "0009"),
        ):
            cur.execute(f"DROP TABLE {table}")
            cur.execute(next(SCHEMAS_DIR.glob(f"{migration}_*.sql")).read_text())
    old = stored(demo)
    assert old != before  # the old rule: both "Continuing since 2023-06", "Renamed" by its year
    for migration in ("0012", "0013", "0014", "0015"):  # each in its own transaction, as the store applies them
        with demo.transaction() as cur:
            cur.execute(migration_sql(next(SCHEMAS_DIR.glob(f"{migration}_*.sql")), demo.is_postgres))
    assert stored(demo) == before
    demo.cursor().execute("DELETE FROM structure_register; DELETE FROM entry_counts; DELETE FROM mechanism_counts")
    queries.rebuild_register(demo)
    assert stored(demo) == before


def test_entry_counts_are_compacted_once_writes_have_doubled_them(demo, monkeypatch):
    """Each write appends its change to entry_counts; after enough writes the rows are folded back
    to one per group, and the counts stay what the entries say throughout."""
    folded = demo.cursor().execute("SELECT count(*) FROM entry_counts").fetchone()[0]
    entry = entries.get_entry(demo, "voices-marg-2015")
    data = {k: getattr(entry, k) for k in ("id", "partnership", "kind", "title", "typology", "status", "host")}
    data |= {"mechanisms": entry.mechanisms, "structure": entry.structure}
    monkeypatch.setattr(queries, "COUNTS_SLACK", 10)
    version, peak = entry.version, folded
    for i in range(folded + 20):  # move the entry between two months: −1 and +1 rows each time
        saved = entries.save_entry(demo, {**data, "date": f"2015-0{1 + i % 2}"}, actor=ADMIN, base_version=version)
        version = saved.version
        peak = max(peak, demo.cursor().execute("SELECT count(*) FROM entry_counts").fetchone()[0])
    rows = demo.cursor().execute("SELECT count(*) FROM entry_counts").fetchone()[0]
    assert peak > 2 * folded and peak <= 2 * folded + 12 and rows < peak
    assert stored(demo) == computed(demo)
    assert queries.compact_counts(demo) == len(computed(demo)[1])
    assert demo.cursor().execute("SELECT count(*) FROM entry_counts").fetchone()[0] == len(computed(demo)[1])


@pytest.mark.parametrize("few_rows", [queries.FEW_ROWS, 0], ids=["ids named", "ids joined"])
def test_mechanism_counts_are_compacted_when_only_mechanisms_change(demo, monkeypatch, few_rows):
    """Edits that change only an entry's mechanisms add rows to mechanism_counts alone; those
    rows are folded too once they have doubled, and the counts stay what the entries say."""
    folded = demo.cursor().execute("SELECT count(*) FROM mechanism_counts").fetchone()[0]
    entry = entries.get_entry(demo, "voices-marg-2015")
    data = {k: getattr(entry, k) for k in ("id", "partnership", "kind", "title", "typology", "status", "host")}
    data |= {"date": entry.date.text, "structure": entry.structure}
    others = [m for m in demo.vocab()["mechanism"].labels if m not in entry.mechanisms][:2]
    monkeypatch.setattr(queries, "COUNTS_SLACK", 10)
    monkeypatch.setattr(queries, "FEW_ROWS", few_rows)  # the edited entry named in the SQL, or joined
    version, peak = entry.version, folded
    for i in range(folded // 2 + 20):  # swap two mechanisms: −1 and +1 rows for each, each time
        saved = entries.save_entry(demo, {**data, "mechanisms": [others[i % 2]]}, actor=ADMIN, base_version=version)
        version = saved.version
        peak = max(peak, demo.cursor().execute("SELECT count(*) FROM mechanism_counts").fetchone()[0])
    rows = demo.cursor().execute("SELECT count(*) FROM mechanism_counts").fetchone()[0]
    assert peak > 2 * folded and rows < peak
    assert stored(demo) == computed(demo)


def test_two_people_adding_entries_to_one_partnership_at_once_do_not_collide(demo):
    """Counts are appended, never rewritten: new entries of the same partnership saved at the same
    moment both succeed (rewriting the partnership's counts made every second one a Conflict)."""
    entry = entries.get_entry(demo, "voices-marg-2015")
    data = {k: getattr(entry, k) for k in ("partnership", "kind", "title", "typology", "status", "host")}
    data |= {"date": entry.date.text, "mechanisms": entry.mechanisms}
    barrier = threading.Barrier(2)
    failures: list[BaseException] = []

    def add(n: int) -> None:
        barrier.wait()
        try:
            for k in range(25):
                entries.save_entry(demo, {**data, "id": f"same-{n}-{k}", "date": f"{2000 + k}"}, actor=ADMIN)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=add, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    assert stored(demo) == computed(demo)


_COUNTED = [
    Filters(),
    Filters(partnerships=("voices", "golden-key")),
    Filters(programmes=("Fulfilling Lives",), kinds=("setback",)),
    Filters(typologies=("infrastructure", "coproduction")),
    Filters(conditions=("policies",)),
]


@pytest.mark.parametrize("filters", _COUNTED)
def test_reads_from_the_stored_counts_match_reading_every_entry(crowded, filters, monkeypatch):
    """Figures, heatmaps, latest entries and the binned timeline come from entry_counts and
    mechanism_counts when the filter allows (#6); they must be what reading the entries gives."""
    assert queries.counted(filters) is not None

    def reads() -> tuple:
        return (
            queries.count_entries(crowded, filters),
            queries.headline(crowded, filters),
            queries.heatmap(crowded, filters, "partnership", "typology"),
            queries.heatmap(crowded, filters, "typology", "partnership"),
            queries.entry_list(crowded, filters, limit=7, offset=3),
            queries.entry_list(crowded, filters, limit=10, columns=("date", "title", "mechanisms")),
            queries.timeline(crowded, filters, "partnership", max_rows=60),
            queries.timeline(crowded, filters, "partnership", max_rows=400),
        )

    fast = reads()
    monkeypatch.setattr(queries, "counted", lambda filters: None)
    slow = reads()
    assert fast[:2] == slow[:2] and fast[0] > 0
    for got, expected in zip(fast[2:6], slow[2:6], strict=True):
        pd.testing.assert_frame_equal(got, expected)
    for (got, got_binned), (expected, binned) in zip(fast[6:], slow[6:], strict=True):
        assert got_binned == binned
        pd.testing.assert_frame_equal(got, expected, check_dtype=False)


_COUNTED_PAIRS = [
    (r, c)
    for r in ("partnership", "typology", "condition", "mechanism")
    for c in ("partnership", "typology", "condition", "mechanism")
    if r != c
]


@pytest.mark.parametrize("filters", _COUNTED)
def test_heatmaps_from_the_stored_counts_match_reading_every_entry(crowded, filters, monkeypatch):
    """Every heatmap of partnerships, typologies, conditions and mechanisms comes from entry_counts
    or mechanism_counts when the filter allows (#6): cells and row totals as the entries give them."""
    fast = [queries.heatmap(crowded, filters, rows, cols) for rows, cols in _COUNTED_PAIRS]
    monkeypatch.setattr(queries, "counted", lambda filters: None)
    slow = [queries.heatmap(crowded, filters, rows, cols) for rows, cols in _COUNTED_PAIRS]
    for pair, got, expected in zip(_COUNTED_PAIRS, fast, slow, strict=True):
        assert expected["count"].sum() > 0, pair
        pd.testing.assert_frame_equal(got, expected, obj=str(pair))


def test_filters_the_counts_cannot_answer_read_the_entries():
    assert queries.counted(Filters(mechanisms=("personal-relationships",))) is None
    assert queries.counted(Filters(date_from=date(2020, 1, 1))) is None
    assert queries.counted(Filters(as_at=datetime(2024, 1, 1))) is None
    assert queries.counted(Filters(statuses=("continuing",), partnerships=("voices",))) is None


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(partnerships=("voices", "golden-key")),
        Filters(kinds=("setback",)),
        Filters(mechanisms=("personal-relationships",)),
    ],
)
def test_register_reads_match_the_register_computed_from_entries(demo, filters):
    scope, where, params = queries._parts(filters)
    slow = (
        demo.cursor()
        .execute(
            f"WITH {scope}, {queries._REGISTER_CTE.format(where=where)} SELECT * FROM register"
            " ORDER BY partnership, lower(structure)",
            params,
        )
        .df()
    )
    pd.testing.assert_frame_equal(queries.structures(demo, filters), slow)


@pytest.fixture
def crowded(store):
    """Demo data and 1,500 synthetic entries: hundreds of structures, most of them unconfirmed."""
    assert import_file(store, store.settings.sample, actor=ADMIN).ok
    assert synth.load(store, 1500, 4, actor=ADMIN).ok
    return store


@pytest.mark.parametrize("filters", [Filters(), Filters(kinds=("setback",)), Filters(as_at=datetime(2100, 1, 1))])
def test_the_register_and_checks_a_page_shows_are_the_first_of_the_whole_register(crowded, filters):
    """The page asks for the first 1,000 structures and 25 checks per partnership; picking them
    before labelling and linking (#6) must give exactly the head of the whole register."""
    today = date(2026, 11, 25)
    whole = verification.register(crowded, filters, today=today)
    assert len(whole) > 150
    first = verification.register(crowded, filters, today=today, limit=100)
    pd.testing.assert_frame_equal(first, whole.head(100))

    due = whole[whole["unverified"] & whole["status_slug"].isin(queries.SURVIVING)].copy()
    due["never"] = due["last_confirmed"].isna()
    due["name"] = due["structure"].str.lower()
    due = due.sort_values(
        ["partnership", "never", "last_confirmed", "name", "structure_key"], ascending=[True, False, True, True, True]
    )
    expected = due.groupby("partnership", sort=False).head(7)
    checks = verification.to_check(crowded, filters, today=today, per_partnership=7)
    assert len(due) > len(checks) > 10

    def pairs(frame):
        return list(frame[["partnership", "structure_key"]].itertuples(index=False, name=None))

    assert pairs(checks) == pairs(expected)
    sizes = due.groupby("partnership").size()
    assert all(checks["to_check"] == checks["partnership"].map(sizes))
    counts = verification.due(crowded, filters, today=today)
    assert dict(zip(counts["partnership"], counts["to_check"], strict=True)) == sizes.to_dict()
    one = counts.iloc[-1]  # one partnership's list, as the page asks for it
    alone = verification.to_check(crowded, filters, today=today, per_partnership=7, partnership=one["slug"])
    assert pairs(alone) == pairs(expected[expected["partnership"] == one["partnership"]])
    everything = verification.to_check(crowded, filters, today=today)
    assert sorted(pairs(everything)) == sorted(pairs(due))


def _values(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.astype(object).where(frame.notna(), None)


@pytest.mark.parametrize(
    "filters", [Filters(), Filters(partnerships=("voices", "golden-key")), Filters(as_at=datetime(2100, 1, 1))]
)
def test_the_register_pages_follow_each_other_through_the_whole_register(crowded, filters):
    """A page is ``limit`` rows from ``offset`` (#6): the pages in turn are the whole register, each
    page picked from only the partnerships it spans, also where a page starts mid-partnership."""
    today = date(2026, 11, 25)
    whole = verification.register(crowded, filters, today=today)
    assert whole["partnership"].nunique() > 1 and len(whole) > 4
    n = len(whole) // 7 + 1  # seven or eight pages, most starting mid-partnership
    # the partnerships a page spans found in SQL, or from the legacy summary's sizes (as the page does)
    sizes = queries.register_sizes_of(queries.legacy_summary(crowded, filters))
    assert sum(n for _, n in sizes) == len(whole) and len(sizes) == whole["partnership"].nunique()
    for given in (None, sizes):
        pages = [
            verification.register(crowded, filters, today=today, limit=n, offset=o, sizes=given)
            for o in range(0, len(whole), n)
        ]
        assert len(pages) >= 5 and all(len(page) == n for page in pages[:-1]) and 0 < len(pages[-1]) <= n
        # (a page where no structure has a host reads the column as objects: compare values)
        pd.testing.assert_frame_equal(_values(pd.concat(pages, ignore_index=True)), _values(whole))
        assert verification.register(crowded, filters, today=today, limit=n, offset=len(whole), sizes=given).empty
    assert verification.register_size(crowded, filters) == len(whole)


def test_the_stored_register_is_written_in_partnership_order(crowded):
    """An import (and a rebuild) writes structure_register by partnership and key, so that reading a
    page's partnerships skips the row groups of the others (#6). Physical order: the DuckDB file."""
    if crowded.is_postgres:
        pytest.skip("PostgreSQL keeps rows in its own order (it has an index on the key instead)")
    cur = crowded.cursor()

    def in_order(which: str = "TRUE") -> bool:
        stored = cur.execute(
            f"SELECT partnership, structure_key FROM structure_register WHERE {which} ORDER BY rowid"
        ).fetchall()
        return len(stored) > 20 and stored == sorted(stored)

    # the demo's import, then the synthetic one: each wrote its structures in order
    assert in_order("partnership LIKE 'synthetic-%'") and in_order("partnership NOT LIKE 'synthetic-%'")
    assert not in_order()
    queries.rebuild_register(crowded)
    assert in_order()


def test_every_page_of_the_register_names_the_links_of_its_structures(crowded):
    """A page reads only the links touching its structures and names only their ends (#6): page by
    page, and the checks' list, the links read as in the whole register, whichever end is on the page."""
    from tracker import links

    today = date(2026, 11, 25)
    whole = verification.register(crowded, today=today)
    rows = list(whole[["partnership_slug", "structure"]].itertuples(index=False, name=None))
    step = len(rows) // 3 + 1  # most links reach another partnership, and pages away
    for i in range(0, len(rows) - step, 9):
        links.add_link(crowded, ADMIN, rows[i], rows[i + step])
    links.add_link(crowded, ADMIN, rows[0], rows[1])  # both ends on the first page
    whole = verification.register(crowded, today=today)
    assert (whole["carried_on_as"] != "").sum() > 20 and (whole["grew_out_of"] != "").sum() > 20
    first = whole.iloc[0]
    names = dict(zip(whole["partnership_slug"] + "/" + whole["structure"], whole["partnership"], strict=True))
    successors = [rows[1], rows[step]]
    expected = sorted(f"{name} ({names[f'{slug}/{name}']}, " for slug, name in successors)
    assert [part.rsplit(", ", 1)[0] + ", " for part in first["carried_on_as"].split("; ")] == expected
    sizes = queries.register_sizes_of(queries.legacy_summary(crowded))
    n = len(whole) // 7 + 1
    for given in (None, sizes):
        pages = [
            verification.register(crowded, today=today, limit=n, offset=o, sizes=given) for o in range(0, len(whole), n)
        ]
        pd.testing.assert_frame_equal(_values(pd.concat(pages, ignore_index=True)), _values(whole))
    checks = verification.to_check(crowded, today=today, per_partnership=7)
    assert (checks["carried_on_as"] != "").any() or (checks["grew_out_of"] != "").any()
    for row in checks.itertuples():
        same = whole[
            (whole["partnership_slug"] == row.partnership_slug) & (whole["structure_key"] == row.structure_key)
        ]
        assert (same["carried_on_as"].item(), same["grew_out_of"].item()) == (row.carried_on_as, row.grew_out_of)


@pytest.mark.parametrize(
    ("offset", "limit", "expected"),
    [
        (0, 3, (["a"], 0)),
        (4, 3, (["a", "c"], 4)),  # b has no structures: not read
        (5, 3, (["c"], 0)),
        (6, 100, (["c", "d"], 1)),
        (12, 3, ([], 0)),  # past the end
    ],
)
def test_a_page_spans_the_partnerships_its_rows_fall_in(offset, limit, expected):
    assert verification.page_span([("a", 5), ("b", 0), ("c", 3), ("d", 4)], offset, limit) == expected


def test_the_register_search_finds_text_in_names_hosts_and_partnerships_and_chooses_statuses(crowded):
    """``find``: literal text, any case, in the structure's name, its host or its partnership's
    name; ``current``: current status slugs, ``NO_STATUS`` for none recorded. Paged like the rest."""
    today = date(2026, 11, 25)
    whole = verification.register(crowded, today=today)

    def expect(mask):
        return whole[mask].reset_index(drop=True)

    def found(**kwargs):
        size = verification.register_size(crowded, **kwargs)
        frame = verification.register(crowded, today=today, **kwargs)
        assert size == len(frame)
        return frame

    def same(got, want):  # values: a few rows without a host read the column as objects
        pd.testing.assert_frame_equal(_values(got), _values(want))

    def has(column, text):
        return whole[column].fillna("").str.lower().str.contains(text, regex=False)

    name = whole.loc[whole["host"].notna(), "structure"].iloc[0]
    text = name.split()[-1].upper()  # a word of a name, in other case
    want = expect(has("structure", text.lower()) | has("host", text.lower()) | has("partnership", text.lower()))
    assert len(want) >= 1
    same(found(find=f"  {text} "), want)
    host = whole["host"].dropna().iloc[0]
    assert host in set(found(find=host.lower())["host"])
    assert set(found(find="golden")["partnership"]) >= {"Golden Key"}  # a partnership's name
    assert found(find="%").empty and found(find="_").empty  # literal text, not a pattern
    running = expect(whole["status_slug"].isin(["continuing", "hosted-elsewhere"]))
    same(found(current=("continuing", "hosted-elsewhere")), running)
    unrecorded = expect(whole["status_slug"].isna())
    same(found(current=(verification.NO_STATUS,)), unrecorded)
    both = expect(has("partnership", "golden") & whole["status_slug"].eq("decommissioned"))
    assert len(both) >= 1
    same(found(find="GOLDEN", current=("decommissioned",)), both)
    second = verification.register(crowded, today=today, limit=5, offset=5, current=("continuing", "hosted-elsewhere"))
    same(second, running.iloc[5:10].reset_index(drop=True))


@pytest.mark.parametrize(
    ("filters", "find", "current"),
    [
        (Filters(), "", ()),
        (Filters(partnerships=("voices", "golden-key")), "", ()),
        (Filters(as_at=datetime(2100, 1, 1)), "", ()),
        (Filters(), "golden", ("decommissioned", verification.NO_STATUS)),
    ],
)
def test_the_register_csv_is_the_whole_register_row_by_row(crowded, filters, find, current, monkeypatch):
    """Written a batch at a time from the query, not from a frame (#6: 825 MB at 1M): the same
    rows as the register, headings from REGISTER_CSV, dates as YYYY-MM-DD, formulas neutralised."""
    import csv
    import io

    from tracker.interchange import neutralise

    today = date(2026, 11, 25)
    entries.save_entry(
        crowded, valid_row(id="formula", partnership="golden-key", structure="=HYPERLINK(1)"), actor=ADMIN
    )
    monkeypatch.setattr(verification, "CSV_BATCH", 4)  # several batches, one cut short
    whole = verification.register(crowded, filters, today=today, find=find, current=current)
    assert len(whole) > 4 or find
    text = verification.register_csv(crowded, filters, today=today, find=find, current=current).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == list(verification.REGISTER_CSV.values())

    def cell(value):
        if value is None or value is pd.NaT or (isinstance(value, float) and value != value):
            return ""
        return neutralise(value.strftime("%Y-%m-%d") if isinstance(value, (date, pd.Timestamp)) else str(value))

    months = crowded.settings.verify_months
    want = [
        [
            (f"Not confirmed for {months}+ months" if record["unverified"] else "")
            if name == "confirmation"
            else cell(record[name])
            for name in verification.REGISTER_CSV
        ]
        for record in whole.to_dict("records")
    ]
    assert rows[1:] == want
    assert not any(" 00:00:00" in value for row in rows for value in row)
    confirmed = [row[7] for row in rows[1:] if row[7]]
    assert all(len(value) == 10 for value in confirmed)
    if not find and not filters.partnerships and filters.as_at is None:
        assert confirmed, "some structures have a confirmation date"
        assert [row[1] for row in rows[1:] if "HYPERLINK" in row[1]] == ["'=HYPERLINK(1)"]


_AREAS = [
    Filters(partnerships=("voices", "golden-key")),
    Filters(programmes=("Fulfilling Lives",)),
    Filters(programmes=(synth.PROGRAMME,), partnerships=("voices",)),  # none in both: nothing
]


@pytest.mark.parametrize("filters", _AREAS)
def test_a_view_of_whole_areas_reads_their_rows_of_the_stored_register(crowded, filters, monkeypatch):
    """Every structure of a chosen area is in the view (#6): its rows of structure_register, not a
    pass over the areas' entries to find the structures they name. Every read of the register gives
    what finding them from the entries gives, also after the only entry of a structure is deleted."""
    today = date(2026, 11, 25)
    ctes, _ = queries.grouped_scope(filters)
    assert "matched" not in ctes and "structure_register g WHERE" in ctes
    assert "matched" in queries.grouped_scope(replace(filters, kinds=("setback",)))[0]
    assert "matched" not in queries.grouped_scope(Filters())[0]

    def reads() -> tuple:
        return (
            queries.headline(crowded, filters),
            verification.figures(crowded, filters, today=today),
            queries.structures(crowded, filters),
            queries.legacy_summary(crowded, filters),
            verification.register(crowded, filters, today=today, limit=40, offset=5),
            survival.curves(crowded, filters)[0],
            survival.curves(crowded, filters, origin="start", by="partnership")[0],
        )

    def both() -> tuple[tuple, tuple]:
        with monkeypatch.context() as m:
            fast = reads()
            m.setattr(queries, "_areas_only", lambda filters: False)
            return fast, reads()

    only = (
        crowded.cursor()
        .execute(
            "SELECT any_value(id) FROM entries WHERE structure_key IS NOT NULL AND deleted_at IS NULL"
            " AND partnership IN ('voices', 'golden-key', 'blackpool')"
            " GROUP BY partnership, structure_key HAVING count(*) = 1 ORDER BY 1 LIMIT 1"
        )
        .fetchone()[0]
    )
    for step in ("as loaded", "a structure's only entry deleted"):
        if step != "as loaded":
            entries.delete_entry(crowded, only, actor=ADMIN)
        fast, slow = both()
        assert fast[:2] == slow[:2], step
        for got, expected in zip(fast[2:], slow[2:], strict=True):
            pd.testing.assert_frame_equal(got, expected, obj=step)
        if filters.programmes != (synth.PROGRAMME,):
            assert fast[0]["structures"] > 0 and len(fast[2]) == fast[0]["structures"]
        else:
            assert fast[0]["structures"] == 0


@pytest.mark.parametrize(
    "filters", [Filters(), Filters(partnerships=("voices", "golden-key")), Filters(as_at=datetime(2100, 1, 1))]
)
def test_the_unverified_counts_are_the_registers_flags(crowded, filters):
    """Counted per status, the running ones summed in Python (#6): as the register flags them (only
    structures still running: a closed one is never flagged, #8)."""
    today = date(2026, 11, 25)
    whole = verification.register(crowded, filters, today=today)
    flagged = whole[whole["unverified"]]
    running = int(flagged["status_slug"].isin(queries.SURVIVING).sum())
    assert 0 < running == len(flagged)
    confirmed = pd.to_datetime(whole["last_confirmed"])
    stale = (confirmed.isna() | (confirmed < pd.Timestamp(verification.cutoff(today, 12)))) & whole[
        "status_slug"
    ].notna()
    assert int(stale.sum()) > running  # closed structures not confirmed lately, and not flagged
    assert verification.unverified(crowded, filters, today=today) == {"unverified": len(flagged), "running": running}


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(partnerships=("voices", "golden-key")),
        Filters(kinds=("setback",)),
        Filters(date_from=date(2016, 1, 1)),
        Filters(as_at=datetime(2100, 1, 1)),
    ],
)
def test_the_overview_figures_are_the_headline_and_the_unverified_counts(crowded, filters):
    """One pass over the register for both (#6): the same figures as asking each."""
    today = date(2026, 11, 25)
    for n in range(2):  # structures with no status recorded yet (a setback naming them, say)
        row = valid_row(id=f"nostatus-{n}", kind="setback", status="", structure=f"Unstatused panel {n}")
        entries.save_entry(crowded, row, actor=ADMIN)
    figures = verification.figures(crowded, filters, today=today)
    expected = {**queries.headline(crowded, filters), **verification.unverified(crowded, filters, today=today)}
    assert figures == expected
    assert figures["structures"] > 0 and 0 < figures["running"] <= figures["unverified"]
    whole = verification.register(crowded, filters, today=today)
    assert figures["structures"] == len(whole)
    assert figures["not-recorded"] == int(whole["status_slug"].isna().sum())
    if filters == Filters():
        assert figures["not-recorded"] >= 2


@pytest.mark.parametrize(
    "filters",
    [
        Filters(),
        Filters(partnerships=("voices", "golden-key")),
        Filters(kinds=("setback",)),
        Filters(as_at=datetime(2100, 1, 1)),
    ],
)
def test_status_and_survival_tables_match_counting_the_labelled_register(crowded, filters):
    """Counted per slug, then labelled (#6): the same as grouping the labelled register."""
    ctes, params = queries.register_scope(filters)
    cur = crowded.cursor()
    by_status = cur.execute(
        f"WITH {ctes} SELECT partnership, status, count(*) AS structures, min(status_order) AS status_order"
        " FROM register GROUP BY partnership, status ORDER BY partnership, status_order",
        params,
    ).df()
    surviving = cur.execute(
        f"WITH {ctes} SELECT partnership, any_value(partnership_end) AS partnership_end, count(*) AS structures,"
        " count(*) FILTER (WHERE status_slug IN ('continuing', 'hosted-elsewhere')) AS surviving,"
        " count(*) FILTER (WHERE status_slug IN ('continuing', 'hosted-elsewhere')"
        "                  AND last_confirmed >= partnership_end) AS confirmed_after_end"
        " FROM register GROUP BY partnership ORDER BY partnership",
        params,
    ).df()
    surviving["share_surviving"] = surviving["surviving"] / surviving["structures"]
    assert len(by_status) >= 3
    pd.testing.assert_frame_equal(queries.structure_status_counts(crowded, filters), by_status, check_dtype=False)
    pd.testing.assert_frame_equal(queries.survival(crowded, filters), surviving, check_dtype=False)


# The heatmap as first written: every dimension as (id, kind, key) members, rows joined to columns.
_MEMBERS = {
    "partnership": "SELECT f.id, f.kind, f.partnership AS key FROM f",
    "typology": "SELECT f.id, f.kind, f.typology AS key FROM f",
    "mechanism": "SELECT f.id, f.kind, m.mechanism AS key FROM f JOIN cur_mechanisms m ON m.entry_id = f.id",
    "sector": "SELECT f.id, f.kind, s.sector AS key FROM f JOIN cur_sectors s ON s.entry_id = f.id",
    "condition": "SELECT f.id, f.kind, x.condition AS key FROM f JOIN crosswalk x ON x.typology = f.typology",
}


def reference_heatmap(store, filters, rows, cols):
    scope, where, params = queries._parts(filters)
    row_domain, row_params = queries._domain(rows, filters)
    col_domain, col_params = queries._domain(cols, filters)
    sql = f"""
    WITH {scope}, f AS (SELECT e.id, e.kind, e.partnership, e.typology FROM cur_entries e WHERE {where}),
    r AS ({_MEMBERS[rows]}), c AS ({_MEMBERS[cols]}),
    cells AS (
        SELECT r.key AS row_key, c.key AS col_key, count(*) AS n,
               count(*) FILTER (WHERE r.kind = 'milestone') - count(*) FILTER (WHERE r.kind = 'setback') AS net
        FROM r JOIN c ON c.id = r.id GROUP BY ALL
    ),
    totals AS (SELECT key AS row_key, count(DISTINCT id) AS total FROM r GROUP BY key),
    rd AS ({row_domain}), cd AS ({col_domain})
    SELECT rd.label AS row, cd.label AS col, rd.pos AS row_order, cd.pos AS col_order, rd.key AS row_key,
           cd.key AS col_key, coalesce(cells.n, 0) AS count, coalesce(cells.n, 0) / nullif(totals.total, 0) AS share,
           coalesce(cells.net, 0) AS net, coalesce(totals.total, 0) AS total
    FROM rd CROSS JOIN cd
    LEFT JOIN cells ON cells.row_key = rd.key AND cells.col_key = cd.key
    LEFT JOIN totals ON totals.row_key = rd.key
    ORDER BY rd.pos, cd.pos
    """
    frame = store.cursor().execute(sql, [*params, *row_params, *col_params]).df()
    frame["share"] = frame["share"].fillna(0.0).astype(float)
    for column in ("count", "net", "total", "row_order", "col_order"):
        frame[column] = frame[column].astype(int)
    return frame


PAIRS = [(r, c) for r in queries.HEATMAP_DIMENSIONS for c in queries.HEATMAP_DIMENSIONS if r != c]


@pytest.mark.parametrize(("rows", "cols"), PAIRS)
def test_heatmap_cells_match_the_row_by_column_join(demo, rows, cols):
    for filters in (Filters(), Filters(partnerships=("voices",), kinds=("milestone",), as_at=datetime.now())):
        pd.testing.assert_frame_equal(
            queries.heatmap(demo, filters, rows, cols), reference_heatmap(demo, filters, rows, cols)
        )


def reference_binned(store, filters, lane, max_rows):
    label, order, cond = {
        "partnership": ("p.name", "p.name", "TRUE"),
        "structure": (
            "p.name || ' · ' || arg_max(e.structure, (e.date_start, e.date_end, e.seq)) OVER (PARTITION BY e.partnership, e.structure_key)",
            "p.name, e.structure_key",
            "e.structure_key IS NOT NULL",
        ),
    }[lane]
    scope, where, params = queries._parts(filters)
    for grain, typology in (("month", "ty.label"), ("year", "ty.label"), ("year", "'(several)'")):
        sql = f"""
        WITH {scope}, base AS (
            SELECT {label} AS lane, dense_rank() OVER (ORDER BY {order}) AS lane_order,
                   date_trunc('{grain}', e.date_start) AS start, e.kind, {typology} AS typology
            FROM cur_entries e
            JOIN partnerships p ON p.slug = e.partnership
            JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = e.typology
            WHERE {where} AND {cond}
        )
        SELECT lane, lane_order, start, start + INTERVAL 1 {grain} AS "end", kind, typology, count(*) AS count
        FROM base GROUP BY ALL ORDER BY lane_order, start, kind, typology
        """
        frame = store.cursor().execute(sql, params).df()
        if len(frame) <= max_rows:
            break
    frame = frame.head(max_rows)
    frame["start"] = pd.to_datetime(frame["start"])
    frame["end"] = pd.to_datetime(frame["end"])
    return frame


@pytest.mark.parametrize("lane", ["partnership", "structure"])
@pytest.mark.parametrize("max_rows", [10, 40, 80])
def test_binned_timeline_matches_counting_every_entry(demo, lane, max_rows):
    for filters in (Filters(), Filters(kinds=("milestone",)), Filters(as_at=datetime.now() + timedelta(days=1))):
        frame, binned = queries.timeline(demo, filters, lane, max_rows=max_rows)
        if not binned:  # few enough to draw one by one
            continue
        pd.testing.assert_frame_equal(frame, reference_binned(demo, filters, lane, max_rows), check_dtype=False)


def month_rows(store, filters):
    """The binned timeline's month rows, counted from the entries."""
    scope, where, params = queries._parts(filters)
    sql = f"""WITH {scope} SELECT count(*) FROM (SELECT DISTINCT e.partnership, date_trunc('month', e.date_start),
              e.kind, e.typology FROM cur_entries e WHERE {where})"""
    return store.cursor().execute(sql, params).fetchone()[0]


@pytest.mark.parametrize("state", ["as written", "folded", "folded, then a group emptied"])
def test_the_binned_timeline_picks_months_exactly_whatever_state_the_stored_counts_are_in(crowded, state):
    """The timeline knows from bounds on the stored counts whether its month rows fit (schemas/0014):
    at most one row a group; at least the folded rows less the negative ones. At and around the
    exact number of month rows it still picks months or years as counting every entry does."""
    if state != "as written":  # as imported: every row appended, none folded
        queries.compact_counts(crowded)
    if state == "folded, then a group emptied":  # a negative row brings a folded group to zero
        alone = (
            crowded.cursor()
            .execute(
                "SELECT min(id) FROM entries WHERE deleted_at IS NULL GROUP BY partnership, date_trunc('month', date_start),"
                " kind, typology HAVING count(*) = 1 ORDER BY 1 LIMIT 1"
            )
            .fetchone()[0]
        )
        entries.delete_entry(crowded, alone, actor=ADMIN)
        negative = crowded.cursor().execute("SELECT count(*) FROM entry_counts WHERE entries < 0").fetchone()[0]
        assert negative >= 1
    for filters in (Filters(), Filters(kinds=("milestone",))):
        exact = month_rows(crowded, filters)
        for max_rows in (exact - 1, exact, exact + 1):
            frame, binned = queries.timeline(crowded, filters, "partnership", max_rows=max_rows)
            assert binned
            assert charts_binned_by_year(frame) == (exact > max_rows), (state, filters, max_rows, exact)
            pd.testing.assert_frame_equal(
                frame, reference_binned(crowded, filters, "partnership", max_rows), check_dtype=False
            )


def charts_binned_by_year(frame):
    from tracker.charts import binned_by_year

    return binned_by_year(frame)


@pytest.mark.parametrize(
    "filters",
    [Filters(), Filters(kinds=("setback",)), Filters(as_at=datetime(2100, 1, 1))],
    ids=["all", "kind", "as-at"],
)
def test_a_timeline_with_more_structures_than_lanes_draws_the_busiest(crowded, filters):
    """One lane per structure at a programme's scale: 300,000 lanes at a million entries, which no
    chart can draw (the first 5,000 binned rows, 1,846 lanes, took 4 s). The timeline draws the
    structures with the most entries, each exactly as in the whole timeline (#6)."""
    register = queries.structures(crowded, filters)
    only, total = queries.structure_lanes(crowded, filters, 12)
    assert total == len(register) > 12 and len(only) == 12
    # the busiest, ties by partnership and key
    busiest = register.sort_values(["entries", "partnership_slug", "structure_key"], ascending=[False, True, True])
    assert list(only) == list(zip(busiest["partnership_slug"].head(12), busiest["structure_key"].head(12), strict=True))
    whole, binned = queries.timeline(crowded, filters, "structure", max_rows=100_000)
    some, some_binned = queries.timeline(crowded, filters, "structure", only=only)
    assert not binned and not some_binned
    names = {
        f"{r.partnership} · {r.structure}"
        for r in register.itertuples()
        if (r.partnership_slug, r.structure_key) in set(only)
    }
    assert set(some["lane"]) == names
    columns = [c for c in whole.columns if c != "lane_order"]  # lanes are numbered among those drawn
    expected = whole[whole["lane"].isin(names)][columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(some[columns].reset_index(drop=True), expected)
    segments = queries.status_segments(crowded, filters, only=only)
    every = queries.status_segments(crowded, filters)
    keep = ["lane", "start", "end", "status", "label"]
    pd.testing.assert_frame_equal(
        segments[keep].reset_index(drop=True), every[every["lane"].isin(names)][keep].reset_index(drop=True)
    )
    with pytest.raises(ValueError, match="only chooses structure lanes"):
        queries.timeline(crowded, filters, "partnership", only=only)
