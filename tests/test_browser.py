"""End to end in a real browser: Debian's Chromium driven by Playwright against `streamlit run app.py`.

AppTest checks the scripts; only a browser shows that pages actually render, charts paint and
a shared link opens the same view. Screenshots land in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import itertools
import re

import pytest

from tests.browser_support import chromium, no_exception, require_chromium, settle, streamlit_app
from tests.conftest import ADMIN, ROOT
from tracker import queries
from tracker.config import Settings
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import Store

require_chromium()
pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts" / "browser"

PAGES = [
    ("", "Overview", ["Structures and their current status", "Latest entries"]),
    ("timeline", "Timeline", ["One lane per"]),
    ("heatmaps", "Heatmaps", ["Entries behind a cell"]),
    ("legacy", "Legacy register", ["Structures by current status", "Register"]),
    ("survival", "Survival", ["Count months"]),
    ("compare", "Compare areas", ["Meeting pack"]),
    ("admin", "Admin", ["Members"]),
    ("log_entry", "Log an entry", ["Partnership *", "Save entry"]),
    ("import_export", "Import / export", ["Import entries", "Export entries"]),
]


def scroller(grid) -> list[float]:
    """A table's (st.dataframe's) scrolled area and its box: width, box width, height, box height."""
    return grid.evaluate(
        "e => { const s = e.querySelector('.dvn-scroller');"
        " return [s.scrollWidth, s.clientWidth, s.scrollHeight, s.clientHeight]; }"
    )


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "browser.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    with streamlit_app(db) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    yield pg
    context.close()


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


def test_a_click_on_a_heatmap_cell_lists_the_entries_behind_it(server, page):
    """The chart's selection reaches the page (the heatmap is sent as a cached Vega-Lite spec, #6):
    a clicked cell names its row and column and counts as the heatmap counts."""
    from playwright.sync_api import expect

    page.goto(f"{server}/heatmaps")
    settle(page)
    main = page.locator("[data-testid='stMain']")
    expect(main).to_contain_text("Click a cell to list the entries behind it.", timeout=30_000)
    chart = page.locator("[data-testid='stVegaLiteChart']").first
    chart.scroll_into_view_if_needed()
    box = chart.bounding_box()
    assert box
    chart.click(position={"x": box["width"] * 0.45, "y": box["height"] * 0.3})
    settle(page)
    picked = main.get_by_text(re.compile(r" × .*: [\d,]+ entr(y|ies)$"))
    expect(picked).to_be_visible(timeout=30_000)
    found = re.match(r"(.+) × (.+): ([\d,]+) entr", picked.inner_text())
    assert found, picked.inner_text()
    row, col, shown = found.group(1), found.group(2), int(found.group(3).replace(",", ""))
    with Store(":memory:", Settings(db=":memory:")) as reference:
        import_file(reference, reference.settings.sample, actor=ADMIN)
        cells = queries.heatmap(reference, Filters(), "partnership", "typology")
    expected = cells.loc[(cells["row"] == row) & (cells["col"] == col), "count"]
    assert len(expected) == 1 and int(expected.iloc[0]) == shown, (row, col, shown)
    expect(main).not_to_contain_text("Click a cell to list the entries behind it.")
    # and they fit a 1,400-pixel screen: every column in view (the table was ~1,800 px wide)
    grid = main.locator("[data-testid='stDataFrame']").last
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    width, box_width, _, _ = scroller(grid)
    assert width <= box_width + 1, (width, box_width)
    page.screenshot(path=str(ARTIFACTS / "heatmap-cell-entries.png"), full_page=True)
    no_exception(page)


def test_a_shared_link_opens_the_same_view(server, page):
    from playwright.sync_api import expect

    page.goto(f"{server}/?partnership=voices&kind=milestone")
    settle(page)
    no_exception(page)
    with Store(":memory:", Settings(db=":memory:")) as reference:
        import_file(reference, reference.settings.sample, actor=ADMIN)
        expected = queries.count_entries(reference, Filters(partnerships=("voices",), kinds=("milestone",)))
    # Waited for, not read once: on a loaded machine the sidebar's filters can still be drawing
    # when the script state first reads "not running" (CI, session 16: only the "Filters" heading).
    sidebar = page.locator("[data-testid='stSidebar']")
    expect(sidebar).to_contain_text("VOICES", timeout=30_000)
    entries = page.locator("[data-testid='stMetric']").filter(has_text="Entries").first
    expect(entries).to_contain_text(str(expected), timeout=30_000)
    first = entries.inner_text()
    assert first.split()[-1] == str(expected)
    page.goto(f"{server}/heatmaps?partnership=voices&kind=milestone&metric=share")
    settle(page)
    expect(page.locator("[data-testid='stMain']")).to_contain_text(re.compile("share", re.IGNORECASE), timeout=30_000)
    page.goto(f"{server}/?partnership=voices&kind=milestone")
    settle(page)
    again = page.locator("[data-testid='stMetric']").filter(has_text="Entries").first
    expect(again).to_have_text(re.compile(rf"^Entries\D*{re.escape(first.split()[-1])}$"), timeout=30_000)


def test_filter_changes_the_url(server, page):
    page.set_viewport_size({"width": 1400, "height": 1600})  # the whole filter bar in view
    page.goto(server)
    settle(page)
    page.get_by_label("Kind").first.click()
    page.get_by_role("option", name="Setbacks").click()
    page.keyboard.press("Escape")
    settle(page)
    from playwright.sync_api import expect

    expect(page).to_have_url(re.compile("kind=setback"), timeout=30_000)


def test_local_mode_on_a_public_address_refuses_to_serve(tmp_path, browser):
    """Started on 0.0.0.0 without sign-in, the real server shows the refusal and no data."""
    from playwright.sync_api import expect

    db = tmp_path / "public.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    with streamlit_app(db, address="0.0.0.0") as url:
        page = browser.new_page()
        page.goto(url)
        settle(page)
        expect(page.get_by_text("It refuses to serve")).to_be_visible(timeout=30_000)
        assert page.locator("[data-testid='stMetric']").count() == 0
        # and no menu: Streamlit's older multipage mode listed the files of pages/ ("auth", "ui", …)
        assert page.locator("[data-testid='stSidebarNav']").count() == 0


@pytest.mark.parametrize(("path", "title"), [("", "Overview"), ("timeline?partnership=voices", "Timeline")])
def test_the_first_view_after_the_server_starts_never_lists_the_files_of_pages(tmp_path, browser, path, title):
    """Streamlit takes a pages/ folder beside the entry script for a legacy multipage app until
    st.navigation has run once in the process: the first view after a start listed every file of
    pages/ in the sidebar ("app", "auth", "meeting", "present", "ui"…) for 2-3 s, until app.py's menu
    replaced it (on a projector too), while the page's frame was set up. Streamlit still sends that
    list first; what the browser receives next must be the menu that replaces it, before anything is
    drawn. Read from the server's own messages on the websocket, so no timing decides the test."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    db = tmp_path / "first.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    with streamlit_app(db) as url:
        page = browser.new_page()
        frames: list[bytes] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda data: frames.append(data)))
        page.goto(f"{url}/{path}")
        settle(page)
        assert page.locator("h1").first.inner_text() == title  # the link opened is the page shown
        assert page.url.endswith(path)  # with its filter
        menus = [" ".join(t.split()) for t in page.locator("[data-testid='stSidebarNav'] a").all_inner_texts()]
        assert any("Legacy register" in t for t in menus), menus
        no_exception(page)
        page.close()
    messages = [ForwardMsg.FromString(f) for f in frames if isinstance(f, bytes)]
    kinds = [m.WhichOneof("type") for m in messages]
    files = {"app", "auth", "ui", "meeting", "present"}

    def lists_files(m: ForwardMsg) -> bool:
        return m.WhichOneof("type") == "navigation" and bool(files & {pg.page_name for pg in m.navigation.app_pages})

    listed = [i for i, m in enumerate(messages) if lists_files(m)]
    for i in listed:  # the next message replaces that menu: nothing is drawn, nothing waits, under it
        after = messages[i + 1] if i + 1 < len(messages) else None
        assert after is not None and after.WhichOneof("type") == "navigation" and not lists_files(after), kinds
    assert "delta" in kinds  # the page was drawn (from these messages)


