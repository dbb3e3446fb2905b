"""Areas side by side: the per-area profiles agree with the summary queries, honour the filters
(as-at included), put every area on the same scales, and the generated summaries say what the
data says (golden file for the demo data)."""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ROOT, valid_row
from tracker import charts, compare, entries, queries
from tracker.config import Settings
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import Store, utcnow

GOLDEN = ROOT / "tests" / "golden" / "compare_summaries.txt"
THREE = ["voices", "golden-key", "blackpool"]


@pytest.fixture(scope="module")
def demo_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("compare") / "demo.duckdb"
    with Store(str(path), Settings(db=str(path))) as store:
        assert import_file(store, store.settings.sample, actor=ADMIN).ok
    return path


@pytest.fixture
def demo(demo_file, tmp_path):
    path = tmp_path / "demo.duckdb"
    shutil.copy(demo_file, path)
    with Store(str(path), Settings(db=str(path))) as store:
        yield store


def counts(store, by, filters=Filters()):
    """``summary --by partnership,FIELD`` as {(partnership name, label): count}."""
    return {(r["partnership"], r[by]): r["count"] for r in queries.summary(store, ["partnership", by], filters)}


def names(store):
    return {p.slug: p.name for p in store.vocab().partnerships}


def test_typology_profile_matches_the_summary_and_is_a_complete_grid(demo):
    frame = compare.typology_profile(demo, Filters(), "partnership", THREE)
    typologies = list(demo.vocab()["typology"].labels.values())
    assert len(frame) == len(THREE) * len(typologies)
    assert list(dict.fromkeys(frame["area"])) == [names(demo)[s] for s in THREE]  # the order chosen
    expected = counts(demo, "typology")
    for row in frame.itertuples():
        assert row.entries == expected.get((row.area, row.category), 0)
    for _, group in frame.groupby("area"):
        assert group["share"].sum() == pytest.approx(1.0)
        assert (group["area_entries"] == group["entries"].sum()).all()


def test_mechanism_profile_counts_an_entry_under_each_mechanism(demo):
    frame = compare.mechanism_profile(demo, Filters(), "partnership", THREE)
    expected = counts(demo, "mechanism")
    for row in frame.itertuples():
        assert row.entries == expected.get((row.area, row.category), 0)
    assert set(frame["group"]) == {"Programme features", "Mechanisms for change", "External factors"}


def test_a_retired_term_stays_only_while_entries_of_its_own_vocabulary_use_it(demo):
    """Slugs repeat across vocabularies: a mechanism named like a used typology is not thereby 'in use'."""
    from tracker import admin

    typology = next(iter(queries.heatmap(demo, Filters(), "partnership", "typology").query("count > 0")["col_key"]))
    admin.add_term(demo, ADMIN, "mechanism", typology, "A mechanism no entry names")
    admin.set_retired(demo, ADMIN, "mechanism", typology, True)
    mechanisms = set(compare.mechanism_profile(demo, Filters(), "partnership", THREE)["category"])
    assert "A mechanism no entry names" not in mechanisms
    admin.set_retired(demo, ADMIN, "mechanism", typology, False)
    mechanisms = set(compare.mechanism_profile(demo, Filters(), "partnership", THREE)["category"])
    assert "A mechanism no entry names" in mechanisms


