"""The one edge where tracker/ meets Streamlit: a store per process and cached reads.

Everything else in tracker/ is plain Python. Reads are cached with ``st.cache_data``
keyed by the data version, so a write is visible on the very next rerun.

The data version is read once per script run (app.py calls :func:`begin_run`), not once per
read: a page makes ten or so reads, and each version query costs about 2 ms. A write made in this
process during the run (every write records an audit event, :func:`tracker.access.writes`) makes
the next read ask again, so a page that saves and then reads shows what it saved.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from dataclasses import fields
from datetime import date
from typing import Any, TypeVar

import streamlit as st

from tracker import access, queries
from tracker.access import LOCAL_ADMIN, Member
from tracker.config import Settings
from tracker.filters import Filters
from tracker.store import Store

T = TypeVar("T")
_READS: dict[str, Callable[..., Any]] = {}


@st.cache_resource(show_spinner=False)
def _open(target: str) -> Store:
    return Store(target, Settings(db=target))


def member() -> Member:
    """The member acting in this session (set by the frame; local mode: the local admin)."""
    found = st.session_state.get("member")
    return found if isinstance(found, Member) else LOCAL_ADMIN


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


_RUN = "_tracker_run"  # session state: which script run this is (counted by begin_run)
_VERSION = "_tracker_version"  # session state: (run, writes seen, data version) of this run


def begin_run() -> None:
    """Mark the start of a script run: the first read of the run asks for the data version."""
    st.session_state[_RUN] = st.session_state.get(_RUN, 0) + 1


def data_version(s: Store) -> str:
    """The data version for this run's reads: asked once per run, and again after a write."""
    run = st.session_state.get(_RUN)
    writes = access.writes()
    memo = st.session_state.get(_VERSION)
    if run is not None and memo is not None and memo[0] == (run, writes, s.target):
        return str(memo[1])
    version = queries.data_version(s)
    if run is not None:
        st.session_state[_VERSION] = ((run, writes, s.target), version)
    return version


@st.cache_data(show_spinner=False, max_entries=512, ttl=3600)
def _read(key: str, _call: tuple[str, str, tuple[Any, ...], dict[str, Any]]) -> Any:
    # ``key`` (function, store, data version and arguments, as text) stands for the call:
    # Streamlit does not hash parameters named with a leading underscore. Its general-purpose
    # hashing of a Filters and of each parameter cost ~1 ms a read (#6).
    name, target, args, kwargs = _call
    return _READS[name](_store(target), *args, **kwargs)


_KEYABLE = (str, int, float, bool, date, type(None))  # datetime is a date


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
    key = "\n".join((name, s.target, data_version(s), _key((args, tuple(sorted(kwargs.items()))))))
    return key, (name, s.target, args, kwargs)


def read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(store, *args, **kwargs)``, cached until the data changes."""
    key, call = _call(fn, args, kwargs)
    return _read(key, call)  # type: ignore[no-any-return]


_RUN_READS = "_tracker_run_reads"  # session state: (run, {key: result}) of read_in_run


def read_in_run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """As :func:`read`, for a result the caller only reads (the vocabularies): asked for again in
    the same script run, the same object is returned, not another copy from the cache (each copy
    is unpickled: ~1 ms for the vocabularies, which the frame and the page ask for three or four
    times a run, #6). After a write in the run, the data version and so the key change."""
    key, call = _call(fn, args, kwargs)
    run = st.session_state.get(_RUN)
    memo: tuple[Any, dict[str, Any]] | None = st.session_state.get(_RUN_READS)
    if run is None or memo is None or memo[0] != run:
        memo = (run, {})
        if run is not None:
            st.session_state[_RUN_READS] = memo
    if key not in memo[1]:
        memo[1][key] = _read(key, call)
    return memo[1][key]  # type: ignore[no-any-return]
