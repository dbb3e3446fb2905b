"""Controlled vocabularies (typology, statuses, mechanisms, sectors) and partnerships.

The terms are data: they are seeded from ``data/taxonomy.toml`` and
``data/partnerships.csv`` into the database, and read back from there into a
:class:`Vocab`, the lookup every validator uses. Users may type a label or a
slug, in any case, with stray spaces; near misses get a suggestion.
"""

from __future__ import annotations

import csv
import difflib
import re
import tomllib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

VOCABULARIES: tuple[str, ...] = ("typology", "status", "mechanism", "sector")
NO_STATUS = "not-recorded"
"""The register's choice of structures with no status recorded yet (a filter value), and ..."""
NOT_RECORDED = "Not recorded"
"""... how the register, its charts and Compare label them: no status term may take either (#8)."""
"""The controlled vocabularies, in the order they appear in the taxonomy file."""

_SEPARATORS = re.compile(r"[\s_\-]+")


def normalise(text: str) -> str:
    """Fold case, and treat runs of spaces, hyphens and underscores as one space."""
    return _SEPARATORS.sub(" ", text).strip().casefold()


@dataclass(frozen=True)
class Term:
    """One term of a vocabulary: stable slug, display label, optional group."""

    vocabulary: str
    slug: str
    label: str
    group: str | None = None
    description: str | None = None
    position: int = 0
    retired: bool = False


@dataclass(frozen=True)
class PartnershipRef:
    """A partnership as reference data (see :class:`tracker.models.Partnership`)."""

    slug: str
    name: str
    programme: str
    area: str
    start_date: date | None
    end_date: date | None


@dataclass
class Lookup:
    """Resolves user text to a slug for one vocabulary (or the partnership list)."""

    noun: str
    labels: dict[str, str]  # slug -> label, in display order
    retired: frozenset[str] = frozenset()
    _index: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for slug, label in self.labels.items():
            self._index.setdefault(normalise(slug), slug)
            self._index.setdefault(normalise(label), slug)

    def resolve(self, text: str) -> str | None:
        """The slug for ``text`` (a label or slug, any case), or ``None``."""
        return self._index.get(normalise(text))

    def suggest(self, text: str) -> str | None:
        """The label closest to ``text``, if any is close enough to be a likely typo."""
        key = normalise(text)
        if not key:
            return None
        matches = difflib.get_close_matches(key, list(self._index), n=1, cutoff=0.6)
        if not matches:
            # A prefix is a strong hint too ("hosted" -> "Hosted elsewhere").
            prefixed = [k for k in self._index if k.startswith(key) and len(key) >= 3]
            if len(prefixed) == 1:
                matches = prefixed
        return self.labels[self._index[matches[0]]] if matches else None

    def label(self, slug: str) -> str:
        """The display label of ``slug`` (the slug itself if unknown)."""
        return self.labels.get(slug, slug)


@dataclass
class Vocab:
    """Everything validation needs to know about allowed values."""

    terms: dict[str, list[Term]]
    partnerships: list[PartnershipRef]
    conditions: list[Term] = field(default_factory=list)  # the second typology (crosswalk)
    lookups: dict[str, Lookup] = field(init=False)

    def __post_init__(self) -> None:
        self.lookups = {
            vocabulary: Lookup(
                vocabulary,
                {t.slug: t.label for t in sorted(terms, key=lambda t: t.position)},
                frozenset(t.slug for t in terms if t.retired),
            )
            for vocabulary, terms in self.terms.items()
        }
        self.lookups["partnership"] = Lookup("partnership", {p.slug: p.name for p in self.partnerships})
        self.lookups["condition"] = Lookup("condition", {t.slug: t.label for t in self.conditions})

    def __getitem__(self, vocabulary: str) -> Lookup:
        return self.lookups[vocabulary]

    def partnership(self, slug: str) -> PartnershipRef | None:
        """The partnership with ``slug``, or ``None``."""
        return next((p for p in self.partnerships if p.slug == slug), None)


def _read_toml(path: Path) -> dict[str, Any]:
    """A TOML file's content; a syntax error raises ``ValueError`` naming the file, line and column."""
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror or exc}") from None


