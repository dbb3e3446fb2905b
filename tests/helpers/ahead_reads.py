"""Reads for tests/test_app_state.py's tests of ``app_state.ahead``: each records that it ran and
can be made to wait for the other (a barrier only passes when both run at the same time)."""

from __future__ import annotations

import threading
from typing import Any

from tracker.store import Store

ran: list[tuple[str, str]] = []  # (read, thread name) in the order they started
together = threading.Barrier(2, timeout=20)


def both_at_once(store: Store, name: str) -> str:
    """Passes only while another call of it is running too (else BrokenBarrierError after 20 s)."""
    ran.append((name, threading.current_thread().name))
    together.wait()
    return f"{name}: {store.cursor().execute('SELECT count(*) FROM entries').fetchone()[0]}"  # type: ignore[index]


def plain(store: Store, name: str) -> str:
    ran.append((name, threading.current_thread().name))
    return name


def failing(store: Store, name: str) -> Any:
    ran.append((name, threading.current_thread().name))
    raise ValueError(f"{name} could not be read")
