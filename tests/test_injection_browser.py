"""Injection in a real browser (#7): hostile titles, descriptions, hosts, structures and sources stay text.

The database holds entries whose free text is HTML, ``<script>``, Markdown images and links, and
``javascript:`` URLs. Every page is opened in Chromium (with the edit form, a save, the entry
list selection, the chart tooltips and the admin tabs); after each, the page must hold no
element the text could have created, no script may have run (``window.__pwned`` stays unset, no
dialog opened) and the browser must have asked no host but the app for anything.

Pages whose own files are not this suite's to change (see the #7 report) are marked xfail with
the bug named, strictly: when the page is fixed the mark must go.
"""

from __future__ import annotations

import os
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.browser_support import CHROMIUM, chromium, settle, streamlit_app
from tests.conftest import ADMIN, valid_row
from tracker import entries
from tracker.config import Settings
from tracker.importer import import_file
from tracker.store import Store

if not Path(CHROMIUM).exists():
    if os.environ.get("TRACKER_REQUIRE_BROWSER"):
        raise RuntimeError("TRACKER_REQUIRE_BROWSER is set but Debian's chromium is not installed")
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.browser

TITLE = '<img src=x onerror="window.__pwned=1">![i](http://evil.example/title.png) [t](javascript:window.__pwned=2)'
HOSTILE = {
    "id": "x-title",
    "date": "2023",
    "title": TITLE,
    "description": (
        "<script>window.__pwned=3</script>\n<iframe src='http://evil.example/frame'></iframe>\n"
        "[d](javascript:window.__pwned=4) ![d](http://evil.example/desc.png)"
    ),
    "status": "hosted elsewhere",
    "host": "[host](javascript:window.__pwned=5) ![h](http://evil.example/host.png) <b>bold</b>",
    "structure": "<svg onload=window.__pwned=6>![s](http://evil.example/structure.png)",
    "source": "javascript:window.__pwned=7",
}
DELETED = {"id": "x-del", "date": "2023", "title": "![del](http://evil.example/deleted.png) **bold**", "structure": ""}
REFLECTED = "![q](http://evil.example/reflected.png)"
# Streamlit points the favicon for page_icon=":material/…:" at Google's font server (app.py, not
# ours to change; see the #7 report). Nothing else may leave the machine.
ALLOWED_EXTERNAL = ("https://fonts.gstatic.com/s/i/short-term/release/materialsymbolsrounded/",)