def test_a_retired_typology_or_mechanism_is_a_row_only_while_entries_of_the_compared_areas_use_it(demo, write_file):
    """A retired typology or mechanism was a row of the grids (zeros for every area) whenever any entry
    used it, even one of an area not compared; a retired status is listed only while a structure of the
    compared areas has it (#5). Now the grids follow the same rule."""
    from tracker import admin

    for vocabulary, slug, label in (
        ("typology", "old-ways", "Old ways"),
        ("typology", "gone-ways", "Gone ways"),
        ("mechanism", "old-lever", "Old lever"),
        ("mechanism", "gone-lever", "Gone lever"),
    ):
        admin.add_term(demo, ADMIN, vocabulary, slug, label)
    rows = [
        valid_row(id="old-1", partnership="VOICES", date="2023", typology="Old ways", mechanisms="Old lever"),
        valid_row(
            id="gone-1",
            partnership="Opportunity Nottingham",
            date="2023",
            typology="Gone ways",
            mechanisms="Gone lever",
        ),
    ]
    assert import_file(demo, write_file(rows), actor=ADMIN).ok
    for vocabulary, slug in (
        ("typology", "old-ways"),
        ("typology", "gone-ways"),
        ("mechanism", "old-lever"),
        ("mechanism", "gone-lever"),
    ):
        admin.set_retired(demo, ADMIN, vocabulary, slug, True)
    typologies = compare.typology_profile(demo, Filters(), "partnership", THREE)
    mechanisms = compare.mechanism_profile(demo, Filters(), "partnership", THREE)
    assert "Gone ways" not in set(typologies["category"])  # only an area not compared uses it
    assert "Gone lever" not in set(mechanisms["category"])
    old = typologies[typologies["category"] == "Old ways"].set_index("area")["entries"].to_dict()
    assert old == {"VOICES": 1, "Golden Key": 0, "Blackpool Fulfilling Lives": 0}
    lever = mechanisms[mechanisms["category"] == "Old lever"].set_index("area")["entries"].to_dict()
    assert lever == {"VOICES": 1, "Golden Key": 0, "Blackpool Fulfilling Lives": 0}
    nottingham = ["nottingham", *THREE]
    assert "Gone ways" in set(compare.typology_profile(demo, Filters(), "partnership", nottingham)["category"])


def test_year_profile_shares_one_run_of_years_and_matches_kind_counts(demo):
    frame = compare.year_profile(demo, Filters(), "partnership", THREE)
    years = {area: sorted(set(group["year"])) for area, group in frame.groupby("area")}
    assert len({tuple(y) for y in years.values()}) == 1  # the same years for every area
    run = next(iter(years.values()))
    assert run == list(range(run[0], run[-1] + 1))
    kinds = counts(demo, "kind")
    for (area, kind), group in frame.groupby(["area", "kind"]):
        assert group["entries"].sum() == kinds.get((area, kind), 0)


def test_legacy_profile_matches_the_register(demo):
    frame = compare.legacy_profile(demo, Filters(), "partnership", THREE)
    register = queries.structure_status_counts(demo)
    expected = {(r.partnership, r.status): r.structures for r in register.itertuples()}
    for row in frame.itertuples():
        assert row.structures == expected.get((row.area, row.status), 0)
    assert frame.groupby("area")["structures"].sum().to_dict() == {
        "VOICES": 2,
        "Golden Key": 3,
        "Blackpool Fulfilling Lives": 3,
    }


def test_a_retired_status_is_listed_only_while_a_structure_of_the_compared_areas_has_it(demo, write_file):
    """Retired statuses were listed as rows of zeros for every area, and in the chart's legend (#5)."""
    from tracker import admin

    for slug, label in (("dormant", "Dormant"), ("paused", "Paused"), ("merged", "Merged")):
        admin.add_term(demo, ADMIN, "status", slug, label)
    rows = [
        valid_row(id="paused-1", partnership="VOICES", date="2023", structure="Peer hub", status="Paused"),
        valid_row(id="merged-1", partnership="Opportunity Nottingham", date="2023", structure="Hub", status="Merged"),
    ]
    assert import_file(demo, write_file(rows), actor=ADMIN).ok
    for slug in ("dormant", "paused", "merged"):
        admin.set_retired(demo, ADMIN, "status", slug, True)
    frame = compare.legacy_profile(demo, Filters(), "partnership", THREE)
    listed = set(frame["status"])
    assert {"Continuing", "Hosted elsewhere", "Decommissioned"} <= listed  # in use or not, as before
    assert "Dormant" not in listed  # no entry has it
    assert "Merged" not in listed  # only a structure of an area not compared has it
    paused = frame[frame["status"] == "Paused"].set_index("area")["structures"].to_dict()
    assert paused == {"VOICES": 1, "Golden Key": 0, "Blackpool Fulfilling Lives": 0}
    statuses = [*demo.vocab()["status"].labels.values(), queries.NOT_RECORDED]
    s = spec(compare.legacy_chart(frame, statuses))
    bars = next(layer for layer in s["layer"] if layer["mark"]["type"] == "bar")
    legend = bars["encoding"]["color"]["scale"]["domain"]
    assert "Paused" in legend and "Dormant" not in legend and "Merged" not in legend


