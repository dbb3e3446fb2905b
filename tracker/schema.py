"""Generate ``schemas/entry.schema.json`` (JSON Schema of one interchange record) from ``EntryIn``.

Run ``python -m tracker.schema`` after changing the model; a test fails when the
committed file is stale.
"""

from __future__ import annotations

import json
import sys

from tracker.config import SCHEMAS_DIR
from tracker.interchange import COLUMNS
from tracker.models import EntryIn

SCHEMA_PATH = SCHEMAS_DIR / "entry.schema.json"


def entry_schema() -> dict[str, object]:
    """The JSON Schema of one record, properties in interchange column order."""
    schema = EntryIn.model_json_schema(mode="validation")
    props = schema["properties"]
    schema["properties"] = {name: props[name] for name in COLUMNS}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://github.com/systems-change-tracker/schemas/entry.schema.json",
        **schema,
    }


def render() -> str:
    """The schema as committed: pretty JSON with a trailing newline."""
    return json.dumps(entry_schema(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    """Write the schema file."""
    SCHEMA_PATH.write_text(render(), encoding="utf-8")
    print(f"wrote {SCHEMA_PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
