"""The one edge where tracker/ meets Streamlit: a store per process and cached reads.

Everything else in tracker/ is plain Python. Reads are cached with ``st.cache_data``
keyed by the data version, so a write is visible on the very next rerun.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from tracker import queries
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


def store() -> Store:
    """The process-wide store for ``TRACKER_DB`` (one connection; a cursor per call)."""
    return _open(Settings().db)


@st.cache_data(show_spinner=False, max_entries=512, ttl=3600)
def _read(name: str, target: str, version: str, args: tuple[Any, ...], kwargs: tuple[tuple[str, Any], ...]) -> Any:
    return _READS[name](_open(target), *args, **dict(kwargs))


def read(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(store, *args, **kwargs)``, cached until the data changes."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    _READS[name] = fn
    s = store()
    return _read(name, s.target, queries.data_version(s), args, tuple(sorted(kwargs.items())))  # type: ignore[no-any-return]
