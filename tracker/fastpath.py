"""Checking many import rows at once, without losing a single rule of the model.

``EntryIn.model_validate`` runs a dozen Python validators per row; on a million rows that is
most of an import. :class:`FastCheck` looks at a batch column by column and *accepts* only
rows it is certain the model accepts, computing exactly the values the model would give.
Every other row — anything unusual, anything invalid — goes to the model itself, so problem
texts always come from the model and the model stays the one source of truth:

- Vocabulary, kind and date cells repeat, so each distinct cell is checked once *by the
  model* (a known-valid probe row with that one cell replaced) and the answer is memoised.
- Free-text cells (id, title, description, host, structure, source) are accepted only when
  plainly valid: text with nothing for ``str_strip_whitespace`` to remove but ASCII spaces,
  no control characters, within the model's length limits and patterns.
- The rules that tie fields together (a milestone needs a status and a mechanism; a host
  goes with "hosted elsewhere" only) are checked on the memoised results.

``tests/test_perf_fastpath.py`` proves the two paths agree on randomly generated rows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import ValidationError

from tracker.models import (
    HOSTED,
    ID_PATTERN,
    MAX_DESCRIPTION,
    MAX_ID,
    MAX_NAME,
    MAX_QUOTE,
    MAX_SOURCE,
    MAX_TITLE,
    EntryIn,
    FuzzyDate,
)
from tracker.taxonomy import Vocab, normalise

MISS: Any = object()  # "not certain": the row goes to the model
_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))
_IDS = re.compile(f"(?:{_ID.pattern}\n)*")  # many ids, one per line: all valid at once
_ANY_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # control characters, line breaks and tabs
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # control characters (line breaks allowed)
_MEMO_LIMIT = 50_000  # distinct cells remembered per column


def text(value: Any) -> Any:
    """The model's view of a text cell: ``None`` when blank, the stripped text, or :data:`MISS`.

    Blank means what the model's ``_as_text`` means (Python's ``str.strip``). Otherwise only
    ASCII spaces may surround the text: every character pydantic-core's strip removes is one
    Python's ``isspace`` knows too, so when the ends are not spaces the two agree.
    """
    if value is None:
        return None
    if type(value) is not str:
        return MISS
    if not value.strip():
        return None
    stripped = value.strip(" ")
    if stripped[0].isspace() or stripped[-1].isspace():
        return MISS
    return stripped


def texts(values: Sequence[Any], limit: int, forbidden: re.Pattern[str]) -> tuple[list[Any], list[int]]:
    """:func:`text` of each cell, :data:`MISS` where longer than ``limit`` or containing ``forbidden``;
    and the positions of the misses."""
    out = [
        v
        if type(v) is str and v and not v[0].isspace() and not v[-1].isspace() and len(v) <= limit
        else None
        if v is None or v == ""  # blank: most cells of the optional columns
        else _text_within(v, limit)
        for v in values
    ]
    present = [v for v in out if type(v) is str]
    if forbidden.search("".join(present)):
        out = [MISS if type(v) is str and forbidden.search(v) else v for v in out]
    return out, [i for i, v in enumerate(out) if v is MISS]


def _text_within(value: Any, limit: int) -> Any:
    value = text(value)
    return MISS if type(value) is str and len(value) > limit else value


_NOT_SEEN: Any = object()


class FastCheck:
    """Accepts the rows of a batch that the model certainly accepts; the rest are left to the model."""

    def __init__(self, vocab: Vocab) -> None:
        self.context = {"vocab": vocab}
        self.memo: dict[str, dict[Any, Any]] = {
            f: {}
            for f in ("partnership", "typology", "kind", "date", "status", "mechanisms", "sectors", "contribution")
        }
        self.keys: dict[str, str] = {}  # structure name -> structure key
        partnerships = list(vocab["partnership"].labels)
        typologies = list(vocab["typology"].labels)
        statuses = [s for s in vocab["status"].labels if s != HOSTED] if "status" in vocab.lookups else []
        mechanisms = list(vocab["mechanism"].labels) if "mechanism" in vocab.lookups else []
        self.enabled = bool(partnerships and typologies)
        self.base: dict[str, Any] = {
            "id": None,
            "partnership": partnerships[0] if partnerships else None,
            "date": "2000",
            "kind": "setback",
            "title": "probe",
            "description": None,
            "typology": typologies[0] if typologies else None,
            "status": None,
            "host": None,
            "mechanisms": [],
            "structure": None,
            "sectors": [],
            "source": None,
            "quote": None,
            "speaker": None,
            "contribution": None,
        }
        # A probe row valid for either kind, so that the kind cell alone decides.
        self.kind_base = {**self.base, "status": statuses[0] if statuses else None, "mechanisms": mechanisms[:1]}
        if self.enabled and self._model(self.base) is None:
            self.enabled = False  # a taxonomy this check does not understand: the model does it all

    def _model(self, row: dict[str, Any]) -> EntryIn | None:
        try:
            return EntryIn.model_validate(row, context=self.context)
        except ValidationError:
            return None

    # -- probes: the model decides each distinct cell once --------------------------------
    def _probe(self, field: str, raw: Any) -> Any:
        if field == "kind":
            found = self._model({**self.kind_base, "kind": raw}) or self._model({**self.base, "kind": raw})
            return found.kind if found else MISS
        if field == "status":
            found = self._model({**self.base, "status": raw}) or self._model(
                {**self.base, "status": raw, "host": "probe"}
            )
            return found.status if found else MISS
        found = self._model({**self.base, field: raw})
        if found is None:
            return MISS
        if field == "date":
            d = FuzzyDate.parse(found.date)
            return (d.text, d.precision.value, d.start, d.end)
        value = getattr(found, field)
        return tuple(value) if isinstance(value, list) else value

    def _lookup(self, field: str, values: Sequence[Any]) -> tuple[list[Any], list[int]]:
        """The model's value for each cell (memoised per distinct cell), and the positions of misses."""
        memo = self.memo[field]
        get = memo.get
        try:
            out = [get(v, _NOT_SEEN) for v in values]
        except TypeError:  # list cells (JSON, Parquet) are looked up as tuples
            out = [_NOT_SEEN] * len(values)
        misses = []
        for i, found in enumerate(out):
            if found is _NOT_SEEN:
                found = out[i] = self._resolve(field, values[i])
            if found is MISS:
                misses.append(i)
        return out, misses

    def _resolve(self, field: str, raw: Any) -> Any:
        memo = self.memo[field]
        key = tuple(raw) if type(raw) is list else raw
        if key is not None and type(key) not in (str, tuple):
            return MISS
        if type(key) is tuple and not all(type(v) is str for v in key):
            return MISS
        found = memo.get(key, _NOT_SEEN)
        if found is _NOT_SEEN:
            found = self._probe(field, list(key) if type(key) is tuple else key)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = found
        return found

    # -- a batch --------------------------------------------------------------------------
    def check(
        self, columns: Mapping[str, Sequence[Any]], new_id: Callable[[], str]
    ) -> tuple[dict[str, list[Any]], list[int]]:
        """Split a batch: staged values (as :class:`~tracker.entries.Staging` stores them) of the rows
        the model certainly accepts, with their positions under ``"index"``; and the positions of
        the rows the model must check."""
        n = len(columns["id"]) if "id" in columns else 0
        if not self.enabled or n == 0 or set(columns) != set(self.base):
            return {"index": []}, list(range(n))
        misses: set[int] = set()

        def take(found: tuple[list[Any], list[int]]) -> list[Any]:
            misses.update(found[1])
            return found[0]

        ids = take(texts(columns["id"], MAX_ID, _ANY_CONTROL))
        partnership = take(self._lookup("partnership", columns["partnership"]))
        dates = take(self._lookup("date", columns["date"]))
        kinds = take(self._lookup("kind", columns["kind"]))
        titles = take(texts(columns["title"], MAX_TITLE, _ANY_CONTROL))
        descriptions = take(texts(columns["description"], MAX_DESCRIPTION, _CONTROL))
        typology = take(self._lookup("typology", columns["typology"]))
        status = take(self._lookup("status", columns["status"]))
        hosts = take(texts(columns["host"], MAX_NAME, _ANY_CONTROL))
        mechanisms = take(self._lookup("mechanisms", columns["mechanisms"]))
        structures = take(texts(columns["structure"], MAX_NAME, _ANY_CONTROL))
        sectors = take(self._lookup("sectors", columns["sectors"]))
        sources = take(texts(columns["source"], MAX_SOURCE, _ANY_CONTROL))
        quotes = take(texts(columns["quote"], MAX_QUOTE, _CONTROL))
        speakers = take(texts(columns["speaker"], MAX_NAME, _ANY_CONTROL))
        contributions = take(self._lookup("contribution", columns["contribution"]))

        present = [v for v in ids if type(v) is str]
        if present and not _IDS.fullmatch("\n".join(present) + "\n"):
            misses.update(i for i, v in enumerate(ids) if type(v) is str and not _ID.fullmatch(v))
        misses.update(i for i, t in enumerate(titles) if t is None)  # a title is required
        misses.update(i for i, (q, s) in enumerate(zip(quotes, speakers, strict=True)) if s is not None and q is None)
        misses.update(
            i
            for i, (kind, st, mechs, host) in enumerate(zip(kinds, status, mechanisms, hosts, strict=True))
            if (kind == "milestone" and (st is None or not mechs)) or ((st == HOSTED) != (host is not None))
        )

        keep = [i for i in range(n) if i not in misses] if misses else range(n)

        def pick(values: list[Any]) -> list[Any]:
            return [values[i] for i in keep] if misses else values

        keys = self.keys
        for name in structures:
            if type(name) is str and name not in keys:
                keys[name] = normalise(name)
        if len(keys) > _MEMO_LIMIT:
            self.keys = {}
        dates = pick(dates)
        structures = pick(structures)
        out: dict[str, list[Any]] = {
            "index": list(keep),
            "id": [v if v is not None else new_id() for v in pick(ids)],
            "partnership": pick(partnership),
            "date_text": [d[0] for d in dates],
            "date_precision": [d[1] for d in dates],
            "date_start": [d[2] for d in dates],
            "date_end": [d[3] for d in dates],
            "kind": pick(kinds),
            "title": pick(titles),
            "description": pick(descriptions),
            "typology": pick(typology),
            "status": pick(status),
            "host": pick(hosts),
            "structure": structures,
            "structure_key": [None if v is None else keys[v] for v in structures],
            "source": pick(sources),
            "mechanisms": pick(mechanisms),
            "sectors": pick(sectors),
            "quote": pick(quotes),
            "speaker": pick(speakers),
            "contribution": pick(contributions),
        }
        return out, sorted(misses)
