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
