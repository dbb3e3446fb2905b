"""tracker/app_state.py: cached reads keyed by the data version, which is read once per script run.

Real DuckDB files and real script runs (AppTest); the only stand-in is a counter around
``queries.data_version`` to see how often the version query runs.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ADMIN, ROOT, valid_row
from tests.test_app import demo_file, navigation_mode  # noqa: F401 (fixtures)
from tracker import access, app_state, entries, queries
from tracker.store import Store

TIMEOUT = 60


@pytest.fixture
def db(tmp_path, demo_file, monkeypatch) -> Path:  # noqa: F811
    path = tmp_path / "state.duckdb"
    shutil.copy(demo_file, path)
    monkeypatch.setenv("TRACKER_DB", str(path))
    return path


@pytest.fixture
def version_queries(monkeypatch) -> list[str]:
    """Every data version the app asked the database for, in order."""
    asked: list[str] = []
    real = queries.versions

    def counted(store: Store) -> tuple[str, str]:
        found = real(store)
        asked.append(found[0])
        return found

    monkeypatch.setattr(queries, "versions", counted)
    return asked


def entries_shown(at: AppTest) -> str:
    return next(m.value for m in at.metric if m.label == "Entries")


def test_the_data_version_is_asked_once_per_run_not_once_per_read(db, version_queries):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    assert not at.exception
    assert len(version_queries) == 1  # the overview makes several cached reads
    at.run()
    assert len(version_queries) == 2
    at.switch_page("pages/legacy.py").run()
    assert not at.exception
    assert len(version_queries) == 3


def test_a_write_elsewhere_between_runs_shows_on_the_next_run(db, version_queries):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=TIMEOUT)
    at.run()
    before = int(entries_shown(at).replace(",", ""))
    # As another replica's write looks to this process: the data changes, this process's write
    # count does not (the count is put back after the save).
    seen = access.writes()
    entries.save_entry(app_state.store(), valid_row(title="Written by another replica"), actor=ADMIN)
    access._WRITES[0] = seen
    at.run()
    assert not at.exception
    assert int(entries_shown(at).replace(",", "")) == before + 1
    assert version_queries[-1] != version_queries[0]


def _saves_then_reads() -> None:
    import streamlit as st

    from tests.conftest import ADMIN, valid_row
    from tracker import app_state, entries, queries

    app_state.begin_run()
    before = app_state.read(queries.headline)["entries"]
    entries.save_entry(app_state.store(), valid_row(title="Saved in this very run"), actor=ADMIN)
    after = app_state.read(queries.headline)["entries"]
    st.write(f"before={before} after={after}")


def test_a_write_in_the_run_shows_on_the_reads_after_it(db, version_queries):
    at = AppTest.from_function(_saves_then_reads, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    before, after = (int(part.split("=")[1]) for part in at.markdown[0].value.split())
    assert after == before + 1
    assert len(version_queries) == 2  # asked again after the write, not before every read


def _vocabularies_around_writes() -> None:
    import streamlit as st

    from tests.conftest import ADMIN, valid_row
    from tracker import admin, app_state, entries

    app_state.begin_run()
    first = app_state.vocab()
    runs = st.session_state.setdefault("objects", [])  # kept alive: ids are not reused
    runs.append(first)
    if st.session_state.get("save"):
        entries.save_entry(app_state.store(), valid_row(id=f"v-{len(runs)}"), actor=ADMIN)
    if st.session_state.get("rename"):
        admin.rename_term(app_state.store(), ADMIN, "typology", "leadership", "Leadership renamed")
    after = app_state.vocab()
    st.write(
        f"same_run={first is after} same_as_first_run={first is runs[0]} label={after['typology'].labels['leadership']}"
    )


def test_the_vocabularies_are_read_once_per_version_of_the_reference_data(db):
    # One shared object while terms, partnerships and conditions are unchanged: across runs (and
    # sessions), and after an entry is saved (#6: they were read and unpickled again after every
    # write); a change to a term gives a new one at once, in the same run.
    at = AppTest.from_function(_vocabularies_around_writes, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    assert at.markdown[0].value == "same_run=True same_as_first_run=True label=Leadership"
    other = AppTest.from_function(_vocabularies_around_writes, default_timeout=TIMEOUT)
    other.run()  # another session
    assert other.markdown[0].value == "same_run=True same_as_first_run=True label=Leadership"
    at.session_state["save"] = True
    at.run()  # an entry saved in the run: still the same vocabularies
    assert not at.exception, at.exception
    assert at.markdown[0].value == "same_run=True same_as_first_run=True label=Leadership"
    at.session_state["save"] = False
    at.session_state["rename"] = True
    at.run()  # a term renamed in the run: the read after it sees the change
    assert not at.exception, at.exception
    assert at.markdown[0].value == "same_run=False same_as_first_run=True label=Leadership renamed"
    at.session_state["rename"] = False
    at.run()  # and the next run starts from the new ones
    assert at.markdown[0].value == "same_run=True same_as_first_run=False label=Leadership renamed"


def _outside_events() -> None:
    import os
    from pathlib import Path

    import streamlit as st

    from tests.conftest import ADMIN, valid_row
    from tracker import admin, app_state, entries
    from tracker import context as context_events

    app_state.begin_run()
    events = Path(os.environ["EVENTS_FILE"])
    kept = st.session_state.setdefault("kept", [])  # kept alive: ids are not reused
    if st.session_state.get("save"):
        entries.save_entry(app_state.store(), valid_row(id=f"e-{len(kept)}"), actor=ADMIN)
    if st.session_state.get("rename"):
        admin.rename_term(app_state.store(), ADMIN, "mechanism", "covid-19", "The pandemic")
    found = app_state.by_reference(context_events.bands, events, files=(events,))
    kept.append(found)
    covid = sorted({m for m in found["mechanism"].dropna() if "andemic" in m or "COVID" in m})
    st.write(f"same_as_first={found is kept[0]} same_as_last={len(kept) > 1 and found is kept[-2]} covid={covid}")


def test_outside_events_are_made_once_per_version_of_the_reference_data_and_of_their_file(db, tmp_path, monkeypatch):
    # The timeline's outside events depend on the events file and the mechanisms' labels only:
    # one shared frame, not made again after an entry is saved (#6), made again when a term is
    # renamed or the file is edited.
    import os

    from tracker import context as context_events

    events = tmp_path / "events.toml"
    events.write_bytes(context_events.CONTEXT_FILE.read_bytes())
    monkeypatch.setenv("EVENTS_FILE", str(events))
    at = AppTest.from_function(_outside_events, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    first = at.markdown[0].value
    assert first.startswith("same_as_first=True same_as_last=False covid=[")
    assert "The pandemic" not in first
    at.session_state["save"] = True
    at.run()  # an entry saved: the same frame
    assert not at.exception, at.exception
    assert at.markdown[0].value.startswith("same_as_first=True same_as_last=True")
    at.session_state["save"] = False
    events.write_text(events.read_text() + "\n", encoding="utf-8")  # the file edited
    stat = events.stat()
    os.utime(events, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    at.run()
    assert at.markdown[0].value.startswith("same_as_first=False same_as_last=False")
    at.run()
    assert at.markdown[0].value.startswith("same_as_first=False same_as_last=True")
    at.session_state["rename"] = True
    at.run()  # a mechanism renamed: its new label at once
    assert not at.exception, at.exception
    assert "'The pandemic'" in at.markdown[0].value
    assert at.markdown[0].value.startswith("same_as_first=False same_as_last=False")


def _reads_with_different_arguments() -> None:
    import datetime as dt

    import streamlit as st

    from tracker import app_state, queries
    from tracker.filters import Filters

    everything = app_state.read(queries.count_entries, Filters())
    voices = app_state.read(queries.count_entries, Filters(partnerships=("voices",)))
    milestones = app_state.read(queries.count_entries, Filters(kinds=("milestone",)))
    early = app_state.read(queries.count_entries, Filters(date_to=dt.date(2016, 12, 31)))
    again = app_state.read(queries.count_entries, Filters())
    st.write(f"{everything} {voices} {milestones} {early} {again}")


def test_reads_with_different_arguments_never_share_a_cache_entry(db):
    # Reads are keyed by a text of their arguments (tracker.app_state._key), not Streamlit's hash.
    from tracker.filters import Filters

    at = AppTest.from_function(_reads_with_different_arguments, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    shown = [int(n) for n in at.markdown[0].value.split()]
    with Store(str(db)) as store:
        expected = [
            queries.count_entries(store, f)
            for f in (
                Filters(),
                Filters(partnerships=("voices",)),
                Filters(kinds=("milestone",)),
                Filters(date_to=dt.date(2016, 12, 31)),
                Filters(),
            )
        ]
    assert shown == expected
    assert len(set(expected[:4])) == 4  # four different answers: a shared entry would repeat one


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("1", 1),
        (True, 1),
        (("a",), ["a"]),
        (("a", "b"), ("a, b",)),
        (None, "None"),
        (dt.date(2020, 1, 1), dt.datetime(2020, 1, 1)),
    ],
)
def test_the_read_key_tells_apart_arguments_that_print_alike(one, other):
    assert app_state._key(one) != app_state._key(other)


def test_the_read_key_differs_for_every_filter_field():
    import dataclasses

    from tracker.filters import Filters

    keys = {app_state._key(Filters())}
    for field in dataclasses.fields(Filters):
        value = {"date_from": dt.date(2020, 1, 1), "date_to": dt.date(2020, 1, 1), "as_at": dt.datetime(2020, 1, 1)}
        keys.add(app_state._key(Filters(**{field.name: value.get(field.name, ("x",))})))
    assert len(keys) == len(dataclasses.fields(Filters)) + 1


def test_a_read_refuses_an_argument_it_cannot_key():
    with pytest.raises(TypeError, match="cannot key an argument of type dict"):
        app_state._key(({"partnership": "voices"},))


class _Clock(dt.date):
    """A date whose today() the test sets: the server's clock passing midnight."""

    now = dt.date(2020, 1, 1)

    @classmethod
    def today(cls) -> dt.date:  # type: ignore[override]
        return cls.now