def test_the_overview_link_opens_the_legacy_checks_and_the_tab_lives_in_the_url(server, page):
    from playwright.sync_api import expect

    page.goto(f"{server}/")
    settle(page)
    page.get_by_role("link", name="Check them on the legacy register").click()
    settle(page)
    expect(page.get_by_role("tab", name="Needs checking")).to_have_attribute("aria-selected", "true")
    expect(page.get_by_text("Partnership to check", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"legacy_view=Needs\+checking"), timeout=30_000)
    page.get_by_role("tab", name="Links across programmes").click()
    settle(page)
    expect(page.get_by_text("Link a structure to its successor", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(r"legacy_view=Links\+across\+programmes"), timeout=30_000)
    page.goto(f"{server}/legacy?legacy_view=Links+across+programmes")  # a shared link opens that tab
    settle(page)
    expect(page.get_by_role("tab", name="Links across programmes")).to_have_attribute("aria-selected", "true")
    no_exception(page)


def test_the_table_behind_a_chart_appears_when_its_expander_is_opened(server, page):
    # Drawn only while open (#6): the click reruns the page, which then sends the table.
    from playwright.sync_api import expect

    page.goto(f"{server}/legacy")
    settle(page)
    expander = page.locator("[data-testid='stExpander']").filter(has_text="Data behind this chart")
    expect(expander).to_have_count(1)
    assert expander.locator("[data-testid='stDataFrame']").count() == 0
    expander.get_by_text("Data behind this chart", exact=False).click()
    settle(page)
    expect(expander.locator("[data-testid='stDataFrame']")).to_have_count(1, timeout=30_000)
    expect(expander.locator("[data-testid='stDataFrame']")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / "legacy-chart-table.png"), full_page=True)
    no_exception(page)


