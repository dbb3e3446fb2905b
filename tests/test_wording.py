import pytest

from tracker.wording import agree, quantity


@pytest.mark.parametrize(
    ("count", "words"),
    [(0, "0 structures"), (1, "1 structure"), (2, "2 structures"), (1204, "1,204 structures")],
)
def test_a_count_takes_the_noun_that_agrees_with_it(count, words):
    assert quantity(count, "structure") == words


def test_an_irregular_plural_is_given():
    assert quantity(1, "entry", "entries") == "1 entry"
    assert quantity(3, "entry", "entries") == "3 entries"


def test_a_verb_agrees_with_its_count():
    assert [agree(n, "has", "have") for n in (0, 1, 2)] == ["have", "has", "have"]