def test_profiles_follow_the_shared_filters(demo):
    setbacks = Filters(kinds=("setback",))
    years = compare.year_profile(demo, setbacks, "partnership", THREE)
    assert years.loc[years["kind"] == "milestone", "entries"].sum() == 0
    typology = compare.typology_profile(demo, setbacks, "partnership", THREE)
    assert typology["entries"].sum() == sum(
        queries.count_entries(demo, Filters(kinds=("setback",), partnerships=(s,))) for s in THREE
    )
    # a partnership outside the sidebar's own choice contributes nothing
    only_voices = compare.typology_profile(demo, Filters(partnerships=("voices",)), "partnership", THREE)
    assert only_voices.groupby("area")["entries"].sum().to_dict() == {
        "VOICES": 9,
        "Golden Key": 0,
        "Blackpool Fulfilling Lives": 0,
    }


def test_area_options_follow_the_sidebar_partnerships_and_programmes(demo):
    assert len(compare.area_options(demo, Filters(), "partnership")) == 12
    assert list(compare.area_options(demo, Filters(partnerships=("voices", "golden-key")), "partnership")) == [
        "golden-key",
        "voices",
    ]
    assert compare.area_options(demo, Filters(), "programme") == {"Fulfilling Lives": "Fulfilling Lives"}
    with pytest.raises(ValueError):
        compare.area_options(demo, Filters(), "county")


def test_as_at_shows_the_areas_as_they_stood(demo, write_file):
    before = compare.compare(demo, Filters(), "partnership", THREE)
    time.sleep(0.01)
    moment = utcnow()
    time.sleep(0.01)
    added = valid_row(id="later-1", partnership="VOICES", date="2022", kind="setback", status="", typology="Culture")
    assert import_file(demo, write_file([added]), actor=ADMIN).ok
    entries.delete_entry(demo, "voices-marg-council-2022", actor=ADMIN)
    now = compare.compare(demo, Filters(), "partnership", THREE)
    then = compare.compare(demo, Filters(as_at=moment), "partnership", THREE)
    assert now.facts[0].setbacks == before.facts[0].setbacks + 1
    assert then.facts == before.facts
    assert then.typology.equals(before.typology) and then.legacy.equals(before.legacy)
    assert compare.summary_text(then.facts[0]) == compare.summary_text(before.facts[0])
    assert compare.compare(demo, Filters(as_at=datetime(2000, 1, 1)), "partnership", THREE).empty


def _two_programmes(tmp_path, *more: str) -> Settings:
    """Settings of a new database whose partnerships are two of Fulfilling Lives and one of
    Changing Futures (Leeds), and ``more`` reference lines."""
    ref = tmp_path / "partnerships.csv"
    ref.write_text(
        "slug,name,programme,area,start_date,end_date\n"
        "voices,VOICES,Fulfilling Lives,Stoke-on-Trent,2014-04-01,2022-06-30\n"
        "golden-key,Golden Key,Fulfilling Lives,Bristol,2014-04-01,2022-03-31\n"
        "cf-leeds,Changing Futures Leeds,Changing Futures,Leeds,2021-01-01,\n" + "".join(f"{line}\n" for line in more),
        encoding="utf-8",
    )
    return Settings(db=str(tmp_path / "p.duckdb"), partnerships=ref)


def test_whole_programmes_compare_side_by_side(tmp_path, write_file):
    settings = _two_programmes(tmp_path)
    with Store(settings.db, settings) as store:
        rows = [
            valid_row(id="a", partnership="VOICES", date="2019"),
            valid_row(id="b", partnership="Golden Key", date="2020", structure="Board", status="Decommissioned"),
            valid_row(
                id="c",
                partnership="Changing Futures Leeds",
                date="2022",
                structure="Hub",
                status="Hosted elsewhere",
                host="Leeds City Council",
            ),
        ]
        assert import_file(store, write_file(rows), actor=ADMIN).ok
        result = compare.compare(store, Filters(), "programme", ["Changing Futures", "Fulfilling Lives"])
        assert [f.area for f in result.facts] == ["Changing Futures", "Fulfilling Lives"]
        assert [(f.entries, f.partnerships, f.structures) for f in result.facts] == [(1, 1, 1), (2, 2, 2)]
        assert result.facts[0].hosts == (("Leeds City Council", 1),)
        text = compare.summary_text(result.facts[1])
        assert text.startswith("2 entries across 2 partnerships from 2019 to 2020: 2 milestones and 0 setbacks.")
        assert "2 structures recorded: 1 still running, 1 decommissioned." in text


