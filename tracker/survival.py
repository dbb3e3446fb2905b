"""Survival of structures after the money stopped: Kaplan–Meier curves with honest censoring.

A structure "survives" while it is continuing or hosted elsewhere; it "dies" when an entry
records it as decommissioned, on the earliest day that closure can have happened (its date's start,
or the last day the structure was known running before it if later: ``run_from`` of the register).
A structure still running is *censored* at the last date its status was recorded or confirmed —
after that, no news is neither survival nor death.
Time is counted in months from the partnership's funding end, or from the structure's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from tracker.filters import Filters
from tracker.frames import to_frame
from tracker.queries import confirmed_since, grouped_scope
from tracker.store import Store

ORIGINS = {"funding_end": "after the partnership's funding ended", "start": "after the structure started"}
GROUPS = {"none": None, "typology": "typology", "partnership": "partnership", "programme": "programme"}
DAYS_PER_MONTH = 365.25 / 12
MAX_STEPS = 2000
"""The most rows of curve steps ``curves`` returns: beyond that, times are rounded down to the
finest of ``STEPS`` (months) that fits. A chart ships at most 5,000 rows, and 2,000 steps are more
than a chart's width has pixels; at a million entries the curves are drawn in whole weeks (#6)."""
STEPS = (7 / DAYS_PER_MONTH, 1.0, 3.0, 12.0)
STEP_WORDS = {STEPS[0]: "week", 1.0: "month", 3.0: "quarter", 12.0: "year"}


@dataclass(frozen=True)
class Cohort:
    """Who is in a curve, and who had to be left out (and why)."""

    structures: pd.DataFrame  # group, structure, partnership, months, event (empty from ``curves``)
    stopped_before_origin: int
    unconfirmed_since_origin: int
    no_status: int
    followed: int = 0  # structures in the curves
    stopped: int = 0  # of those, decommissioned since the origin (events)
    step: float = 0.0  # months per time step: 0 when exact (to the day), else times rounded down to it
    no_origin: int = 0  # no date to count from: after funding ended, a partnership still funded

    @property
    def censored(self) -> int:
        """Followed structures still running at their last news (censored)."""
        return self.followed - self.stopped


_ALL_STRUCTURES = "'All structures'"


def _spans(filters: Filters, origin: str, by: str) -> tuple[str, list[Any]]:
    """CTEs up to ``spans``: each structure's group, structure, partnership, status, whether it
    closed (event), whether it has news since ``origin`` (``news``: confirmed since then, the legacy
    page's rule, :func:`~tracker.queries.confirmed_since`) and days from ``origin`` to its closure or
    last confirmation; with parameters."""
    if origin not in ORIGINS or by not in GROUPS:
        raise ValueError(f"origin is one of {list(ORIGINS)}, by one of {list(GROUPS)}")
    ctes, params = grouped_scope(filters)  # unlabelled: only the group's label is joined (#6)
    start = "p.end_date" if origin == "funding_end" else "g.first_entry_start"
    group = {"typology": "ty.label", "partnership": "p.name", "programme": "p.programme"}.get(by, _ALL_STRUCTURES)
    typology = "LEFT JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = g.typology" if by == "typology" else ""
    sql = f"""
    {ctes}, spans AS (
        SELECT {group} AS grp, g.structure, p.name AS partnership, g.status AS status_slug,
               g.status = 'decommissioned' AS event, {confirmed_since(start)} AS news,
               date_diff('day', CAST({start} AS DATE),
                         CASE WHEN g.status = 'decommissioned' THEN g.run_from ELSE g.last_confirmed END) AS days
        FROM grouped g JOIN partnerships p ON p.slug = g.partnership {typology}
    )"""
    return sql, params


def _timed(filters: Filters, origin: str, by: str) -> tuple[str, list[Any]]:
    """CTEs up to ``timed``: each structure's group, months from ``origin`` to its closure (event) or
    last confirmation (censored), and which of the cohort's cases it is; with parameters."""
    sql, params = _spans(filters, origin, by)
    sql += f""", timed AS (
        SELECT *, days / {DAYS_PER_MONTH!r} AS months, CASE WHEN status_slug IS NULL THEN 'no_status'
                       WHEN months IS NULL THEN 'no_origin'
                       WHEN months < 0 AND event THEN 'stopped_before'
                       WHEN NOT event AND NOT news THEN 'unconfirmed'
                       ELSE 'followed' END AS "case"
        FROM spans
    )"""
    return sql, params


