"""The one edge where tracker/ meets Streamlit: a store per process and cached reads.

Everything else in tracker/ is plain Python. Reads are cached with ``st.cache_data``
keyed by the data version, so a write is visible on the very next rerun.

The vocabularies are one shared object per version of the reference data (:func:`vocab`).

The data version is read once per script run (app.py calls :func:`begin_run`), not once per
read: a page makes ten or so reads, and each version query costs about 2 ms. A write made in this
process during the run (every write records an audit event, :func:`tracker.access.writes`) makes
the next read ask again, so a page that saves and then reads shows what it saved.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import fields
from datetime import date
from pathlib import Path, PurePath
from typing import Any, TypeVar

import streamlit as st
from pydantic import ValidationError

from tracker import access, queries
from tracker.access import LOCAL_ADMIN, Member
from tracker.config import Settings, settings_problem
from tracker.filters import Filters
from tracker.store import Store, StoreError
from tracker.taxonomy import Vocab

T = TypeVar("T")
_LOG = logging.getLogger(__name__)
_READS: dict[str, Callable[..., Any]] = {}


@st.cache_resource(show_spinner=False)
def _open(target: str) -> Store:
    return Store(target, Settings(db=target))


def member() -> Member:
    """The member acting in this session (set by the frame; local mode: the local admin), as stored now;
    never anyone when the frame has named nobody (a callback in a session that was never identified).

    A widget's callback (Save, Delete, Still running…) runs before the frame identifies the member
    again, so a signed-in member is read afresh from the store (not from the read cache, whose data
    version is still the previous run's): a role changed or taken away counts at the next click.
    Raises :class:`~tracker.access.Forbidden` for someone who is no longer a member.
    """
    found = st.session_state.get("member")
    if not isinstance(found, Member):  # the frame names the member (the local admin too) on every run
        raise access.Forbidden("nobody is signed in in this session: reload the page")
    return current(found)


def current(found: Member) -> Member:
    """``found`` as the store has them now (the local admin as it is), also outside a script run (a
    download built when clicked). Raises :class:`~tracker.access.Forbidden` if no longer a member."""
    if found == LOCAL_ADMIN:
        return found
    now = access.get_member(store(), found.email)
    if now is None:
        raise access.Forbidden(f"{found.email} is no longer a member of this tracker")
    return now


@functools.lru_cache(maxsize=16)
def _target(env_db: str | None) -> str:
    return Settings().db  # Settings reads the environment: parsed once per TRACKER_DB value


_STORES: dict[str, Store] = {}  # _open's stores by target: looked up without Streamlit's hashing (#6)


def _store(target: str) -> Store:
    found = _STORES.get(target)
    if found is None:  # _open makes one store per target, even when two sessions ask at once
        found = _STORES.setdefault(target, _open(target))
    return found


def store() -> Store:
    """The process-wide store for ``TRACKER_DB`` (one connection; a cursor per call)."""
    return _store(_target(os.environ.get("TRACKER_DB")))


def open_problem() -> str | None:
    """Why the store cannot be opened (a bad ``TRACKER_*`` setting, a database that cannot be
    reached), in plain words; None when it opens. A store that failed is tried again next run."""
    try:
        store()
    except StoreError as exc:
        _LOG.error("cannot open the store: %s", exc)  # the server's log has it too
        return str(exc)
    except ValidationError as exc:
        problem = settings_problem(exc)
        if problem is None:
            raise
        _LOG.error("cannot open the store: %s", problem)
        return problem
    return None


_RUN = "_tracker_run"  # session state: which script run this is (counted by begin_run)
_VERSION = "_tracker_version"  # session state: (run, writes seen, data version) of this run


def begin_run() -> None:
    """Mark the start of a script run: the first read of the run asks for the data version."""
    st.session_state[_RUN] = st.session_state.get(_RUN, 0) + 1
    st.session_state[_TRACKED] = {}
    st.session_state[_AHEAD] = {}


def _versions(s: Store) -> tuple[str, str]:
    """This run's (data version, reference version): asked once per run, and again after a write."""
    run = st.session_state.get(_RUN)
    writes = access.writes()
    memo = st.session_state.get(_VERSION)
    if run is not None and memo is not None and memo[0] == (run, writes, s.target):
        return memo[1]  # type: ignore[no-any-return]
    found = queries.versions(s)
    if run is not None:
        st.session_state[_VERSION] = ((run, writes, s.target), found)
    return found


def data_version(s: Store) -> str:
    """The data version for this run's reads: asked once per run, and again after a write."""
    return _versions(s)[0]


_VOCABS: dict[tuple[str, str], Vocab] = {}  # by (store, reference version); the last few kept
_VOCABS_KEPT = 4


def vocab() -> Vocab:
    """The vocabularies and partnerships: one read-only object per version of the reference data,
    shared by every session and run. Saving an entry does not make them be read again (they were
    read, and unpickled for every session, after every write: ~4 ms of a page's first run, #6); a
    change to a term, a partnership or a condition does, on the next read, also in the same run."""
    s = store()
    key = (s.target, _versions(s)[1])
    found = _VOCABS.get(key)
    if found is None:
        found = _VOCABS.setdefault(key, s.vocab())  # two sessions at once: both get the first one
        for old in list(_VOCABS)[:-_VOCABS_KEPT]:
            _VOCABS.pop(old, None)
    return found


_SHARED: dict[str, Any] = {}  # by_reference's results by key; the last few kept
_SHARED_KEPT = 16


def by_reference(fn: Callable[..., T], *args: Any, files: tuple[Path, ...] = (), **kwargs: Any) -> T:
    """``fn(vocab(), *args, **kwargs)`` for what depends on the reference data (terms, partnerships,
    conditions), data files and plain values only, never on the entries: one read-only result per
    version of the reference data, shared by every session and run like :func:`vocab`, so saving
    an entry does not make it be computed again (the timeline's outside events: ~3.6 ms of its
    first run after every write, #6). ``files``: data files it reads; an edit to one (a new
    modification time) makes it be computed again."""
    s = store()
    stamps = tuple(os.stat(f).st_mtime_ns for f in files)
    key = "\n".join(
        (
            f"{fn.__module__}.{fn.__qualname__}",
            s.target,
            _versions(s)[1],
            _key((args, tuple(sorted(kwargs.items())), tuple(str(f) for f in files), stamps)),
        )
    )
    found = _SHARED.get(key)
    if found is None:
        found = _SHARED.setdefault(key, fn(vocab(), *args, **kwargs))  # two sessions at once: both get the first
        for old in list(_SHARED)[:-_SHARED_KEPT]:
            _SHARED.pop(old, None)
    _track(found, "reference:" + key)
    return found  # type: ignore[no-any-return]


@st.cache_data(show_spinner=False, max_entries=512, ttl=3600)
def _read(key: str, _call: tuple[str, str, tuple[Any, ...], dict[str, Any]]) -> Any:
    # ``key`` (function, store, data version and arguments, as text) stands for the call:
    # Streamlit does not hash parameters named with a leading underscore. Its general-purpose
    # hashing of a Filters and of each parameter cost ~1 ms a read (#6).
    name, target, args, kwargs = _call
    return _READS[name](_store(target), *args, **kwargs)


_KEYABLE = (str, int, float, bool, date, PurePath, type(None))  # datetime is a date; repr keeps the path type


def _key(value: Any) -> str:
    """A text that differs whenever ``value`` does, for the argument types reads take: text,
    numbers, dates, None, tuples and lists of them, and Filters. Anything else is refused rather
    than risk two different arguments sharing a cache entry."""
    if isinstance(value, _KEYABLE):
        return repr(value)  # repr keeps types apart: '1' and 1, True and 1, date and datetime
    if isinstance(value, (tuple, list)):
        inner = ", ".join(_key(item) for item in value)
        return f"({inner},)" if isinstance(value, tuple) else f"[{inner}]"
    if isinstance(value, Filters):
        return "Filters(" + ", ".join(f"{f.name}={_key(getattr(value, f.name))}" for f in fields(value)) + ")"
    raise TypeError(f"app_state.read cannot key an argument of type {type(value).__name__}: pass plain values")


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, tuple[Any, ...]]:
    name = f"{fn.__module__}.{fn.__qualname__}"
    _READS[name] = fn
    s = store()
    # Today's date is in the key: reads that count from today (the structures not confirmed for 12
    # months, status bands running to today) are not served from yesterday's cache after midnight.
    today = date.today().isoformat()
    key = "\n".join((name, s.target, data_version(s), today, _key((args, tuple(sorted(kwargs.items()))))))
    return key, (name, s.target, args, kwargs)


