"""The CLI contract used by automation: command names, exit codes and JSON shapes."""

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, valid_row
from tracker.cli import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def db(tmp_path):
    return tmp_path / "cli.duckdb"


def test_init_creates_the_database(capsys, db):
    code, out, _ = run(capsys, "init", "--db", db)
    assert code == 0 and db.exists() and "schema version" in out


def test_import_exit_codes(capsys, db, write_file):
    good = write_file([valid_row()], "good.csv")
    bad = write_file([valid_row(typology="Leadrship")], "bad.csv")
    assert run(capsys, "import", good, "--db", db)[0] == 0
    code, _, err = run(capsys, "import", bad, "--db", db)
    assert code == 1
    assert "row 2, column typology: unknown typology 'Leadrship' — did you mean 'Leadership'?" in err
    assert "nothing was stored" in err
    code, _, err = run(capsys, "import", db.parent / "missing.csv", "--db", db)
    assert code == 2 and "no such file" in err


def test_import_names_a_json_or_parquet_record_by_its_place_in_the_file(capsys, db, tmp_path):
    """A problem in a JSON or Parquet file is in its N-th record, the first being record 1: the
    message says "record N", as the summary says "records". It said "row N", as if the file had a
    header row like a spreadsheet, where row 2 is the first entry."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    records = [valid_row(id="a"), valid_row(id="b", kind="setbak"), valid_row(id="a")]
    (tmp_path / "in.json").write_text(json.dumps(records))
    code, _, err = run(capsys, "import", tmp_path / "in.json", "--db", db)
    assert code == 1
    assert err.splitlines() == [
        "record 2, column kind: unknown kind 'setbak' — did you mean 'setback'?",
        "1 problem found in 3 records; nothing was stored",
    ]
    (tmp_path / "in.json").write_text(json.dumps([{**records[1], "notes": "x"}, records[0], records[0]]))
    code, _, err = run(capsys, "import", tmp_path / "in.json", "--db", db)
    assert err.splitlines()[0] == "record 1: unknown field: notes"
    records[1]["kind"] = "setback"
    pq.write_table(pa.Table.from_pylist(records), tmp_path / "in.parquet")
    code, _, err = run(capsys, "import", tmp_path / "in.parquet", "--db", db)
    assert code == 1
    assert err.splitlines() == [
        "record 3, column id: id 'a' is used on records 1, 3; ids must be unique",
        "1 problem found in 3 records; nothing was stored",
    ]


def test_import_dry_run_stores_nothing(capsys, db, write_file):
    code, out, _ = run(capsys, "import", write_file([valid_row()]), "--dry-run", "--db", db)
    assert code == 0 and out.startswith("dry run: 1 row read: 1 would be created, 0 would be updated, 0 unchanged")
    code, out, _ = run(capsys, "summary", "--by", "kind", "--format", "json", "--db", db)
    assert json.loads(out) == []


def test_usage_errors_exit_2(capsys, db):
    with pytest.raises(SystemExit) as info:
        main(["import"])
    assert info.value.code == 2
    with pytest.raises(SystemExit) as info:
        main(["frobnicate"])
    assert info.value.code == 2
    assert run(capsys, "summary", "--by", "colour", "--db", db)[0] == 2
    assert run(capsys, "export", db.parent / "x.txt", "--db", db)[0] == 2


def test_summary_json_shape(capsys, db):
    run(capsys, "demo", "--db", db)
    code, out, _ = run(capsys, "summary", "--by", "typology", "--format", "json", "--db", db)
    rows = json.loads(out)
    assert code == 0 and rows[0] == {"typology": "Leadership", "count": rows[0]["count"]}
    assert {r["typology"] for r in rows} >= {"Culture", "Coproduction"}
    code, out, _ = run(capsys, "summary", "--by", "partnership,kind", "--format", "json", "--db", db)
    assert set(json.loads(out)[0]) == {"partnership", "kind", "count"}
    code, out, _ = run(capsys, "summary", "--by", "year", "--format", "csv", "--db", db)
    assert out.splitlines()[0] == "year,count"


def test_structures_json_shape(capsys, db):
    run(capsys, "demo", "--db", db)
    code, out, _ = run(capsys, "structures", "--format", "json", "--db", db)
    rows = json.loads(out)
    assert code == 0 and rows
    assert all(list(r) == ["partnership", "structure", "status", "host", "since", "entries"] for r in rows)
    marg = next(r for r in rows if "MaRG" in r["structure"])
    assert marg["partnership"] == "VOICES"
    assert marg["status"] == "Hosted elsewhere" and marg["host"] == "Stoke-on-Trent City Council"
    assert isinstance(marg["entries"], int)


def test_structures_can_be_searched_and_chosen_by_current_status(capsys, db):
    run(capsys, "demo", "--db", db)
    _, out, _ = run(capsys, "structures", "--format", "json", "--db", db)
    every = json.loads(out)
    # text in a structure's name, its host or its partnership's name, any case
    code, out, _ = run(capsys, "structures", "--find", "stoke-on-trent CITY", "--format", "json", "--db", db)
    found = json.loads(out)
    assert code == 0 and found and {r["structure"] for r in found} >= {"Multi-agency Resolution Group (MaRG)"}
    assert found == [r for r in every if "stoke-on-trent city" in (r["host"] or "").lower()]
    _, out, _ = run(capsys, "structures", "--find", "voices", "--format", "json", "--db", db)
    assert json.loads(out) == [r for r in every if r["partnership"] == "VOICES"]
    # a status by its slug or its label; repeated for several; the order of the whole register kept
    code, out, _ = run(
        capsys, "structures", "--status", "decommissioned", "--status", "Hosted elsewhere", "--format", "json",
        "--db", db,
    )  # fmt: skip
    chosen = json.loads(out)
    assert code == 0 and chosen == [r for r in every if r["status"] in ("Decommissioned", "Hosted elsewhere")]
    assert {r["status"] for r in chosen} == {"Decommissioned", "Hosted elsewhere"}
    _, out, _ = run(capsys, "structures", "--find", "marg", "--status", "continuing", "--format", "json", "--db", db)
    assert json.loads(out) == []
    code, out, err = run(capsys, "structures", "--find", "no such thing", "--db", db)
    assert code == 0 and "no structure matches the search" in err


def test_structures_refuse_a_status_that_does_not_exist(capsys, db):
    run(capsys, "demo", "--db", db)
    code, out, err = run(capsys, "structures", "--status", "closed", "--db", db)
    assert code == 2 and out == ""
    assert (
        "--status 'closed' is not a status; use one of: continuing, hosted-elsewhere, decommissioned, not-recorded"
        in err
    )


def test_demo_is_idempotent(capsys, db):
    assert run(capsys, "demo", "--db", db)[0] == 0
    code, out, _ = run(capsys, "demo", "--db", db)
    assert code == 0 and "0 were created, 0 were updated" in out
    code, out, _ = run(capsys, "demo", "--if-empty", "--db", db)
    assert "already has entries" in out


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "json", "parquet"])
def test_export_formats_by_extension(capsys, db, tmp_path, fmt):
    run(capsys, "demo", "--db", db)
    code, _, _ = run(capsys, "export", tmp_path / f"out.{fmt}", "--db", db)
    assert code == 0 and (tmp_path / f"out.{fmt}").stat().st_size > 1000
    code, _, _ = run(capsys, "export", tmp_path / "named", "--format", fmt, "--db", db)
    assert code == 0


def test_tracker_db_environment_variable_and_module_entry_point(tmp_path):
    env = {"TRACKER_DB": str(tmp_path / "env.duckdb"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "tracker", "init"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "env.duckdb").exists()


def test_member_db_before_the_action_is_the_database_used(capsys, db, tmp_path, monkeypatch):
    # `member --db X add …` is accepted by the parser; it must act on X, never on the default database
    default = tmp_path / "default.duckdb"
    monkeypatch.setenv("TRACKER_DB", str(default))
    assert run(capsys, "member", "--db", db, "add", "boss@example.org", "--role", "viewer")[0] == 0
    code, out, _ = run(capsys, "member", "list", "--format", "json", "--db", db)
    assert code == 0 and [m["email"] for m in json.loads(out)] == ["boss@example.org"]
    code, out, _ = run(capsys, "member", "--db", db, "list", "--format", "json")
    assert code == 0 and [m["email"] for m in json.loads(out)] == ["boss@example.org"]
    assert run(capsys, "member", "--db", db, "remove", "boss@example.org")[0] == 0
    assert json.loads(run(capsys, "member", "list", "--format", "json", "--db", db)[1]) == []
    assert not default.exists()


def test_export_into_a_missing_folder_is_a_usage_error(capsys, db, tmp_path):
    # as `report --out` in a missing folder: exit 2 with a plain message, not a traceback
    run(capsys, "init", "--db", db)
    code, _, err = run(capsys, "export", tmp_path / "missing" / "out.csv", "--db", db)
    assert code == 2 and "no such folder" in err
    assert not (tmp_path / "missing").exists()


def test_export_onto_a_folder_is_a_usage_error(capsys, db, tmp_path):
    # `export out.csv` where out.csv is a folder: exit 2 with a plain message, not a traceback
    run(capsys, "init", "--db", db)
    (tmp_path / "out.csv").mkdir()
    code, _, err = run(capsys, "export", tmp_path / "out.csv", "--db", db)
    assert code == 2 and "is a folder" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv",
    [["demo"], ["init"], ["summary", "--by", "year"], ["member", "list"], ["backup", "{tmp}/bk"], ["restore", "{tmp}"]],
)
def test_an_empty_db_is_a_usage_error_not_a_throwaway_database(capsys, tmp_path, argv):
    # `--db "$DB"` with DB unset: DuckDB would open an in-memory database, report success and keep nothing
    code, out, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv], "--db", "")
    assert code == 2 and "--db is empty" in err and "Traceback" not in err
    assert out == "" and not (tmp_path / "bk").exists()


@pytest.mark.parametrize("argv", [["demo"], ["init"], ["summary", "--by", "year"], ["backup", "{tmp}/bk"]])
def test_an_empty_tracker_db_variable_is_a_usage_error_not_a_throwaway_database(capsys, monkeypatch, tmp_path, argv):
    # TRACKER_DB= left empty in a deployment's environment: as `--db ""`, never an in-memory database
    monkeypatch.setenv("TRACKER_DB", "")
    code, out, err = run(capsys, *[a.format(tmp=tmp_path) for a in argv])
    assert code == 2 and "TRACKER_DB: it is empty" in err and "Traceback" not in err
    assert out == "" and not (tmp_path / "bk").exists()


@pytest.mark.parametrize("command", ["export", "report", "synth"])
def test_an_output_file_that_cannot_be_written_is_an_error_not_a_traceback(capsys, db, tmp_path, command):
    # as a file in a folder one may not write to: the system refuses to create it
    out = tmp_path / ("x" * 300 + (".pdf" if command == "report" else ".csv"))
    run(capsys, "init", "--db", db)
    argv = {"export": ["export", out], "report": ["report", "--out", out], "synth": ["synth", "--entries", 3]}
    code, _, err = run(capsys, *argv[command], *(["--out", out] if command == "synth" else ["--db", db]))
    assert code == 1 and err.startswith("error: cannot use") and "File name too long" in err
    assert "Traceback" not in err


def test_an_import_beaten_by_another_write_is_an_error_not_a_traceback(capsys, db, write_file):
    """Another session writing the same entries (the app, or a second import on PostgreSQL) makes
    the import's transaction conflict: nothing is stored, and the command says so and exits 1."""
    from tracker.config import Settings
    from tracker.store import Store

    assert run(capsys, "import", write_file([valid_row(id="e1")], "first.csv"), "--db", db)[0] == 0
    changed = write_file([valid_row(id="e1", title="From the file")], "changed.csv")
    with Store(str(db), Settings(db=str(db))) as store:
        other = store.cursor()
        other.execute("BEGIN TRANSACTION")
        other.execute("UPDATE entries SET title = 'Held by another session' WHERE id = 'e1'")
        code, _, err = run(capsys, "import", changed, "--db", db)
        other.execute("ROLLBACK")
    assert code == 1
    assert "another change to the same entries was saved first" in err and "nothing was stored" in err
    assert run(capsys, "export", db.parent / "out.json", "--db", db)[0] == 0
    assert json.loads((db.parent / "out.json").read_text())[0]["title"] == valid_row()["title"]


