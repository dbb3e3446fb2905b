"""Imports are all-or-nothing, idempotent by id, and report every problem by row and column."""

import json

import duckdb
import pytest

from tests.conftest import ADMIN, csv_bytes, valid_row
from tracker import entries, queries
from tracker.config import Settings
from tracker.entries import get_entry, save_entry
from tracker.importer import import_file
from tracker.store import Store


def count(store, table="entries"):
    return store.cursor().execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def snapshot(store):
    return list(queries.export_rows(store))


def test_valid_file_is_stored_and_counted(store, write_file):
    report = import_file(
        store, write_file([valid_row(id="a"), valid_row(id="b", kind="setback", status="")]), actor=ADMIN
    )
    assert report.ok, report.problems
    assert (report.rows_read, report.created, report.updated, report.unchanged) == (2, 2, 0, 0)
    assert count(store) == 2
    assert count(store, "entry_mechanisms") == 4


def test_a_term_repeated_in_a_cell_is_stored_once(store, write_file):
    """The list tables have no key since migration 0008 (#6): the model keeps each term once."""
    rows = [
        valid_row(id="a", mechanisms="Personal relationships; personal relationships;Personal relationships"),
        valid_row(id="b", sectors="Housing and homelessness; Housing and homelessness"),
    ]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    twice = (
        store.cursor()
        .execute(
            "SELECT count(*) FROM (SELECT entry_id, mechanism FROM entry_mechanisms GROUP BY ALL HAVING count(*) > 1)"
            " UNION ALL SELECT count(*) FROM (SELECT entry_id, sector FROM entry_sectors GROUP BY ALL HAVING count(*) > 1)"
        )
        .fetchall()
    )
    assert twice == [(0,), (0,)]
    assert get_entry(store, "a").mechanisms == ["personal-relationships"]
    assert count(store, "entry_mechanisms") == 1 + 2  # a: one; b: the two of valid_row
    assert import_file(store, write_file(rows), actor=ADMIN).ok  # again: unchanged, still once each
    assert count(store, "entry_mechanisms") == 3


def test_one_bad_row_stores_nothing_and_reports_every_problem(store, write_file):
    rows = [valid_row(id=f"r{i}") for i in range(5)]
    rows[1]["typology"] = "Leadrship"
    rows[3]["status"] = "hosted elsewhere"
    rows[3]["date"] = "2019-13"
    report = import_file(store, write_file(rows), actor=ADMIN)
    assert not report.ok
    assert [str(p) for p in report.problems] == [
        "row 3, column typology: unknown typology 'Leadrship' — did you mean 'Leadership'?",
        "row 5, column date: '2019-13' has month 13; months run 01 to 12",
        "row 5, column host: is required when the status is 'Hosted elsewhere': name the organisation that hosts it now",
    ]
    assert count(store) == 0 and count(store, "entry_mechanisms") == 0
    assert "nothing was stored" in report.summary()


def test_reimporting_the_same_file_changes_nothing(store, write_file):
    path = write_file([valid_row(id="a"), valid_row(id="b")])
    import_file(store, path, actor=ADMIN)
    before = store.cursor().execute("SELECT id, updated_at FROM entries ORDER BY id").fetchall()
    report = import_file(store, path, actor=ADMIN)
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)
    assert store.cursor().execute("SELECT id, updated_at FROM entries ORDER BY id").fetchall() == before


def test_existing_id_updates_that_entry_and_keeps_created_at(store, write_file):
    import_file(store, write_file([valid_row(id="a")]), actor=ADMIN)
    created = get_entry(store, "a").created_at
    report = import_file(store, write_file([valid_row(id="a", title="Renamed", mechanisms="Flexibility")]), actor=ADMIN)
    assert (report.created, report.updated) == (0, 1)
    entry = get_entry(store, "a")
    assert entry.title == "Renamed" and entry.mechanisms == ["flexibility"]
    assert entry.created_at == created and entry.updated_at >= created
    assert count(store, "entry_mechanisms") == 1


