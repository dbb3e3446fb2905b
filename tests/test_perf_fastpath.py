"""The fast import check (tracker.fastpath) accepts only what the model accepts, with the model's values.

Rows the fast check is not sure of go to the model, so problem texts always come from the model. What
must be proven is the other half: every row the fast check accepts is one the model accepts, staged
exactly as the model's result is staged. Hypothesis builds rows from valid values, near misses, odd
case and spacing, Unicode whitespace, control characters and over-long text; and whole imports with
the fast check on and off must report and store the same.
"""

from __future__ import annotations

import io
import sys
from typing import Annotated, Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import StringConstraints, TypeAdapter, ValidationError

from tests.conftest import ADMIN, csv_bytes, valid_row
from tracker import importer, queries
from tracker.entries import STAGED_COLUMNS, structure_key
from tracker.fastpath import FastCheck
from tracker.interchange import COLUMNS
from tracker.models import EntryIn
from tracker.store import Store

SPACES = ["", " ", "  ", "\t", "\u00a0", "\u2003", "\u3000", "\x1c", "\x85", "\u200b", "\ufeff", "\n"]
LONG = ["x" * 64, "x" * 65, "t" * 200, "t" * 201, "s" * 1000, "s" * 1001, "d" * 5000, "d" * 5001]


def padded(values: list[str]) -> st.SearchStrategy[str]:
    return st.builds(
        lambda v, a, b: a + v + b, st.sampled_from(values), st.sampled_from(SPACES), st.sampled_from(SPACES)
    )


def cell(values: list[str], extra: list[Any] | None = None) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(values),
        padded(values),
        st.sampled_from([None, "", "  ", *(extra or [])]),
        st.text(max_size=12),
    )


PARTNERSHIPS = ["VOICES", "voices", "Golden Key", "golden-key", "GOLDEN KEY", "Voices ", "Atlantis", "Golden_Key"]
DATES = ["2019", "2019-06", "2019-06-30", "2019-6", "2019-13", "2019-02-30", "1850", "2999", " 2020 ", "2020-02-29"]
KINDS = ["milestone", "setback", "Milestone", "SETBACK", "mileston", "event", " setback "]
TYPOLOGIES = ["Leadership", "leadership", "coordinating-support", "Approaches to coordinating support", "Leadrship"]
STATUSES = ["Continuing", "continuing", "Hosted elsewhere", "hosted-elsewhere", "hosted", "decommissioned", "Gone"]
MECHANISMS = [
    "Flexibility",
    "flexibility; Personal relationships",
    "Personal relationships;Flexibility;flexibility",
    "Lived experience; Austerity",
    "Flexiblity",
    ";",
    " ; ",
]
SECTORS = ["Housing and homelessness", "mental-health; Criminal justice", "Housing; Nowhere", ""]
IDS = ["t-1", "a.b:c_d-e", "-bad", "with space", "ünïcode", *LONG[:2]]
TEXT = ["MaRG set up", "Title", "=1+1", "line\nbreak", "tab\there", "bell\x07", "é£€ ok", "x\x7f", *LONG]

ROWS = st.fixed_dictionaries(
    {
        "id": cell(IDS, [5, 5.0]),
        "partnership": cell(PARTNERSHIPS),
        "date": cell(DATES, [2019, 2019.0]),
        "kind": cell(KINDS),
        "title": cell(TEXT, [3]),
        "description": cell(TEXT),
        "typology": cell(TYPOLOGIES),
        "status": cell(STATUSES),
        "host": cell(["Stoke-on-Trent City Council", "Empowerment", *TEXT]),
        "mechanisms": st.one_of(cell(MECHANISMS), st.lists(st.sampled_from(["Flexibility", "Austerity", "x"]))),
        "structure": cell(["MaRG", "Multi-agency  Resolution_Group", *TEXT]),
        "sectors": st.one_of(cell(SECTORS), st.lists(st.sampled_from(["Mental health", "", "y"]))),
        "source": cell(["CFE Research (2022)", *TEXT]),
        "quote": cell(["It has been absolutely critical", "q" * 1000, "q" * 1001, *TEXT]),
        "speaker": cell(["Stakeholder, Housing", "Person with lived experience", "s" * 200, "s" * 201, *TEXT]),
        "contribution": cell(["direct", "Direct", " contributory ", "influenced", "unclear", "dir", "maybe"]),
    }
)


@pytest.fixture(scope="module")
def vocab(tmp_path_factory):
    from tracker.config import Settings

    path = tmp_path_factory.mktemp("fast") / "v.duckdb"
    with Store(str(path), Settings(db=str(path))) as store:
        yield store.vocab()


