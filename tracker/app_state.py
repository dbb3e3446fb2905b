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
from typing import Any, TypeVar

import streamlit as st

from tracker import access, queries
from tracker.access import LOCAL_ADMIN, Member
from tracker.config import Settings
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


def store() -> Store:
    """The process-wide store for ``TRACKER_DB`` (one connection; a cursor per call)."""
    return _open(_target(os.environ.get("TRACKER_DB")))


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
def _read(name: str, target: str, version: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return _READS[name](_open(target), *args, **dict(kwargs))


def read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(store, *args, **kwargs)``, cached until the data changes."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    _READS[name] = fn
    s = store()
    return _read(name, s.target, data_version(s), args, tuple(sorted(kwargs.items())))  # type: ignore[no-any-return]