def read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(store, *args, **kwargs)``, cached until the data changes; taken from :func:`ahead` when
    this run started the same read there."""
    key, call = _call(fn, args, kwargs)
    pending: Future[Any] | None = st.session_state.get(_AHEAD, {}).pop(key, None)
    started = pending is not None and not pending.cancel()  # a worker has it: wait (else read it here)
    found = pending.result() if started else _read(key, call)  # type: ignore[union-attr]
    _track(found, key)
    return found  # type: ignore[no-any-return]


# Reads ahead (#6). A page's first run after a write makes three to five reads one after another,
# each mostly DuckDB's work (planning and running a query), during which DuckDB lets go of
# Python's interpreter lock. Started together at the top of the page, they run side by side on
# the machine's cores and beside the page's own drawing; each lands in the same cache as read().
_AHEAD = "_tracker_ahead"  # session state: cache key -> Future of a read this run started early
_POOL = ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 2), thread_name_prefix="tracker-read")


def ahead(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Start ``read(fn, *args, **kwargs)`` now, in the background; the page's later :func:`read` of
    the same call takes its result (or runs it there if no worker has picked it up yet). Cached
    reads are quick either way; this saves the waiting when the cache is cold."""
    pending = st.session_state.get(_AHEAD)
    if pending is None:
        return  # outside a run the frame began: read() does the work
    key, call = _call(fn, args, kwargs)
    if key not in pending:
        pending[key] = _POOL.submit(_read, key, call)