def test_a_programmes_summary_counts_only_the_partnerships_the_filters_keep(tmp_path, write_file):
    """Programmes compared with the sidebar narrowed to one partnership of each: the summaries
    said "across 2 partnerships", every partnership of the programme, though the entries counted
    were of one partnership each."""
    settings = _two_programmes(tmp_path, "cf-hull,Changing Futures Hull,Changing Futures,Hull,2021-01-01,")
    with Store(settings.db, settings) as store:
        rows = [
            valid_row(id="a", partnership="VOICES", date="2019"),
            valid_row(id="b", partnership="Golden Key", date="2020", structure="Board"),
            valid_row(id="c", partnership="Changing Futures Leeds", date="2022", structure="Hub"),
            valid_row(id="d", partnership="Changing Futures Hull", date="2023", structure="Panel"),
        ]
        assert import_file(store, write_file(rows), actor=ADMIN).ok
        areas = ["Fulfilling Lives", "Changing Futures"]
        assert [f.partnerships for f in compare.facts(store, Filters(), "programme", areas)] == [2, 2]
        narrowed = compare.facts(store, Filters(partnerships=("voices", "cf-leeds")), "programme", areas)
        assert [(f.entries, f.partnerships) for f in narrowed] == [(1, 1), (1, 1)]
        assert compare.summary_text(narrowed[0]).startswith("1 entry across 1 partnership in 2019:")
        since_2021 = compare.facts(store, Filters(date_from=date(2021, 1, 1)), "programme", areas)
        assert [(f.entries, f.partnerships) for f in since_2021] == [(0, 0), (2, 2)]


def test_generated_summaries_of_the_demo_data_match_the_golden_file(demo):
    areas = list(compare.area_options(demo, Filters(), "partnership"))
    facts = compare.facts(demo, Filters(), "partnership", areas)
    text = "".join(f"## {f.area}\n{compare.summary_text(f)}\n\n" for f in facts)
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_summaries_are_built_from_the_data(demo):
    voices, golden_key, blackpool = compare.facts(demo, Filters(), "partnership", THREE)
    summary = compare.summary_text(voices)
    assert summary.startswith(f"{queries.count_entries(demo, Filters(partnerships=('voices',)))} entries")
    assert "1 hosted by Stoke-on-Trent City Council" in summary and "1 hosted by Expert Citizens CIC" in summary
    assert "Most entries: Coproduction (4 of 9)." in summary
    assert "none still running" not in summary
    assert "2 decommissioned" in compare.summary_text(golden_key)
    figures = queries.headline(demo, Filters(partnerships=("blackpool",)))
    assert (blackpool.structures, blackpool.continuing, blackpool.hosted) == (
        figures["structures"],
        figures["continuing"],
        figures["hosted-elsewhere"],
    )


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({}, "No entries match the current filters."),
        (
            {"entries": 1, "milestones": 1, "first_year": 2019, "last_year": 2019},
            "1 entry in 2019: 1 milestone and 0 setbacks. No structures recorded. No contributing mechanisms recorded.",
        ),
        (
            {
                "entries": 5,
                "milestones": 3,
                "setbacks": 2,
                "structures": 6,
                "hosted": 5,
                "decommissioned": 1,
                "hosts": (("A", 2), ("B", 1), ("C", 1), ("D", 1)),
                "top_typologies": ("Culture", "Leadership"),
                "top_typology_entries": 2,
                "top_mechanisms": ("Austerity",),
                "top_mechanism_entries": 1,
                "setback_typologies": ("Culture",),
                "setback_typology_entries": 2,
                "confirmed_after_end": 1,
            },
            "5 entries: 3 milestones and 2 setbacks. 6 structures recorded: 5 still running, 1 decommissioned. "
            "Still running: 2 hosted by A; 1 hosted by B; 1 hosted by C; 1 hosted elsewhere by 1 other organisation. "
            "1 of the 5 still running has been confirmed since funding ended. "
            "Most entries: Culture; Leadership (2 each of 5). Mechanism named most often: Austerity (1 entry). "
            "Most setbacks: Culture (2 of 2).",
        ),
    ],
)
def test_summary_wording(changes, expected):
    assert compare.summary_text(compare.AreaFacts(area="X", **changes)) == expected


