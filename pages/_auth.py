"""Who is using the app: sign-in through OpenID Connect when configured, else local mode.

Not a page (files starting with "_" are helpers). The checks that matter are in tracker/:
this only finds out who the person is and stops the script when they may not go on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import streamlit as st

from pages import _ui
from tracker import access, app_state, security
from tracker.access import LOCAL_ADMIN, Member
from tracker.wording import quantity

ALLOW_REMOTE_LOCAL = "TRACKER_ALLOW_REMOTE_LOCAL_MODE"
PAGES = Path(__file__).parent  # pages/: the app's pages, one file each


def auth_config() -> dict[str, Any] | None:
    """The ``[auth]`` section of .streamlit/secrets.toml, or ``None`` (local mode)."""
    try:
        if "auth" not in st.secrets:
            return None
        section = st.secrets["auth"]
    except Exception:  # no secrets file at all: Streamlit raises its own not-found error
        return None
    return section.to_dict() if hasattr(section, "to_dict") else dict(section)


def server_address() -> str | None:
    """The address the server listens on (``--server.address`` or .streamlit/config.toml)."""
    value = st.get_option("server.address")
    return str(value) if value else None


def identify() -> Member:
    """The acting member for this session; stops the script with a plain page when there is none."""
    auth = auth_config()
    if auth is None:
        refusal = security.local_mode_refusal(server_address(), os.environ.get(ALLOW_REMOTE_LOCAL) == "1")
        if refusal:
            alone("Not available", lambda: _refusal_page(refusal))
        st.session_state["member"] = LOCAL_ADMIN
        return LOCAL_ADMIN
    problems = security.auth_problems(auth)
    if problems:
        alone("Sign-in is not set up safely", lambda: _unsafe_page(problems))
    if not st.user.is_logged_in:
        alone("Sign in", lambda: _sign_in_page(auth))
    email = str(st.user.get("email") or "")
    if email and security.unverified_email(st.user.get("email_verified")):
        alone("Email address not verified", lambda: _unverified_page(email))
    member = app_state.read(access.get_member, email) if email else None
    if member is None:
        alone("Request access", lambda: _request_access_page(email))
    st.session_state["member"] = member
    return member


def alone(title: str, draw: Callable[[], None]) -> NoReturn:
    """Show ``draw``'s page with no menu and stop the script. Without ``st.navigation`` in the run,
    Streamlit would list the files of pages/ in the sidebar (its older multipage mode)."""
    # Every page's address shows it (a bookmark of /timeline too): an address no page has would
    # put Streamlit's "Page not found" box over it.
    paths = sorted(p.stem for p in PAGES.glob("*.py") if not p.stem.startswith("_"))
    lone = [st.Page(draw, title=title, default=True)]
    st.navigation(lone + [st.Page(draw, title=title, url_path=path) for path in paths], position="hidden").run()
    st.stop()
    raise AssertionError("st.stop() returned")  # for the type checker: st.stop() raises


def _refusal_page(refusal: str) -> None:
    st.title("Systems Change Tracker")
    st.error(refusal, icon=":material/gpp_bad:")


def _unsafe_page(problems: list[str]) -> None:
    st.title("Sign-in is not set up safely")
    st.error(
        "The app will not start until these are fixed in .streamlit/secrets.toml:\n\n"
        + "\n".join(f"- {p}" for p in problems),
        icon=":material/gpp_bad:",
    )


def _sign_in_page(auth: dict[str, Any]) -> None:
    st.title("Systems Change Tracker")
    st.write(
        "Record what changed in each area, what made it happen, and whether it survived. "
        "Sign in with your organisation's account to continue."
    )
    for name in security.providers_of(auth):
        label = "Sign in" if name is None else f"Sign in with {name.replace('_', ' ').title()}"
        if st.button(label, type="primary", icon=":material/login:", key=f"login_{name or 'default'}"):
            st.login(name) if name else st.login()


def _unverified_page(email: str) -> None:
    st.title("Email address not verified")
    st.write(
        f"You are signed in as **{_ui.inert(email)}**, but your identity provider says that this address has not "
        "been verified, so the tracker cannot tell that it is yours (members are known by their email "
        "address) and shows no data."
    )
    st.write("Verify the address with your provider, or ask its administrator to, then sign in again.")
    st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="logout_unverified")


def _request_access_page(email: str) -> None:
    st.title("Request access")
    st.write(
        f"You are signed in as **{_ui.inert(email) if email else 'an account without an email address'}**, "
        "but you are not a "
        "member of this tracker yet, so no data is shown."
    )
    st.write(
        "Ask an administrator of your programme to add you: partnership leads are added as editors of "
        "their partnership, funders as viewers."
    )
    st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="logout_request")


def sidebar_identity(member: Member, signed_in: bool) -> None:
    """Who is signed in (and a sign-out button), or the local-mode warning, at the top of the sidebar."""
    with st.sidebar:
        if signed_in:
            st.caption(
                f"Signed in as **{_ui.inert(member.email)}** · {member.role}"  # an address is not Markdown
                + (f" of {quantity(len(member.partnerships), 'partnership')}" if member.role == "editor" else "")
            )
            st.button("Sign out", on_click=st.logout, icon=":material/logout:", key="logout")


def local_mode_banner() -> None:
    """Every page in local mode says that everyone who can reach it acts as administrator."""
    st.warning(
        "**Local mode** — no sign-in: everyone who can reach this app acts as administrator.",
        icon=":material/lock_open:",
    )
