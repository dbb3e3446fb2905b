"""Secrets (#7): none in the repository, the real secrets file ignored, unsafe sign-in settings refused.

The scan covers every file git tracks or would add (``git ls-files --cached --others
--exclude-standard``), so a secret is caught before it is committed, not after.
"""

from __future__ import annotations

import re
import subprocess
import tomllib

import pytest

from tests.conftest import ROOT
from tracker.security import auth_problems

# Values that are plainly not secrets: placeholders, and the fixed ones the tests give a mock provider.
PLACEHOLDER = re.compile(r"^$|REPLACE|YOUR-|^<.*>$|…|\{|^x+$|^s+$|^test-client-secret$|^0{8}-", re.IGNORECASE)
PATTERNS = {
    "private key": re.compile(r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |PGP |ENCRYPTED )?PRIVATE KEY-----"),
    "AWS access key": re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    "GitHub token": re.compile(r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}\b|\bgithub_pat_[A-Za-z0-9_]{60,}"),
    "Slack token": re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
    "Google API key": re.compile(r"\bAIza[0-9A-Za-z_\-]{35}\b"),
    "Azure/Entra client secret": re.compile(r"\b[A-Za-z0-9_~.\-]{3}8Q~[A-Za-z0-9_~.\-]{31,34}\b"),
}
ASSIGNMENT = re.compile(
    r"""(?ix)\b(client_secret|cookie_secret|password|passwd|api_key|secret_key|access_token)\b
        \s*[:=]\s*["']([^"'\n]*)["']"""
)


def repository_files() -> list[str]:
    out = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [name for name in out.split("\0") if name and (ROOT / name).is_file()]


def test_no_secret_in_the_repository():
    found = []
    for name in repository_files():
        data = (ROOT / name).read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (Parquet, XLSX, images)
        text = data.decode("utf-8", errors="replace")
        for what, pattern in PATTERNS.items():
            found += [f"{name}: {what}" for _ in pattern.finditer(text)]
        for match in ASSIGNMENT.finditer(text):
            if not PLACEHOLDER.search(match.group(2).strip()):
                found.append(f"{name}: {match.group(1)} = {match.group(2)[:4]}…")
    assert found == [], "possible secrets in the repository:\n" + "\n".join(found)


def test_the_scan_would_catch_one():
    entra = "Xyz" + "8Q~" + "abcdefghijklmnopqrstuvwxyz01234567"  # built here so the scan above passes
    sample = f'client_secret = "{entra}"\n-----BEGIN ' + "PRIVATE KEY-----\n"
    assert PATTERNS["private key"].search(sample) and PATTERNS["Azure/Entra client secret"].search(sample)
    match = ASSIGNMENT.search(sample)
    assert match and not PLACEHOLDER.search(match.group(2))


@pytest.mark.parametrize(
    "path", [".streamlit/secrets.toml", "data/tracker.duckdb", "data/tracker.duckdb.wal", "build/axe/x.js"]
)
def test_secrets_and_local_data_are_ignored_by_git(path):
    assert subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0, f"{path} is not ignored"
    assert path not in repository_files()


def test_streamlit_keeps_its_request_forgery_and_cross_origin_protection():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server = config.get("server", {})
    assert server.get("enableXsrfProtection", True) is True and server.get("enableCORS", True) is True


def test_the_example_secrets_file_is_refused_as_it_is():
    auth = tomllib.loads((ROOT / ".streamlit" / "secrets.toml.example").read_text())["auth"]
    problems = auth_problems(auth)
    assert any("cookie_secret is missing or still the example value" in p for p in problems)
    assert any("[auth.microsoft] still has the example value of client_id, client_secret" in p for p in problems)
    assert any("[auth.google] still has the example value of client_id, client_secret" in p for p in problems)


GOOD = {
    "redirect_uri": "https://tracker.example.org/oauth2callback",
    "cookie_secret": "k3J9-vQ2xL7pT0mN5bW8zR1cY4hF6dS0aG2eU9iO",
    "microsoft": {
        "client_id": "6c1f0b7e-2d3a-4f5b-9c8d-7e6f5a4b3c2d",
        "client_secret": "a-real-looking-value",
        "server_metadata_url": "https://login.microsoftonline.com/contoso/v2.0/.well-known/openid-configuration",
    },
}


def test_production_settings_pass():
    assert auth_problems(GOOD) == []


def test_plain_http_is_refused_except_on_this_machine():
    remote = {**GOOD, "redirect_uri": "http://tracker.example.org/oauth2callback"}
    assert any("redirect_uri must use https://" in p for p in auth_problems(remote))
    metadata = {**GOOD, "microsoft": {**GOOD["microsoft"], "server_metadata_url": "http://idp.example.org/.well-known"}}
    assert any("server_metadata_url must use https://" in p for p in auth_problems(metadata))
    local = {
        **GOOD,
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "microsoft": {**GOOD["microsoft"], "server_metadata_url": "http://127.0.0.1:9400/.well-known"},
    }
    assert auth_problems(local) == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("client_id", "00000000-0000-0000-0000-000000000000"),
        ("client_secret", "REPLACE-WITH-THE-CLIENT-SECRET"),
        ("client_secret", "<client secret value>"),
        (
            "server_metadata_url",
            "https://login.microsoftonline.com/YOUR-TENANT-ID/v2.0/.well-known/openid-configuration",
        ),
    ],
)
def test_example_provider_values_are_refused(key, value):
    auth = {**GOOD, "microsoft": {**GOOD["microsoft"], key: value}}
    assert auth_problems(auth) == [f"[auth.microsoft] still has the example value of {key}: copy the real one"]