def spec(chart) -> dict:
    return json.loads(json.dumps(chart.to_dict()))


def test_profile_charts_put_every_area_on_one_scale(demo):
    result = compare.compare(demo, Filters(), "partnership", THREE)
    for frame, measure in ((result.typology, "share"), (result.mechanism, "count")):
        chart = compare.profile_chart(frame, category_title="X", measure=measure)
        s = spec(chart)
        assert s["facet"]["column"]["field"] == "area"
        assert s["resolve"]["scale"]["x"] == "shared"
        x = s["spec"]["layer"][0]["encoding"]["x"]
        field = "share" if measure == "share" else "entries"
        assert x["field"] == field and x["scale"]["domain"][0] == 0
        assert x["scale"]["domain"][1] >= frame[field].max()  # one fixed domain, wide enough for every area
        assert charts.spec_rows(chart) == len(frame)


def test_year_chart_shares_years_and_scale(demo):
    result = compare.compare(demo, Filters(), "partnership", THREE)
    s = spec(compare.year_chart(result.years))
    assert s["facet"]["row"]["field"] == "area"
    assert s["resolve"]["scale"] == {"x": "shared", "y": "shared"}
    y = s["spec"]["layer"][0]["encoding"]["y"]
    top = result.years["entries"].max()
    assert y["scale"]["domain"][0] == -y["scale"]["domain"][1] and y["scale"]["domain"][1] >= top


def test_legacy_chart_keeps_the_chosen_order(demo):
    result = compare.compare(demo, Filters(), "partnership", THREE)
    s = spec(compare.legacy_chart(result.legacy, ["Continuing", "Hosted elsewhere", "Decommissioned"]))
    sorts = [layer["encoding"]["y"]["sort"] for layer in s["layer"]]
    assert sorts == [["VOICES", "Golden Key", "Blackpool Fulfilling Lives"]] * 2


def test_legacy_chart_keeps_an_area_without_structures_as_an_empty_bar(demo):
    """Every chosen area has its row: an area with no structures in view is an empty bar (none),
    not left off the chart as if it had not been chosen."""
    result = compare.compare(demo, Filters(kinds=("setback",)), "partnership", THREE)
    by_area = result.legacy.groupby("area")["structures"].sum()
    assert (by_area == 0).any() and (by_area > 0).any()  # the case: some areas with none
    s = spec(compare.legacy_chart(result.legacy, ["Continuing", "Hosted elsewhere", "Decommissioned"]))
    bars = next(layer for layer in s["layer"] if layer["mark"]["type"] == "bar")
    shown = {row["partnership"] for row in s["datasets"][(bars.get("data") or s["data"])["name"]]}
    assert shown == {names(demo)[slug] for slug in THREE}


def test_unknown_kind_of_area_is_refused(demo):
    with pytest.raises(ValueError):
        compare.compare(demo, Filters(), "county", ["x", "y"])


def test_sql_starts_from_the_scope_ctes():
    """Every read goes through Filters.scope(): cur_entries, never the raw entries table."""
    source = (ROOT / "tracker" / "compare.py").read_text()
    assert not re.search(r"\bFROM entries\b|\bJOIN entries\b", source, re.IGNORECASE)
    assert "filters.scope()" in source


@pytest.mark.parametrize("by", ["partnership", "programme"])
def test_the_legacy_profile_and_facts_read_from_the_stored_register_as_from_history(store, by):
    """Compare reads the stored register (#6: it computed the register from every entry of the
    areas, 0.1-0.8 s at a million entries); "as at" a moment after every write it computes it from
    history. The two must tell the same, with structures spread over every area."""
    from tracker import synth

    assert import_file(store, store.settings.sample, actor=ADMIN).ok
    assert synth.load(store, 600, 3, actor=ADMIN).ok
    later = datetime(2100, 1, 1)
    options = list(compare.area_options(store, Filters(), by))
    seen = 0
    for areas in (tuple(options[i : i + 3]) for i in range(0, len(options), 3)):  # every area, three at a time
        for filters in (Filters(), Filters(kinds=("setback",))):
            stored = compare.legacy_profile(store, filters, by, areas)
            seen += int(stored["structures"].sum())
            history = compare.legacy_profile(store, Filters(**{**filters.__dict__, "as_at": later}), by, areas)
            assert stored.equals(history)
            assert compare.facts(store, filters, by, areas) == compare.facts(
                store, Filters(**{**filters.__dict__, "as_at": later}), by, areas
            )
    assert seen > 100


