"""Present mode, for a projector in a SCAN meeting: no editing controls, no sidebar, larger type,
and the same filters. AppTest checks the navigation and the entry tables; a real browser checks
that the sidebar is actually hidden and the type actually larger."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.browser_support import chromium, require_chromium, settle, streamlit_app
from tests.conftest import ADMIN, ROOT, as_a_server_runs
from tracker import queries
from tracker.config import Settings
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import Store

ARTIFACTS = ROOT / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("present") / "demo.duckdb"
    with Store(str(path), Settings(db=str(path))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    return path


# --- AppTest: what present mode leaves out ---------------------------------------------------------


@pytest.fixture
def db(tmp_path, demo_file, monkeypatch) -> Path:
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_file, path)
    monkeypatch.setenv("TRACKER_DB", str(path))
    as_a_server_runs(monkeypatch)
    return path


def app(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def reachable(at: AppTest, page: str) -> bool:
    try:
        at.switch_page(page)
    except ValueError as exc:
        assert "Could not find a navigation page" in str(exc)
        return False
    at.run()
    return True


def test_present_mode_leaves_the_record_pages_out_of_the_navigation(db):
    at = app(present="1")
    assert not reachable(at, "pages/log_entry.py")
    assert not reachable(at, "pages/import_export.py")
    assert reachable(at, "pages/compare.py") and at.title[0].value == "Compare areas"
    assert not at.sidebar.toggle  # the toggle moved out of the hidden sidebar
    assert at.toggle(key="present_toggle").value is True


def test_entry_tables_offer_no_edit_link_in_present_mode(db):
    normal = app(partnership="voices")
    assert any("Select a row to edit" in c.value for c in normal.caption)
    present = app(partnership="voices", present="1")
    assert not any("edit" in c.value.lower() for c in present.caption)
    links = [(link.proto.label, link.proto.page) for link in present.get("page_link")]
    assert links and not [label for label, page in links if "edit" in label.lower() or "log_entry" in page]
    assert len(present.dataframe) == len(normal.dataframe)  # the entries are still shown


def test_present_mode_keeps_the_filters_and_can_be_left(db):
    at = app(partnership="voices", kind="milestone", present="1")
    with Store(str(db), Settings(db=str(db))) as store:
        expected = queries.count_entries(store, Filters(partnerships=("voices",), kinds=("milestone",)))
    assert next(m.value for m in at.metric if m.label == "Entries") == str(expected)
    at.toggle(key="present_toggle").set_value(False).run()
    assert "present" not in at.query_params
    assert at.query_params["partnership"] in ("voices", ["voices"])
    assert next(m.value for m in at.metric if m.label == "Entries") == str(expected)
    assert reachable(at, "pages/log_entry.py")
    at.switch_page("pages/overview.py").run()
    at.sidebar.toggle(key="present_toggle").set_value(True).run()
    assert at.query_params["present"] in ("1", ["1"])
    assert not reachable(at, "pages/log_entry.py")


# --- a real browser: the sidebar is hidden, the type is larger ---------------------------------------


@pytest.fixture(scope="module")
def server(demo_file):
    require_chromium()
    with streamlit_app(demo_file) as url:
        yield url


@pytest.mark.browser
def test_present_mode_in_a_browser_hides_the_sidebar_and_enlarges_the_type(server):
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})  # type: ignore[attr-defined]
        page.goto(f"{server}/?partnership=voices")
        settle(page)
        expect(page.locator("[data-testid='stSidebar']")).to_be_visible()
        normal_size = page.evaluate("getComputedStyle(document.documentElement).fontSize")
        entries = page.locator("[data-testid='stMetric']").filter(has_text="Entries").first.inner_text()

        page.goto(f"{server}/?partnership=voices&present=1")
        settle(page)
        expect(page.get_by_role("heading", name="Overview", exact=True).first).to_be_visible(timeout=30_000)
        assert page.locator("[data-testid='stException']").count() == 0
        expect(page.locator("[data-testid='stSidebar']")).to_be_hidden()
        assert page.get_by_text("Log an entry").count() == 0  # no editing pages in the navigation
        big_size = page.evaluate("getComputedStyle(document.documentElement).fontSize")
        assert float(big_size.removesuffix("px")) > float(normal_size.removesuffix("px"))
        expect(page.locator("[data-testid='stMetric']").filter(has_text="Entries").first).to_have_text(
            re.compile(rf"^Entries\D*{re.escape(entries.split()[-1])}$"), timeout=30_000
        )
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "present-mode.png"))

        page.get_by_text("Present mode", exact=True).click()
        settle(page)
        expect(page.locator("[data-testid='stSidebar']")).to_be_visible()
        expect(page).to_have_url(re.compile(r"^(?!.*present=).*partnership=voices"), timeout=30_000)