@pytest.mark.parametrize("few_rows", [queries.FEW_ROWS, 0], ids=["ids named", "ids joined"])
def test_a_change_to_a_list_alone_is_an_update_and_the_order_of_its_terms_is_not(
    store, write_file, monkeypatch, few_rows
):
    """The lists are compared only when some rows are stored already (#6); then as sets. A write of
    few rows names their ids in its SQL; with ``FEW_ROWS`` 0 every write joins them instead."""
    monkeypatch.setattr(queries, "FEW_ROWS", few_rows)
    two = "Cross-agency networks and groups; Personal relationships"
    rows = [valid_row(id=i) for i in ("a", "b", "c", "d")]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    again = [
        valid_row(id="a", mechanisms="Personal relationships; Cross-agency networks and groups"),  # same set
        valid_row(id="b", sectors="Housing and homelessness; Criminal justice"),  # a sector more
        valid_row(id="c", mechanisms="Personal relationships"),  # a mechanism fewer
        valid_row(id="d", mechanisms=two, sectors=""),  # no sectors now
        valid_row(id="e"),  # new
    ]
    report = import_file(store, write_file(again), actor=ADMIN)
    assert report.ok and (report.created, report.updated, report.unchanged) == (1, 3, 1), report
    assert [get_entry(store, i).version for i in "abcde"] == [1, 2, 2, 2, 1]
    assert get_entry(store, "b").sectors == ["criminal-justice", "housing"]
    assert get_entry(store, "c").mechanisms == ["personal-relationships"] and get_entry(store, "d").sectors == []
    # a form save that changes only the mechanisms is an update too; the same set again is not
    data = dict(valid_row(id="a"), mechanisms=["personal-relationships"])
    assert save_entry(store, data, actor=ADMIN, base_version=1).version == 2
    assert save_entry(store, data, actor=ADMIN, base_version=2).version == 2
    assert [
        v for (v,) in store.cursor().execute("SELECT version FROM entry_history WHERE id = 'a' ORDER BY 1").fetchall()
    ] == [1, 2]


def test_empty_ids_get_new_ids(store, write_file):
    report = import_file(store, write_file([valid_row(id=""), valid_row(id="")]), actor=ADMIN)
    assert report.created == 2
    ids = [r[0] for r in store.cursor().execute("SELECT id FROM entries").fetchall()]
    assert len(set(ids)) == 2 and all(len(i) == 16 for i in ids)


def test_duplicate_ids_in_one_file_are_refused(store, write_file):
    report = import_file(store, write_file([valid_row(id="a"), valid_row(id="b"), valid_row(id="a")]), actor=ADMIN)
    assert [str(p) for p in report.problems] == ["row 4, column id: id 'a' is used on rows 2, 4; ids must be unique"]
    assert count(store) == 0


def test_dry_run_reports_without_storing(store, write_file):
    import_file(store, write_file([valid_row(id="a")]), actor=ADMIN)
    report = import_file(
        store, write_file([valid_row(id="a", title="New title"), valid_row(id="b")]), dry_run=True, actor=ADMIN
    )
    assert report.ok and (report.created, report.updated, report.unchanged) == (1, 1, 0)
    assert [p["action"] for p in report.preview] == ["update", "create"]
    assert count(store) == 1 and get_entry(store, "a").title == "MaRG set up"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the file is empty"),
        (csv_bytes([]), "the file has a header but no rows to import"),
        (b"id;partnership;date\r\n1;VOICES;2019\r\n", "separated by semicolons"),
    ],
)
def test_empty_header_only_and_wrong_delimiter(store, write_file, content, message):
    report = import_file(store, write_file(content), actor=ADMIN)
    assert not report.ok and message in str(report.problems[0])
    assert count(store) == 0