def _items(path: Path, raw: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The ``[[name]]`` entries of a file, each checked to be a table."""
    items = raw.get(name, [])
    if not isinstance(items, list):
        raise ValueError(f"{path}: {name} must be a list of [[{name}]] entries, each with a slug and a label")
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"{path}: {name} #{position + 1} must be a [[{name}]] entry with a slug and a label")
    return items


def _slug_and_label(path: Path, name: str, position: int, item: dict[str, Any]) -> tuple[str, str]:
    slug, label = item.get("slug", ""), item.get("label", "")
    if (
        not isinstance(slug, str)
        or not isinstance(label, str)
        or not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", slug)
        or not label.strip()
    ):
        raise ValueError(f"{path}: {name} #{position + 1} needs a slug (a-z, 0-9, -) and a label (text)")
    return slug, label


def load_terms(path: Path) -> list[Term]:
    """Read the taxonomy file into terms, checking it is well formed (``ValueError`` naming the file and term)."""
    raw = _read_toml(path)
    unknown = set(raw) - set(VOCABULARIES)
    if unknown:
        raise ValueError(f"{path}: unknown vocabularies {sorted(unknown)}; expected {VOCABULARIES}")
    terms: list[Term] = []
    for vocabulary in VOCABULARIES:
        seen: set[str] = set()
        for position, item in enumerate(_items(path, raw, vocabulary)):
            slug, label = _slug_and_label(path, vocabulary, position, item)
            if ";" in label:
                raise ValueError(f"{path}: {vocabulary} '{label}': labels may not contain ';' (it separates lists)")
            if slug in seen:
                raise ValueError(f"{path}: {vocabulary} slug '{slug}' appears twice")
            if vocabulary == "status" and normalise(NO_STATUS) in (normalise(slug), normalise(label)):
                raise ValueError(
                    f"{path}: status '{label}': '{NO_STATUS}' and '{NOT_RECORDED}' are reserved for structures with "
                    "no status recorded; give this status another slug and label, e.g. 'status-unknown'"
                )
            seen.add(slug)
            terms.append(Term(vocabulary, slug, label, item.get("group"), item.get("description"), position))
    return terms


_PARTNERSHIP_COLUMNS = ("slug", "name", "programme", "area", "start_date", "end_date")


def load_partnerships(path: Path) -> list[PartnershipRef]:
    """Read the partnership reference file (slug, name, programme, area, start_date, end_date).

    A missing column, a short row or a date that is not YYYY-MM-DD raises ``ValueError`` naming
    the file and the line."""
    out = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in _PARTNERSHIP_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: line 1: missing columns {', '.join(missing)}")
            for row in reader:
                where = f"{path}: line {reader.line_num}"
                short = [c for c in _PARTNERSHIP_COLUMNS if row.get(c) is None]
                if short:
                    raise ValueError(f"{where}: no value for {', '.join(short)}")
                dates = {}
                for column in ("start_date", "end_date"):
                    value = row[column].strip()
                    try:
                        dates[column] = date.fromisoformat(value) if value else None
                    except ValueError:
                        raise ValueError(f"{where}: {column} '{value}' is not a date (YYYY-MM-DD)") from None
                out.append(
                    PartnershipRef(
                        slug=row["slug"].strip(),
                        name=row["name"].strip(),
                        programme=row["programme"].strip(),
                        area=row["area"].strip(),
                        **dates,
                    )
                )
    except OSError as exc:
        raise ValueError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 text: {exc}") from None
    return out


def load_crosswalk(path: Path) -> tuple[list[list[Any]], list[list[str]]]:
    """The second typology's terms ([slug, label, group, position]) and its map from the first.

    Anything wrong raises ``ValueError`` naming the file and the condition or typology."""
    raw = _read_toml(path)
    conditions = []
    known: set[str] = set()
    for position, item in enumerate(_items(path, raw, "condition")):
        slug, label = _slug_and_label(path, "condition", position, item)
        if slug in known:
            raise ValueError(f"{path}: condition slug '{slug}' appears twice")
        known.add(slug)
        conditions.append([slug, label, item.get("group"), position])
    table = raw.get("map", {})
    if not isinstance(table, dict):
        raise ValueError(f"{path}: map must be a [map] table of typology slug = [condition slugs]")
    mapping = []
    for typology, targets in table.items():
        if not isinstance(targets, list):
            raise ValueError(f"{path}: map: '{typology}' must be a list of condition slugs, e.g. [\"policies\"]")
        seen: set[Any] = set()
        for target in targets:
            if not isinstance(target, str) or target not in known:
                raise ValueError(f"{path}: '{typology}' maps to unknown condition '{target}'")
            if target in seen:
                raise ValueError(f"{path}: '{typology}' maps to '{target}' twice")
            seen.add(target)
            mapping.append([typology, target])
    return conditions, mapping
