"""The published JSON Schema is generated from the model; a stale committed copy fails here."""

import json

import pytest

from tracker.interchange import COLUMNS
from tracker.schema import SCHEMA_PATH, render


def test_committed_schema_is_current():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render(), "run: python -m tracker.schema"


def test_schema_describes_the_interchange_columns_in_order():
    schema = json.loads(render())
    assert list(schema["properties"]) == list(COLUMNS)
    assert schema["additionalProperties"] is False
    assert set(schema["required"]) == {"partnership", "date", "kind", "title", "typology"}


def test_schema_validates_a_demo_like_record():
    jsonschema = pytest.importorskip("jsonschema")
    record = {
        "partnership": "VOICES",
        "date": "2019",
        "kind": "milestone",
        "title": "MaRG",
        "typology": "Culture",
        "mechanisms": ["Flexibility"],
    }
    jsonschema.validate(record, json.loads(render()))
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**record, "date": "19/06/2019"}, json.loads(render()))
