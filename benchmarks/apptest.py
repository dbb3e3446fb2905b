"""The benchmark steps that drive Streamlit (#6): every page's script run through AppTest, and the
AppTest sessions of the concurrency workload. Kept out of tracker/, which never imports Streamlit
(but for tracker/app_state.py); ``python -m tracker bench`` runs these steps in fresh processes as
``python -m benchmarks.apptest STEP ARGS`` (see tracker/bench.py for what is measured and reported).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from tracker import bench

FRAMED = bench.FRAMED

TRIVIAL_PAGE = """
import altair as alt
import pandas as pd
import streamlit as st

st.title("Trivial")
data = pd.DataFrame({"x": list("abcdefghijkl"), "y": range(12)})
st.altair_chart(alt.Chart(data).mark_bar().encode(x="x", y="y"), width="stretch")
"""

# The overview page as people build it without a query layer: every entry into pandas, then group.
PANDAS_PAGE = """
import altair as alt
import streamlit as st

from tracker import app_state

cur = app_state.store().cursor()
df = cur.execute("SELECT * FROM entries WHERE deleted_at IS NULL").df()
names = dict(cur.execute("SELECT slug, name FROM partnerships").fetchall())
st.title("Overview (pandas)")
cols = st.columns(4)
cols[0].metric("Entries", f"{len(df):,}")
cols[1].metric("Milestones", f"{int((df['kind'] == 'milestone').sum()):,}")
cols[2].metric("Setbacks", f"{int((df['kind'] == 'setback').sum()):,}")
cols[3].metric("Partnerships", f"{df['partnership'].nunique():,}")
history = df[df["structure_key"].notna() & df["status"].notna()].sort_values(["date_start", "date_end", "seq"])
current = history.groupby(["partnership", "structure_key"])["status"].last().value_counts()
cols = st.columns(3)
for col, status in zip(cols, ("continuing", "hosted-elsewhere", "decommissioned")):
    col.metric(status, f"{int(current.get(status, 0)):,}")
