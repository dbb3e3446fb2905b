"""A real sign-in in a real browser: Chromium, the app, and a local OpenID Connect provider.

oidc-provider-mock plays the organisation's identity provider on localhost; signing in as a
partnership lead (editor) and as a funder (viewer) shows what each may do.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser_support import (
    choose,
    chromium,
    free_port,
    require_chromium,
    settle,
    stop,
    streamlit_app,
    wait_for,
)
from tests.conftest import ADMIN
from tracker import access
from tracker.config import Settings
from tracker.importer import import_file
from tracker.store import Store

MOCK = Path(sys.executable).with_name("oidc-provider-mock")
IDP: dict[str, str] = {}  # the provider's base URL, once started

require_chromium()
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    folder = tmp_path_factory.mktemp("oidc")
    db = folder / "oidc.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
        access.save_member(store, ADMIN, {"email": "lead@voices.org", "role": "editor", "partnerships": ["VOICES"]})
        access.save_member(store, ADMIN, {"email": "funder@fund.org", "role": "viewer"})
    idp_port = free_port()
    log = folder / "idp.log"  # a file, not a pipe nobody reads while the tests run (it would fill and block)
    sink = log.open("wb")
    idp = subprocess.Popen(
        [str(MOCK), "--port", str(idp_port), "--host", "127.0.0.1"], stdout=sink, stderr=subprocess.STDOUT
    )
    try:
        wait_for(f"http://127.0.0.1:{idp_port}/.well-known/openid-configuration", idp, "the OIDC provider", log=log)
        IDP["url"] = f"http://127.0.0.1:{idp_port}"
        secrets = folder / "secrets.toml"
        app_port = free_port()
        secrets.write_text(
            "[auth]\n"
            f'redirect_uri = "http://localhost:{app_port}/oauth2callback"\n'
            f'cookie_secret = "{"s" * 48}"\n'
            'client_id = "systems-change-tracker"\n'
            'client_secret = "test-client-secret"\n'
            f'server_metadata_url = "http://127.0.0.1:{idp_port}/.well-known/openid-configuration"\n'
        )
        with streamlit_app(db, "--secrets.files", str(secrets), port=app_port) as url:
            yield url
    finally:
        stop(idp)
        sink.close()


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def authorize(browser, app_url: str, sub: str, path: str = "", before=None):
    """Open ``path`` of the app in a new context, sign in as ``sub`` at the provider and come back;
    ``before(page)`` looks at the sign-in page first. Returns the context and the page."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.goto(f"{app_url}/{path}")
    settle(page)
    if before is not None:
        before(page)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/oauth2/authorize**", timeout=30_000)
    page.get_by_placeholder("sub").fill(sub)
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{app_url}/**", timeout=30_000)
    settle(page)
    return context, page


def sign_in(browser, app_url: str, email: str):
    from playwright.sync_api import expect

    context, page = authorize(browser, app_url, email)
    # the address as shown: a word joiner after its "@" keeps the browser from making it a link
    address = re.escape(email).replace("@", "@\u2060?")
    shown = re.compile("Signed in as " + address)
    expect(page.get_by_text(shown)).to_be_visible(timeout=30_000)
    return context, page


def no_menu(page) -> None:
    """A page shown alone: no menu (Streamlit's older multipage mode listed the files of pages/)."""
    from playwright.sync_api import expect

    expect(page.locator("[data-testid='stSidebarNav']")).to_have_count(0)


def test_editor_signs_in_and_logs_an_entry_for_their_partnership(browser, app_url):
    from playwright.sync_api import expect

    context, page = sign_in(browser, app_url, "lead@voices.org")
    nav = page.locator("[data-testid='stSidebarNav']")
    expect(nav.get_by_text("Log an entry")).to_be_visible()
    expect(nav.get_by_text("Admin")).to_have_count(0)
    nav.get_by_text("Log an entry").click()
    settle(page)
    page.get_by_label("Partnership *").click()
    options = page.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_text("VOICES")
    options.first.click()
    page.get_by_role("textbox", name="Date *").fill("2023")
    page.get_by_role("textbox", name="Title *").fill("Signed-in lead records MaRG's third year at the council")
    choose(page, "Typology *", "Approaches to coordinating support")
    choose(page, "Status *", "Continuing")
    choose(page, "Contributing mechanisms *", "Cross-agency networks and groups", many=True)
    page.get_by_role("button", name="Save entry").click()
    settle(page)
    expect(page.get_by_text("Saved “Signed-in lead records MaRG's third year at the council”")).to_be_visible(
        timeout=30_000
    )
    context.close()


def test_viewer_signs_in_and_can_read_but_not_edit(browser, app_url):
    from playwright.sync_api import expect

    context, page = sign_in(browser, app_url, "funder@fund.org")
    nav = page.locator("[data-testid='stSidebarNav']")
    expect(nav.get_by_text("Overview")).to_be_visible()
    expect(nav.get_by_text("Log an entry")).to_have_count(0)
    expect(page.get_by_text("Structures and their current status")).to_be_visible()
    page.goto(f"{app_url}/log_entry")
    settle(page)
    expect(page.get_by_label("Title *")).to_have_count(0)
    context.close()


def test_a_stranger_signs_in_and_sees_only_request_access(browser, app_url):
    from playwright.sync_api import expect

    context, page = authorize(browser, app_url, "stranger@else.org", path="timeline", before=no_menu)
    expect(page.get_by_role("heading", name="Request access")).to_be_visible(timeout=30_000)
    expect(page.locator("[data-testid='stMetric']")).to_have_count(0)
    no_menu(page)
    context.close()


def test_someone_claiming_a_members_email_unverified_is_not_taken_for_them(browser, app_url):
    """The provider vouches for the person (``sub``) but says the email address is not verified:
    the tracker, which knows members by email, shows no data and says why."""
    import json
    import urllib.request

    from playwright.sync_api import expect

    claims = json.dumps({"email": "funder@fund.org", "email_verified": False}).encode()
    made = urllib.request.Request(
        f"{IDP['url']}/users/someone-else", data=claims, method="PUT", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(made, timeout=30) as answer:
        assert answer.status == 204
    context, page = authorize(browser, app_url, "someone-else")
    expect(page.get_by_role("heading", name="Email address not verified")).to_be_visible(timeout=30_000)
    assert "funder@fund.org" in page.locator("[data-testid='stMain']").inner_text().replace("\u2060", "")
    expect(page.locator("[data-testid='stMetric']")).to_have_count(0)
    no_menu(page)
    context.close()
