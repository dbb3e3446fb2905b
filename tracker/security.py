"""Start-up safety checks: sign-in configuration and where a local-mode app may listen."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

LOCAL_ADDRESSES = frozenset({"localhost", "127.0.0.1", "::1"})
# Values copied from documentation or our example file must never protect a real deployment.
KNOWN_EXAMPLE_SECRETS = frozenset(
    {
        "",
        "xxx",
        "secret",
        "changeme",
        "change-me",
        "your-cookie-secret",
        "a-strong-random-secret",
        "REPLACE-WITH-A-LONG-RANDOM-STRING",
    }
)
MIN_SECRET_LENGTH = 32
PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
# Tables under [auth] that Streamlit reads as settings of the default provider, not as providers.
DEFAULT_PROVIDER_TABLES = frozenset({"client_kwargs"})


def auth_problems(auth: Mapping[str, Any]) -> list[str]:
    """What is wrong with an ``[auth]`` section of secrets.toml (empty when it is usable)."""
    found = []
    secret = str(auth.get("cookie_secret", ""))
    if secret in KNOWN_EXAMPLE_SECRETS or secret.upper().startswith("REPLACE"):
        found.append(
            "cookie_secret is missing or still the example value: set a long random string "
            '(e.g. `python -c "import secrets; print(secrets.token_urlsafe(48))"`)'
        )
    elif len(secret) < MIN_SECRET_LENGTH:
        found.append(f"cookie_secret is too short ({len(secret)} characters); use at least {MIN_SECRET_LENGTH}")
    redirect = str(auth.get("redirect_uri", ""))
    if not redirect.startswith(("http://", "https://")) or not redirect.rstrip("/").endswith("oauth2callback"):
        found.append("redirect_uri must be the app's absolute URL ending in /oauth2callback")
    elif not _secure(redirect):
        found.append(
            "redirect_uri must use https:// (plain http is only for localhost): the sign-in cookie travels on it"
        )
    providers = providers_of(auth)
    if not providers:
        found.append(
            "no identity provider: add client_id, client_secret and server_metadata_url under [auth] "
            "or a named section such as [auth.microsoft]"
        )
    for name, settings in providers.items():
        where = "[auth]" if name is None else f"[auth.{name}]"
        missing = [k for k in PROVIDER_KEYS if not settings.get(k)]
        if missing:
            found.append(f"{where} is missing {', '.join(missing)}")
        examples = [k for k in PROVIDER_KEYS if settings.get(k) and _EXAMPLE.search(str(settings[k]))]
        if examples:
            found.append(f"{where} still has the example value of {', '.join(examples)}: copy the real one")
        metadata = str(settings.get("server_metadata_url") or "")
        if metadata and not _secure(metadata):
            found.append(f"{where} server_metadata_url must use https:// (plain http is only for localhost)")
    return found


# Placeholders in .streamlit/secrets.toml.example and in provider documentation.
_EXAMPLE = re.compile(r"REPLACE|YOUR-|<[^>]*>|^0{8}-0{4}-0{4}-0{4}-0{12}$", re.IGNORECASE)


def _secure(url: str) -> bool:
    """https, or http to this machine only (a test provider, a local trial)."""
    parts = urlsplit(url)
    return parts.scheme == "https" or (parts.scheme == "http" and (parts.hostname or "") in LOCAL_ADDRESSES)


def providers_of(auth: Mapping[str, Any]) -> dict[str | None, Mapping[str, Any]]:
    """The configured providers: ``None`` for a default one at [auth], else their section names."""
    providers: dict[str | None, Mapping[str, Any]] = {
        name: value
        for name, value in auth.items()
        if isinstance(value, Mapping) and name not in DEFAULT_PROVIDER_TABLES
    }
    if any(k in auth for k in PROVIDER_KEYS):
        providers = {None: auth, **providers}
    return providers


def unverified_email(claim: object) -> bool:
    """Whether an ID token's ``email_verified`` claim says the email address is not verified.

    Members are known by their email address, so an address the provider has not verified (some
    let people type any address) must not be taken as someone's. Only an explicit "not verified"
    counts: Microsoft Entra ID, for one, sends no such claim for its work accounts."""
    if isinstance(claim, str):
        return claim.strip().lower() in ("false", "0", "no")
    return claim is False or (type(claim) is int and claim == 0)


def local_mode_refusal(address: str | None, allowed: bool) -> str | None:
    """Why a local-mode (no sign-in) app must not serve on ``address``; ``None`` when it may."""
    if allowed or (address or "").strip().lower() in LOCAL_ADDRESSES:
        return None
    shown = address or "every network interface"
    return (
        f"This tracker has no sign-in configured (local mode), so everyone who can reach it acts as "
        f"administrator, and it is listening on {shown}. It refuses to serve. Either configure sign-in "
        "(see README, 'Sign-in'), or run it on localhost (`--server.address localhost`), or — only on a "
        "network you trust — set TRACKER_ALLOW_REMOTE_LOCAL_MODE=1."
    )