_LEFT_OUT = ("no_status", "no_origin", "stopped_before", "unconfirmed")
"""The cases of ``timed`` other than 'followed': structures a curve leaves out, and why."""


def _left_out(store: Store, ctes: str, params: list[Any]) -> dict[str, int]:
    rows = store.cursor().execute(f'WITH {ctes} SELECT "case", count(*) FROM timed GROUP BY ALL', params).fetchall()
    return {case: int(n) for case, n in rows}


def cohort(store: Store, filters: Filters, origin: str = "funding_end", by: str = "none") -> Cohort:
    """Each structure's time at risk (months from ``origin``) and whether it stopped (event)."""
    ctes, params = _timed(filters, origin, by)
    frame = to_frame(
        store.cursor().execute(
            f'WITH {ctes} SELECT grp AS "group", structure, partnership, months, event FROM timed'
            " WHERE \"case\" = 'followed' ORDER BY grp, months, lower(structure)",
            params,
        )
    )
    cases = _left_out(store, ctes, params)
    return Cohort(
        frame,
        cases.get("stopped_before", 0),
        cases.get("unconfirmed", 0),
        cases.get("no_status", 0),
        followed=len(frame),
        stopped=int(frame["event"].sum()),
        no_origin=cases.get("no_origin", 0),
    )


_STEP_COLUMNS = ["time", "at_risk", "events", "censored", "survival"]


def _km_arrays(times: np.ndarray, events: np.ndarray, counts: np.ndarray, total: int) -> dict[str, np.ndarray]:
    """The Kaplan–Meier steps for times (no NaN), whether each is an event, and how many share it;
    ``total`` at risk at the start. Columns as :func:`kaplan_meier`'s, the start row first."""
    distinct, at = np.unique(times, return_inverse=True)  # sorted
    died = np.bincount(at, weights=np.where(events, counts, 0), minlength=len(distinct)).astype(np.int64)
    left = np.bincount(at, weights=np.where(events, 0, counts), minlength=len(distinct)).astype(np.int64)
    at_risk = total - np.concatenate(([0], np.cumsum(died + left)[:-1]))
    factor = np.ones(len(distinct))
    alive = at_risk > 0
    factor[alive] = 1 - died[alive] / at_risk[alive]
    return {
        "time": np.concatenate(([0.0], distinct.astype(float))),
        "at_risk": np.concatenate(([total], at_risk)).astype(np.int64),
        "events": np.concatenate(([0], died)).astype(np.int64),
        "censored": np.concatenate(([0], left)).astype(np.int64),
        "survival": np.concatenate(([1.0], np.cumprod(factor))),
    }


def kaplan_meier(
    months: list[float] | pd.Series, events: list[bool] | pd.Series, counts: list[int] | pd.Series | None = None
) -> pd.DataFrame:
    """The Kaplan–Meier estimate S(t) = Π (1 − dᵢ/nᵢ) over event times tᵢ ≤ t.

    ``counts`` (default one each) says how many structures share each (time, event): the curves
    are computed from counts aggregated in SQL. One row per distinct time with at least one event
    or censoring: time, at_risk (nᵢ), events (dᵢ), censored, survival (after that time). At tied
    times events come before censorings, the usual convention. Starts with a row at time 0,
    survival 1 (followed by a second row at 0 if some stopped right at the origin).
    """
    times = np.asarray(pd.Series(list(months), dtype="float64"), dtype=float)
    happened = np.array([bool(e) for e in events], dtype=bool)
    many = np.array([int(c) for c in counts], dtype=np.int64) if counts is not None else np.ones(len(times), np.int64)
    total = int(many.sum())
    known = ~np.isnan(times)
    if not known.any():
        return pd.DataFrame([{"time": 0.0, "at_risk": total, "events": 0, "censored": 0, "survival": 1.0}])
    # In numpy, not pandas: a curve of 2,000 steps per group at a million entries (#6)
    return pd.DataFrame(_km_arrays(times[known], happened[known], many[known], total), columns=_STEP_COLUMNS)