def test_unsupported_extension(store, write_file):
    report = import_file(store, write_file(b"x", name="in.txt"), actor=ADMIN)
    assert "unsupported file type '.txt'" in str(report.problems[0])


def test_batches_are_flushed_and_still_all_or_nothing(tmp_path, write_file):
    settings = Settings(db=str(tmp_path / "b.duckdb"), import_batch_rows=100)
    with Store(settings.db, settings) as small:
        rows = [valid_row(id=f"r{i}") for i in range(450)]
        assert import_file(small, write_file(rows), actor=ADMIN).created == 450
        rows.append(valid_row(id="bad", kind="nonsense"))
        rows[0]["title"] = "changed"
        report = import_file(small, write_file(rows), actor=ADMIN)
        assert not report.ok and report.problems[0].row == 452
        assert get_entry(small, "r0").title == "MaRG set up"
        assert count(small) == 450


def test_problem_list_is_capped_but_counted(tmp_path, write_file):
    settings = Settings(db=str(tmp_path / "c.duckdb"), max_errors=10)
    with Store(settings.db, settings) as capped:
        report = import_file(capped, write_file([valid_row(id=f"r{i}", kind="x") for i in range(25)]), actor=ADMIN)
        assert len(report.problems) == 10 and report.more_problems == 15
        assert report.summary().startswith("25 problems found in 25 rows")


def test_import_applies_in_one_transaction(store, write_file, monkeypatch):
    """A failure half-way through writing leaves the store exactly as it was."""
    import_file(store, write_file([valid_row(id="keep")]), actor=ADMIN)
    before = snapshot(store)
    from tracker import entries

    original = entries._UPDATE_CHANGED
    monkeypatch.setattr(entries, "_UPDATE_CHANGED", original + " AND no_such_column = 1")
    with pytest.raises(duckdb.Error):
        import_file(store, write_file([valid_row(id="keep", title="x"), valid_row(id="new")]), actor=ADMIN)
    assert snapshot(store) == before


def test_progress_is_reported(tmp_path, write_file):
    settings = Settings(db=str(tmp_path / "p.duckdb"), import_batch_rows=100)
    seen = []
    with Store(settings.db, settings) as s:
        import_file(s, write_file([valid_row(id=f"r{i}") for i in range(250)]), progress=seen.append, actor=ADMIN)
    assert seen == [100, 200, 250]


def test_demo_data_imports_cleanly(store):
    report = import_file(store, store.settings.sample, actor=ADMIN)
    assert report.ok, report.problems
    assert report.created >= 40
    covered = {r["partnership"] for r in queries.summary(store, ["partnership"])}
    assert len(covered) == 12


def test_evidence_and_voice_are_stored_and_exported(store, write_file):
    row = valid_row(id="q", quote="It was absolutely critical", speaker="Stakeholder, Housing", contribution="Direct")
    assert import_file(store, write_file([row]), actor=ADMIN).ok
    stored = get_entry(store, "q")
    assert (stored.quote, stored.speaker, stored.contribution) == (
        "It was absolutely critical",
        "Stakeholder, Housing",
        "direct",
    )
    exported = next(queries.export_rows(store))
    assert (exported["quote"], exported["speaker"], exported["contribution"]) == (
        "It was absolutely critical",
        "Stakeholder, Housing",
        "direct",
    )
    report = import_file(store, write_file([valid_row(id="q2", speaker="Stakeholder, Housing")]), actor=ADMIN)
    assert "column speaker: is the role of the person quoted" in str(report.problems[0])


def _seqs(store):
    return dict(store.cursor().execute("SELECT id, seq FROM entries").fetchall())


