"""Injection (#7): what users type or put in a link is data, never SQL, Markdown, HTML or a script.

- Filter values and URL parameters reach SQL only as parameters: every filter field, and every
  URL parameter including the dates, is tried with SQL metacharacters — through ``Filters``,
  ``from_params``, every read query, and the running app (AppTest with query parameters).
- Text shown through Markdown is escaped (``_ui.inert``); only http(s) sources become links
  (``_ui.http_url``). The real-browser check is tests/test_injection_browser.py.
- Formulas are neutralised in every text column of every export, and in the legacy register CSV.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ROOT, valid_row
from tracker import entries, interchange, queries
from tracker.config import Settings
from tracker.filters import PARAMS, Filters, from_params
from tracker.importer import import_file
from tracker.store import Store

EVIL = (
    "voices' OR '1'='1",
    "x'); DROP TABLE entries; --",
    '" OR ""="',
    "1; DELETE FROM audit_log",
    "%",
    "_",
    "\\",
    "?",
    "$1",
    "' UNION SELECT id FROM members --",
)
TUPLE_FIELDS = [f.name for f in dataclasses.fields(Filters) if f.type in ("tuple[str, ...]", tuple[str, ...])]
TABLES = ("entries", "entry_history", "entry_mechanisms", "entry_sectors", "audit_log", "members", "partnerships")


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Store:
    db = tmp_path_factory.mktemp("inj") / "demo.duckdb"
    store = Store(str(db), Settings(db=str(db)))
    assert import_file(store, store.settings.sample, actor=ADMIN).ok
    yield store
    store.close()


def counts(store: Store) -> dict[str, int]:
    cur = store.cursor()
    return {t: cur.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}  # type: ignore[index]


def test_every_list_filter_is_covered():
    assert set(TUPLE_FIELDS) == set(PARAMS.values()) | {"programmes"}


@pytest.mark.parametrize("field", TUPLE_FIELDS)
def test_sql_metacharacters_in_each_filter_are_parameters_not_sql(demo, field):
    filters = Filters(**{field: EVIL})
    sql, params = filters.where()
    for value in EVIL:
        assert value in params and (len(value) < 4 or value not in sql)
    before = counts(demo)
    assert queries.count_entries(demo, filters) == 0
    assert counts(demo) == before


def test_every_read_query_takes_hostile_filters_and_dates(demo):
    hostile = Filters(
        **{f: EVIL for f in TUPLE_FIELDS},
        date_from=date(2019, 1, 1),
        date_to=date(2020, 1, 1),
        as_at=datetime(2030, 1, 1),
    )
    before = counts(demo)
    assert queries.count_entries(demo, hostile) == 0
    assert queries.headline(demo, hostile)["entries"] == 0
    assert queries.entry_list(demo, hostile).empty
    assert queries.structures(demo, hostile).empty
    assert list(queries.export_rows(demo, hostile)) == []
    assert queries.heatmap(demo, hostile, "partnership", "typology")["count"].sum() == 0
    points, _ = queries.timeline(demo, hostile, "partnership")
    assert points.empty
    assert sum(r["count"] for r in queries.summary(demo, ["kind"], hostile)) == 0
    assert queries.structure_names(demo, EVIL[0]) == []
    assert counts(demo) == before and queries.count_entries(demo) == before["entries"]


def test_url_parameters_with_sql_metacharacters_are_dropped_with_a_note(demo):
    params = {param: list(EVIL) for param in PARAMS} | {
        "from": ["2019-01-01' OR 1=1 --"],
        "to": ["x'); DROP TABLE entries; --"],
        "as_at": ["2020-01-01'; DELETE FROM entries; --"],
    }
    filters, notes = from_params(params, demo.vocab())
    assert filters == Filters()
    assert len(notes) == len(PARAMS) * len(EVIL) + 3
    assert all("ignored" in note for note in notes)
    assert queries.count_entries(demo, filters) == counts(demo)["entries"]


def test_url_date_parameters_are_parsed_as_dates_only(demo):
    filters, notes = from_params({"from": ["2019"], "to": ["2020-06"], "as_at": ["2025-01-01"]}, demo.vocab())
    assert (filters.date_from, filters.date_to) == (date(2019, 1, 1), date(2020, 6, 30))
    assert filters.as_at is not None and not notes
    sql, params = filters.where()
    assert "2019" not in sql and date(2019, 1, 1) in params


def test_a_links_bad_date_is_named_with_what_is_wrong_and_the_forms_it_may_take(demo):
    """``from``/``to`` take a year or a month too: the note says why the date was ignored (the
    model's words), not "use YYYY-MM-DD", which is neither the only form nor what was wrong."""
    _, notes = from_params({"from": ["2019-13"], "to": ["2019-02-29"], "as_at": ["2019-02-29"]}, demo.vocab())
    assert notes == [
        "The link's 'from' date is ignored: '2019-13' has month 13; months run 01 to 12.",
        "The link's 'to' date is ignored: '2019-02-29' is not a real date: February 2019 has 28 days.",
        "The link's 'as_at' date '2019-02-29' is not a date (use YYYY-MM-DD); ignored.",
    ]


@pytest.mark.parametrize(
    ("params", "kept", "note"),
    [
        ({"from": ["1950"]}, {"date_from": date(1950, 1, 1)}, None),  # before the pickers' old first day, 2000
        ({"as_at": ["1950-06-30"]}, {"as_at": date(1950, 6, 30)}, None),
        ({"to": ["2026"]}, {}, None),  # this year: up to today, which is no end at all
        ({"to": ["2026-11-27"]}, {"date_to": date(2026, 11, 27)}, None),
        (
            {"to": ["2030-01-01"]},
            {},
            "The link's 'to' date 2030-01-01 is after today; ignored (no entry is dated after today).",
        ),
        ({"from": ["2027"]}, {}, "The link's 'from' date 2027 is after today; ignored: no entry is dated after today."),
        ({"from": ["2026-11"]}, {"date_from": date(2026, 11, 1)}, None),
        (
            {"as_at": ["2026-11-28"]},
            {},
            "The link's 'as_at' date 2026-11-28 is after today: the tracker is shown as it is now.",
        ),
        (
            {"as_at": ["1850-01-01"]},
            {},
            "The link's 'as_at' date 1850-01-01 is before 1900, the earliest day the tracker can be shown as at; ignored.",
        ),
    ],
)
def test_a_links_dates_are_kept_within_the_date_pickers_days_or_named_in_a_note(demo, params, kept, note):
    """The sidebar's date pickers run from 1900 (entries' earliest year) to today: a link's date
    outside them was dropped without a word by the picker (a link from 1995 showed every entry). Now
    every date from 1900 to today is kept, and one after today is left out with a note, unless the
    period it names includes today."""
    filters, notes = from_params(params, demo.vocab(), today=date(2026, 11, 27))
    got = {f: getattr(filters, f) for f in ("date_from", "date_to", "as_at") if getattr(filters, f) is not None}
    if "as_at" in got:
        got["as_at"] = got["as_at"].date()
    assert got == kept
    assert notes == ([note] if note else [])


# -- through the app -----------------------------------------------------------------------------

APP = str(ROOT / "app.py")


@pytest.fixture
def app_db(tmp_path, monkeypatch) -> Path:
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def navigation_mode(self, *args, **kwargs):  # as in tests/test_app.py: run as a server does
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", navigation_mode)
    db = tmp_path / "app.duckdb"
    with Store(str(db), Settings(db=str(db))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    monkeypatch.setenv("TRACKER_DB", str(db))
    return db


def test_a_links_early_and_future_dates_through_the_app(app_db):
    """A link's date before 2000 reached the picker and vanished (its first day was 2000-01-01); a
    date after today vanished the same way. Now the first is in the picker and counts, the second
    is named in a note."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    at.query_params["from"] = "1995"
    at.query_params["to"] = "2099-01-01"
    at.run()
    assert not at.exception, at.exception
    assert {d.label: d.value for d in at.date_input}["From"] == date(1995, 1, 1)
    assert at.query_params["from"] == "1995-01-01"  # kept in the URL, so the link still says it
    assert "to" not in at.query_params
    warnings = re.sub(r"\\(.)", r"\1", " ".join(w.value for w in at.warning))  # as it reads: escapes resolved
    assert "The link's 'to' date 2099-01-01 is after today; ignored" in warnings


def test_hostile_url_parameters_through_the_app(app_db):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(APP, default_timeout=60)
    for param in [*PARAMS, "from", "to", "as_at", "metric", "view", "lanes", "edit"]:
        at.query_params[param] = [EVIL[0], EVIL[1]]
    at.run()
    assert not at.exception, at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "which this tracker does not have; ignored" in warnings and "is not a date" in warnings
    pages = re.findall(r'st\.Page\("(pages/[^"]+\.py)"', (ROOT / "app.py").read_text())
    for page in pages:
        at.switch_page(page)
        at.run()
        assert not at.exception, (page, at.exception)
    with Store(str(app_db), Settings(db=str(app_db))) as store:
        assert queries.count_entries(store) == 89


# -- Markdown and links ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "![x](http://evil.example/x.png)",
        "[click](javascript:alert(1))",
        "<img src=x onerror=alert(1)>",
        "**bold** _it_ `code` ~~s~~ $x^2$ :red[x] :material/home: # h1",
        "a\\b\\\\c",
        "MaRG's 3-month review (2019) — £5 & more!",
    ],
)
def test_inert_escapes_every_markdown_character_and_keeps_the_text(text):
    from pages._ui import inert

    escaped = inert(text)
    # unescaping gives back exactly what was typed (less the invisible joiners that stop auto-links)
    assert re.sub(r"\\(.)", r"\1", escaped).replace("\u2060", "") == text
    assert not re.search(r"(?<!\\)[\[\]()!*_`<>$:~#]", escaped.replace("\\\\", "")), escaped


@pytest.mark.parametrize(
    ("value", "link"),
    [
        ("https://example.org/report.pdf", True),
        ("http://example.org", True),
        ("HTTPS://EXAMPLE.ORG/x?y=1#z", True),
        ("javascript:alert(1)", False),
        ("JavaScript:alert(1)", False),
        (" javascript:alert(1)", False),
        ("java\tscript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("vbscript:msgbox(1)", False),
        ("//evil.example/x", False),
        ("https://", False),
        ("http:/evil.example", False),
        ("https://exa mple.org", False),
        ("https://example.org/\nx", False),
        ("CFE Research (2022), p. 14", False),
        ("ftp://example.org/file", False),
        (None, False),
    ],
)
def test_only_http_sources_become_links(value, link):
    from pages._ui import http_url

    assert (http_url(value) == value) if link else http_url(value) is None


# -- spreadsheet formulas ------------------------------------------------------------------------


@pytest.fixture
def formula_store(tmp_path) -> Store:
    db = tmp_path / "f.duckdb"
    store = Store(str(db), Settings(db=str(db)))
    text = {"title": "=", "description": "\t-", "host": "+", "structure": "@", "source": "-"}
    row = valid_row(id="f-1", status="hosted elsewhere", **{c: f"{p}cmd|' /C calc'!A0" for c, p in text.items()})
    entries.save_entry(store, row, actor=ADMIN)
    yield store
    store.close()


def test_every_text_column_of_a_csv_export_is_neutralised(formula_store):
    out = io.BytesIO()
    interchange.write_csv(queries.export_rows(formula_store), out)
    row = next(csv.DictReader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    for column in interchange.COLUMNS:
        assert not row[column] or row[column][0] not in "=+-@\t\r", (column, row[column])


def test_the_legacy_register_csv_is_neutralised(formula_store):
    register = queries.structures(formula_store)
    data = interchange.frame_csv(register, queries.REGISTER_COLUMNS).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data)))
    assert rows[0] == list(queries.REGISTER_COLUMNS.values())
    cells = [cell for row in rows[1:] for cell in row]
    assert "'+cmd|' /C calc'!A0" in cells  # the host
    assert "'@cmd|' /C calc'!A0" in cells  # the structure
    assert all(not cell or cell[0] not in "=+-@\t\r" for cell in cells)


def test_entry_tables_link_only_http_sources():
    from streamlit.testing.v1 import AppTest

    def script():
        import pandas as pd
        import streamlit as st

        from pages import _ui
        from tracker import access

        st.session_state["member"] = access.LOCAL_ADMIN  # as the frame (app.py) names it in local mode
        sources = ["https://example.org/report", "javascript:alert(1)", "CFE Research (2022)", None]
        frame = pd.DataFrame(
            {"id": list("abcd"), "date": "2019", "partnership": "VOICES", "kind": "milestone", "title": "t"}
            | {"typology": "Culture", "status": None, "host": None, "structure": None, "source": sources}
        )
        _ui.entry_table(frame, key="t")

    at = AppTest.from_function(script, default_timeout=30).run()
    assert not at.exception, at.exception
    table = at.dataframe[0]
    assert list(table.value["source"].fillna("")) == [
        "https://example.org/report",
        "javascript:alert(1)",
        "CFE Research (2022)",
        "",
    ]
    assert list(table.value["source_url"].fillna("")) == ["https://example.org/report", "", "", ""]
    columns = json.loads(table.proto.columns)
    assert columns["source_url"]["type_config"]["type"] == "link"
    assert columns["source"]["type_config"]["type"] == "text"


@pytest.mark.parametrize("text", ["see http://evil.example/x", "www.evil.example", "lead@voices.org"])
def test_inert_text_is_never_auto_linked(text):
    """Streamlit's Markdown links bare URLs and emails; inert() breaks them with a word joiner."""
    from pages._ui import inert

    escaped = inert(text)
    assert "\u2060" in escaped
    assert not re.search(r"https?://|www\.|@[\w-]", escaped.replace("\\", ""))