def _unverified_figure() -> None:
    import streamlit as st

    from tracker import app_state, verification
    from tracker.filters import Filters

    app_state.begin_run()
    st.markdown(str(app_state.read(verification.figures, Filters())["running"]))


def test_a_read_that_counts_from_today_is_not_served_from_yesterdays_cache(db, monkeypatch):
    # "Not confirmed for 12 months" moves on at midnight with no write: the cache must not keep
    # yesterday's answer until it expires (up to an hour)
    from tracker import verification
    from tracker.filters import Filters

    with Store(str(db)) as store:
        last = store.cursor().execute("SELECT max(last_confirmed) FROM structure_register").fetchone()[0]
        before, after = last + dt.timedelta(days=360), last + dt.timedelta(days=400)  # a year on: past the cut-off
        assert (
            verification.figures(store, Filters(), today=before)["running"]
            < verification.figures(store, Filters(), today=after)["running"]
        )
        expected = [verification.figures(store, Filters(), today=day)["running"] for day in (before, after)]
    monkeypatch.setattr(verification, "date", _Clock)
    monkeypatch.setattr(app_state, "date", _Clock)
    at = AppTest.from_function(_unverified_figure, default_timeout=TIMEOUT)
    shown = []
    for day in (before, after):
        _Clock.now = day
        at.run()
        assert not at.exception, at.exception
        shown.append(int(at.markdown[0].value))
    assert shown == expected


