"""Survival of structures after the money stopped: Kaplan–Meier curves with honest censoring.

A structure "survives" while it is continuing or hosted elsewhere; it "dies" when an entry
records it as decommissioned. A structure still running is *censored* at the last date its
status was recorded or confirmed — after that, no news is neither survival nor death.
Time is counted in months from the partnership's funding end, or from the structure's start.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from tracker.filters import Filters
from tracker.queries import _REGISTER_CTE, _parts
from tracker.store import Store

ORIGINS = {"funding_end": "after the partnership's funding ended", "start": "after the structure started"}
GROUPS = {"none": None, "typology": "typology", "partnership": "partnership", "programme": "programme"}
DAYS_PER_MONTH = 365.25 / 12


@dataclass(frozen=True)
class Cohort:
    """Who is in a curve, and who had to be left out (and why)."""

    structures: pd.DataFrame  # group, structure, partnership, months, event
    stopped_before_origin: int
    unconfirmed_since_origin: int
    no_status: int


def cohort(store: Store, filters: Filters, origin: str = "funding_end", by: str = "none") -> Cohort:
    """Each structure's time at risk (months from ``origin``) and whether it stopped (event)."""
    if origin not in ORIGINS or by not in GROUPS:
        raise ValueError(f"origin is one of {list(ORIGINS)}, by one of {list(GROUPS)}")
    scope, where, params = _parts(filters)
    start = "partnership_end" if origin == "funding_end" else "first_entry_start"
    group = GROUPS[by] or "'All structures'"
    sql = f"""
    WITH {scope}, {_REGISTER_CTE.format(where=where)}
    SELECT {group} AS grp, structure, partnership, status_slug,
           CAST({start} AS DATE) AS origin,
           CASE WHEN status_slug = 'decommissioned' THEN since_start ELSE last_confirmed END AS until,
           status_slug = 'decommissioned' AS event
    FROM register
    """
    frame = store.cursor().execute(sql, params).df()
    no_status = int(frame["status_slug"].isna().sum())
    frame = frame[frame["status_slug"].notna() & frame["origin"].notna()].copy()
    frame["months"] = (pd.to_datetime(frame["until"]) - pd.to_datetime(frame["origin"])).dt.days / DAYS_PER_MONTH
    before = frame["months"] < 0
    stopped_before = int((before & frame["event"]).sum())
    unconfirmed = int((before & ~frame["event"]).sum())
    kept = frame[~before].rename(columns={"grp": "group"})
    return Cohort(
        kept[["group", "structure", "partnership", "months", "event"]].reset_index(drop=True),
        stopped_before,
        unconfirmed,
        no_status,
    )


def kaplan_meier(months: list[float] | pd.Series, events: list[bool] | pd.Series) -> pd.DataFrame:
    """The Kaplan–Meier estimate S(t) = Π (1 − dᵢ/nᵢ) over event times tᵢ ≤ t.

    One row per distinct time with at least one event or censoring: time, at_risk (nᵢ),
    events (dᵢ), censored, survival (after that time). At tied times events come before
    censorings, the usual convention. Starts with a row at time 0, survival 1 (followed by a
    second row at 0 if some stopped right at the origin).
    """
    data = pd.DataFrame({"time": list(months), "event": [bool(e) for e in events]})
    rows = [{"time": 0.0, "at_risk": len(data), "events": 0, "censored": 0, "survival": 1.0}]
    survival = 1.0
    at_risk = len(data)
    for time, group in data.groupby("time", sort=True):
        died = int(group["event"].sum())
        censored = int((~group["event"]).sum())
        if at_risk and died:
            survival *= 1 - died / at_risk
        rows.append(
            {"time": float(time), "at_risk": at_risk, "events": died, "censored": censored, "survival": survival}
        )
        at_risk -= died + censored
    # Structures that stopped exactly at the origin show as a drop at 0 from the 100% start row.
    return pd.DataFrame(rows)


def curves(
    store: Store, filters: Filters, origin: str = "funding_end", by: str = "none"
) -> tuple[pd.DataFrame, Cohort]:
    """Kaplan–Meier steps for each group (group, time, at_risk, events, censored, survival)."""
    found = cohort(store, filters, origin, by)
    parts = []
    for name, group in found.structures.groupby("group", sort=True):
        steps = kaplan_meier(group["months"], group["event"])
        steps.insert(0, "group", name)
        parts.append(steps)
    frame = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["group", "time", "at_risk", "events", "censored", "survival"])
    )
    return frame, found


def median_survival(steps: pd.DataFrame) -> float | None:
    """The first time the curve drops to 0.5 or below, in months (``None`` if it never does)."""
    below = steps[steps["survival"] <= 0.5]
    return float(below["time"].iloc[0]) if len(below) else None
