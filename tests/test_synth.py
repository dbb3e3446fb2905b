"""Synthetic data (#6): realistic in shape, plainly marked, deterministic, valid, loadable by the CLI.

Benchmarks and scale tests stand on it, so it must look like what partnerships record (structure
histories, fuzzy dates, setbacks, area-specific mixes) and never be mistaken for real records.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.conftest import ADMIN
from tracker import queries, synth
from tracker.cli import main
from tracker.config import Settings
from tracker.entries import validate
from tracker.interchange import read_rows
from tracker.store import Store


@pytest.fixture(scope="module")
def rows():
    return list(synth.generate(3000, 8, seed=7))


def test_same_seed_same_rows_other_seed_other_rows(rows):
    assert list(synth.generate(3000, 8, seed=7)) == rows
    assert list(synth.generate(3000, 8, seed=8)) != rows
    assert len(rows) == 3000 and len({r["id"] for r in rows}) == 3000


def test_plainly_synthetic(rows):
    for row in rows:
        assert row["partnership"].startswith("Synthetic area ")
        assert "ynthetic" in row["title"] and "ynthetic" in row["description"] and "ynthetic" in row["source"]
    assert {p.programme for p in synth.partnerships(8)} == {synth.PROGRAMME}


def test_plausible_proportions(rows):
    n = len(rows)
    precision = Counter(len(r["date"]) for r in rows)
    assert 0.40 < precision[4] / n < 0.50 and 0.30 < precision[7] / n < 0.40 and 0.15 < precision[10] / n < 0.25
    assert 0.15 < sum(r["kind"] == "setback" for r in rows) / n < 0.25
    assert 0.08 < sum(r["structure"] is None for r in rows) / n < 0.22
    histories = Counter((r["partnership"], r["structure"]) for r in rows if r["structure"])
    assert sum(histories.values()) / len(histories) > 2  # several entries per structure
    assert len({r["typology"] for r in rows}) == 6 and len({m for r in rows for m in r["mechanisms"]}) > 10


def test_structure_histories_move_from_continuing_onwards(rows):
    by_structure: dict[str, list[dict]] = {}
    for row in rows:
        if row["structure"]:
            by_structure.setdefault(row["structure"], []).append(row)
    first = Counter(h[0]["status"] for h in by_structure.values())
    assert set(first) == {"Continuing"}
    last = Counter(h[-1]["status"] for h in by_structure.values() if h[-1]["status"])
    assert last["Hosted elsewhere"] and last["Decommissioned"] and last["Continuing"]
    for history in by_structure.values():
        dates = [r["date"][:4] for r in history]
        assert dates == sorted(dates)
        statuses = [r["status"] for r in history if r["status"]]
        if "Decommissioned" in statuses:
            assert statuses[-1] == "Decommissioned"


def test_every_row_is_valid(store, rows):
    synth.add_partnerships(store, synth.partnerships(8), ADMIN)
    vocab = store.vocab()
    for row in rows:
        validate(vocab, row)


def test_partnerships_are_added_once_and_audited(store):
    assert synth.add_partnerships(store, synth.partnerships(3), ADMIN) == 3
    assert synth.add_partnerships(store, synth.partnerships(5), ADMIN) == 2
    events = store.cursor().execute("SELECT count(*) FROM audit_log WHERE action = 'partnership.add'").fetchone()[0]
    assert events == 2


def test_about_one_structure_in_a_hundred_is_linked_to_a_successor_in_the_next_area(store):
    """So that benchmarks read a legacy register with links across programmes (#6)."""
    from tracker import verification

    assert synth.load(store, 3000, 3, seed=5, actor=ADMIN).ok
    cur = store.cursor()
    per_area = dict(cur.execute("SELECT partnership, count(*) FROM structure_register GROUP BY 1").fetchall())
    assert len(per_area) == 3 and min(per_area.values()) > 100
    found = cur.execute(
        "SELECT l.from_partnership, l.to_partnership, l.note, l.created_by, f.structure IS NOT NULL, t.structure IS NOT NULL"
        " FROM structure_links l"
        " LEFT JOIN structure_register f ON f.partnership = l.from_partnership AND f.structure_key = l.from_structure"
        " LEFT JOIN structure_register t ON t.partnership = l.to_partnership AND t.structure_key = l.to_structure"
    ).fetchall()
    areas = sorted(per_area)
    following = {area: areas[(i + 1) % len(areas)] for i, area in enumerate(areas)}
    expected = sum(-(-min(per_area[a], per_area[following[a]]) // synth.LINK_EVERY) for a in areas)
    assert len(found) == expected
    for earlier, later, note, by, from_known, to_known in found:
        assert later == following[earlier] and note == synth.LINK_NOTE and by == ADMIN.email
        assert from_known and to_known
    register = verification.register(store)
    assert (register["carried_on_as"] != "").sum() == (register["grew_out_of"] != "").sum() == expected
    assert synth.load(store, 3000, 3, seed=5, actor=ADMIN).ok  # the same again: nothing more
    assert cur.execute("SELECT count(*) FROM structure_links").fetchone()[0] == expected
    assert cur.execute("SELECT count(*) FROM audit_log WHERE action = 'link.add'").fetchone()[0] == 1


def test_cli_writes_a_file_and_loads_a_database_idempotently(tmp_path, capsys):
    out = tmp_path / "synthetic.csv"
    assert main(["synth", "--entries", "400", "--partnerships", "5", "--seed", "3", "--out", str(out)]) == 0
    with open(out, "rb") as fh:
        assert sum(len(numbers) for numbers, _ in read_rows(fh, "csv").batches(100)) == 400
    db = tmp_path / "synthetic.duckdb"
    assert main(["synth", "--entries", "400", "--partnerships", "5", "--seed", "3", "--db", str(db)]) == 0
    assert "400 were created" in capsys.readouterr().out
    assert main(["synth", "--entries", "400", "--partnerships", "5", "--seed", "3", "--db", str(db)]) == 0
    assert "400 unchanged" in capsys.readouterr().out
    with Store(str(db), Settings(db=str(db))) as store:
        assert queries.count_entries(store) == 400
        assert len(store.vocab().partnerships) == 12 + 5


@pytest.mark.parametrize("argv", [["--entries", "10"], ["--entries", "10", "--out", "x.csv", "--db", "y.duckdb"]])
def test_cli_needs_exactly_one_target(argv, capsys):
    assert main(["synth", *argv]) == 2
    assert "exactly one of --out FILE or --db PATH" in capsys.readouterr().err


@pytest.mark.parametrize("where", ["missing/synthetic.csv", "folder.csv"])
def test_cli_out_in_a_missing_folder_or_onto_a_folder_is_a_usage_error(tmp_path, capsys, where):
    (tmp_path / "folder.csv").mkdir()
    assert main(["synth", "--entries", "5", "--out", str(tmp_path / where)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    assert not (tmp_path / "missing").exists() and not any((tmp_path / "folder.csv").iterdir())