# Charts: the finished Vega-Lite spec is cached by what the chart was built from (#6)

BUILDS: list[str] = []  # every time _counted_heatmap built a chart


def _builds() -> list[str]:
    """BUILDS as the scripts see it: they import this file as ``tests.test_app_state``, which
    pytest (no tests/__init__.py) may have imported under another name."""
    import importlib

    return importlib.import_module("tests.test_app_state").BUILDS  # type: ignore[no-any-return]


def _counted_heatmap(cells, metric, rows, cols):  # type: ignore[no-untyped-def]
    from tracker import charts

    BUILDS.append(metric)
    return charts.heatmap(cells, metric, rows, cols)


def _proto(element) -> tuple[str, list[tuple[str, bytes]]]:  # type: ignore[no-untyped-def]
    proto = element.proto
    return proto.spec, [(d.name, d.data.data) for d in proto.datasets]


def _both_ways() -> None:
    import streamlit as st

    from tracker import app_state, charts, queries, survival
    from tracker import context as context_events
    from tracker.filters import Filters

    app_state.begin_run()
    f = Filters(partnerships=("voices", "golden-key")) if st.session_state.get("narrow") else Filters()
    cells = app_state.read(queries.heatmap, f, "partnership", "typology")
    points, binned = app_state.read(queries.timeline, f, "structure")
    segments = app_state.read(queries.status_segments, f)
    context = app_state.read(context_events.context_bands)
    steps, _ = app_state.read(survival.curves, f, "start", "partnership")
    summary = app_state.read(queries.legacy_summary, f)
    counts = app_state.derive(queries.status_counts_of, summary)
    built = [
        (charts.heatmap, (cells, "share", "Partnership", "Typology"), {}),
        (
            charts.timeline,
            (points, segments),
            {
                "lane_title": "Structure",
                "typologies": ["Leadership", "Partnership working"],
                "binned": binned,
                "context": context,
            },
        ),
        (charts.survival_curves, (steps,), {}),
        (charts.legacy_status_bar, (counts,), {"statuses": ["Continuing", "Decommissioned"]}),
    ]
    for i, (build, args, kwargs) in enumerate(built):
        st.altair_chart(charts.unvalidated(build(*args, **kwargs)), key=f"altair_{i}", width="stretch")
        st.vega_lite_chart(app_state.chart_spec(build, *args, **kwargs), key=f"cached_{i}", width="stretch")


