"""Shared pieces for the real-browser tests: Debian's Chromium, a streamlit server, page settling.

Browser tests import from here so that how the app is started and how "the page has finished
running" is detected are written once. Test tools cannot download browsers on this machine, so
the tests use Debian's chromium; without it they skip, unless TRACKER_REQUIRE_BROWSER is set
(CI), in which case they fail loudly.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # Anything not on this machine fails at once, in the browser's own resolver: Streamlit's front
    # end asks Google's font server for its Material icons, and with no internet that request can
    # hang instead of failing. (Session 17 refused such requests with a Playwright route instead;
    # routing makes Chromium hold every request for the driver, and a fresh-clone run in session 18
    # then had one page load never start, after which every page of that browser timed out.)
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"


def require_chromium() -> None:
    """Skip the calling test module when Debian's chromium is missing (fail instead in CI)."""
    if Path(CHROMIUM).exists():
        return
    if os.environ.get("TRACKER_REQUIRE_BROWSER"):
        raise RuntimeError("TRACKER_REQUIRE_BROWSER is set but Debian's chromium is not installed")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


def free_port() -> int:
    """A free TCP port on localhost."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, proc: subprocess.Popen[bytes], what: str, timeout: float = 90, log: Path | None = None) -> None:
    """Wait until ``url`` answers, or fail with the process's output (from ``log``, else its stdout pipe)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if proc.poll() is not None:
                break
            time.sleep(0.3)
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)
    if log is not None:
        out = log.read_text(errors="replace")
    else:
        out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    raise RuntimeError(f"{what} did not start: {out[-2000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate a server process (kill it if it will not stop)."""
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def streamlit_app(
    db: Path | str, *extra: str, env: dict[str, str] | None = None, address: str = "127.0.0.1", port: int | None = None
) -> Iterator[str]:
    """Run ``streamlit run app.py`` on ``db``; yield its base URL; stop it afterwards.

    Its output goes to a file, not a pipe: nothing reads a pipe while the tests run, and once
    Streamlit had written 64 KB of log to one it blocked on the next write and stopped answering,
    so every later page load in that module timed out (a fresh-clone run, session 18)."""
    port = port or free_port()
    log = Path(tempfile.mkstemp(prefix=f"streamlit-{port}-", suffix=".log")[1])
    sink = log.open("wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            address,
            "--browser.gatherUsageStats",
            "false",
            *extra,
        ],
        cwd=ROOT,
        env={**os.environ, "TRACKER_DB": str(db), **(env or {})},
        stdout=sink,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/_stcore/health", proc, "streamlit", log=log)
        yield f"http://{'localhost' if address == '127.0.0.1' else '127.0.0.1'}:{port}"
    finally:
        stop(proc)
        sink.close()
        log.unlink(missing_ok=True)


@contextlib.contextmanager
def chromium() -> Iterator[object]:
    """A headless Debian Chromium driven by Playwright."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # Every page it opens waits up to NAVIGATION_MS for a page to load: on a loaded 2-core
        # machine one load of /legacy took over Playwright's default 30 s (a fresh-clone run, session 17).
        browser.new_context = _patient(browser.new_context)  # type: ignore[method-assign]
        browser.new_page = _patient(browser.new_page)  # type: ignore[method-assign]
        try:
            yield browser
        finally:
            browser.close()


NAVIGATION_MS = 90_000


def _patient(make: Any) -> Any:
    """``make`` (a browser's new_context or new_page), its result waiting up to NAVIGATION_MS for a
    page to load."""

    def made(*args: Any, **kwargs: Any) -> Any:
        found = make(*args, **kwargs)
        found.set_default_navigation_timeout(NAVIGATION_MS)
        return found

    return made


def settle(page: object, timeout_ms: int = 60_000) -> None:
    """Wait until the app has finished running (twice, so that a rerun in between is waited for too)."""
    page.wait_for_selector(READY, timeout=timeout_ms)  # type: ignore[attr-defined]
    page.wait_for_timeout(500)  # type: ignore[attr-defined]
    page.wait_for_selector(READY, timeout=timeout_ms)  # type: ignore[attr-defined]


def no_exception(page: object) -> None:
    """Fail if Streamlit shows an exception box."""
    boxes = page.locator("[data-testid='stException']")  # type: ignore[attr-defined]
    assert boxes.count() == 0, boxes.first.inner_text()


def extra_args(*pairs: Sequence[str]) -> list[str]:
    """Flatten (option, value) pairs for ``streamlit_app``."""
    return [part for pair in pairs for part in pair]


def choose(page: object, label: str, option: str, *, many: bool = False, attempts: int = 3) -> None:
    """Pick ``option`` in the selectbox (or multiselect) labelled ``label`` and wait until it shows.

    The option is typed and chosen with Enter, as a keyboard user would: clicking an option in a
    long, scrolled list loses the click now and then on a loaded machine (the list redraws between
    mouse down and up; seen in CI and reproduced under CPU load). The value must appear in the
    widget before the test goes on, and the pick is repeated if it did not.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import expect

    box = page.get_by_role("combobox", name=label, exact=True)  # type: ignore[attr-defined]
    chips = page.locator("[data-testid='stMultiSelect']").filter(has=box)  # type: ignore[attr-defined]
    for attempt in range(attempts):
        settle(page)
        box.click()
        page.keyboard.type(option)  # type: ignore[attr-defined]
        expect(page.get_by_role("option", name=option, exact=True)).to_be_visible()  # type: ignore[attr-defined]
        page.keyboard.press("Enter")  # type: ignore[attr-defined]
        if many:
            page.keyboard.press("Escape")  # type: ignore[attr-defined]
        settle(page)
        try:
            if many:  # chosen values are chips beside the box
                expect(chips.first).to_contain_text(option, timeout=5_000)
            else:  # a selectbox shows its value in the box itself
                expect(box).to_have_value(option, timeout=5_000)
            return
        except (AssertionError, PlaywrightTimeout):
            if attempt == attempts - 1:
                raise
