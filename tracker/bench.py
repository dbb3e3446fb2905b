"""On-demand benchmarks (#6): run ``python -m tracker bench``; the table goes to docs/benchmarks.md.

Not tests: the figures depend on the machine. What is measured, each in a fresh process:

- **import**: validated rows/s through :func:`tracker.importer.import_file` against DuckDB's own
  ``read_csv`` of the same synthetic CSV into a table (in a new database file, as the tracker
  writes one; in memory too), and the import's peak memory (RSS);
- **pages**: each dashboard page's full script run (Streamlit's AppTest, ``app.py`` + page) at
  several data sizes, cold (``st.cache_data`` cleared first) and warm, median of several runs,
  next to a trivial one-chart page and the "load everything into pandas" overview, measured in
  the same process; and the most data rows any chart ships to the browser;
- **serve**: peak RSS of ``streamlit run app.py`` while Chromium opens every page;
- **concurrency**: readers and writers on one store (:func:`concurrency`, also run by
  tests/test_concurrency.py);
- **writes**: a user's writes one at a time (:func:`step_writes`: a new entry, one about a
  structure, an edit, a delete and its restore), median of several;
- **postgres** (with ``--postgres URL``): the pages and the writes again in the shared
  PostgreSQL mode, on a database the benchmark empties and fills with the same synthetic data.

The steps that drive Streamlit (pages, and the concurrency workload's app sessions) are in
benchmarks/apptest.py, run as ``python -m benchmarks.apptest``: tracker/ never imports Streamlit.
Playwright is imported inside the serve step.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracker import pg
from tracker.config import ROOT

APP = ROOT / "app.py"
DOC = ROOT / "docs" / "benchmarks.md"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
FRAMED = "(trivial one-chart page in the app frame)"

# -- the machine ----------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    import duckdb

    cpu = platform.processor() or platform.machine()
    ram = 0.0
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = int(line.split()[1]) / 1024 / 1024
                break
    except OSError:
        pass
    try:
        from importlib.metadata import version

        streamlit = version("streamlit")
    except Exception:  # pragma: no cover - streamlit missing
        streamlit = "?"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gib": round(ram, 1),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "streamlit": streamlit,
        "os": f"{platform.system()} {platform.release()}",
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


def load() -> float:
    """The 1-minute load average (other work on the machine skews wall-clock times)."""
    return round(os.getloadavg()[0], 2)


def peak_rss_mb() -> float:
    """This process's peak resident memory, in MB.

    On Linux from ``/proc/self/status`` (VmHWM): ``getrusage``'s ``ru_maxrss`` carries the parent's
    peak over into a child it starts (fork copies the high-water mark, exec keeps it), so a step
    started after the bench had made a million-row data set in its own process reported that
    (2.5 GB for the pages at 10,000 entries, whose own peak is ~370 MB).
    """
    hwm = _proc_status(os.getpid(), "VmHWM")
    if hwm:
        return round(hwm, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _proc_status(pid: int, key: str) -> float:
    """A memory figure (VmRSS, VmHWM) of a running process from /proc, in MB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


# -- steps, each run in a fresh process -------------------------------------------------------


def step_import(csv_path: str, db: str) -> dict[str, Any]:
    """Import ``csv_path`` into a new database ``db`` through the tracker importer; time and memory."""
    from tracker import synth
    from tracker.access import system_member
    from tracker.config import Settings
    from tracker.importer import import_file
    from tracker.store import Store

    _remove_db(db)
    with Store(db, Settings(db=db)) as store:
        synth.add_partnerships(store, synth.partnerships(_partnerships_in(csv_path)), system_member())
        wall, cpu = time.perf_counter(), time.process_time()
        report = import_file(store, csv_path, actor=system_member())
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if not report.ok:
        raise SystemExit(f"import failed: {report.summary()}: {report.problems[:3]}")
    return {"seconds": wall, "cpu": cpu, "rows": report.rows_read, "peak_rss_mb": peak_rss_mb(), "load": load()}


def step_read_csv(csv_path: str, db: str) -> dict[str, Any]:
    """DuckDB's own ``read_csv`` of the same file into a table (``db`` a new file, or ``:memory:``)."""
    import duckdb

    _remove_db(db)
    wall, cpu = time.perf_counter(), time.process_time()
    con = duckdb.connect(db)
    con.execute("CREATE TABLE entries AS SELECT * FROM read_csv(?)", [csv_path])
    rows = con.execute("SELECT count(*) FROM entries").fetchone()[0]  # type: ignore[index]
    con.close()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _remove_db(db)
    return {"seconds": wall, "cpu": cpu, "rows": rows, "peak_rss_mb": peak_rss_mb(), "load": load()}


WRITES = {
    "new": "a new entry saved (no structure)",
    "structure": "a new entry about a structure in the register",
    "edit": "an entry edited (its title)",
    "delete": "an entry deleted",
    "restore": "an entry restored",
}
"""The writes :func:`step_writes` times, as the table names them."""