def _distinct(groups: np.ndarray, months: np.ndarray) -> int:
    """How many distinct (group, time) pairs there are."""
    if not len(groups):
        return 0
    order = np.lexsort((months, groups))
    g, m = groups[order], months[order]
    return 1 + int(np.count_nonzero((g[1:] != g[:-1]) | (m[1:] != m[:-1])))


def curves(
    store: Store, filters: Filters, origin: str = "funding_end", by: str = "none"
) -> tuple[pd.DataFrame, Cohort]:
    """Kaplan–Meier steps for each group (group, time, at_risk, events, censored, survival).

    Counted in SQL: structures per group, month and outcome, so the curves cost the same for a
    hundred structures as for a million entries. The returned cohort has the counts, not the list.
    """
    ctes, params = _spans(filters, origin, by)
    # One pass over the register: the followed structures counted per group, day and outcome, and
    # the ones left out counted per case (#6: a second scan cost a third of the page at 1M). The
    # day, outcome and case are grouped as one number, days * 2 + stopped, or −1… for the cases
    # left out in the order of _LEFT_OUT (the tests of ``timed``, on days rather than months):
    # grouping by text and a fraction of months took twice as long. With no split, by that alone.
    grp = "grp" if by != "none" else f"{_ALL_STRUCTURES} AS grp"
    tallied = (
        store.cursor()
        .execute(
            f"WITH {ctes} SELECT {grp}, CASE WHEN status_slug IS NULL THEN -1 WHEN days IS NULL THEN -2"
            " WHEN days < 0 AND event THEN -3 WHEN NOT event AND NOT news THEN -4"
            " ELSE days * 2 + CAST(event AS INTEGER) END AS code,"
            f" count(*) AS n FROM spans GROUP BY {'ALL' if by != 'none' else 'code'}",
            params,
        )
        .fetchnumpy()
    )
    code = np.asarray(tallied["code"], dtype=np.int64)
    n = np.asarray(tallied["n"], dtype=np.int64)
    cases = {case: int(n[code == -k].sum()) for k, case in enumerate(_LEFT_OUT, start=1)}
    followed = code >= 0
    code, n = code[followed], n[followed]
    exact = (code // 2) / DAYS_PER_MONTH
    stopped = code % 2 == 1
    # Groups by number, in name order; -1 for a structure whose group is unknown (NULL), in no curve.
    labels = np.ma.getdata(tallied["grp"]).astype(object)
    labels[np.ma.getmaskarray(tallied["grp"])] = None  # NULL comes as a masked value
    groups, names = pd.factorize(labels[followed], sort=True)
    keep = groups >= 0
    # One step per distinct time and group (and a start row each): at a million entries, split by
    # partnership, that is tens of thousands, more than a chart may ship. Then times are rounded down
    # to whole weeks, months… (ties: closures before censorings, as for equal times).
    months, step = exact, 0.0
    for size in STEPS:
        if _distinct(groups[keep], months[keep]) + len(names) <= MAX_STEPS:
            break
        step = size
        months = (exact // size) * size
    parts: dict[str, list[Any]] = {"group": [], **{c: [] for c in _STEP_COLUMNS}}
    for number, name in enumerate(names):
        mine = groups == number
        steps = _km_arrays(months[mine], stopped[mine], n[mine], int(n[mine].sum()))
        parts["group"].append(np.full(len(steps["time"]), name, dtype=object))
        for column in _STEP_COLUMNS:
            parts[column].append(steps[column])
    frame = (
        pd.DataFrame({column: np.concatenate(values) for column, values in parts.items()})
        if parts["group"]
        else pd.DataFrame(columns=["group", *_STEP_COLUMNS])
    )
    found = Cohort(
        pd.DataFrame(columns=["group", "structure", "partnership", "months", "event"]),
        cases["stopped_before"],
        cases["unconfirmed"],
        cases["no_status"],
        followed=int(n.sum()),
        stopped=int(n[stopped].sum()),
        step=step,
        no_origin=cases["no_origin"],
    )
    return frame, found


def median_survival(steps: pd.DataFrame) -> float | None:
    """The first time the curve drops to 0.5 or below, in months (``None`` if it never does)."""
    below = steps[steps["survival"] <= 0.5]
    return float(below["time"].iloc[0]) if len(below) else None
