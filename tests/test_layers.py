"""The domain package never imports the UI: tracker/ is usable (and testable) without Streamlit."""

import re
import subprocess
import sys

from tests.conftest import ROOT

EDGE = "tracker.app_state"  # the one cached-connection edge allowed to import Streamlit


def test_tracker_does_not_import_streamlit_or_altair_outside_the_edge():
    modules = sorted(p.stem for p in (ROOT / "tracker").glob("*.py") if p.stem not in ("__main__", "app_state"))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('tracker.' + m)\n"
        "bad = [m for m in ('streamlit',) if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "", f"tracker imports {done.stdout.strip()}"


def test_no_tracker_module_mentions_a_streamlit_import_even_inside_a_function():
    """Importing is not enough to prove it: a function can import Streamlit when called. Only the
    edge may; the benchmark steps that drive AppTest live in benchmarks/ (#6)."""
    found = re.compile(r"^\s*(import streamlit|from streamlit[ .])", re.MULTILINE)
    offenders = [
        p.name for p in (ROOT / "tracker").glob("*.py") if p.stem != "app_state" and found.search(p.read_text())
    ]
    assert offenders == []


def test_no_sql_in_pages():
    for page in (ROOT / "pages").glob("*.py"):
        text = page.read_text()
        assert "import duckdb" not in text and ".execute(" not in text, page.name
