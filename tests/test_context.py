"""External events are data: checked when loaded, labelled with the mechanism entries use."""

import pytest

from tracker.context import context_bands, load_events


def test_shipped_events_load_and_name_real_mechanisms(store):
    events = load_events()
    assert {e["label"] for e in events} >= {"Austerity", "COVID-19 lockdown", "Everyone In", "ICSs statutory"}
    bands = context_bands(store)
    assert set(bands["mechanism"].dropna()) <= set(store.vocab()["mechanism"].labels.values())
    ics = bands[bands["label"] == "ICSs statutory"].iloc[0]
    assert bool(ics["point"]) and str(ics["start"].date()) == "2022-07-01"


def test_an_event_ending_before_it_starts_is_refused(tmp_path):
    path = tmp_path / "events.toml"
    path.write_text('[[event]]\nlabel = "Backwards"\nstart = 2020-05-01\nend = 2020-04-01\n')
    with pytest.raises(ValueError, match="ends before it starts"):
        load_events(path)


def test_an_event_with_an_unknown_mechanism_is_refused_naming_the_file_the_event_and_the_slug(store, tmp_path):
    # A typo in the slug matched no entries without a word: no ring on the timeline (#3).
    from tracker.context import bands

    path = tmp_path / "events.toml"
    path.write_text('[[event]]\nlabel = "Lockdown"\nstart = 2020-03-23\nmechanism = "covid19"\n')
    with pytest.raises(ValueError) as info:
        bands(store.vocab(), path)
    message = str(info.value)
    assert str(path) in message and "'Lockdown'" in message and "unknown mechanism 'covid19'" in message, message
    assert "did you mean 'covid-19'" in message, message


def test_an_event_with_a_misspelt_field_is_refused(store, tmp_path):
    # "mechansim = ..." left the event without a mechanism, again without a word.
    from tracker.context import bands

    path = tmp_path / "events.toml"
    path.write_text('[[event]]\nlabel = "Lockdown"\nstart = 2020-03-23\nmechansim = "covid-19"\n')
    with pytest.raises(ValueError, match=r"event #1 'Lockdown': unknown field 'mechansim'"):
        bands(store.vocab(), path)


def test_an_event_may_name_its_mechanism_by_label_as_entries_may(store, tmp_path):
    from tracker.context import bands

    path = tmp_path / "events.toml"
    path.write_text('[[event]]\nlabel = "Lockdown"\nstart = 2020-03-23\nmechanism = "COVID-19 pandemic"\n')
    label = store.vocab()["mechanism"].label("covid-19")
    assert list(bands(store.vocab(), path)["mechanism"]) == [label]


def test_a_broken_events_file_is_reported_with_the_file_and_the_line(tmp_path):
    path = tmp_path / "events.toml"
    path.write_text('[[event]\nlabel = "Lockdown"\n')
    with pytest.raises(ValueError) as info:
        load_events(path)
    assert str(path) in str(info.value) and "line 1" in str(info.value), str(info.value)