@pytest.mark.parametrize("narrow", [False, True])
def test_a_cached_chart_is_sent_exactly_as_st_altair_chart_sends_it(db, narrow):
    at = AppTest.from_function(_both_ways, default_timeout=TIMEOUT)
    at.session_state["narrow"] = narrow
    for _ in range(2):  # built, then from the cache
        at.run()
        assert not at.exception, at.exception
        shown = at.get("vega_lite_chart")
        assert len(shown) == 8
        for i in range(4):
            direct, cached = _proto(shown[2 * i]), _proto(shown[2 * i + 1])
            assert cached == direct, f"chart {i}"
            assert cached[1] and all(data for _, data in cached[1])  # the data went with it


def _heatmap_page() -> None:
    import streamlit as st

    from tests.test_app_state import _counted_heatmap
    from tracker import app_state, queries
    from tracker.filters import Filters

    app_state.begin_run()
    f = Filters(kinds=("milestone",)) if st.session_state.get("milestones") else Filters()
    cells = app_state.read(queries.heatmap, f, "partnership", "typology")
    metric = st.session_state.get("metric", "count")
    if st.session_state.get("copy"):
        cells = cells.copy()  # a frame made on the page: not a read's result, so never keyed
    if st.session_state.get("sliced"):
        cells = cells[cells["count"] > 0]
    st.vega_lite_chart(app_state.chart_spec(_counted_heatmap, cells, metric, "Partnership", "Typology"), key="h")
    st.write(f"total={int(cells['count'].sum())}")


def _shown_total(at: AppTest) -> int:
    import json

    import pyarrow as pa

    (element,) = at.get("vega_lite_chart")
    spec = json.loads(element.proto.spec)
    assert "datasets" not in spec and "values" not in json.dumps(spec)  # the data travels as Arrow
    tables = [pa.ipc.open_stream(d.data.data).read_all() for d in element.proto.datasets]
    return int(
        sum(t.column("count").to_pylist()[i] for t in tables if "count" in t.column_names for i in range(len(t)))
    )