def test_the_register_search_and_page_live_in_the_url(server, page):
    # The register a page at a time with its own search (#6): what was typed is in the URL, so a
    # shared link opens the same search.
    from playwright.sync_api import expect

    page.goto(f"{server}/legacy")
    settle(page)
    expect(page.get_by_text("Structures 1–24 of 24, by partnership and name", exact=False)).to_be_visible()
    find = page.get_by_label("Find a structure")
    find.fill("golden")
    find.press("Enter")
    settle(page)
    expect(page.get_by_text("Structures 1–3 of 3 matching the search", exact=False)).to_be_visible(timeout=30_000)
    expect(page).to_have_url(re.compile("register_find=golden"), timeout=30_000)
    find.fill("no such structure")
    find.press("Enter")
    settle(page)
    expect(page.get_by_text("No structure matches “no such structure”", exact=False)).to_be_visible(timeout=30_000)
    page.goto(f"{server}/legacy?register_find=golden&register_status=Decommissioned")  # a shared link
    settle(page)
    expect(page.get_by_text("Structures 1–2 of 2 matching the search", exact=False)).to_be_visible(timeout=30_000)
    no_exception(page)


def test_the_overview_latest_entries_need_no_sideways_scroll(server, page):
    """On a 1,400-pixel screen every column of the latest entries is in view: the grid's scroller is
    no wider than its box (it was 1,197 px in a 938 px box, the status column out of view), and
    no taller (ten rows of wrapped text in a box that showed five and a half)."""
    from playwright.sync_api import expect

    page.goto(f"{server}/")
    settle(page)
    main = page.locator("[data-testid='stMain']")
    expect(main.get_by_text("Latest entries", exact=True)).to_be_visible(timeout=30_000)
    grid = main.locator("[data-testid='stDataFrame']").last
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    size = scroller(grid)
    assert size[0] <= size[1] + 1, size
    assert size[2] <= size[3] + 1, size  # and all ten rows, wrapped, without a scroll bar inside the table
    no_exception(page)


