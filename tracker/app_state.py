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
from tracker.taxonomy import Vocab

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
