"""Start-up refusals: unsafe sign-in settings, and local mode on a public address."""

import pytest

from tracker import security
from tracker.security import auth_problems, local_mode_refusal, providers_of

GOOD = {
    "redirect_uri": "https://tracker.example.org/oauth2callback",
    "cookie_secret": "x" * 48,
    "microsoft": {"client_id": "id", "client_secret": "s", "server_metadata_url": "https://login/.well-known"},
}


def test_a_complete_configuration_passes():
    assert auth_problems(GOOD) == []


@pytest.mark.parametrize("secret", ["", "REPLACE-WITH-A-LONG-RANDOM-STRING", "changeme"])
def test_missing_or_example_cookie_secret_is_refused(secret):
    assert "cookie_secret is missing or still the example value" in auth_problems({**GOOD, "cookie_secret": secret})[0]


def test_short_cookie_secret_is_refused():
    assert "too short" in auth_problems({**GOOD, "cookie_secret": "abc123"})[0]


def test_provider_settings_are_checked():
    found = auth_problems({**GOOD, "microsoft": {"client_id": "id"}})
    assert found == ["[auth.microsoft] is missing client_secret, server_metadata_url"]
    assert "no identity provider" in auth_problems({k: v for k, v in GOOD.items() if k != "microsoft"})[0]


@pytest.mark.parametrize("address", ["localhost", "127.0.0.1", "::1"])
def test_local_mode_on_localhost_is_fine(address):
    assert local_mode_refusal(address, allowed=False) is None


@pytest.mark.parametrize("address", ["0.0.0.0", "10.0.0.5", None, ""])
def test_local_mode_elsewhere_is_refused_unless_explicitly_allowed(address):
    assert "refuses to serve" in local_mode_refusal(address, allowed=False)
    assert local_mode_refusal(address, allowed=True) is None


def test_client_kwargs_of_the_default_provider_are_not_a_provider():
    # Streamlit's st.login reads client_kwargs (e.g. prompt = "select_account") under [auth] for the
    # default provider; it is a table, but not a provider to sign in with or to check as one
    default = {
        "redirect_uri": GOOD["redirect_uri"],
        "cookie_secret": GOOD["cookie_secret"],
        **GOOD["microsoft"],
        "client_kwargs": {"prompt": "select_account"},
    }
    assert auth_problems(default) == []
    assert list(providers_of(default)) == [None]
    assert list(providers_of({**GOOD, "client_kwargs": {"prompt": "login"}})) == ["microsoft"]


@pytest.mark.parametrize(
    ("claim", "unverified"),
    [
        *[(False, True), ("false", True), (" FALSE ", True), (0, True), ("0", True)],
        *[(True, False), ("true", False), (None, False), (1, False), ("", False)],
    ],
)
def test_only_an_explicit_not_verified_email_claim_counts_as_unverified(claim, unverified):
    assert security.unverified_email(claim) is unverified
