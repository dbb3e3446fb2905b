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