def staged(entry: EntryIn) -> dict[str, Any]:
    """What Staging.add stores for a model-validated entry (the id as given)."""
    d = entry.fuzzy_date
    return {
        "id": entry.id,
        "partnership": entry.partnership,
        "date_text": d.text,
        "date_precision": d.precision.value,
        "date_start": d.start,
        "date_end": d.end,
        "kind": entry.kind,
        "title": entry.title,
        "description": entry.description,
        "typology": entry.typology,
        "status": entry.status,
        "host": entry.host,
        "structure": entry.structure,
        "structure_key": structure_key(entry.structure),
        "source": entry.source,
        "mechanisms": list(entry.mechanisms),
        "sectors": list(entry.sectors),
        "quote": entry.quote,
        "speaker": entry.speaker,
        "contribution": entry.contribution,
    }


def check_rows(vocab, rows: list[dict[str, Any]]) -> list[int]:
    fast = FastCheck(vocab)
    out, rest = fast.check({c: [r[c] for r in rows] for c in COLUMNS}, new_id=lambda: None)  # type: ignore[arg-type,return-value]
    assert sorted(out["index"] + rest) == list(range(len(rows)))
    for n, i in enumerate(out["index"]):
        try:
            entry = EntryIn.model_validate(rows[i], context={"vocab": vocab})
        except ValidationError as exc:  # pragma: no cover - the failure this test exists to catch
            pytest.fail(f"fast check accepted a row the model refuses: {rows[i]!r}: {exc}")
        got = {
            name: (list(out[name][n]) if name in ("mechanisms", "sectors") else out[name][n]) for name in staged(entry)
        }
        assert got == staged(entry), rows[i]
    return out["index"]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(ROWS, min_size=1, max_size=8))
def test_every_row_the_fast_check_accepts_the_model_accepts_with_the_same_values(vocab, rows):
    check_rows(vocab, rows)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.builds(lambda **kw: valid_row(**kw), kind=st.sampled_from(KINDS[:4])), min_size=1, max_size=5))
def test_plain_valid_rows_take_the_fast_path(vocab, rows):
    assert check_rows(vocab, rows) == list(range(len(rows)))


def test_demo_data_takes_the_fast_path(vocab):
    from tracker.config import Settings
    from tracker.interchange import read_rows

    with open(Settings().sample, "rb") as fh:
        source = read_rows(fh, "csv")
        for numbers, columns in source.batches(1000):
            _, rest = FastCheck(vocab).check(columns, new_id=lambda: "x")
            assert rest == [], [numbers[i] for i in rest]


def test_what_pydantic_strips_python_knows_as_whitespace():
    """The fast check trusts text whose ends are not Python whitespace to need no stripping."""
    strip = TypeAdapter(list[Annotated[str, StringConstraints(strip_whitespace=True)]])
    chars = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF and not chr(c).isspace()]
    padded_chars = [f"{c}x{c}" for c in chars]
    assert strip.validate_python(padded_chars) == padded_chars


MESSY = [
    valid_row(id="m1"),
    valid_row(id="m2", partnership=" golden key ", typology="LEADERSHIP", kind=" Setback ", status=""),
    valid_row(id="m3", title="  padded title  ", description="ends with a line break\n"),
    valid_row(id="m4", status="hosted", host="Someone"),
    valid_row(id="m5", status="Hosted elsewhere", host=""),
    valid_row(id="m6", mechanisms="", kind="milestone"),
    valid_row(id="m7", date="2019-02-30"),
    valid_row(id="m8", title="tab\tinside"),
    valid_row(id="m9", structure="\u00a0MaRG\u00a0", sectors="Housing; housing and homelessness"),
    valid_row(id="", title="no id"),
    valid_row(id="m10", source="x" * 1001),
    valid_row(id="bad id"),
    valid_row(id="m11", description="a\x07bell"),
    valid_row(id="m12", kind="setback", status="", host="Host without status"),
]


@pytest.mark.parametrize("rows", [MESSY, [r for r in MESSY if r["id"] in ("m1", "m2", "m3", "m9", "")]])
def test_imports_report_and_store_the_same_with_and_without_the_fast_check(tmp_path, monkeypatch, rows):
    from tracker.config import Settings

    results = []
    for fast in (True, False):
        monkeypatch.setattr(importer, "FAST_PATH", fast)
        path = tmp_path / f"{fast}.duckdb"
        with Store(str(path), Settings(db=str(path))) as store:
            report = importer.import_stream(store, io.BytesIO(csv_bytes(rows)), "csv", actor=ADMIN)
            stored = [
                {k: v for k, v in r.items() if k != "id" or v in {x["id"] for x in rows}}
                for r in queries.export_rows(store)
            ]
            history = (
                store.cursor()
                .execute(
                    "SELECT version, action, partnership, date_text, kind, title, description, typology, status, host,"
                    " structure, structure_key, source, mechanisms, sectors FROM entry_history"
                )
                .fetchall()
            )
        results.append(([str(p) for p in report.problems], report.summary(), stored, sorted(history, key=repr)))
    assert results[0] == results[1]


def test_staged_columns_are_the_ones_the_fast_check_fills(vocab):
    out, _ = FastCheck(vocab).check({c: [valid_row()[c]] for c in COLUMNS}, new_id=lambda: "x")
    assert set(out) - {"index"} == {name for name, _ in STAGED_COLUMNS} - {"row_no"}
