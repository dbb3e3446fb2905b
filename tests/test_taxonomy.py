"""Users type labels or slugs in any case; near misses get a suggestion, not a silent guess."""

import pytest

from tracker.config import Settings
from tracker.taxonomy import load_partnerships, load_terms, normalise

PARTNERSHIPS = [
    "Blackpool Fulfilling Lives",
    "Birmingham Changing Futures Together",
    "Golden Key",
    "Fulfilling Lives Islington and Camden",
    "Fulfilling Lives Lambeth, Southwark and Lewisham",
    "Liverpool Waves of Hope",
    "Inspiring Change Manchester",
    "Fulfilling Lives Newcastle and Gateshead",
    "Opportunity Nottingham",
    "Fulfilling Lives South East",
    "VOICES",
    "West Yorkshire Finding Independence",
]


def test_reference_data_has_the_twelve_partnerships_by_exact_name():
    refs = load_partnerships(Settings().partnerships)
    assert sorted(p.name for p in refs) == sorted(PARTNERSHIPS)
    assert all(p.programme == "Fulfilling Lives" for p in refs)
    assert all(p.start_date.year == 2014 and 2020 <= p.end_date.year <= 2022 for p in refs)


def test_default_taxonomy_is_the_meam_six_and_three_statuses():
    terms = load_terms(Settings().taxonomy)
    typology = [t.label for t in terms if t.vocabulary == "typology"]
    assert typology == [
        "Leadership",
        "Approaches to coordinating support",
        "Infrastructure, pathways and processes",
        "Strategy and commissioning",
        "Coproduction",
        "Culture",
    ]
    assert [t.slug for t in terms if t.vocabulary == "status"] == [
        "continuing",
        "hosted-elsewhere",
        "decommissioned",
    ]
    groups = {t.group for t in terms if t.vocabulary == "mechanism"}
    assert groups == {"Programme features", "Mechanisms for change", "External factors"}
    assert all(";" not in t.label for t in terms), "';' separates list items in the interchange format"


@pytest.mark.parametrize(
    "text",
    [
        "Approaches to coordinating support",
        "approaches to coordinating support",
        "  APPROACHES TO COORDINATING SUPPORT ",
        "coordinating-support",
        "Coordinating_Support",
    ],
)
def test_label_or_slug_in_any_case_resolves(store, text):
    assert store.vocab()["typology"].resolve(text) == "coordinating-support"


def test_hosted_elsewhere_with_a_space_resolves(store):
    assert store.vocab()["status"].resolve("hosted elsewhere") == "hosted-elsewhere"


@pytest.mark.parametrize(
    ("vocabulary", "typo", "hint"),
    [
        ("typology", "Leadrship", "Leadership"),
        ("typology", "cultre", "Culture"),
        ("status", "decomissioned", "Decommissioned"),
        ("mechanism", "Flexibilty", "Flexibility"),
        ("partnership", "Opportunity Notingham", "Opportunity Nottingham"),
        ("partnership", "voice", "VOICES"),
    ],
)
def test_near_miss_gets_a_suggestion(store, vocabulary, typo, hint):
    lookup = store.vocab()[vocabulary]
    assert lookup.resolve(typo) is None
    assert lookup.suggest(typo) == hint


def test_nothing_close_gets_no_suggestion(store):
    assert store.vocab()["typology"].suggest("zzzz qqqq") is None


def test_normalise_folds_case_and_separators():
    assert normalise("  Hosted_elsewhere ") == normalise("hosted-elsewhere") == "hosted elsewhere"


GOOD_TYPOLOGY = '[[typology]]\nslug = "a"\nlabel = "A"\n'
BROKEN_TAXONOMIES = [
    (GOOD_TYPOLOGY + '[[typology]\nslug = "b"\n', "line 4"),  # TOML syntax
    ('[[typology]]\nslug = "a"\nlabel = 5\n', "typology #1"),  # a label that is not text
    ('[[typology]]\nslug = 7\nlabel = "A"\n', "typology #1"),  # a slug that is not text
    ('typology = { slug = "a", label = "A" }\n', "typology"),  # a table, not a list of terms
    ('typology = ["a", "b"]\n', "typology #1"),  # strings, not terms
    # the register's "no status" choice: a status may take neither its slug nor its label (#8)
    (
        GOOD_TYPOLOGY + '[[status]]\nslug = "not-recorded"\nlabel = "Unknown"\n',
        "'not-recorded' and 'Not recorded' are reserved",
    ),
    (GOOD_TYPOLOGY + '[[status]]\nslug = "unknown"\nlabel = "Not  recorded"\n', "e.g. 'status-unknown'"),
]


