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
from collections.abc import Callable, Sequence
from typing import Any

from pydantic import ValidationError

from tracker.models import (
    HOSTED,
    ID_PATTERN,
    MAX_DESCRIPTION,
    MAX_ID,
    MAX_NAME,
    MAX_SOURCE,
    MAX_TITLE,
    EntryIn,
    FuzzyDate,
)
from tracker.taxonomy import Vocab, normalise

MISS: Any = object()  # "not certain": the row goes to the model
_ID = re.compile(ID_PATTERN.removeprefix("^").removesuffix("$"))
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


def _single_line(value: Any, limit: int, required: bool = False) -> Any:
    value = text(value)
    if value is None:
        return MISS if required else None
    if value is MISS or len(value) > limit or _ANY_CONTROL.search(value):
        return MISS
    return value


class FastCheck:
    """Accepts the rows of a batch that the model certainly accepts; the rest are left to the model."""

    def __init__(self, vocab: Vocab) -> None:
        self.context = {"vocab": vocab}
        self.memo: dict[str, dict[Any, Any]] = {
            f: {} for f in ("partnership", "typology", "kind", "date", "status", "mechanisms", "sectors")
        }
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

    def _lookup(self, field: str, values: Sequence[Any]) -> list[Any]:
        memo = self.memo[field]
        out = []
        for raw in values:
            key = tuple(raw) if type(raw) is list else raw
            try:
                found = memo.get(key, MISS)
            except TypeError:  # unhashable: not a plain cell
                out.append(MISS)
                continue
            if found is MISS:
                if key is not None and type(key) not in (str, tuple):
                    out.append(MISS)
                    continue
                if type(key) is tuple and not all(type(v) is str for v in key):
                    out.append(MISS)
                    continue
                found = self._probe(field, list(key) if type(key) is tuple else key)
                if len(memo) < _MEMO_LIMIT:
                    memo[key] = found
            out.append(found)
        return out

    def _status(self, values: Sequence[Any]) -> list[Any]:
        """Blank statuses are ``None`` (the kind decides whether that is allowed); others are probed."""
        blank = [text(v) for v in values]
        probed = self._lookup("status", [v if b is not None and b is not MISS else None for v, b in zip(values, blank)])
        return [MISS if b is MISS else (None if b is None else p) for b, p in zip(blank, probed, strict=True)]

    # -- a batch --------------------------------------------------------------------------
    def check(self, columns: dict[str, Sequence[Any]], new_id: Callable[[], str]) -> tuple[dict[str, list[Any]], list[int]]:
        """Split a batch: staged values (as :class:`~tracker.entries.Staging` stores them) of the rows
        the model certainly accepts, with their positions under ``"index"``; and the positions of
        the rows the model must check."""
        n = len(columns["id"]) if "id" in columns else 0
        if not self.enabled or n == 0:
            return {"index": []}, list(range(n))
        ids = [text(v) for v in columns["id"]]
        partnership = self._lookup("partnership", columns["partnership"])
        dates = self._lookup("date", columns["date"])
        kinds = self._lookup("kind", columns["kind"])
        titles = [_single_line(v, MAX_TITLE, required=True) for v in columns["title"]]
        descriptions = [text(v) for v in columns["description"]]
        typology = self._lookup("typology", columns["typology"])
        status = self._status(columns["status"])
        hosts = [_single_line(v, MAX_NAME) for v in columns["host"]]
        mechanisms = self._lookup("mechanisms", [v if v is not None else "" for v in columns["mechanisms"]])
        structures = [_single_line(v, MAX_NAME) for v in columns["structure"]]
        sectors = self._lookup("sectors", [v if v is not None else "" for v in columns["sectors"]])
        sources = [_single_line(v, MAX_SOURCE) for v in columns["source"]]

        out: dict[str, list[Any]] = {
            k: []
            for k in (
                "index",
                "id",
                "partnership",
                "date_text",
                "date_precision",
                "date_start",
                "date_end",
                "kind",
                "title",
                "description",
                "typology",
                "status",
                "host",
                "structure",
                "structure_key",
                "source",
                "mechanisms",
                "sectors",
            )
        }
        rest: list[int] = []
        keys: dict[str, str] = {}
        for i in range(n):
            id_, part, when, kind, title = ids[i], partnership[i], dates[i], kinds[i], titles[i]
            desc, typ, st, host, mechs = descriptions[i], typology[i], status[i], hosts[i], mechanisms[i]
            struct, secs, src = structures[i], sectors[i], sources[i]
            if (
                id_ is MISS
                or part is MISS
                or when is MISS
                or kind is MISS
                or title is MISS
                or desc is MISS
                or typ is MISS
                or st is MISS
                or host is MISS
                or mechs is MISS
                or struct is MISS
                or secs is MISS
                or src is MISS
                or (id_ is not None and (len(id_) > MAX_ID or not _ID.fullmatch(id_)))
                or (desc is not None and (len(desc) > MAX_DESCRIPTION or _CONTROL.search(desc)))
                or (kind == "milestone" and (st is None or not mechs))
                or ((st == HOSTED) != (host is not None))
            ):
                rest.append(i)
                continue
            out["index"].append(i)
            out["id"].append(id_ if id_ is not None else new_id())
            out["partnership"].append(part)
            out["date_text"].append(when[0])
            out["date_precision"].append(when[1])
            out["date_start"].append(when[2])
            out["date_end"].append(when[3])
            out["kind"].append(kind)
            out["title"].append(title)
            out["description"].append(desc)
            out["typology"].append(typ)
            out["status"].append(st)
            out["host"].append(host)
            out["structure"].append(struct)
            if struct is None:
                out["structure_key"].append(None)
            else:
                key = keys.get(struct)
                if key is None:
                    key = keys[struct] = normalise(struct)
                out["structure_key"].append(key)
            out["source"].append(src)
            out["mechanisms"].append(list(mechs))
            out["sectors"].append(list(secs))
        return out, rest