@pytest.mark.parametrize("path", ["heatmaps", "survival", "compare", "timeline"])
def test_every_option_of_a_page_choice_is_in_view(server, page, path):
    """On a 1,400-pixel screen each choice's options are all visible: the heatmaps' three choices
    sat side by side in columns too narrow for them, and the next column hid "Typology × mechanism",
    "FSG six conditions" and "Milestones − setbacks" (cut mid-word on a projector)."""
    page.goto(f"{server}/{path}")
    settle(page)
    page.locator("[data-testid='stMain'] [data-testid='stButtonGroup']").first.wait_for(timeout=30_000)
    page.wait_for_timeout(500)
    # Measured in one go in the page, so that each option is compared with its own group's box.
    spilled = page.evaluate(
        """() => [...document.querySelectorAll("[data-testid='stMain'] [data-testid='stButtonGroup']")]
        .flatMap(g => { const box = g.getBoundingClientRect();
          return [...g.querySelectorAll('button')].map(b => [b.innerText, b.getBoundingClientRect().right, box.right])
            .filter(([, right, edge]) => right > edge + 1); })"""
    )
    assert not spilled, spilled
    no_exception(page)


@pytest.mark.parametrize(("origin", "by"), [("start", "typology"), ("funding_end", "partnership")])
def test_survival_curves_name_each_group_in_full_clear_of_the_others(browser, tmp_path, origin, by):
    """The names at the curves' ends, as Chromium lays them out in the chart's SVG (900 px wide, as
    the downloads draw it): none runs past the drawing's right edge ("Approaches to coordinating
    supp…" did) and no two overlap (three groups still at 100 % were written over each other and
    over the curves)."""
    from tracker import charts, render, survival

    db = tmp_path / "survival.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
        steps, _ = survival.curves(store, Filters(), origin=origin, by=by)
    groups = set(steps["group"])
    assert len(groups) >= 4
    page = browser.new_page()
    try:
        page.set_content(render.svg(charts.survival_curves(steps)))
        boxes = page.evaluate(
            """() => { const svg = document.querySelector('svg'); const o = svg.getBoundingClientRect();
            return [svg.getAttribute('width'), [...svg.querySelectorAll('text')]
              .filter(t => t.getAttribute('font-weight') === 'bold')
              .map(t => { const r = t.getBoundingClientRect();
                return [t.textContent, r.left - o.left, r.right - o.left, r.top - o.top, r.bottom - o.top]; })]; }"""
        )
    finally:
        page.close()
    width, labels = float(boxes[0]), boxes[1]
    named = {label[0]: label[1:] for label in labels if label[0] in groups}
    assert set(named) == groups, sorted(named)  # every group named at its curve, in full
    assert all(right <= width for _, right, _, _ in named.values()), (width, named)
    for (a, (l1, r1, t1, b1)), (b, (l2, r2, t2, b2)) in itertools.combinations(named.items(), 2):
        assert r1 <= l2 or r2 <= l1 or b1 <= t2 or b2 <= t1, (a, b)


def test_the_links_across_programmes_need_no_sideways_scroll(tmp_path, page):
    """A successor team reads which structure carried on which: every column, the successor
    programme and the note included (they were out of view), on a 1,400-pixel screen. On the demo
    data (`make run`), whose Changing Futures areas link to the Fulfilling Lives structures."""
    from playwright.sync_api import expect

    from tracker import demo

    db = tmp_path / "demo.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert all(report.ok for _, report in demo.load(store, ADMIN))
    with streamlit_app(db) as url:
        page.goto(f"{url}/legacy?legacy_view=Links+across+programmes")
        settle(page)
        panel = page.get_by_role("tabpanel")
        expect(panel.get_by_text("Which structure carried on which", exact=False)).to_be_visible(timeout=30_000)
        grid = panel.locator("[data-testid='stDataFrame']")
        expect(grid).to_have_count(1)
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        size = scroller(grid)
        assert size[0] <= size[1] + 1 and size[2] <= size[3] + 1, size
        no_exception(page)