@pytest.mark.parametrize("text, where", BROKEN_TAXONOMIES)
def test_a_broken_taxonomy_file_is_reported_with_the_file_and_the_place(tmp_path, text, where):
    from tracker.store import Store, StoreError

    path = tmp_path / "taxonomy.toml"
    path.write_text(text, encoding="utf-8")
    db = tmp_path / "t.duckdb"
    with pytest.raises(StoreError) as info:
        Store(str(db), Settings(db=str(db), taxonomy=path))
    assert str(path) in str(info.value) and where in str(info.value), str(info.value)


CROSSWALK = '[[condition]]\nslug = "policies"\nlabel = "Policies"\n'
BROKEN_CROSSWALKS = [
    (CROSSWALK + "[map\n", "line 4"),  # TOML syntax
    (CROSSWALK + CROSSWALK, "'policies' appears twice"),  # one condition twice
    (CROSSWALK + '[map]\nleadership = ["policies", "policies"]\n', "'policies' twice"),
    (CROSSWALK + '[map]\nleadership = "policies"\n', "'leadership'"),  # not a list
    ('[[condition]]\nslug = "policies"\nlabel = 6\n', "condition #1"),
]


@pytest.mark.parametrize("text, where", BROKEN_CROSSWALKS)
def test_a_broken_crosswalk_file_is_reported_with_the_file_and_the_place(tmp_path, text, where):
    from tracker.store import Store, StoreError

    path = tmp_path / "crosswalk.toml"
    path.write_text(text, encoding="utf-8")
    db = tmp_path / "t.duckdb"
    with pytest.raises(StoreError) as info:
        Store(str(db), Settings(db=str(db), crosswalk=path))
    assert str(path) in str(info.value) and where in str(info.value), str(info.value)


def test_the_cli_reports_a_broken_taxonomy_without_a_traceback(tmp_path, monkeypatch, capsys):
    from tracker.cli import EXIT_INVALID, main

    path = tmp_path / "taxonomy.toml"
    path.write_text('[[typology]]\nslug = "a"\nlabel = 5\n', encoding="utf-8")
    monkeypatch.setenv("TRACKER_TAXONOMY", str(path))
    assert main(["init", "--db", str(tmp_path / "t.duckdb")]) == EXIT_INVALID
    err = capsys.readouterr().err
    assert err.startswith("error: ") and str(path) in err and "Traceback" not in err


PARTNERSHIPS_HEADER = "slug,name,programme,area,start_date,end_date\n"
GOOD_PARTNERSHIP = "a,A,P,Area,2014-04-01,2021-06-30\n"
BROKEN_PARTNERSHIPS = [
    (PARTNERSHIPS_HEADER + GOOD_PARTNERSHIP + "b,B,P,Area,2014-13-01,\n", "line 3"),  # a bad date
    (PARTNERSHIPS_HEADER + GOOD_PARTNERSHIP + "b,B,P,Area,2014-04-01,31/03/2022\n", "line 3"),
    ("slug,name,programme,start_date,end_date\n" + "a,A,P,2014-04-01,\n", "area"),  # a missing column
    (PARTNERSHIPS_HEADER + "a,A,P\n", "line 2"),  # a short row
]


@pytest.mark.parametrize("text, where", BROKEN_PARTNERSHIPS)
def test_a_broken_partnerships_file_is_reported_with_the_file_and_the_place(tmp_path, text, where):
    from tracker.store import Store, StoreError

    path = tmp_path / "partnerships.csv"
    path.write_text(text, encoding="utf-8")
    db = tmp_path / "t.duckdb"
    with pytest.raises(StoreError) as info:
        Store(str(db), Settings(db=str(db), partnerships=path))
    assert str(path) in str(info.value) and where in str(info.value), str(info.value)
