"""The benchmark command (#6): sizes as people write them, and a tiny end-to-end run."""

import json
import re

import pytest

from tracker import bench, queries
from tracker import cli as cli_module


@pytest.mark.parametrize(
    ("text", "expected"), [("10000", 10_000), ("10k", 10_000), ("100K", 100_000), ("1M", 1_000_000), ("1_000", 1000)]
)
def test_sizes_are_read_as_written(text, expected):
    assert bench.count(text) == expected


def test_a_size_that_is_not_one_is_refused_plainly():
    with pytest.raises(SystemExit, match="is not a size"):
        bench.count("lots")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--only", "pages,imports"],
            "no part 'imports' (--only takes import, pages, serve, concurrency, writes, postgres)",
        ),
        (["--only", "postgres"], "the postgres part needs --postgres URL (a database the benchmark may empty)"),
        (["--postgres", "data/tracker.duckdb"], "--postgres takes a postgresql:// URL, not 'data/tracker.duckdb'"),
        (["--pages", "pages/nope.py"], "'pages/nope.py' is not a page of app.py"),
        (["--runs", "0"], "--runs and --partnerships are 1 or more"),
        (["--partnerships", "0"], "--runs and --partnerships are 1 or more"),
    ],
)
def test_a_mistyped_option_is_refused_before_anything_runs(tmp_path, argv, message):
    with pytest.raises(SystemExit, match=re.escape(message)):
        cli_module.main(["bench", "--no-doc", "--workdir", str(tmp_path / "work"), *argv])
    assert not (tmp_path / "work").exists()  # refused before any data set was made


def test_a_tiny_run_measures_pages_cold_and_warm_against_the_trivial_one(tmp_path, capsys):
    out = tmp_path / "bench.json"
    code = cli_module.main(
        ["bench", "--only", "pages", "--sizes", "300", "--import-sizes", "",
         "--pages", "pages/overview.py,pages/legacy.py", "--runs", "1", "--workdir", str(tmp_path / "w"),
         "--no-doc", "--json", str(out)]
    )  # fmt: skip
    assert code == 0
    measured = json.loads(out.read_text())
    pages = next(iter(measured["pages"].values()))["pages"]
    assert set(pages) >= {"pages/overview.py", "pages/legacy.py", "(trivial one-chart page)"}
    for page in ("pages/overview.py", "pages/legacy.py"):
        calls = pages[page]["store_calls"]
        # warm: the page's reads come from the cache its own cold run filled (only the data
        # version is asked again), not from a cache another page's cold run had just cleared
        assert calls["cold"] >= 4
        assert calls["warm"] <= 2, (page, calls)
    table = capsys.readouterr().out
    assert re.search(r"store calls per run, cold/warm: overview\.py \d+/[12], legacy\.py \d+/[12]", table)
    # each page row gives the warm ratio beside the cold one, against the trivial page's warm run
    row = next(line for line in table.splitlines() if line.startswith("| page `pages/overview.py`"))
    warm = pages["pages/overview.py"]["warm"] / pages["(trivial one-chart page)"]["warm"]
    assert f"; warm {warm:.1f}×;" in row and re.search(r"warm: (yes|\*\*no\*\*); 1\.5×", row)


def test_a_tiny_run_measures_writes_and_the_postgres_mode_beside_the_file(tmp_path, capsys, pg_url):
    """The shared PostgreSQL mode on the suite's real server: the benchmark empties the database,
    fills it with the same synthetic data, and times the pages and the writes there too (#6)."""
    from tracker.store import Store

    with Store(pg_url) as before:
        assert queries.count_entries(before) == 0  # a fresh database, which the run fills
    out = tmp_path / "bench.json"
    code = cli_module.main(
        ["bench", "--only", "pages,writes,postgres", "--sizes", "300", "--pages", "pages/overview.py,pages/log_entry.py",
         "--runs", "1", "--postgres", pg_url, "--workdir", str(tmp_path / "w"), "--no-doc", "--json", str(out)]
    )  # fmt: skip
    assert code == 0
    measured = json.loads(out.read_text())
    for writes in (measured["writes"]["300"], measured["postgres"]["300"]["writes"]):
        assert set(writes) == set(bench.WRITES) and all(seconds > 0 for seconds in writes.values())
    on_pg = measured["postgres"]["300"]["pages"]
    assert set(on_pg) >= {"pages/overview.py", "pages/log_entry.py"} and not measured["postgres"]["300"]["errors"]
    assert "(overview, all rows into pandas)" not in on_pg  # DuckDB's baseline, not run again
    with Store(pg_url) as after:  # the synthetic entries and the writes' own (two per round, two rounds)
        assert queries.count_entries(after) == 300 + 4
    table = capsys.readouterr().out
    assert re.search(r"\| write: an entry deleted \| 300 \| \d+ ms \| PostgreSQL mode \d+ ms \| [\d.]+× \|", table)
    assert re.search(r"\| PostgreSQL mode: page `pages/overview.py` cold \(warm\) \| 300 \| \d+ ms \(\d+ ms\) "
                     r"\| DuckDB file \d+ ms \(\d+ ms\) \| [\d.]+× cold, [\d.]+× warm \|", table)  # fmt: skip


COMPILES = """
import sys
from streamlit.runtime.scriptrunner import magic
from streamlit.testing.v1 import AppTest
from benchmarks.apptest import navigation_mode

compiled = []
original = magic.add_magic
magic.add_magic = lambda code, path: compiled.append(path) or original(code, path)
if sys.argv[2] == "server":
    navigation_mode()
at = AppTest.from_file(sys.argv[1])
for _ in range(3):
    at.run()
    assert not at.exception
print(len(compiled))
"""


@pytest.mark.parametrize(("mode", "compiles"), [("server", 1), ("plain AppTest", 3)])
def test_the_bench_compiles_a_page_once_as_a_server_does(tmp_path, mode, compiles):
    # Plain AppTest compiles the script on every run; the bench measures pages as `streamlit run`
    # serves them, compiled once per process (in a subprocess: the change is process-wide).
    import subprocess
    import sys

    page = tmp_path / "page.py"
    page.write_text("import streamlit as st\nst.title('Trivial')\n")
    done = subprocess.run(
        [sys.executable, "-c", COMPILES, str(page), mode], capture_output=True, text=True, cwd=bench.ROOT, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[-1] == str(compiles)


PARENT_THEN_CHILD = """
import subprocess, sys
big = bytearray(600 * 1024 * 1024)
for i in range(0, len(big), 4096):
    big[i] = 1  # touched, so resident
del big
code = "from tracker import bench; print(bench.peak_rss_mb())"
print(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip())
"""


def test_a_step_reports_its_own_peak_memory_not_its_parents(tmp_path):
    # The bench starts each step from a process that may have made a million-row data set itself;
    # getrusage would carry that process's peak into the step's figure.
    import subprocess
    import sys

    from tracker.bench import ROOT

    done = subprocess.run(
        [sys.executable, "-c", PARENT_THEN_CHILD], capture_output=True, text=True, check=True, cwd=ROOT
    )
    child_peak = float(done.stdout.strip().splitlines()[-1])
    assert 5 < child_peak < 300, child_peak
