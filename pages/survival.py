"""Survival: how many structures are still running N months after the money stopped."""

import streamlit as st

from pages import _ui
from tracker import app_state, charts, survival, verification
from tracker.wording import agree, quantity

_ui.frame_guard()

ORIGINS = {"funding_end": "After funding ended", "start": "After the structure started"}
SPLITS = {"none": "All structures", "typology": "Typology", "partnership": "Partnership", "programme": "Programme"}

st.title("Survival")
filters = _ui.current_filters()
app_state.ahead(verification.unverified, filters)  # read while the curves are (app_state.ahead)
controls = st.columns(2)
with controls[0]:
    origin = _ui.url_choice("Count months", ORIGINS, key="origin", default="funding_end")
with controls[1]:
    split = _ui.url_choice("Split by", SPLITS, key="split", default="none")

steps, cohort = app_state.read(survival.curves, filters, origin, split)
st.caption(
    "Kaplan–Meier estimate of the share of structures still running (continuing or hosted elsewhere), "
    f"{survival.ORIGINS[origin]}. A structure still running counts only until its status was last recorded or "
    "confirmed (a cross on the curve): after that there is no news, which is neither survival nor closure."
)
since = "funding ended" if origin == "funding_end" else "they started"
left_out = []
if cohort.stopped_before_origin:
    left_out.append(f"{cohort.stopped_before_origin} stopped before {since}")
if cohort.unconfirmed_since_origin:
    left_out.append(f"{cohort.unconfirmed_since_origin} have no status recorded since {since}")
if cohort.no_status:
    left_out.append(f"{cohort.no_status} have no status recorded at all")
if cohort.no_origin:
    left_out.append(
        f"{cohort.no_origin} belong to partnerships whose funding has not ended (no end date recorded)"
        if origin == "funding_end"
        else f"{cohort.no_origin} have no date to count from"
    )

if not cohort.followed:
    # no curve, but the unverified and left-out lines below still say why and what would change it (#8)
    st.info(
        "No structure has a status recorded after this starting point, so there is no curve to draw."
        if left_out
        else "No structure matches these filters, so there is no curve to draw. Widen them in the sidebar, "
        "or choose **Clear all**."
    )
else:
    cols = st.columns(3)
    cols[0].metric("Structures followed", f"{cohort.followed:,}")
    cols[1].metric("Stopped since", f"{cohort.stopped:,}")
    cols[2].metric("No news since (censored)", f"{cohort.censored:,}")
checks = app_state.read(verification.unverified, filters)
if checks["running"]:
    st.caption(
        f"Unverified: {quantity(checks['running'], 'structure')} still running "
        f"{agree(checks['running'], 'has', 'have')} not been confirmed for "
        f"{app_state.store().settings.verify_months} months or more. Each counts only until it was last confirmed, "
        "or not at all if that was before the starting point. Confirm them on the legacy register."
    )
if cohort.step:
    st.caption(
        f"There are too many distinct dates to draw one step each, so times are rounded down to whole "
        f"{survival.STEP_WORDS[cohort.step]}s: a closure or last confirmation counts at the start of its "
        f"{survival.STEP_WORDS[cohort.step]}."
    )
if left_out:
    # what would bring them in: only those with news to give (confirming a closure does not)
    remedies = []
    if cohort.unconfirmed_since_origin:
        remedies.append("confirm the status of those with no news on the legacy register")
    if cohort.no_status:
        remedies.append("log an entry with a status for those that have none")
    instead = ""  # with no curve at all: closed before funding ended or still funded, followed from their start
    if not cohort.followed and origin == "funding_end" and (cohort.stopped_before_origin or cohort.no_origin):
        who = ["those that stopped before funding ended"] if cohort.stopped_before_origin else []
        who += ["those whose partnership is still funded"] if cohort.no_origin else []
        instead = f" To follow {' and '.join(who)}, count months “After the structure started”."
    st.caption(
        "Left out: "
        + "; ".join(left_out)
        + "."
        + (f" To bring them in, {' and '.join(remedies)}." if remedies else "")
        + instead
    )
if not cohort.followed:
    st.stop()

_ui.chart_with_table(
    _ui.chart(charts.survival_curves, steps),
    steps,
    key=f"survival_{origin}_{split}",
    description="the Kaplan–Meier steps",
    columns={
        "group": "Group",
        "time": "Months",
        "at_risk": "At risk",
        "events": "Stopped",
        "censored": "No news since",
        "survival": "Share still running",
    },
)