cells = df.groupby(["partnership", "typology"]).size().reset_index(name="count")
cells["partnership"] = cells["partnership"].map(names)
st.altair_chart(
    alt.Chart(cells).mark_rect().encode(x="typology:N", y="partnership:N", color="count:Q"), width="stretch"
)
latest = df.sort_values(["date_start", "date_end", "seq"], ascending=False).head(10)
st.dataframe(latest[["date_text", "partnership", "kind", "title", "typology", "status"]], hide_index=True)
"""


def navigation_mode() -> None:
    """Run AppTest as a long-running server does: in st.navigation mode (see tests/test_app.py), and
    with the scripts compiled once per process.

    AppTest makes a new ``ScriptCache`` for every run, so every run compiles app.py and the page
    afresh, with Streamlit's "magic" rewrite of the syntax tree: 10-16 ms for pages/legacy.py
    alone. ``streamlit run`` keeps one ``ScriptCache`` for the process (``Runtime``) and compiles each
    script once. The bench shares one cache across its AppTest runs, as the server does, for every
    page it measures, the trivial ones included.
    """
    import streamlit.testing.v1.app_test as app_test
    import streamlit.testing.v1.local_script_runner as local_script_runner
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.runtime.scriptrunner.script_cache import ScriptCache

    if getattr(PagesManager.__init__, "_bench", False):
        return
    shared = ScriptCache()
    app_test.ScriptCache = local_script_runner.ScriptCache = lambda: shared  # type: ignore[assignment,misc]
    original = PagesManager.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    init._bench = True  # type: ignore[attr-defined]
    PagesManager.__init__ = init  # type: ignore[method-assign]


def chart_rows(at: Any) -> int:
    """The most data rows one Vega-Lite chart on the current page ships to the browser."""
    import pyarrow as pa

    def arrow_rows(data: bytes) -> int:
        if not data:
            return 0
        try:
            return int(pa.ipc.open_stream(data).read_all().num_rows)
        except pa.ArrowInvalid:
            return 0

    def inline(node: Any) -> int:
        if isinstance(node, dict):
            data = node.get("data")
            own = len(data["values"]) if isinstance(data, dict) and isinstance(data.get("values"), list) else 0
            return own + sum(inline(v) for k, v in node.items() if k != "datasets")
        if isinstance(node, list):
            return sum(inline(v) for v in node)
        return 0

    most = 0
    for element in at.get("vega_lite_chart"):
        proto = element.proto
        rows = arrow_rows(proto.data.data) + sum(arrow_rows(d.data.data) for d in proto.datasets)
        try:
            spec = json.loads(proto.spec)
            rows += inline(spec) + sum(len(v) for v in spec.get("datasets", {}).values())
        except (ValueError, AttributeError):
            pass
        most = max(most, rows)
    return most


def step_pages(db: str, runs: int, only: str = "", baseline: str = "yes") -> dict[str, Any]:
    """Every page's full script run (app.py + page) on ``db``: cold and warm, median of ``runs``.

    ``only``: comma-separated page files to run instead of all (for profiling one page).
    ``baseline``: "no" leaves out the pandas overview (the PostgreSQL runs: it is DuckDB's baseline).
    """
    os.environ["TRACKER_DB"] = db
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tracker.store import Store

    navigation_mode()
    opened = Store.cursor
    tmp = Path(tempfile.mkdtemp(prefix="tracker-bench-pages-"))
    try:
        trivial_file = tmp / "trivial.py"
        trivial_file.write_text(TRIVIAL_PAGE)
        pandas_file = tmp / "pandas_overview.py"
        pandas_file.write_text(PANDAS_PAGE)
        at = AppTest.from_file(str(bench.APP), default_timeout=900)
        at.run()
        trivial = AppTest.from_file(str(trivial_file), default_timeout=900)
        framed = _framed_trivial(tmp)  # the same trivial page inside app.py's frame (sidebar filters…)
        if framed is not None:
            framed.run()
        pandas_page = AppTest.from_file(str(pandas_file), default_timeout=900)
        pages = [p for p in bench.registered_pages() if not only or p in only.split(",")]
        times: dict[str, dict[str, list[float]]] = {}
        store_calls: dict[str, dict[str, list[int]]] = {}
        rows: dict[str, int] = {}
        errors: dict[str, str] = {}

        calls = [0]  # store calls (cursors opened) in the run being timed: a warm run makes few

        def counted(self: Store, **kwargs: Any) -> Any:
            calls[0] += 1
            return opened(self, **kwargs)

        Store.cursor = counted  # type: ignore[method-assign]

        def timed(name: str, run: Callable[[], Any], cold: bool) -> None:
            if cold:
                st.cache_data.clear()
            calls[0] = 0
            started = time.perf_counter()
            result = run()
            kind = "cold" if cold else "warm"
            times.setdefault(name, {"cold": [], "warm": []})[kind].append(time.perf_counter() - started)
            store_calls.setdefault(name, {"cold": [], "warm": []})[kind].append(calls[0])
            if result is not None and result.exception:
                errors[name] = str(result.exception[0].value)[:300]

        for round_ in range(runs + 1):  # the first round warms up the process and is not counted
            if round_ == 0:
                for page in pages:
                    at.switch_page(page).run()
                trivial.run()
                times.clear()
                store_calls.clear()
                continue
            # Each page's warm run comes straight after its own cold run: a cold run of the next
            # page clears the cache, so a warm pass after all the cold ones (as before session 16)
            # measured most pages cold again (the overview "warm" 60 ms, really ~26 ms).
            for cold in (True, False):
                timed("(trivial one-chart page)", trivial.run, cold)
            if framed is not None:
                for cold in (True, False):
                    timed(FRAMED, partial(_switch, framed, "bench_trivial.py"), cold)
            for page in pages:
                for cold in (True, False):
                    timed(page, partial(_switch, at, page), cold)
                    if cold:
                        rows[page] = max(rows.get(page, 0), chart_rows(at))
        # The pandas baseline last, in rounds of its own: at 1M entries it leaves gigabytes to free,
        # which slowed whatever ran next (the trivial page, when it was measured in the same rounds).
        if baseline != "no":
            pandas_page.run()  # warm-up, not counted
            for _ in range(runs):
                for cold in (True, False):
                    timed("(overview, all rows into pandas)", pandas_page.run, cold)
        out: dict[str, Any] = {"pages": {}, "load": bench.load(), "peak_rss_mb": bench.peak_rss_mb(), "errors": errors}
        for name, kinds in times.items():
            out["pages"][name] = {
                "cold": statistics.median(kinds["cold"]),
                "warm": statistics.median(kinds["warm"]),
                "chart_rows": rows.get(name),
                "store_calls": {k: statistics.median(v) for k, v in store_calls[name].items()},
            }
        return out
    finally:
        Store.cursor = opened  # type: ignore[method-assign]
        shutil.rmtree(tmp, ignore_errors=True)


def _switch(at: Any, page: str) -> Any:
    return at.switch_page(page).run()


def _framed_trivial(tmp: Path) -> Any:
    """An AppTest of app.py with one more page, the trivial one, or None if app.py has changed shape."""
    from streamlit.testing.v1 import AppTest

    text = bench.APP.read_text()
    anchor = "present = _present.active()"
    if anchor not in text or "PAGES = {" not in text:
        return None
    (tmp / "bench_trivial.py").write_text(TRIVIAL_PAGE)
    (tmp / "pages").symlink_to(bench.ROOT / "pages", target_is_directory=True)
    extra = 'PAGES["Explore"].append(st.Page("bench_trivial.py", title="Trivial (bench)"))\n'
    (tmp / "app_bench.py").write_text(text.replace(anchor, extra + anchor, 1))
    return AppTest.from_file(str(tmp / "app_bench.py"), default_timeout=900)


_APP_TURN = threading.Lock()  # AppTest swaps Streamlit's process-wide runtime: sessions take turns


def app_session(n: int, stop: threading.Event, ran: Callable[[], None], think: tuple[float, float]) -> None:
    """One person browsing the dashboard until ``stop``: page after page, with a think time; for
    :func:`tracker.bench.concurrency` (``ran`` counts each page run; an exception box raises)."""
    from streamlit.testing.v1 import AppTest

    navigation_mode()
    pages = bench.registered_pages()
    at = AppTest.from_file(str(bench.APP), default_timeout=120)
    with _APP_TURN:
        at.run()
    i = 0
    while not stop.is_set():
        with _APP_TURN:
            at.switch_page(pages[(n + i) % len(pages)]).run()
        if at.exception:
            raise RuntimeError(f"{pages[(n + i) % len(pages)]}: {at.exception[0].value}")
        ran()
        i += 1
        stop.wait(random.uniform(*think))


def step_concurrency(db: str) -> dict[str, Any]:
    """The concurrency workload on ``db`` (20 readers, 2 writers, 3 app sessions, 30 s after 3 s of warm-up)."""
    os.environ["TRACKER_DB"] = db
    from tracker.config import Settings
    from tracker.store import Store

    with Store(db, Settings(db=db)) as store:
        r = bench.concurrency(
            store, readers=20, writers=2, seconds=30, app_sessions=3, app_session=app_session, warmup=3
        )
    return {
        "single_p50": r.single_p50,
        "single_p95": r.single_p95,
        "single_reads": r.single_reads,
        "p50": r.p50,
        "p95": r.p95,
        "ratio": r.ratio,
        "reads": r.reads,
        "writes": r.writes,
        "conflicts": r.conflicts,
        "retries": r.retries,
        "reported": r.reported,
        "imports": r.imports,
        "app_runs": r.app_runs,
        "errors": r.errors[:5],
        "lost": r.lost[:5],
        "stuck": r.stuck,
        "seconds": r.seconds,
        "load": bench.load(),
    }


STEPS: dict[str, Callable[..., dict[str, Any]]] = {
    "pages": lambda db, runs, only="", baseline="yes": step_pages(db, int(runs), only, baseline),
    "concurrency": step_concurrency,
}

if __name__ == "__main__":
    print(json.dumps(STEPS[sys.argv[1]](*sys.argv[2:]), default=str))