# -- the page ---------------------------------------------------------------------------------------


@pytest.fixture
def app_db(demo_file, tmp_path, monkeypatch) -> Path:
    """A copy of the demo database for the app, run as a server does (in st.navigation mode)."""
    from streamlit.runtime.pages_manager import PagesManager

    init = PagesManager.__init__

    def navigation_mode(self, *args, **kwargs):  # as in tests/test_app.py
        init(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", navigation_mode)
    path = tmp_path / "app.duckdb"
    shutil.copy(demo_file, path)
    monkeypatch.setenv("TRACKER_DB", str(path))
    return path


def compare_page(**params: str | list[str]):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    return at


def test_a_host_named_in_a_summary_shows_as_typed(app_db, write_file):
    """A host is free text: the page wrote the summaries as Markdown, so a host typed as
    ``**Bold** [link](http://…) $x$`` came out bold, as a link to another site and as a formula."""
    host = "**Bold** [link](http://evil.example/x) $x$ _u_"
    with Store(str(app_db), Settings(db=str(app_db))) as store:
        row = valid_row(id="md-1", partnership="VOICES", structure="Hub", status="Hosted elsewhere", host=host)
        assert import_file(store, write_file([row]), actor=ADMIN).ok
    at = compare_page(area=["voices", "golden-key"])
    (source,) = [m.value for m in at.markdown if "hosted by" in m.value and "Bold" in m.value]
    assert host in re.sub(r"\\(.)", r"\1", source).replace("\u2060", "")  # reads as typed
    for markup in ("**Bold**", "[link](", "_u_"):
        assert markup not in source
    assert re.search(r"(?<!\\)\$", source) is None  # no formula


def test_an_unknown_area_in_a_link_is_named_as_typed(app_db):
    """The note on a link's unknown area was Markdown: ``?area=![x](http://…)`` drew a picture
    fetched from another site in the warning, and ``**x**`` came out bold."""
    wanted = "![x](http://evil.example/x.png) **x**"
    at = compare_page(area=["voices", wanted])
    (note,) = [w.value for w in at.warning if "not available here" in w.value]
    assert wanted in re.sub(r"\\(.)", r"\1", note).replace("\u2060", "")
    assert "![x](" not in note and "**x**" not in note


def test_the_areas_the_sidebar_keeps_are_compared_without_choosing_them_again(app_db):
    """A funder narrows the sidebar to the areas of a SCAN meeting, then opens Compare: with two to
    six left, those are the comparison (the page was empty until they were chosen again). Without
    a sidebar choice nothing is picked for them, and a choice they clear stays cleared."""
    at = compare_page(partnership=["voices", "golden-key"])
    (choice,) = [m for m in at.multiselect if m.key == "u_area"]
    assert choice.value == ["golden-key", "voices"]  # in the list's order (by name)
    assert "Summaries" in [h.value for h in at.header]
    assert at.query_params["area"] == ["golden-key", "voices"]  # the link says what is compared
    choice.set_value([]).run()
    assert next(m for m in at.multiselect if m.key == "u_area").value == []
    assert "Summaries" not in [h.value for h in at.header]

    at = compare_page()  # every partnership offered: none picked for the user
    assert next(m for m in at.multiselect if m.key == "u_area").value == []
    assert any("Choose at least two" in i.value for i in at.info)
    # ...until the sidebar is narrowed to two on this page
    next(m for m in at.multiselect if m.key == "f_partnership").set_value(["voices", "golden-key"]).run()
    assert next(m for m in at.multiselect if m.key == "u_area").value == ["golden-key", "voices"]

    at = compare_page(partnership=["voices", "golden-key"], area=["voices"])  # a link's own choice wins
    assert next(m for m in at.multiselect if m.key == "u_area").value == ["voices"]