# Charts (#6). Building an Altair chart and converting it to Vega-Lite with its data as Arrow is
# most of a page's run once its reads are cached (timeline at 1M entries: 8 + 7 of 29 ms). The
# finished spec is cached too, keyed by what the chart was built from: the cache keys of this
# run's reads that returned the frames passed in (the same key means the same rows: it names the
# query, its arguments and the data version), and the plain values (labels, flags) as text. A
# frame that is not a read's result as returned (a slice of one, a frame made on the page) cannot
# be keyed, so that chart is built on every run, as before.

_TRACKED = "_tracker_tracked"  # session state: id -> (weak reference, key) of this run's read results


def _track(value: Any, key: str) -> None:
    """Remember which read returned ``value`` (and each frame in a tuple or dataclass it returned)."""
    tracked = st.session_state.get(_TRACKED)
    if tracked is None:
        return
    parts: list[tuple[Any, str]] = [(value, key)]
    if isinstance(value, tuple):
        parts += [(item, f"{key}\n[{i}]") for i, item in enumerate(value)]
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        parts += [(getattr(value, f.name), f"{key}\n.{f.name}") for f in fields(value)]
    for item, item_key in parts:
        if isinstance(item, _KEYABLE):
            continue  # keyed by value; small ints and bools are shared objects, so never by identity
        try:
            ref = weakref.ref(item)
        except TypeError:
            continue  # tuples, lists, dicts: keyed by their frames, not themselves
        tracked[id(item)] = (ref, item_key)


def _chart_key(value: Any) -> str | None:
    """``value`` as text for a chart's cache key, or ``None`` when it cannot be keyed safely."""
    try:
        return _key(value)
    except TypeError:
        pass
    if isinstance(value, (tuple, list)):
        inner = [_chart_key(item) for item in value]
        return None if None in inner else f"{type(value).__name__}({', '.join(inner)})"  # type: ignore[arg-type]
    found = st.session_state.get(_TRACKED, {}).get(id(value))
    if found is not None and found[0]() is value:
        return "read:" + found[1]
    return None


def derive(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(*args, **kwargs)`` for a pure function of read results and plain values, remembered
    like a read's result so that a chart of it can be cached."""
    found = fn(*args, **kwargs)
    key = _call_key(fn, args, kwargs)
    if key is not None:
        _track(found, "derived:" + key)
    return found


def _call_key(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> str | None:
    parts = [_chart_key(a) for a in args] + [
        None if (k := _chart_key(v)) is None else f"{name}={k}" for name, v in sorted(kwargs.items())
    ]
    if None in parts:
        return None
    return "\n".join((f"{fn.__module__}.{fn.__qualname__}", *parts))  # type: ignore[arg-type]


def chart_spec(build: Callable[..., Any], *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The Vega-Lite spec, data as Arrow, of ``build(*args, **kwargs)`` (an Altair chart), as
    ``st.altair_chart`` would send it; cached when every argument can be keyed (see above)."""
    key = _call_key(build, args, kwargs)
    if key is None:
        return _to_spec(build(*args, **kwargs))
    return _spec(key, (build, args, kwargs))  # type: ignore[no-any-return]


@st.cache_data(show_spinner=False, max_entries=256, ttl=3600)
def _spec(key: str, _call: tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]) -> dict[str, Any]:
    build, args, kwargs = _call
    return _to_spec(build(*args, **kwargs))


def _to_spec(chart: Any) -> dict[str, Any]:
    from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec

    from tracker.charts import arrow_data, unvalidated

    return dict(_convert_altair_to_vega_lite_spec(unvalidated(arrow_data(chart))))
