"""Programme links: a successor team follows its structures back to the ones they grew out of."""

import pytest

from tests.conftest import ADMIN, valid_row
from tracker import links, verification
from tracker.access import Forbidden, Member
from tracker.cli import main
from tracker.config import Settings
from tracker.errors import InvalidInput
from tracker.filters import Filters
from tracker.importer import import_file
from tracker.store import Store

CF_LEAD = Member("lead@cf-stoke.org", "editor", frozenset({"golden-key"}))


@pytest.fixture
def two(store, write_file):
    rows = [
        valid_row(id="a", structure="Expert Citizens"),
        valid_row(id="b", partnership="Golden Key", structure="EC network"),
    ]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    return store


def test_a_successor_links_its_structure_and_the_register_follows_it(two):
    link = links.add_link(two, CF_LEAD, ("voices", "Expert Citizens"), ("golden-key", "ec network"), "carried on")
    assert (
        links.add_link(two, CF_LEAD, ("voices", "expert citizens"), ("golden-key", "EC network")) == link
    )  # no duplicate
    register = verification.register(two, Filters()).set_index("structure")
    assert register.loc["Expert Citizens", "carried_on_as"] == "EC network (Golden Key, Fulfilling Lives)"
    assert register.loc["EC network", "grew_out_of"] == "Expert Citizens (VOICES, Fulfilling Lives)"
    links.remove_link(two, CF_LEAD, link)
    assert links.links(two).empty


def test_only_the_successors_editors_may_link(two):
    with pytest.raises(Forbidden):
        links.add_link(
            two,
            Member("x@voices.org", "editor", frozenset({"voices"})),
            ("voices", "Expert Citizens"),
            ("golden-key", "EC network"),
        )


def test_unknown_structures_are_named(two):
    with pytest.raises(InvalidInput, match="no structure 'Nothing' in partnership 'voices'"):
        links.add_link(two, ADMIN, ("voices", "Nothing"), ("golden-key", "EC network"))


def test_demo_links_fulfilling_lives_to_changing_futures(tmp_path, capsys):
    db = str(tmp_path / "demo.duckdb")
    assert main(["demo", "--db", db]) == 0
    assert main(["demo", "--db", db]) == 0  # idempotent
    with Store(db, Settings(db=db)) as store:
        found = links.links(store)
        assert len(found) == 3 and set(found["to_programme"]) == {"Changing Futures"}
        register = verification.register(store, Filters(programmes=("Changing Futures",)))
        assert "Expert Citizens CIC (VOICES, Fulfilling Lives)" in set(register["grew_out_of"])


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("strasse", "Straße Outreach"),  # the search folds ß as the structure's key does
        ("STRASSE", "Straße Outreach"),
        ("straße", "Straße Outreach"),
        ("peer panel", "Peer  Panel"),  # two spaces in the stored name, one typed
        ("peer  panel", "Peer  Panel"),
        ("peer-panel", "Peer  Panel"),  # spaces, hyphens and underscores count as one space, as in the key
        ("waves of-hope", "Peer  Panel"),  # the partnership's name, folded the same way
    ],
)
def test_finding_a_structure_folds_case_and_spaces_as_its_key_does(store, write_file, text, found):
    rows = [
        valid_row(id="a", structure="Straße Outreach"),
        valid_row(id="b", partnership="Liverpool Waves of Hope", structure="Peer  Panel"),
    ]
    assert import_file(store, write_file(rows), actor=ADMIN).ok
    assert [name for _, _, name in links.find_structures(store, text)] == [found]