def test_a_members_name_is_given_changed_cleared_and_listed(capsys, db):
    """`member add` took no name and `member list` showed none: a member's name could be set, seen or
    changed from neither the command line nor the admin page (#4)."""
    code, out, _ = run(capsys, "member", "add", "jo@example.org", "--role", "viewer", "--name", "Jo Smith", "--db", db)
    assert (code, out) == (0, "saved Jo Smith <jo@example.org> (viewer)\n")
    code, out, _ = run(capsys, "member", "list", "--format", "json", "--db", db)
    assert json.loads(out) == [{"email": "jo@example.org", "role": "viewer", "partnerships": "", "name": "Jo Smith"}]
    # a change of role without --name keeps the name; `member rename` changes only the name
    run(capsys, "member", "add", "jo@example.org", "--role", "editor", "--partnership", "VOICES", "--db", db)
    code, out, _ = run(capsys, "member", "rename", "jo@example.org", "Jo Smith-Jones", "--db", db)
    assert (code, out) == (0, "saved Jo Smith-Jones <jo@example.org> (editor: voices)\n")
    code, out, _ = run(capsys, "member", "list", "--db", db)
    assert out.splitlines()[0].split() == ["email", "role", "partnerships", "name"]
    assert out.splitlines()[2].split(maxsplit=3) == ["jo@example.org", "editor", "voices", "Jo Smith-Jones"]
    code, out, _ = run(capsys, "member", "rename", "jo@example.org", "--clear", "--db", db)
    assert (code, out) == (0, "saved jo@example.org (editor: voices)\n")
    code, out, _ = run(capsys, "member", "list", "--format", "csv", "--db", db)
    assert out.splitlines() == ["email,role,partnerships,name", "jo@example.org,editor,voices,"]