def test_new_entries_are_numbered_after_the_largest_stored_seq_whatever_the_store_remembers(store, write_file):
    """The next seq is asked from the largest this process has seen (#6: PostgreSQL answers that from
    its index): rows numbered elsewhere since, and a remembered number above every stored one, are
    both handled."""
    entries.save_entry(store, valid_row(id="a1"), actor=ADMIN)
    assert import_file(store, write_file([valid_row(id=f"b{i}", title=f"B {i}") for i in range(3)]), actor=ADMIN).ok
    entries.save_entry(store, valid_row(id="a2"), actor=ADMIN)
    seqs = _seqs(store)
    assert seqs["a1"] < seqs["b0"] < seqs["b1"] < seqs["b2"] < seqs["a2"]
    assert store.seq_floor == seqs["b2"]  # the largest when a2 was saved
    # another replica numbered an entry since, beyond what this store has seen
    with store.transaction() as cur:
        cur.execute("UPDATE entries SET seq = seq + 100 WHERE id = 'b1'")
    entries.save_entry(store, valid_row(id="a3"), actor=ADMIN)
    assert _seqs(store)["a3"] == seqs["b1"] + 101
    # a remembered number above every stored one (the store was replaced): asked again in full
    store.seq_floor = 10**9
    entries.save_entry(store, valid_row(id="a4"), actor=ADMIN)
    assert _seqs(store)["a4"] == seqs["b1"] + 102 and store.seq_floor == seqs["b1"] + 101


def test_a_parquet_date_column_is_checked_as_a_written_date_is(store, tmp_path):
    """Parquet files from pandas or DuckDB often hold dates as dates, not text: the same rules apply
    (a date in the future or before 1900 is a problem on its record, not stored, not a crash)."""
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    def parquet(day):
        row = valid_row(id="p1", mechanisms=["Personal relationships"], sectors=["Housing and homelessness"])
        path = tmp_path / f"{day}.parquet"
        pq.write_table(pa.Table.from_pylist([{**row, "date": day}]), path)
        return path

    report = import_file(store, parquet(datetime.date(2019, 6, 30)), actor=ADMIN)
    assert report.ok, report.problems
    assert get_entry(store, "p1").date.text == "2019-06-30"
    future = datetime.date.today() + datetime.timedelta(days=400)
    for day, message in ((future, "is in the future"), (datetime.date(1850, 1, 1), "year 1850 is too early")):
        report = import_file(store, parquet(day), actor=ADMIN)
        assert [(p.row, p.column) for p in report.problems] == [(1, "date")]
        assert message in report.problems[0].message
    assert get_entry(store, "p1").date.text == "2019-06-30"


def test_a_date_typed_in_excel_with_a_point_is_named_as_a_number_not_a_date(store, tmp_path):
    """2019.06 typed into an Excel cell is stored as a number: the problem says so and what to write,
    where it said "must be text, got float". A whole year (2019) is a year, as it always was."""
    import openpyxl

    from tracker.interchange import COLUMNS

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(COLUMNS))
    for id_, day in (("x1", 2019.06), ("x2", 2019)):
        row = valid_row(id=id_)
        sheet.append([day if c == "date" else row.get(c) or None for c in COLUMNS])
    path = tmp_path / "points.xlsx"
    book.save(path)
    report = import_file(store, path, actor=ADMIN)
    assert [str(p) for p in report.problems] == [
        "row 2, column date: 2019.06 is a number, not a date: write it as YYYY, YYYY-MM or YYYY-MM-DD "
        "(e.g. 2019, 2019-06 or 2019-06-30); a spreadsheet takes a date typed with a point (2019.06) as a number"
    ]
    sheet.delete_rows(2)
    book.save(path)
    assert import_file(store, path, actor=ADMIN).ok
    assert get_entry(store, "x2").date.text == "2019"