def step_writes(db: str, runs: str) -> dict[str, Any]:
    """A user's writes on ``db`` (a file or a PostgreSQL URL), each made ``runs`` times after one
    not counted (the process's first write asks for the largest seq in full): median seconds of
    each kind of :data:`WRITES`. They add entries to ``db``: run it last on a data set."""
    from tracker import entries
    from tracker.access import Member
    from tracker.config import Settings
    from tracker.store import Store

    actor = Member("bench@example.org", "admin")
    times: dict[str, list[float]] = {kind: [] for kind in WRITES}
    with Store(db, Settings(db=db)) as store:
        found = (
            store.cursor()
            .execute("SELECT partnership, structure FROM structure_register ORDER BY partnership, structure LIMIT 1")
            .fetchone()
        )
        if found is None:
            raise SystemExit("writes: the data set has no structure to write about")
        partnership, structure = found
        form = {"partnership": partnership, "date": "2024-03", "kind": "milestone", "typology": "leadership",
                "status": "continuing", "mechanisms": ["flexibility"], "title": "Benchmark entry"}  # fmt: skip

        def timed(kind: str, counted: bool, write: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            done = write(store, *args, actor=actor, **kwargs)
            if counted:
                times[kind].append(time.perf_counter() - started)
            return done

        for n in range(int(runs) + 1):
            counted = n > 0
            tag = f"bench-{time.time_ns()}"
            timed("new", counted, entries.save_entry, {**form, "id": f"{tag}-a"})
            about = {**form, "id": f"{tag}-s", "structure": structure}
            saved = timed("structure", counted, entries.save_entry, about)
            edited = {**about, "title": "Benchmark entry, edited"}
            timed("edit", counted, entries.save_entry, edited, expect="existing", base_version=saved.version)
            timed("delete", counted, entries.delete_entry, f"{tag}-s")
            timed("restore", counted, entries.restore_entry, f"{tag}-s")
    return {"writes": {kind: statistics.median(v) for kind, v in times.items()}, "load": load()}


def empty_postgres(url: str) -> list[str]:
    """Drop every table of the PostgreSQL database ``url`` (the benchmark's own): return their names."""
    from tracker import pg

    conn = pg.connect(url)
    try:
        tables = [
            name
            for (name,) in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_catalog = ? AND table_schema = 'public'",
                [pg.CATALOG],
            ).fetchall()
        ]
        for name in tables:
            conn.execute(f'DROP TABLE IF EXISTS {pg.CATALOG}.public."{name}" CASCADE')
    finally:
        conn.close()
    return tables


def _remove_db(db: str) -> None:
    if db != ":memory:":
        for path in (Path(db), Path(db + ".wal")):
            path.unlink(missing_ok=True)


def _partnerships_in(csv_path: str) -> int:
    import duckdb

    row = duckdb.sql(
        "SELECT max(CAST(regexp_extract(partnership, '(\\d+)$') AS INTEGER)) FROM read_csv(?, all_varchar=true)",
        params=[csv_path],
    ).fetchone()
    return int(row[0]) if row and row[0] else 1


def registered_pages() -> list[str]:
    """The page files app.py registers, in menu order."""
    return re.findall(r'st\.Page\("(pages/[^"]+\.py)"', APP.read_text())