def test_a_cached_chart_is_built_again_when_what_it_shows_changes(db):
    import streamlit as st

    st.cache_data.clear()  # another test's copy of the demo data has the same data version
    builds = _builds()
    builds.clear()
    at = AppTest.from_function(_heatmap_page, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    first = _shown_total(at)
    assert builds == ["count"]
    at.run()
    at.run()
    assert builds == ["count"], "the same reads and values: drawn from the cache"
    assert _shown_total(at) == first

    at.session_state["metric"] = "share"  # a plain value in the key
    at.run()
    assert builds == ["count", "share"]
    at.session_state["metric"] = "count"
    at.session_state["milestones"] = True  # another read (other filters)
    at.run()
    assert builds == ["count", "share", "count"]
    milestones_only = _shown_total(at)
    assert milestones_only < first
    at.session_state["milestones"] = False
    at.run()
    assert builds == ["count", "share", "count"]  # back to the first: cached
    assert _shown_total(at) == first

    entries.save_entry(app_state.store(), valid_row(title="A new entry for the chart"), actor=ADMIN)
    at.run()  # a write: a new data version, new read keys, so the chart is built again
    assert not at.exception, at.exception
    assert builds == ["count", "share", "count", "count"]
    assert _shown_total(at) == first + 1

    for made_on_the_page in ("copy", "sliced"):
        at.session_state[made_on_the_page] = True
        before = len(builds)
        at.run()
        at.run()
        assert not at.exception, at.exception
        assert len(builds) == before + 2, f"{made_on_the_page}: built on every run"
        at.session_state[made_on_the_page] = False


def test_a_chart_key_refuses_what_it_cannot_name():
    import pandas as pd

    assert app_state._chart_key(pd.DataFrame({"a": [1]})) is None  # no read returned it
    assert app_state._chart_key(("x", 1, None)) == app_state._key(("x", 1, None))
    assert app_state._chart_key([pd.DataFrame()]) is None
    assert app_state._chart_key({"a": 1}) is None
    assert app_state._call_key(len, ("x",), {"y": {"a": 1}}) is None
    assert app_state._call_key(len, ("x",), {"y": 2}) != app_state._call_key(len, ("x",), {"y": 3})
    assert app_state._call_key(len, ("x", 2), {}) != app_state._call_key(len, ("x",), {"y": 2})


def test_a_session_the_frame_never_identified_acts_as_nobody_not_the_local_admin(db):
    """Callbacks act as ``app_state.member()``; in a session where the frame has named nobody
    (no run of app.py, e.g. a signed-in deployment whose session lost its state), that is a refusal,
    not the local administrator."""

    def script() -> None:
        import streamlit as st

        from tracker import access, app_state

        try:
            st.write(f"acting as {app_state.member().email}")
        except access.Forbidden as exc:
            st.write(f"refused: {exc}")
        st.session_state["member"] = access.LOCAL_ADMIN  # what the frame does in local mode
        st.write(f"then as {app_state.member().email}")

    at = AppTest.from_function(script, default_timeout=TIMEOUT).run()
    texts = [m.value for m in at.markdown]
    assert texts[0].startswith("refused: nobody is signed in"), texts
    assert texts[1] == f"then as {access.LOCAL_ADMIN.email}"


def _reads_ahead() -> None:  # run by AppTest.from_function
    import streamlit as st

    from tests.helpers import ahead_reads
    from tracker import app_state

    app_state.begin_run()
    app_state.ahead(ahead_reads.both_at_once, "first")
    app_state.ahead(ahead_reads.both_at_once, "second")
    st.write(app_state.read(ahead_reads.both_at_once, "first"))
    st.write(app_state.read(ahead_reads.both_at_once, "second"))


def test_reads_started_ahead_run_side_by_side_and_the_page_takes_their_results(db):
    """A page's cold reads started with ``ahead`` run at the same time (each waits at a barrier
    for the other: one after the other, the first would wait in vain), in the background, and the
    page's ``read`` of the same call takes that result instead of reading again."""
    from tests.helpers import ahead_reads

    ahead_reads.ran.clear()
    ahead_reads.together.reset()
    at = AppTest.from_function(_reads_ahead, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    texts = [m.value for m in at.markdown]
    assert [t.split(":")[0] for t in texts] == ["first", "second"]
    assert sorted(name for name, _ in ahead_reads.ran) == ["first", "second"]  # each read once
    # in two threads (the script's own takes a read no worker has started yet: see the next tests)
    assert len({thread for _, thread in ahead_reads.ran}) == 2, ahead_reads.ran

    ahead_reads.ran.clear()
    at.run()  # the same run again: both from the cache, nothing read
    assert not at.exception, at.exception
    assert [m.value for m in at.markdown] == texts
    assert ahead_reads.ran == []


def _read_ahead_fails() -> None:  # run by AppTest.from_function
    import streamlit as st

    from tests.helpers import ahead_reads
    from tracker import app_state

    app_state.begin_run()
    app_state.ahead(ahead_reads.failing, "broken")
    try:
        app_state.read(ahead_reads.failing, "broken")
    except ValueError as exc:
        st.write(f"the page saw: {exc}")


def test_a_read_started_ahead_that_fails_raises_where_the_page_reads_it(db):
    from tests.helpers import ahead_reads

    ahead_reads.ran.clear()
    at = AppTest.from_function(_read_ahead_fails, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert [m.value for m in at.markdown] == ["the page saw: broken could not be read"]
    assert [name for name, _ in ahead_reads.ran] == ["broken"]  # not read a second time on the page


def _read_ahead_queued() -> None:  # run by AppTest.from_function
    import streamlit as st

    from tests.helpers import ahead_reads
    from tracker import app_state

    app_state.begin_run()
    app_state.ahead(ahead_reads.plain, "queued")
    st.write(app_state.read(ahead_reads.plain, "queued"))


def test_a_read_ahead_that_no_worker_has_started_is_read_on_the_page_not_waited_for(db):
    """Many sessions at once can keep every worker busy: a page does not wait in that queue for
    its own read, it reads it itself (and the queued copy is dropped)."""
    import threading

    from tests.helpers import ahead_reads

    ahead_reads.ran.clear()
    release = threading.Event()
    busy = [app_state._POOL.submit(release.wait, 30) for _ in range(app_state._POOL._max_workers)]
    try:
        at = AppTest.from_function(_read_ahead_queued, default_timeout=TIMEOUT).run()
        assert not at.exception, at.exception
        assert [m.value for m in at.markdown] == ["queued"]
        assert len(ahead_reads.ran) == 1
        assert not ahead_reads.ran[0][1].startswith("tracker-read")  # read by the script's own thread
    finally:
        release.set()
        for done in busy:
            done.result(timeout=30)
    assert len(ahead_reads.ran) == 1  # the queued copy never ran