def test_rows_refused_for_their_number_of_cells_are_counted_as_read(store, write_file):
    """The summary counts every row the file has, also one refused for too few or too many cells:
    it said "1 problem(s) found in 0 row(s)"."""
    body = csv_bytes([valid_row(id="a")]).split(b"\r\n", 1)[1]
    content = csv_bytes([]) + b"a,b,c\r\n" + body + body.rstrip() + b",extra\r\n"
    report = import_file(store, write_file(content), actor=ADMIN)
    assert [p.row for p in report.problems] == [2, 4]
    assert report.summary() == "2 problems found in 3 rows; nothing was stored"
    report = import_file(store, write_file(csv_bytes([]) + b"a,b,c\r\n"), actor=ADMIN)
    assert report.summary() == "1 problem found in 1 row; nothing was stored"
    record = {**valid_row(id="j"), "notes": "x"}
    report = import_file(store, write_file(json.dumps([record]).encode(), name="in.json"), actor=ADMIN)
    assert report.summary() == "1 problem found in 1 record; nothing was stored"
    assert count(store) == 0


def test_a_number_given_for_a_title_in_json_or_parquet_is_stored_as_its_text(store, tmp_path):
    """The title 2.5 from a JSON record or a Parquet float column is stored as "2.5", as from XLSX;
    both files were refused ("row 1, column title: must be text, got float")."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "in.json"
    path.write_text(json.dumps([{**valid_row(id="j1"), "title": 2.5}]))
    report = import_file(store, path, actor=ADMIN)
    assert report.ok, [str(p) for p in report.problems]
    path = tmp_path / "in.parquet"
    pq.write_table(pa.Table.from_pylist([{**valid_row(id="p1"), "title": 0.25}]), path)
    report = import_file(store, path, actor=ADMIN)
    assert report.ok, [str(p) for p in report.problems]
    assert (get_entry(store, "j1").title, get_entry(store, "p1").title) == ("2.5", "0.25")  # type: ignore[union-attr]


def test_the_summary_reads_as_a_sentence_with_counts_and_verbs_that_agree(store, write_file):
    """What the import page and the CLI say: "1 row read: 1 was created…", "3 rows read: … 2 were
    updated…", "1 problem found in 2 rows". It said "1 row(s) read: 1 were created, 0 were updated"."""
    report = import_file(store, write_file([valid_row(id="a")]), actor=ADMIN, dry_run=True)
    assert report.summary() == "1 row read: 1 would be created, 0 would be updated, 0 unchanged"
    report = import_file(store, write_file([valid_row(id="a")]), actor=ADMIN)
    assert report.summary() == "1 row read: 1 was created, 0 were updated, 0 unchanged"
    rows = [valid_row(id="a", title="Changed"), valid_row(id="b"), valid_row(id="c")]
    import_file(store, write_file([valid_row(id="b")]), actor=ADMIN)
    report = import_file(store, write_file(rows), actor=ADMIN)
    assert report.summary() == "3 rows read: 1 was created, 1 was updated, 1 unchanged"
    report = import_file(store, write_file([valid_row(id="d", kind="x"), valid_row(id="e")]), actor=ADMIN)
    assert report.summary() == "1 problem found in 2 rows; nothing was stored"


def test_header_problems_say_column_or_columns_as_there_are_one_or_several(store, write_file):
    """ "unknown column in the header: 'weather'", "missing columns in the header: …", "unknown field:
    notes": not "column(s)"."""
    header = csv_bytes([valid_row(id="a")]).split(b"\r\n", 1)
    one_unknown = header[0] + b",weather\r\n" + header[1].rstrip(b"\r\n") + b",x\r\n"
    report = import_file(store, write_file(one_unknown), actor=ADMIN)
    assert [p.message for p in report.problems] == ["unknown column in the header: 'weather'"]
    two_unknown = header[0] + b",weather,colour\r\n" + header[1].rstrip(b"\r\n") + b",x,y\r\n"
    report = import_file(store, write_file(two_unknown), actor=ADMIN)
    assert [p.message for p in report.problems] == ["unknown columns in the header: 'weather', 'colour'"]
    record = {**valid_row(id="j"), "notes": "x", "more": "y"}
    report = import_file(store, write_file(json.dumps([record]).encode(), name="in.json"), actor=ADMIN)
    assert [p.message for p in report.problems] == ["unknown fields: more, notes"]
