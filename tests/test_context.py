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