def step_serve(db: str) -> dict[str, Any]:
    """Peak RSS of ``streamlit run app.py`` on ``db`` while headless Chromium opens every page."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TRACKER_DB": db}
    launcher = ["-m", "streamlit"] if not os.environ.get("BENCH_LAUNCHER") else [os.environ["BENCH_LAUNCHER"]]
    proc = subprocess.Popen(
        [
            sys.executable,
            *launcher,
            "run",
            str(APP),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    sampled = {"rss": 0.0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.1):
            sampled["rss"] = max(sampled["rss"], _proc_status(proc.pid, "VmRSS"))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    timings: dict[str, float] = {}
    rss_after: dict[str, float] = {}  # MB, after each page settled (in the order opened)
    problems: list[str] = []
    try:
        _wait_healthy(port, proc)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_context(viewport={"width": 1400, "height": 900}).new_page()
            for path in _url_paths():
                started = time.perf_counter()
                page.goto(f"http://127.0.0.1:{port}/{path}")
                page.wait_for_selector(READY, timeout=600_000)
                page.wait_for_timeout(500)
                page.wait_for_selector(READY, timeout=600_000)
                timings[path or "(overview)"] = time.perf_counter() - started
                rss_after[path or "(overview)"] = _proc_status(proc.pid, "VmRSS")
                if page.locator("[data-testid='stException']").count():
                    problems.append(f"{path}: {page.locator('[data-testid=stException]').first.inner_text()[:200]}")
            browser.close()
        hwm = _proc_status(proc.pid, "VmHWM")
    finally:
        stop.set()
        sampler.join()
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return {
        "peak_rss_mb": max(hwm, sampled["rss"]),
        "pages": timings,
        "rss_after": rss_after,
        "errors": problems,
        "load": load(),
    }


def _wait_healthy(port: int, proc: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.time() + 180
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("streamlit did not start") from None
            time.sleep(0.3)


def _url_paths() -> list[str]:
    """URL paths of the registered pages (the default page is "/")."""
    text = APP.read_text()
    out = []
    for match in re.finditer(r'st\.Page\("pages/([^"]+)\.py"[^)]*\)', text):
        out.append("" if "default=True" in match.group(0) else match.group(1))
    return out


# -- concurrency (also a test) ----------------------------------------------------------------


@dataclass
class ConcurrencyResult:
    """What many sessions on one store did: read latencies, writes, conflicts and errors."""

    single_p50: float = 0.0
    single_p95: float = 0.0
    single_reads: int = 0
    p50: float = 0.0
    p95: float = 0.0
    reads: int = 0
    writes: int = 0
    conflicts: int = 0
    retries: int = 0
    reported: int = 0  # conflicts given up on after the retries (reported, not stored)
    imports: int = 0
    app_runs: int = 0
    errors: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ratio(self) -> float:
        """p95 read latency under load over the single-user p95."""
        return self.p95 / self.single_p95 if self.single_p95 else float("inf")


LATEST = ("date", "partnership", "kind", "title", "typology", "status")  # what the overview's table reads


def _reads(store: Any, partnerships: list[str]) -> list[Callable[[random.Random], Any]]:
    """The read mix: what a page view asks of the store."""
    from tracker import queries, verification
    from tracker.filters import Filters

    def pick(rng: random.Random) -> Filters:
        return Filters(partnerships=tuple(rng.sample(partnerships, k=2))) if rng.random() < 0.5 else Filters()

    return [
        lambda rng: queries.headline(store, pick(rng)),
        lambda rng: queries.heatmap(store, pick(rng), "partnership", "typology"),
        lambda rng: queries.heatmap(store, pick(rng), "typology", "mechanism"),
        lambda rng: queries.entry_list(store, pick(rng), limit=10, columns=LATEST),  # the overview's table
        lambda rng: queries.timeline(store, pick(rng), "partnership"),
        lambda rng: verification.register(store, pick(rng), limit=verification.PAGE_ROWS),  # the legacy page
        lambda rng: queries.data_version(store),
    ]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def concurrency(
    store: Any,
    *,
    readers: int = 20,
    writers: int = 2,
    seconds: float = 10.0,
    app_sessions: int = 0,
    think: tuple[float, float] = (0.2, 1.0),
    seed: int = 0,
    app_session: Callable[[int, threading.Event, Callable[[], None], tuple[float, float]], None] | None = None,
    warmup: float = 0.0,
) -> ConcurrencyResult:
    """``readers`` and ``writers`` threads (and ``app_sessions`` AppTest sessions) on one store.

    Readers run the page read mix with a think time between reads; writers save new entries,
    edit shared entries (so that they really collide: a conflict is retried three times from
    the stored version, then reported) and import small files. Afterwards every acknowledged
    write is checked to be in ``entries`` and in ``entry_history``.

    ``warmup``: seconds at the start of each phase whose reads are not counted (the sessions'
    first page runs, each read's first plan): a meeting's dashboard has been up for a while.
    ``seconds`` is the counted time after it.
    """
    from tracker import entries, importer, interchange
    from tracker.access import Member
    from tracker.errors import InvalidInput

    result = ConcurrencyResult()
    vocab = store.vocab()
    partnerships = [p.slug for p in vocab.partnerships]
    reads = _reads(store, partnerships)

    stop = threading.Event()
    acknowledged: list[tuple[str, int, str]] = []  # (id, version, title) of every write that returned
    lock = threading.Lock()
    shared = [f"conc-shared-{i}" for i in range(3)]
    actor = Member("bench-writer@example.org", "admin")
    template = {
        "partnership": partnerships[0],
        "date": "2020-05",
        "kind": "milestone",
        "typology": next(iter(vocab["typology"].labels)),
        "status": "continuing",
        "mechanisms": [next(iter(vocab["mechanism"].labels))],
        "description": "Written by the concurrency benchmark.",
    }
    for entry_id in shared:
        saved = entries.save_entry(store, {**template, "id": entry_id, "title": "shared v1"}, actor=actor)
        acknowledged.append((saved.id, saved.version, saved.title))

    def fail(where: str, exc: BaseException) -> None:
        with lock:
            result.errors.append(f"{where}: {type(exc).__name__}: {exc}")

    def reader(n: int, sink: list[float], record_from: float) -> None:
        rng = random.Random(seed * 1000 + n)
        order: list[Callable[[random.Random], Any]] = []
        try:
            while not stop.is_set():
                if not order:  # every read of the mix once, in a new shuffled order each round: a
                    order = rng.sample(reads, len(reads))  # short phase (one user alone) still asks each
                read = order.pop()
                started = time.perf_counter()
                read(rng)
                elapsed = time.perf_counter() - started
                if started >= record_from:  # reads started in the warm-up are not counted
                    with lock:
                        sink.append(elapsed)
                stop.wait(rng.uniform(*think))
        except BaseException as exc:
            fail(f"reader {n}", exc)

    def edit(rng: random.Random, n: int, k: int) -> None:
        entry_id = rng.choice(shared)
        title = f"shared edit by writer {n} #{k}"
        for attempt in range(4):
            current = entries.get_entry(store, entry_id)
            assert current is not None
            data = {**template, "id": entry_id, "title": title, "partnership": current.partnership}
            try:
                saved = entries.save_entry(store, data, actor=actor, expect="existing", base_version=current.version)
            except entries.Conflict:
                with lock:
                    result.conflicts += 1
                    if attempt < 3:
                        result.retries += 1
                    else:
                        result.reported += 1
                time.sleep(rng.uniform(0.0, 0.02))
                continue
            with lock:
                acknowledged.append((saved.id, saved.version, saved.title))
                result.writes += 1
            return

    def writer(n: int) -> None:
        rng = random.Random(seed * 2000 + n)
        k = 0
        try:
            while not stop.is_set():
                k += 1
                roll = rng.random()
                if roll < 0.45:
                    entry_id = f"conc-w{n}-{k}"
                    saved = entries.save_entry(
                        store, {**template, "id": entry_id, "title": f"new by writer {n} #{k}"}, actor=actor
                    )
                    with lock:
                        acknowledged.append((saved.id, saved.version, saved.title))
                        result.writes += 1
                elif roll < 0.9:
                    edit(rng, n, k)
                else:
                    rows = [
                        {**template, "id": f"conc-i{n}-{k}-{j}", "title": f"imported by writer {n} #{k}.{j}"}
                        for j in range(20)
                    ]
                    for row in rows:
                        row["mechanisms"] = "; ".join(row["mechanisms"])
                    import io

                    buf = io.BytesIO()
                    interchange.write_csv(({c: row.get(c) for c in interchange.COLUMNS} for row in rows), buf)
                    buf.seek(0)
                    try:
                        report = importer.import_stream(store, buf, "csv", actor=actor, name="concurrency.csv")
                    except entries.Conflict:
                        with lock:
                            result.conflicts += 1
                            result.reported += 1
                        continue
                    if not report.ok:
                        raise InvalidInput(report.problems)
                    with lock:
                        result.imports += 1
                        result.writes += len(rows)
                        acknowledged.extend((row["id"], 1, row["title"]) for row in rows)
                stop.wait(rng.uniform(*think))
        except BaseException as exc:
            fail(f"writer {n}", exc)

    def app(n: int) -> None:
        def ran() -> None:
            with lock:
                result.app_runs += 1

        try:
            if app_session is None:
                raise RuntimeError("app sessions need benchmarks.apptest.app_session")
            app_session(n, stop, ran, think)
        except BaseException as exc:
            fail(f"app session {n}", exc)

    def phase(n_readers: int, n_writers: int, n_apps: int, duration: float) -> tuple[list[float], float, list[str]]:
        """Run the sessions for ``duration`` seconds; return read latencies, elapsed time, stuck threads."""
        stop.clear()
        sink: list[float] = []
        record_from = time.perf_counter() + warmup
        threads = [
            threading.Thread(target=reader, args=(i, sink, record_from), name=f"reader-{i}") for i in range(n_readers)
        ]
        threads += [threading.Thread(target=writer, args=(i,), name=f"writer-{i}") for i in range(n_writers)]
        threads += [threading.Thread(target=app, args=(i,), name=f"app-{i}") for i in range(n_apps)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        stop.wait(warmup + duration)
        stop.set()
        for t in threads:
            t.join(timeout=60)
        return sink, time.perf_counter() - started - warmup, [t.name for t in threads if t.is_alive()]

    # One user alone (the same read mix and think time), before and after the crowd: the baseline.
    # As long as the crowd on each side: one user makes ~50 reads in 30 s, so with half that its
    # p95 was the third slowest of ~50 and moved by ±15 % between runs of the same code (#6).
    alone, _, _ = phase(1, 0, 0, max(seconds, 3.0))
    latencies, result.seconds, result.stuck = phase(readers, writers, app_sessions, seconds)
    after, _, stuck = phase(1, 0, 0, max(seconds, 3.0))
    alone += after
    result.stuck += stuck
    result.single_p50, result.single_p95 = _percentile(alone, 0.5), _percentile(alone, 0.95)
    result.single_reads = len(alone)
    result.reads = len(latencies)
    result.p50, result.p95 = _percentile(latencies, 0.5), _percentile(latencies, 0.95)

    # Nothing acknowledged may be missing: the entry is there, at that version or later, and its
    # history holds exactly what was acknowledged.
    cur = store.cursor()
    for entry_id, version, title in acknowledged:
        row = cur.execute(
            "SELECT e.version, h.title FROM entries e LEFT JOIN entry_history h ON h.id = e.id AND h.version = ?"
            " WHERE e.id = ?",
            [version, entry_id],
        ).fetchone()
        if row is None or row[0] < version or row[1] != title:
            result.lost.append(f"{entry_id} v{version} {title!r}: found {row}")
    return result


# -- the whole run ----------------------------------------------------------------------------


def _step(name: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run one step in a fresh Python process; its last stdout line is the JSON result."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.apptest" if name in APPTEST_STEPS else "tracker.bench", name, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    if done.returncode != 0:
        raise RuntimeError(f"step {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@contextmanager
def _say(what: str) -> Iterator[None]:
    print(f"… {what}", file=sys.stderr, flush=True)
    started = time.perf_counter()
    yield
    print(f"  done in {time.perf_counter() - started:.1f} s (load {load()})", file=sys.stderr, flush=True)


def run(
    workdir: Path,
    *,
    page_sizes: list[int],
    import_sizes: list[int],
    runs: int,
    partnerships: int,
    parts: set[str],
    pages: str = "",
    postgres: str | None = None,
    postgres_sizes: list[int] | None = None,
) -> dict[str, Any]:
    """Every benchmark; returns the results (see :func:`markdown`). ``postgres``: a PostgreSQL
    database URL for the "postgres" part, emptied and filled at each of ``postgres_sizes``."""
    from tracker import synth

    workdir.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {"machine": machine(), "load_start": load(), "runs": runs}
    dbs: dict[int, str] = {}
    if "import" in parts:
        results["import"] = []
        for size in import_sizes:
            csv_path = str(workdir / f"synthetic-{size}.csv")
            with _say(f"synthetic CSV, {size:,} entries"):
                synth.write(csv_path, size, partnerships, seed=0)
            db = str(workdir / f"bench-{size}.duckdb")
            with _say(f"import and read_csv, {size:,} rows"):
                raw_file = [_step("read_csv", csv_path, str(workdir / "raw.duckdb"))]
                raw_memory = [_step("read_csv", csv_path, ":memory:")]
                tracker_run = _step("import", csv_path, db)
                raw_file.append(_step("read_csv", csv_path, str(workdir / "raw.duckdb")))
                raw_memory.append(_step("read_csv", csv_path, ":memory:"))
            results["import"].append(
                {
                    "rows": size,
                    "tracker": tracker_run,
                    "read_csv_file": min(raw_file, key=lambda r: r["seconds"]),
                    "read_csv_memory": min(raw_memory, key=lambda r: r["seconds"]),
                    "csv_mb": round(Path(csv_path).stat().st_size / 1e6, 1),
                }
            )
            dbs[size] = db
            Path(csv_path).unlink()
    if "pages" in parts or "serve" in parts:
        for size in page_sizes:
            if size in dbs:
                continue
            db = str(workdir / f"bench-{size}.duckdb")
            with _say(f"database with {size:,} synthetic entries"):
                _build_db(db, size, partnerships)
            dbs[size] = db
    if "pages" in parts:
        results["pages"] = {}
        for size in page_sizes:
            with _say(f"pages at {size:,} entries"):
                results["pages"][size] = _step("pages", dbs[size], str(runs), pages)
    if "serve" in parts:
        biggest = max(page_sizes)
        with _say(f"app process serving {biggest:,} entries, Chromium opening every page"):
            results["serve"] = {"entries": biggest, **_step("serve", dbs[biggest])}
    if "concurrency" in parts:
        size = min(page_sizes[-1], 100_000) if page_sizes else 10_000
        if size not in dbs:
            dbs[size] = str(workdir / f"bench-{size}.duckdb")
            _build_db(dbs[size], size, partnerships)
        with _say(f"concurrency on {size:,} entries"):
            results["concurrency"] = {"entries": size, **_step("concurrency", dbs[size])}
    if "writes" in parts:  # last: the writes add entries to the data sets
        results["writes"] = {}
        for size in page_sizes:
            if size not in dbs:
                dbs[size] = str(workdir / f"bench-{size}.duckdb")
                _build_db(dbs[size], size, partnerships)
            with _say(f"writes at {size:,} entries"):
                results["writes"][size] = _step("writes", dbs[size], str(runs))["writes"]
    if "postgres" in parts and postgres:
        results["postgres"] = {}
        for size in postgres_sizes or page_sizes:
            with _say(f"PostgreSQL database emptied and filled with {size:,} synthetic entries"):
                empty_postgres(postgres)
                _build_db(postgres, size, partnerships)
            with _say(f"pages at {size:,} entries in the PostgreSQL mode"):
                measured = _step("pages", postgres, str(runs), pages, "no")
            with _say(f"writes at {size:,} entries in the PostgreSQL mode"):
                measured["writes"] = _step("writes", postgres, str(runs))["writes"]
            results["postgres"][size] = measured
    results["load_end"] = load()
    return results


def _build_db(db: str, size: int, partnerships: int) -> None:
    from tracker import synth
    from tracker.config import Settings
    from tracker.store import Store

    _remove_db(db)
    with Store(db, Settings(db=db)) as store:
        report = synth.load(store, size, partnerships)
    if not report.ok:
        raise RuntimeError(report.summary())


# -- the report -------------------------------------------------------------------------------


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:,.0f} ms"


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def markdown(results: dict[str, Any]) -> str:
    """The results as Markdown: the machine, then one table (and the details behind it)."""
    m = results["machine"]
    lines = [
        f"Measured {m['date']} on {m['cpu']}, {m['cores']} cores, {m['ram_gib']} GiB RAM, {m['os']}; "
        f"Python {m['python']}, DuckDB {m['duckdb']}, Streamlit {m['streamlit']}. "
        f"Load average {results['load_start']} at the start, {results['load_end']} at the end "
        "(other work on a shared machine slows wall-clock times; ratios are measured side by side).",
        "",
        "| measure | size | tracker | reference | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for item in results.get("import", []):
        t, raw, mem = item["tracker"], item["read_csv_file"], item["read_csv_memory"]
        rows = item["rows"]
        rate, raw_rate, mem_rate = rows / t["seconds"], rows / raw["seconds"], rows / mem["seconds"]
        lines += [
            f"| import: validated rows/s vs DuckDB `read_csv` into a table of a new database file "
            f"| {rows:,} rows ({item['csv_mb']} MB CSV) | {rate:,.0f}/s ({t['seconds']:.1f} s) "
            f"| {raw_rate:,.0f}/s ({raw['seconds']:.1f} s) | 1/{raw_rate / rate:.1f} | ≥ 1/7 "
            f"| {_met(rate * 7 >= raw_rate)} |",
            f"| import vs `read_csv` into an in-memory table | {rows:,} rows | {rate:,.0f}/s "
            f"| {mem_rate:,.0f}/s ({mem['seconds']:.1f} s) | 1/{mem_rate / rate:.1f} | (for reference) | — |",
            f"| import: peak RSS of the importing process | {rows:,} rows | {t['peak_rss_mb']:,.0f} MB "
            f"| `read_csv`: {raw['peak_rss_mb']:,.0f} MB | — | — | — |",
        ]
    pages = results.get("pages", {})
    if pages:
        sizes = sorted(pages, key=int)
        smallest, biggest = sizes[0], sizes[-1]
        for name in [n for n in pages[biggest]["pages"] if not n.startswith("(")]:
            for size in sizes:
                data = pages[size]["pages"]
                page, trivial = data[name], data["(trivial one-chart page)"]
                framed = data.get(FRAMED)
                own = page["cold"] / pages[smallest]["pages"][name]["cold"]
                ratio = f"{page['cold'] / trivial['cold']:.1f}× trivial"
                if framed:
                    ratio += f" ({page['cold'] / framed['cold']:.1f}× in frame)"
                warm = page["warm"] / trivial["warm"]  # the next viewer's run, against the trivial page's
                ratio += f"; warm {warm:.1f}×"
                met = "—"
                if size == biggest:
                    met = f"3×: {_met(page['cold'] <= 3 * trivial['cold'])}"
                    if framed:
                        met += f" (in frame: {_met(page['cold'] <= 3 * framed['cold'])})"
                    met += f"; warm: {_met(warm <= 3)}; 1.5×: {_met(own <= 1.5)}"
                lines.append(
                    f"| page `{name}` cold (warm) | {int(size):,} | {_ms(page['cold'])} ({_ms(page['warm'])}) "
                    f"| trivial {_ms(trivial['cold'])}"
                    + (f", in frame {_ms(framed['cold'])}" if framed else "")
                    + f" | {ratio}; {own:.2f}× own at {int(smallest):,} "
                    f"| ≤ 3× trivial, ≤ 1.5× own at {int(smallest):,} | {met} |"
                )
        for size in sizes:
            data = pages[size]["pages"]
            base, trivial = data["(overview, all rows into pandas)"], data["(trivial one-chart page)"]
            overview = data.get("pages/overview.py")
            lines.append(
                f"| overview the pandas way (every entry into pandas, grouped in Python) cold (warm) | {int(size):,} "
                f"| {_ms(base['cold'])} ({_ms(base['warm'])}) "
                f"| tracker overview {_ms(overview['cold']) if overview else '—'} "
                f"| {base['cold'] / trivial['cold']:.1f}× trivial | (baseline) | — |"
            )
        most = max((p.get("chart_rows") or 0) for s in sizes for p in pages[s]["pages"].values())
        lines.append(
            f"| most data rows one chart ships to the browser | up to {int(biggest):,} | {most:,} | — | — "
            f"| ≤ 5,000 | {_met(most <= 5000)} |"
        )
    serve = results.get("serve")
    if serve:
        lines.append(
            f"| peak RSS of `streamlit run app.py` while Chromium opens every page | {serve['entries']:,} "
            f"| {serve['peak_rss_mb']:,.0f} MB | — | — | ≤ 600 MB | {_met(serve['peak_rss_mb'] <= 600)} |"
        )
    conc = results.get("concurrency")
    if conc:
        ok = conc["ratio"] <= 2 and not conc["errors"] and not conc["lost"] and not conc["stuck"]
        lines.append(
            f"| concurrency: p95 read latency, 20 readers + 2 writers + 3 app sessions vs one user alone "
            f"| {conc['entries']:,} | {_ms(conc['p95'])} | {_ms(conc['single_p95'])} | {conc['ratio']:.1f}× "
            f"| ≤ 2×, no errors, nothing lost | {_met(ok)} |"
        )
    writes = results.get("writes", {})
    on_pg = results.get("postgres", {})
    for size in sorted({*writes, *on_pg}, key=int):
        for kind, label in WRITES.items():
            file_s = writes.get(size, {}).get(kind)
            pg_s = on_pg.get(size, {}).get("writes", {}).get(kind)
            lines.append(
                f"| write: {label} | {int(size):,} | {_ms(file_s) if file_s is not None else '—'} "
                f"| {f'PostgreSQL mode {_ms(pg_s)}' if pg_s is not None else '—'} "
                f"| {f'{pg_s / file_s:.1f}×' if pg_s is not None and file_s else '—'} | (for reference) | — |"
            )
    for size in sorted(on_pg, key=int):
        file_pages = pages.get(size, {}).get("pages", {})
        for name, page in on_pg[size]["pages"].items():
            if not name.startswith("pages/"):
                continue
            there = file_pages.get(name)
            lines.append(
                f"| PostgreSQL mode: page `{name}` cold (warm) | {int(size):,} "
                f"| {_ms(page['cold'])} ({_ms(page['warm'])}) "
                + (
                    f"| DuckDB file {_ms(there['cold'])} ({_ms(there['warm'])}) "
                    f"| {page['cold'] / there['cold']:.1f}× cold, {page['warm'] / there['warm']:.1f}× warm "
                    if there
                    else "| — | — "
                )
                + "| (for reference) | — |"
            )
    lines += ["", "Details:", ""]
    for size in sorted(pages, key=int):
        errors = pages[size].get("errors") or {}
        lines.append(
            f"- pages at {int(size):,} entries: peak RSS of the AppTest process {pages[size]['peak_rss_mb']:,.0f} MB"
            + (f"; exceptions: {errors}" if errors else "; no exceptions")
            + "; chart rows per page: "
            + ", ".join(
                f"{k.removeprefix('pages/')} {v['chart_rows']:,}"
                for k, v in pages[size]["pages"].items()
                if v.get("chart_rows")
            )
            + "; store calls per run, cold/warm: "
            + ", ".join(
                f"{k.removeprefix('pages/')} {v['store_calls']['cold']:g}/{v['store_calls']['warm']:g}"
                for k, v in pages[size]["pages"].items()
                if k.startswith("pages/") and v.get("store_calls")
            )
        )
    if serve:
        shown = ", ".join(f"{k} {v:.1f} s" for k, v in serve["pages"].items())
        lines.append(f"- browser, time until each page settled: {shown}")
        grown = ", ".join(f"{k} {v:,.0f} MB" for k, v in serve.get("rss_after", {}).items())
        lines.append(f"- app process RSS after each page (opened in this order): {grown}")
        if serve["errors"]:
            lines.append(f"- browser errors: {serve['errors']}")
    if conc:
        lines.append(
            f"- concurrency: {conc['reads']:,} reads (p50 {_ms(conc['p50'])}; one user alone "
            f"{conc.get('single_reads', 0):,} reads, p50 {_ms(conc['single_p50'])}), "
            f"{conc['writes']:,} writes acknowledged ({conc['imports']} imports), {conc['conflicts']} conflicts "
            f"({conc['retries']} retried, {conc['reported']} reported), {conc['app_runs']} AppTest page runs, "
            f"errors: {conc['errors'] or 'none'}, lost writes: {conc['lost'] or 'none'}, "
            f"stuck threads: {conc['stuck'] or 'none'}; {conc['seconds']:.0f} s"
        )
    return "\n".join(lines) + "\n"


def write_doc(text: str, path: Path = DOC) -> None:
    """Put ``text`` between the bench markers of docs/benchmarks.md, keeping everything else."""
    block = f"{START}\n{text}{END}"
    if path.exists() and START in (old := path.read_text()) and END in old:
        head, rest = old.split(START, 1)
        path.write_text(head + block + rest.split(END, 1)[1])
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# Benchmarks\n\n## Latest run\n\n{block}\n")


def count(text: str) -> int:
    """A size as written on the command line: ``10000``, ``10k``, ``100K``, ``1M`` or ``1_000_000``."""
    text = text.strip().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    try:
        return int(float(text[:-1]) * scale) if scale > 1 else int(text)
    except ValueError:
        raise SystemExit(f"bench: '{text}' is not a size (write 10000, 10k or 1M)") from None


PARTS = ("import", "pages", "serve", "concurrency", "writes", "postgres")


def cmd_bench(args: argparse.Namespace) -> int:
    """``bench``: run the benchmarks, print the table, write docs/benchmarks.md."""
    sizes = [count(s) for s in args.sizes.split(",")]
    import_sizes = [count(s) for s in args.import_sizes.split(",")] if args.import_sizes else []
    parts = set(args.only.split(",")) if args.only else set(PARTS) - ({"postgres"} if not args.postgres else set())
    if unknown := sorted(parts - set(PARTS)):
        raise SystemExit(f"bench: no part {', '.join(map(repr, unknown))} (--only takes {', '.join(PARTS)})")
    if "postgres" in parts and not args.postgres:
        raise SystemExit("bench: the postgres part needs --postgres URL (a database the benchmark may empty)")
    if args.postgres and not pg.is_url(args.postgres):
        raise SystemExit(f"bench: --postgres takes a postgresql:// URL, not '{args.postgres}'")
    postgres_sizes = [count(s) for s in args.postgres_sizes.split(",")] if args.postgres_sizes else None
    pages = [p for p in args.pages.split(",") if p]
    if unknown := [p for p in pages if p not in registered_pages()]:
        raise SystemExit(
            f"bench: {', '.join(map(repr, unknown))} is not a page of app.py (--pages takes files such as "
            f"{registered_pages()[0]})"
        )
    if args.runs < 1 or args.partnerships < 1:
        raise SystemExit("bench: --runs and --partnerships are 1 or more")
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="tracker-bench-"))
    try:
        results = run(
            workdir,
            page_sizes=sizes,
            import_sizes=import_sizes,
            runs=args.runs,
            partnerships=args.partnerships,
            parts=parts,
            pages=args.pages,
            postgres=args.postgres,
            postgres_sizes=postgres_sizes,
        )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    text = markdown(results)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2, default=str))
    if not args.no_doc:
        write_doc(text)
        print(f"written to {DOC}", file=sys.stderr)
    return 0


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``bench`` command to the CLI."""
    p = sub.add_parser(
        "bench",
        help="run the benchmarks (import rate, page times, memory, concurrency); write docs/benchmarks.md",
        description="Run the benchmarks on synthetic data in a temporary folder and write the table to "
        "docs/benchmarks.md. Takes a while at 1M entries (about 10-15 minutes on 2 cores).",
    )
    p.add_argument("--sizes", default="10000,100000,1000000", help="entries for the page runs (default 10k,100k,1M)")
    p.add_argument("--import-sizes", default="100000,1000000", help="rows for the import runs ('' for none)")
    p.add_argument("--runs", type=int, default=5, help="runs per page and state (median; default 5)")
    p.add_argument("--partnerships", type=int, default=24, help="synthetic partnerships (default 24)")
    p.add_argument(
        "--only", help="comma-separated parts: import, pages, serve, concurrency, writes, postgres (default all)"
    )
    p.add_argument(
        "--postgres",
        metavar="URL",
        help="also measure the shared PostgreSQL mode on this database, which the benchmark EMPTIES and refills",
    )
    p.add_argument("--postgres-sizes", help="entries for the PostgreSQL runs (default: --sizes)")
    p.add_argument("--pages", default="", help="comma-separated page files to time (default: every page)")
    p.add_argument("--workdir", help="folder for the data sets (default: a new temporary folder)")
    p.add_argument("--keep", action="store_true", help="keep the data sets afterwards")
    p.add_argument("--json", metavar="FILE", help="also write the raw results as JSON")
    p.add_argument("--no-doc", action="store_true", help="do not write docs/benchmarks.md")
    p.set_defaults(func=cmd_bench)


STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    "import": step_import,
    "read_csv": step_read_csv,
    "serve": step_serve,
    "writes": step_writes,
}
APPTEST_STEPS = ("pages", "concurrency")
"""Steps that drive Streamlit's AppTest: they live in benchmarks/apptest.py, outside tracker/."""

if __name__ == "__main__":
    print(json.dumps(STEPS[sys.argv[1]](*sys.argv[2:]), default=str))
