"""Survival of structures after the money stopped: Kaplan–Meier curves with honest censoring.

A structure "survives" while it is continuing or hosted elsewhere; it "dies" when an entry
records it as decommissioned. A structure still running is *censored* at the last date its
status was recorded or confirmed — after that, no news is neither survival nor death.
Time is counted in months from the partnership's funding end, or from the structure's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from tracker.filters import Filters
from tracker.queries import grouped_scope
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

    @property
    def censored(self) -> int:
        """Followed structures still running at their last news (censored)."""
        return self.followed - self.stopped


def _timed(filters: Filters, origin: str, by: str) -> tuple[str, list[Any]]:
    """CTEs up to ``timed``: each structure's group, months from ``origin`` to its closure (event) or
    last confirmation (censored), and which of the cohort's cases it is; with parameters."""
    if origin not in ORIGINS or by not in GROUPS:
        raise ValueError(f"origin is one of {list(ORIGINS)}, by one of {list(GROUPS)}")
    ctes, params = grouped_scope(filters)  # unlabelled: only the group's label is joined (#6)
    start = "p.end_date" if origin == "funding_end" else "g.first_entry_start"
    group = {"typology": "ty.label", "partnership": "p.name", "programme": "p.programme"}.get(by, "'All structures'")
    typology = "LEFT JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = g.typology" if by == "typology" else ""
    sql = f"""
    {ctes}, spans AS (
        SELECT {group} AS grp, g.structure, p.name AS partnership, g.status AS status_slug,
               g.status = 'decommissioned' AS event,
               date_diff('day', CAST({start} AS DATE),
                         CASE WHEN g.status = 'decommissioned' THEN g.since_start ELSE g.last_confirmed END) AS days
        FROM grouped g JOIN partnerships p ON p.slug = g.partnership {typology}
    ), timed AS (
        SELECT *, days / {DAYS_PER_MONTH!r} AS months, CASE WHEN status_slug IS NULL THEN 'no_status'
                       WHEN months IS NULL THEN 'no_origin'
                       WHEN months < 0 AND event THEN 'stopped_before'
                       WHEN months < 0 THEN 'unconfirmed'
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
    frame = (
        store.cursor()
        .execute(
            f'WITH {ctes} SELECT grp AS "group", structure, partnership, months, event FROM timed'
            " WHERE \"case\" = 'followed' ORDER BY grp, months, lower(structure)",
            params,
        )
        .df()
    )
    cases = _left_out(store, ctes, params)
    return Cohort(
        frame,
        cases.get("stopped_before", 0),
        cases.get("unconfirmed", 0),
        cases.get("no_status", 0),
        followed=len(frame),
        stopped=int(frame["event"].sum()),
    )


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
    times = list(months)
    data = pd.DataFrame(
        {
            "time": pd.Series(times, dtype="float64"),
            "event": [bool(e) for e in events],
            "n": [int(c) for c in counts] if counts is not None else [1] * len(times),
        }
    )
    total = int(data["n"].sum())
    start = pd.DataFrame([{"time": 0.0, "at_risk": total, "events": 0, "censored": 0, "survival": 1.0}])
    data = data[data["time"].notna()]
    if data.empty:
        return start
    data["died"] = data["n"].where(data["event"], 0)
    data["left"] = data["n"].where(~data["event"], 0)
    steps = data.groupby("time", sort=True)[["died", "left"]].sum().reset_index()
    removed = (steps["died"] + steps["left"]).cumsum().shift(fill_value=0)
    at_risk = total - removed
    factor = (1 - steps["died"] / at_risk.where(at_risk > 0)).fillna(1.0)
    out = pd.DataFrame(
        {
            "time": steps["time"].astype(float),
            "at_risk": at_risk.astype("int64"),
            "events": steps["died"].astype("int64"),
            "censored": steps["left"].astype("int64"),
            "survival": factor.cumprod().astype(float),
        }
    )
    # Structures that stopped exactly at the origin show as a drop at 0 from the 100% start row.
    return pd.concat([start, out], ignore_index=True)


def curves(
    store: Store, filters: Filters, origin: str = "funding_end", by: str = "none"
) -> tuple[pd.DataFrame, Cohort]:
    """Kaplan–Meier steps for each group (group, time, at_risk, events, censored, survival).

    Counted in SQL: structures per group, month and outcome, so the curves cost the same for a
    hundred structures as for a million entries. The returned cohort has the counts, not the list.
    """
    ctes, params = _timed(filters, origin, by)
    # One pass over the register: the followed structures counted per group, day and outcome, and
    # the ones left out counted per case (#6: a second scan cost a third of the page at 1M). The
    # day, outcome and case are grouped as one number, days * 2 + stopped (or −1… for a case left
    # out): grouping by text and a fraction of months took twice as long.
    codes = " ".join(f"WHEN '{case}' THEN {-n}" for n, case in enumerate(_LEFT_OUT, start=1))
    tallied = (
        store.cursor()
        .execute(
            f"WITH {ctes} SELECT grp, CASE \"case\" WHEN 'followed' THEN days * 2 + CAST(event AS INTEGER)"
            f" {codes} END AS code, count(*) AS n FROM timed GROUP BY ALL",
            params,
        )
        .df()
    )
    code = tallied["code"]
    tallied["case"] = code.clip(upper=0).map({0: "followed", **{-n: c for n, c in enumerate(_LEFT_OUT, start=1)}})
    tallied["months"] = (code // 2).where(code >= 0) / DAYS_PER_MONTH
    tallied["event"] = (code % 2 == 1) & (code >= 0)
    followed = tallied["case"] == "followed"
    counted = tallied[followed]
    cases = tallied[~followed].groupby("case")["n"].sum()
    # One step per distinct time and group (and a start row each): at a million entries, split by
    # partnership, that is tens of thousands, more than a chart may ship. Then times are rounded down
    # to whole weeks, months… (ties: closures before censorings, as for equal times).
    exact, step = counted["months"], 0.0
    for size in STEPS:
        if counted.groupby("grp")["months"].nunique().sum() + counted["grp"].nunique() <= MAX_STEPS:
            break
        step = size
        counted = counted.assign(months=(exact // size) * size)
    parts = []
    for name, group in counted.groupby("grp", sort=True):
        steps = kaplan_meier(group["months"], group["event"], group["n"])
        steps.insert(0, "group", name)
        parts.append(steps)
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["group", "time", "at_risk", "events", "censored", "survival"])
    )
    found = Cohort(
        pd.DataFrame(columns=["group", "structure", "partnership", "months", "event"]),
        int(cases.get("stopped_before", 0)),
        int(cases.get("unconfirmed", 0)),
        int(cases.get("no_status", 0)),
        followed=int(counted["n"].sum()),
        stopped=int(counted.loc[counted["event"].astype(bool), "n"].sum()),
        step=step,
    )
    return frame, found


def median_survival(steps: pd.DataFrame) -> float | None:
    """The first time the curve drops to 0.5 or below, in months (``None`` if it never does)."""
    below = steps[steps["survival"] <= 0.5]
    return float(below["time"].iloc[0]) if len(below) else None
