"""End to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run app.py`.

AppTest checks the scripts; only a browser shows that pages actually render, charts paint and
a shared link opens the same view. Screenshots land in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ROOT
from tracker import queries
from tracker.config import Settings
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import Store

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"
ARTIFACTS = ROOT / "test-artifacts" / "browser"

if not Path(CHROMIUM).exists():
    if os.environ.get("TRACKER_REQUIRE_BROWSER"):
        raise RuntimeError("TRACKER_REQUIRE_BROWSER is set but Debian's chromium is not installed")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.browser

PAGES = [
    ("", "Overview", ["Structures and their current status", "Latest entries"]),
    ("timeline", "Timeline", ["One lane per"]),
    ("heatmaps", "Heatmaps", ["Entries behind a cell"]),
    ("legacy", "Legacy register", ["Structures by current status", "Register"]),
    ("log_entry", "Log an entry", ["Partnership *", "Save entry"]),
    ("import_export", "Import / export", ["Import a spreadsheet", "Export entries"]),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "browser.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    port = _free_port()
    env = {**os.environ, "TRACKER_DB": str(db)}
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
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.time() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    break
        except OSError:
            if proc.poll() is not None or time.time() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                proc.kill()
                raise RuntimeError(f"streamlit did not start: {out[-2000:]}") from None
            time.sleep(0.3)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


def settle(page) -> None:
    page.wait_for_selector(READY, timeout=60_000)
    page.wait_for_timeout(500)
    page.wait_for_selector(READY, timeout=60_000)


def no_exception(page) -> None:
    boxes = page.locator("[data-testid='stException']")
    assert boxes.count() == 0, boxes.first.inner_text()


@pytest.mark.parametrize(("path", "title", "texts"), PAGES, ids=[p[1] for p in PAGES])
def test_every_page_renders(server, page, path, title, texts):
    from playwright.sync_api import expect

    page.goto(f"{server}/{path}")
    settle(page)
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible(timeout=30_000)
    settle(page)
    no_exception(page)
    for text in texts:
        expect(page.get_by_text(text, exact=False).first).to_be_visible(timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{title.lower().replace(' / ', '-').replace(' ', '-')}.png"), full_page=True)


def test_charts_paint(server, page):
    page.goto(f"{server}/heatmaps")
    settle(page)
    chart = page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg").first
    chart.wait_for(timeout=30_000)
    box = chart.bounding_box()
    assert box and box["width"] > 200 and box["height"] > 200


def test_a_shared_link_opens_the_same_view(server, page):
    page.goto(f"{server}/?partnership=voices&kind=milestone")
    settle(page)
    no_exception(page)
    with Store(":memory:", Settings(db=":memory:")) as reference:
        import_file(reference, reference.settings.sample, actor=ADMIN)
        expected = queries.count_entries(reference, Filters(partnerships=("voices",), kinds=("milestone",)))
    entries = page.locator("[data-testid='stMetric']").filter(has_text="Entries").first
    assert "VOICES" in page.locator("[data-testid='stSidebar']").inner_text()
    first = entries.inner_text()
    assert first.split()[-1] == str(expected)
    page.goto(f"{server}/heatmaps?partnership=voices&kind=milestone&metric=share")
    settle(page)
    assert "share of the row" in page.inner_text("body").lower() or "Share" in page.inner_text("body")
    page.goto(f"{server}/?partnership=voices&kind=milestone")
    settle(page)
    assert page.locator("[data-testid='stMetric']").filter(has_text="Entries").first.inner_text() == first


def test_filter_changes_the_url(server, page):
    page.goto(server)
    settle(page)
    page.get_by_label("Kind").first.click()
    page.get_by_role("option", name="Setbacks").click()
    page.keyboard.press("Escape")
    settle(page)
    assert "kind=setback" in page.url
