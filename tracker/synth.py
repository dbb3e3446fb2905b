"""Synthetic data sets for scale tests and benchmarks: realistic in shape, plainly marked synthetic.

``python -m tracker synth --entries N`` writes N entries for P synthetic partnerships
("Synthetic area 001", programme "Synthetic programme"): structures with histories of
several entries whose status moves from continuing to hosted elsewhere or decommissioned,
dates given as a year (~45 %), a month (~35 %) or a day (~20 %), ~20 % setbacks, and
typology, mechanism and sector mixes that differ by area. Every title, description and
source says "synthetic". The same seed gives the same rows, ids included, so loading a
data set twice changes nothing.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from tracker import interchange
from tracker.access import Member, audit, require_admin, system_member
from tracker.config import Settings
from tracker.errors import InvalidInput
from tracker.importer import ImportReport, import_file
from tracker.models import CONTRIBUTIONS, SPEAKER_ROLES
from tracker.store import Store, utcnow
from tracker.taxonomy import PartnershipRef, load_terms

PROGRAMME = "Synthetic programme"
SOURCE = "Synthetic data (python -m tracker synth, seed {seed}): not a real event"
PRECISIONS = (("year", 0.45), ("month", 0.35), ("day", 0.20))
SETBACK_SHARE = 0.20
UNSTRUCTURED = 0.32  # chance that a draw is a one-off entry (no structure): ~15 % of entries
STRUCTURE_SETBACK = 0.32  # chance that a later entry of a structure is a setback: ~20 % of entries
FIRST_YEAR = 2014

# Relative weights by slug; terms a taxonomy adds that are not named here get weight 1.
_TYPOLOGY_WEIGHTS = {
    "leadership": 1.0,
    "coordinating-support": 1.6,
    "infrastructure": 1.4,
    "strategy-commissioning": 1.0,
    "coproduction": 1.2,
    "culture": 1.3,
}
_MECHANISM_WEIGHTS = {
    "substantial-funding": 1.2,
    "longer-term-funding": 1.0,
    "test-and-learn": 1.0,
    "flexibility": 1.1,
    "programme-support": 0.6,
    "vcs-leadership": 0.8,
    "personal-relationships": 1.8,
    "lived-experience": 1.6,
    "learning-programmes": 0.9,
    "cross-agency-networks": 1.7,
    "pilot-projects": 1.2,
    "evidence-and-guidance": 1.0,
    "covid-19": 0.5,
    "related-programmes": 0.6,
    "austerity": 0.4,
    "leadership-changes": 0.4,
}
# What tends to be named when something went wrong.
_SETBACK_MECHANISMS = ("austerity", "leadership-changes", "covid-19", "related-programmes")
_NOUNS = {
    "leadership": ("strategic board", "leadership group", "partnership board"),
    "coordinating-support": ("multi-agency group", "navigator team", "case resolution panel"),
    "infrastructure": ("specialist service", "information-sharing system", "hospital pathway"),
    "strategy-commissioning": ("commissioning standard", "strategy commitment", "joint needs assessment"),
    "coproduction": ("lived experience panel", "peer mentor scheme", "expert citizens group"),
    "culture": ("learning network", "trauma-informed practice programme", "practice development unit"),
}
_HOSTS = ("City Council", "NHS Trust", "CIC", "housing association", "charity", "combined authority")
_MILESTONE_VERBS = {
    "continuing": ("set up", "extended", "expanded to new services", "embedded in practice", "evaluated"),
    "hosted-elsewhere": ("moves to {host}", "taken on by {host}", "now run by {host}"),
    "decommissioned": ("decommissioned", "closed at the end of its funding", "stopped"),
}
_SETBACK_VERBS = (
    "loses its funding",
    "paused after leadership change",
    "attendance falls away",
    "commissioning stays short-term",
    "sector hard to engage",
)


@dataclass(frozen=True)
class Vocabulary:
    """The slugs and labels synthetic rows draw from (labels are what a file carries)."""

    typology: dict[str, str]
    status: dict[str, str]
    mechanism: dict[str, str]
    sector: dict[str, str]

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Vocabulary:
        """The vocabularies of the taxonomy file that seeds a new database."""
        settings = settings or Settings()
        by: dict[str, dict[str, str]] = {"typology": {}, "status": {}, "mechanism": {}, "sector": {}}
        for term in load_terms(settings.taxonomy):
            if not term.retired:
                by[term.vocabulary][term.slug] = term.label
        return cls(**by)


def partnerships(count: int) -> list[PartnershipRef]:
    """``count`` synthetic partnerships: "Synthetic area 001" …, funded from 2014, ending 2020-2024."""
    rng = random.Random(f"partnerships-{count}")
    out = []
    for i in range(1, count + 1):
        end_year = rng.choice((2020, 2021, 2022, 2022, 2023, 2024))
        out.append(
            PartnershipRef(
                slug=f"synthetic-area-{i:03d}",
                name=f"Synthetic area {i:03d}",
                programme=PROGRAMME,
                area=f"Synthetic area {i:03d}",
                start_date=date(FIRST_YEAR, 4, 1),
                end_date=date(end_year, rng.choice((3, 6, 9)), 30),
            )
        )
    return out


def add_partnerships(store: Store, refs: list[PartnershipRef], actor: Member) -> int:
    """Add the partnerships of ``refs`` the store lacks (by slug), audited; return how many were added."""
    require_admin(actor, "add partnerships")
    cur = store.cursor()
    known = {row[0] for row in cur.execute("SELECT slug FROM partnerships").fetchall()}
    missing = [p for p in refs if p.slug not in known]
    if not missing:
        return 0
    with store.transaction() as tx:
        tx.executemany(
            "INSERT INTO partnerships (slug, name, programme, area, start_date, end_date) VALUES (?, ?, ?, ?, ?, ?)",
            [[p.slug, p.name, p.programme, p.area, p.start_date, p.end_date] for p in missing],
        )
        audit(tx, actor, "partnership.add", count=len(missing), first=missing[0].slug, programme=PROGRAMME)
    return len(missing)


def _weighted(labels: dict[str, str], weights: dict[str, float], rng: random.Random) -> list[float]:
    """Per-area weights: the base mix, each term scaled by a random factor so areas differ."""
    return [weights.get(slug, 1.0) * rng.uniform(0.3, 1.7) for slug in labels]


def _pick(rng: random.Random, items: list[str], weights: list[float], k: int) -> list[str]:
    chosen: list[str] = []
    for _ in range(k * 3):
        item = rng.choices(items, weights)[0]
        if item not in chosen:
            chosen.append(item)
        if len(chosen) == k:
            break
    return chosen


def _date(rng: random.Random, day: date) -> str:
    roll = rng.random()
    if roll < PRECISIONS[0][1]:
        return f"{day.year:04d}"
    if roll < PRECISIONS[0][1] + PRECISIONS[1][1]:
        return f"{day.year:04d}-{day.month:02d}"
    return day.isoformat()


def _later(rng: random.Random, day: date, latest: date) -> date | None:
    """A day 2 to 30 months after ``day``, or None if that is after ``latest``."""
    months = day.year * 12 + day.month - 1 + rng.randint(2, 30)
    nxt = date(months // 12, months % 12 + 1, rng.randint(1, 28))
    return nxt if nxt <= latest else None


def generate(entries: int, areas: int = 24, seed: int = 0, vocabulary: Vocabulary | None = None) -> Iterator[dict]:
    """``entries`` synthetic rows in the interchange columns (labels), deterministic for ``seed``."""
    if entries < 0 or areas < 1:
        raise ValueError("entries must be 0 or more and partnerships 1 or more")
    voc = vocabulary or Vocabulary.from_settings()
    rng = random.Random(seed)
    today = date.today()
    latest = date(today.year - 1, 12, 31) if today.year > FIRST_YEAR + 1 else today
    refs = partnerships(areas)
    area_weights = [rng.uniform(0.4, 1.6) for _ in refs]
    typologies, mechanisms, sectors = list(voc.typology), list(voc.mechanism), list(voc.sector)
    mixes = [
        (
            _weighted(voc.typology, _TYPOLOGY_WEIGHTS, rng),
            _weighted(voc.mechanism, _MECHANISM_WEIGHTS, rng),
            [rng.uniform(0.2, 1.8) for _ in sectors],
        )
        for _ in refs
    ]
    setback_mechanisms = [m for m in mechanisms if m in _SETBACK_MECHANISMS] or mechanisms
    statuses = [s for s in ("continuing", "hosted-elsewhere", "decommissioned") if s in voc.status]
    source = SOURCE.format(seed=seed)
    made = 0
    number = 0

    def row(area: int, day: date, kind: str, typology: str, status: str | None, host: str | None,
            structure: str | None, what: str) -> dict[str, Any]:  # fmt: skip
        nonlocal made
        made += 1
        _, mech_mix, sector_mix = mixes[area]
        if kind == "milestone":
            mechs = _pick(rng, mechanisms, mech_mix, rng.choice((1, 1, 2, 2, 2, 3)))
        else:
            mechs = _pick(rng, setback_mechanisms, [1.0] * len(setback_mechanisms), rng.choice((0, 1, 1, 2)))
        secs = _pick(rng, sectors, sector_mix, rng.choice((0, 1, 1, 2, 3))) if sectors else []
        subject = structure or f"Synthetic {typology.replace('-', ' ')} change"
        return {
            "id": f"syn-{seed}-{made:07d}",
            "partnership": refs[area].name,
            "date": _date(rng, day),
            "kind": kind,
            "title": f"{subject} {what}"[:200],
            "description": (
                f"Synthetic entry for scale tests: {subject} ({voc.typology[typology].lower()}) {what} "
                f"in {refs[area].name}. Not a real event."
            ),
            "typology": voc.typology[typology],
            "status": voc.status[status] if status else None,
            "host": host,
            "mechanisms": [voc.mechanism[m] for m in mechs],
            "structure": structure,
            "sectors": [voc.sector[s] for s in secs],
            "source": source,
            "contribution": rng.choices(CONTRIBUTIONS, (0.3, 0.4, 0.2, 0.1))[0] if rng.random() < 0.6 else None,
            **(
                {"quote": f"Synthetic quote about {subject}: {what}.", "speaker": rng.choice(SPEAKER_ROLES)}
                if rng.random() < 0.05
                else {}
            ),
        }

    while made < entries:
        number += 1
        area = rng.choices(range(len(refs)), area_weights)[0]
        typology = rng.choices(typologies, mixes[area][0])[0]
        day = date(rng.randint(FIRST_YEAR, latest.year - 1), rng.randint(1, 12), rng.randint(1, 28))
        if rng.random() < UNSTRUCTURED:
            if rng.random() < SETBACK_SHARE:
                yield row(area, day, "setback", typology, None, None, None, rng.choice(_SETBACK_VERBS))
            else:
                status = rng.choices(statuses, (0.7, 0.15, 0.15)[: len(statuses)])[0]
                host = f"Synthetic {rng.choice(_HOSTS)} {rng.randint(1, 99)}" if status == "hosted-elsewhere" else None
                verb = "agreed" if status != "decommissioned" else "ended"
                yield row(area, day, "milestone", typology, status, host, None, verb)
            continue
        noun = rng.choice(_NOUNS.get(typology, ("structure",)))
        structure = f"Synthetic {noun} {number:06d}"
        status, host = "continuing", None
        length = min(1 + int(rng.expovariate(1 / 4.0)), 12)
        for step in range(length):
            if made >= entries:
                break
            if step == 0:
                yield row(area, day, "milestone", typology, status, host, structure, "set up")
            elif rng.random() < STRUCTURE_SETBACK:
                keep = rng.random() < 0.5
                yield row(area, day, "setback", typology, status if keep else None, host if keep else None,
                          structure, rng.choice(_SETBACK_VERBS))  # fmt: skip
            else:
                roll = rng.random()
                if status == "continuing" and roll < 0.22 and "hosted-elsewhere" in statuses:
                    status, host = "hosted-elsewhere", f"Synthetic {rng.choice(_HOSTS)} {rng.randint(1, 99)}"
                elif status != "decommissioned" and roll > 0.88 and "decommissioned" in statuses:
                    status, host = "decommissioned", None
                verb = rng.choice(_MILESTONE_VERBS.get(status, ("recorded",))).format(host=host)
                yield row(area, day, "milestone", typology, status, host, structure, verb)
                if status == "decommissioned":
                    break
            nxt = _later(rng, day, latest)
            if nxt is None:
                break
            day = nxt


def write(path: str | Path, entries: int, areas: int = 24, seed: int = 0, fmt: str | None = None) -> int:
    """Write a synthetic data set as an interchange file (format from the extension); return the row count."""
    kind = interchange.format_for(path, fmt)
    with open(path, "wb") as out:
        return interchange.WRITERS[kind](generate(entries, areas, seed), out)


def load(store: Store, entries: int, areas: int = 24, seed: int = 0, actor: Member | None = None) -> ImportReport:
    """Add the synthetic partnerships and import a synthetic data set through the importer, all or
    nothing; then link about one synthetic structure in a hundred to its successor (:func:`add_links`)."""
    actor = actor or system_member()
    add_partnerships(store, partnerships(areas), actor)
    with tempfile.TemporaryDirectory(prefix="tracker-synth-") as tmp:
        path = Path(tmp) / "synthetic.parquet"
        write(path, entries, areas, seed)
        report = import_file(store, path, actor=actor)
    if report.ok:
        add_links(store, actor)
    return report


LINK_EVERY = 100
"""Synthetic links: the first of every ``LINK_EVERY`` structures of an area (by key) is carried on."""
LINK_NOTE = "Synthetic link (python -m tracker synth): not a real succession"


def add_links(store: Store, actor: Member) -> int:
    """Link about one synthetic structure in ``LINK_EVERY`` to a structure of the next synthetic area
    (the last area's to the first's), as a successor programme links what it carries on, so that
    benchmarks read the legacy register with links across programmes (#6). Deterministic and
    idempotent (ids from the ends); one audit event; returns how many links were added."""
    require_admin(actor, "link structures")
    chosen = """
    WITH s AS (
        SELECT r.partnership, r.structure_key,
               row_number() OVER (PARTITION BY r.partnership ORDER BY r.structure_key) AS n,
               dense_rank() OVER (ORDER BY r.partnership) AS area
        FROM structure_register r JOIN partnerships p ON p.slug = r.partnership WHERE p.programme = $programme
    ), areas AS (SELECT max(area) AS areas FROM s)
    SELECT 'synthetic-' || md5(a.partnership || '/' || a.structure_key)[:16] AS id,
           a.partnership AS from_partnership, a.structure_key AS from_structure,
           b.partnership AS to_partnership, b.structure_key AS to_structure
    FROM s a, areas
    JOIN s b ON b.area = a.area % areas.areas + 1 AND b.n = a.n
    WHERE a.n % $every = 1 AND a.partnership <> b.partnership
    """
    with store.transaction() as tx:
        tx.execute(
            f"INSERT INTO structure_links SELECT c.*, $note, $now, $actor FROM ({chosen}) c"
            " WHERE c.id NOT IN (SELECT id FROM structure_links)",
            {"programme": PROGRAMME, "every": LINK_EVERY, "note": LINK_NOTE, "now": utcnow(), "actor": actor.email},
        )
        added = int(tx.fetchone()[0])  # type: ignore[index]
        if added:
            audit(tx, actor, "link.add", count=added, note=LINK_NOTE)
    return added


def cmd_synth(args: argparse.Namespace) -> int:
    """``synth``: write a synthetic data set to a file or into a database."""
    if (args.out is None) == (args.db is None):
        print("error: give exactly one of --out FILE or --db PATH", file=sys.stderr)
        return 2
    if args.entries < 0 or args.partnerships < 1:
        print("error: --entries must be 0 or more and --partnerships 1 or more", file=sys.stderr)
        return 2
    if args.out is not None:
        out = Path(args.out)
        if not out.parent.is_dir():
            print(f"error: no such folder: {out.parent}", file=sys.stderr)
            return 2
        if out.is_dir():
            print(f"error: --out {out} is a folder; give a file name, e.g. {out / 'synthetic.csv'}", file=sys.stderr)
            return 2
        try:
            n = write(args.out, args.entries, args.partnerships, args.seed)
        except InvalidInput as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"wrote {n} synthetic entries for {args.partnerships} partnerships to {args.out}")
        return 0
    settings = Settings(db=args.db)
    with Store(settings.db, settings) as store:
        report = load(store, args.entries, args.partnerships, args.seed)
    print(("" if report.ok else "\n".join(map(str, report.problems)) + "\n") + report.summary())
    return 0 if report.ok else 1


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``synth`` command to the CLI."""
    p = sub.add_parser(
        "synth",
        parents=[common],
        help="write a synthetic data set (for scale tests) to a file or into a database",
        description="Write a realistic, clearly marked synthetic data set: to --out FILE (.csv, .parquet, "
        ".json, .xlsx) or, through the importer, into the database --db PATH.",
    )
    p.add_argument("--entries", type=int, required=True, metavar="N", help="number of entries")
    p.add_argument("--partnerships", type=int, default=24, metavar="P", help="synthetic partnerships (default 24)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="random seed (default 0)")
    p.add_argument("--out", metavar="FILE", help="write an interchange file instead of a database")
    p.set_defaults(func=cmd_synth)