EVIDENCE = """() => ({
  pwned: window.__pwned === undefined ? null : String(window.__pwned),
  images: [...document.querySelectorAll('img, image, iframe, embed, object, video, audio, source')]
      .map(e => e.getAttribute('src') || e.getAttribute('href') || e.getAttribute('data') || '')
      .filter(s => s.includes('evil')),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href).filter(h => {
      const u = new URL(h, location.href);  // links to the app itself may carry the text in a parameter
      return !['http:', 'https:', 'mailto:'].includes(u.protocol) || u.hostname.includes('evil');
  }),
  scripts: [...document.querySelectorAll('script')].filter(s => s.textContent.includes('__pwned')).length,
  handlers: [...document.querySelectorAll('*')].filter(e => [...e.attributes]
      .some(a => a.name.startsWith('on') && a.value.includes('__pwned'))).length,
  bold: [...document.querySelectorAll('b, strong')].filter(e => e.textContent === 'bold').length,
})"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("injection") / "hostile.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
        entries.save_entry(store, valid_row(**HOSTILE), actor=ADMIN)
        entries.save_entry(store, valid_row(**DELETED), actor=ADMIN)
        entries.delete_entry(store, "x-del", actor=ADMIN)
    with streamlit_app(db) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


class Watched:
    """A page plus everything it asked the network for and every dialog it tried to open."""

    def __init__(self, browser, base: str) -> None:
        self.base = base
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def open(self, path: str) -> None:
        self.page.goto(f"{self.base}/{path}")
        self.settle()

    def settle(self) -> None:
        settle(self.page)

    def assert_inert(self) -> None:
        found = self.page.evaluate(EVIDENCE)
        assert found == {"pwned": None, "images": [], "links": [], "scripts": 0, "handlers": 0, "bold": 0}, found
        assert self.dialogs == []
        host = urllib.parse.urlsplit(self.base).hostname
        outside = [
            u
            for u in self.requests
            if urllib.parse.urlsplit(u).hostname not in (host, "localhost", "127.0.0.1")
            and not u.startswith(ALLOWED_EXTERNAL)
            and not u.startswith(("data:", "blob:"))
        ]
        assert outside == [], outside
        boxes = self.page.locator("[data-testid='stException']")
        assert boxes.count() == 0, boxes.first.inner_text()


@pytest.fixture
def watched(browser, server):
    w = Watched(browser, server)
    yield w
    w.context.close()


def _select_first_row(w: Watched, table_index: int = 0) -> None:
    grid = w.page.locator("[data-testid='stDataFrame']").nth(table_index)
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box
    w.page.mouse.click(box["x"] + 18, box["y"] + 35 + 17)  # the row marker of the first data row
    w.settle()


def test_overview_and_the_edit_link_of_a_selected_entry(watched):
    from playwright.sync_api import expect

    watched.open("")
    _select_first_row(watched, table_index=watched.page.locator("[data-testid='stDataFrame']").count() - 1)
    link = watched.page.get_by_role("link", name="Edit “", exact=False)
    expect(link).to_be_visible(timeout=30_000)
    # shown as typed (an invisible word joiner keeps the URL from being auto-linked)
    assert "![i](http://evil.example/title.png)" in link.inner_text().replace("\u2060", "")
    watched.assert_inert()


def test_timeline_table_and_chart_tooltips(watched):
    watched.open("timeline?partnership=voices&from=2023-01-01")
    watched.page.get_by_text("Data behind this chart", exact=False).first.click()
    watched.settle()
    chart = watched.page.locator("[data-testid='stVegaLiteChart']").first
    box = chart.bounding_box()
    assert box
    shown = ""
    for y in range(int(box["y"]) + 10, int(box["y"] + box["height"]) - 10, 12):
        for x in range(int(box["x"]) + 40, int(box["x"] + box["width"]) - 10, 12):
            watched.page.mouse.move(x, y)
            tooltip = watched.page.locator("#vg-tooltip-element.visible")
            if tooltip.count():
                shown = tooltip.inner_text()
                assert watched.page.locator("#vg-tooltip-element img, #vg-tooltip-element a").count() == 0
                if "<img" in shown:
                    break
        if "<img" in shown:
            break
    assert "<img src=x" in shown, "the hostile entry's tooltip should show its title as text"
    watched.assert_inert()


@pytest.mark.parametrize(
    "path",
    [
        "timeline?lanes=structure",
        "heatmaps",
        "compare",
        "import_export",
    ],
)
def test_read_pages(watched, path):
    watched.open(path)
    for expander in watched.page.get_by_text("Data behind this chart", exact=False).all():
        expander.click()
        watched.settle()  # opening one reruns the page to draw its table: one at a time
    watched.assert_inert()


def test_admin_tabs(watched):
    watched.open("admin")
    for tab in ("Members", "Partnerships", "Taxonomy", "Audit log", "Backup"):
        watched.page.get_by_role("tab", name=tab).click()
        watched.page.wait_for_timeout(300)
        watched.assert_inert()


def test_legacy_register(watched):
    from playwright.sync_api import expect

    watched.open("legacy")
    for expander in watched.page.locator("[data-testid='stExpander'] summary").all():
        expander.click()
    for tab in ("Needs checking", "Links across programmes"):  # each list is drawn when its tab opens
        watched.page.get_by_role("tab", name=tab).click()
        watched.settle()
        watched.assert_inert()
    watched.page.get_by_text("Link a structure to its successor", exact=True).click()  # opens the link form
    watched.settle()
    expect(watched.page.get_by_role("button", name="Add link")).to_be_visible()
    watched.page.get_by_role("combobox", name="Earlier structure").click()  # hostile names among the options
    watched.page.wait_for_timeout(300)
    watched.assert_inert()


def test_edit_form_of_a_hostile_entry(watched):
    from playwright.sync_api import expect

    watched.open("log_entry?edit=x-title")
    watched.page.get_by_text("History of this entry").click()
    watched.settle()
    # Awaited, not read once: on a loaded machine the box is in the page a moment before the
    # browser fills it, though the run has finished (CI, session 21: read as '', drawn filled).
    expect(watched.page.get_by_role("textbox", name="Title *")).to_have_value(TITLE, timeout=30_000)
    watched.assert_inert()


def test_saving_a_hostile_entry(watched):
    watched.open("log_entry?edit=x-title")
    watched.page.get_by_role("button", name="Save changes").click()
    watched.settle()
    watched.assert_inert()


def test_recently_deleted_list(watched):
    watched.open("log_entry")
    watched.page.get_by_text("Recently deleted entries", exact=False).click()
    watched.settle()
    watched.assert_inert()


def test_a_crafted_edit_link_is_shown_as_text(watched):
    watched.open("log_entry?edit=" + urllib.parse.quote(REFLECTED))
    watched.assert_inert()