def test_a_name_that_is_not_allowed_is_an_error_and_nothing_changes(capsys, db):
    run(capsys, "member", "add", "jo@example.org", "--role", "viewer", "--name", "Jo Smith", "--db", db)
    too_long = "x" * 201
    message = "error: column name: is too long: 201 characters, the limit is 200; shorten it\n"
    assert run(capsys, "member", "add", "jo@example.org", "--role", "viewer", "--name", too_long, "--db", db)[1:] == (
        "",
        message,
    )
    assert run(capsys, "member", "rename", "jo@example.org", too_long, "--db", db)[1:] == ("", message)
    code, _, err = run(capsys, "member", "rename", "jo@example.org", " ", "--db", db)
    assert (code, err) == (1, "error: column name: is blank: give the new name, or clear the name\n")
    code, _, err = run(capsys, "member", "rename", "nobody@example.org", "Nobody", "--db", db)
    assert (code, err) == (1, "error: column email: nobody@example.org is not a member; add them first\n")
    usage = {  # a name or --clear, one of them
        "one of the arguments NAME --clear is required": ["jo@example.org"],
        "argument --clear: not allowed with argument NAME": ["jo@example.org", "Jo", "--clear"],
        # the name after --clear: argparse said "unrecognized arguments: Jo", with the usage of the whole tool
        "member rename: error: argument --clear: not allowed with argument NAME": ["jo@example.org", "--clear", "Jo"],
    }
    for says, argv in usage.items():
        with pytest.raises(SystemExit) as exit_:
            main(["member", "rename", *argv, "--db", str(db)])
        assert exit_.value.code == 2 and says in capsys.readouterr().err
    code, out, _ = run(capsys, "member", "list", "--format", "csv", "--db", db)
    assert out.splitlines()[1:] == ["jo@example.org,viewer,,Jo Smith"]
