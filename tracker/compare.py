"""Areas side by side: per-area profiles in SQL, a generated summary per area, same-scale charts.

An *area* is a partnership (by slug) or a whole programme (by name). Every query starts from the
scope CTEs of :meth:`Filters.scope` and the shared filter of :meth:`Filters.where`, exactly as
:mod:`tracker.queries` does, so a comparison honours the sidebar filters and the as-at moment.
Grids are complete (an area with no entries of a typology gets a zero row), so that the charts
put every area on the same scales and a missing bar means "none", never "not asked".
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import altair as alt
import pandas as pd

from tracker import charts
from tracker.filters import Filters
from tracker.frames import to_frame
from tracker.queries import NOT_RECORDED, confirmed_since, register_ctes
from tracker.store import Store

BY: dict[str, str] = {"partnership": "Partnerships", "programme": "Programmes"}
"""What an area is: a partnership or a whole programme."""
MIN_AREAS, MAX_AREAS = 2, 6


def _area_sql(by: str) -> str:
    if by not in BY:
        raise ValueError(f"areas are one of: {', '.join(BY)}")
    key, label = ("p.slug", "p.name") if by == "partnership" else ("p.programme", "p.programme")
    return f"""
    picked AS (SELECT unnest(?::VARCHAR[]) AS area),
    area_of AS (
        SELECT p.slug AS partnership, {key} AS area, {label} AS label, p.end_date
        FROM partnerships p WHERE {key} IN (SELECT area FROM picked)
    ),
    areas AS (
        SELECT area, any_value(label) AS label, list_position(?::VARCHAR[], area) AS area_order
        FROM area_of GROUP BY area
    )"""


def _prefix(filters: Filters, by: str, areas: Sequence[str]) -> tuple[str, str, list[Any]]:
    """``WITH scope, picked, area_of, areas`` and the filter condition restricted to the areas.

    Returns ``(with_clause, where, params)``; ``params`` covers the WITH clause only, the
    caller appends ``where_params`` where the condition appears.
    """
    scope, scope_params = filters.scope()
    picked = list(dict.fromkeys(areas))
    return (
        f"WITH {scope}, {_area_sql(by)}",
        "e.partnership IN (SELECT partnership FROM area_of)",
        [
            *scope_params,
            picked,
            picked,
        ],
    )


def _domain(vocabulary: str, selected: tuple[str, ...]) -> tuple[str, list[Any]]:
    """A vocabulary's terms for a complete grid: the filter's choice, else every term not retired or used
    by the profile's ``counts`` CTE (area, ``vocabulary``, n): the compared areas' entries."""
    if selected:
        return (
            f"SELECT slug, label, position, grp FROM terms WHERE vocabulary = '{vocabulary}'"
            f" AND slug IN ({', '.join('?' for _ in selected)})",
            list(selected),
        )
    # A retired term stays while entries of the compared areas use it (the profile's ``counts``, under
    # the filters), as a term of its own vocabulary (slugs repeat across them); as a status does (#5).
    used_here = f"SELECT {vocabulary} FROM counts"
    return (
        f"SELECT slug, label, position, grp FROM terms WHERE vocabulary = '{vocabulary}'"
        f" AND (NOT retired OR slug IN ({used_here}))",
        [],
    )


def typology_profile(store: Store, filters: Filters, by: str, areas: Sequence[str]) -> pd.DataFrame:
    """Per area and typology: entries and their share of the area's entries (a complete grid)."""
    head, restrict, params = _prefix(filters, by, areas)
    where, wp = filters.where()
    domain, dp = _domain("typology", filters.typologies)
    sql = f"""
    {head},
    f AS (SELECT e.id, e.typology, a.area FROM cur_entries e JOIN area_of a ON a.partnership = e.partnership
          WHERE {where} AND {restrict}),
    counts AS (SELECT area, typology, count(*) AS n FROM f GROUP BY ALL),
    totals AS (SELECT area, count(*) AS total FROM f GROUP BY area),
    dom AS ({domain})
    SELECT a.label AS area, a.area AS area_key, a.area_order, d.label AS category, d.position AS category_order,
           coalesce(c.n, 0) AS entries, coalesce(c.n, 0) / nullif(t.total, 0) AS share,
           coalesce(t.total, 0) AS area_entries
    FROM areas a CROSS JOIN dom d
    LEFT JOIN counts c ON c.area = a.area AND c.typology = d.slug
    LEFT JOIN totals t ON t.area = a.area
    ORDER BY a.area_order, d.position
    """
    return _tidy(to_frame(store.cursor().execute(sql, [*params, *wp, *dp])))


def mechanism_profile(store: Store, filters: Filters, by: str, areas: Sequence[str]) -> pd.DataFrame:
    """Per area and mechanism: entries naming it and their share of the area's entries.

    An entry with several mechanisms counts once under each, so shares need not add up to 100 %.
    """
    head, restrict, params = _prefix(filters, by, areas)
    where, wp = filters.where()
    domain, dp = _domain("mechanism", filters.mechanisms)
    sql = f"""
    {head},
    f AS (SELECT e.id, a.area FROM cur_entries e JOIN area_of a ON a.partnership = e.partnership
          WHERE {where} AND {restrict}),
    counts AS (SELECT f.area, m.mechanism, count(*) AS n FROM f JOIN cur_mechanisms m ON m.entry_id = f.id
               GROUP BY ALL),
    totals AS (SELECT area, count(*) AS total FROM f GROUP BY area),
    dom AS ({domain})
    SELECT a.label AS area, a.area AS area_key, a.area_order, d.label AS category, d.position AS category_order,
           coalesce(d.grp, '') AS "group",
           coalesce(c.n, 0) AS entries, coalesce(c.n, 0) / nullif(t.total, 0) AS share,
           coalesce(t.total, 0) AS area_entries
    FROM areas a CROSS JOIN dom d
    LEFT JOIN counts c ON c.area = a.area AND c.mechanism = d.slug
    LEFT JOIN totals t ON t.area = a.area
    ORDER BY a.area_order, d.position
    """
    return _tidy(to_frame(store.cursor().execute(sql, [*params, *wp, *dp])))


def year_profile(store: Store, filters: Filters, by: str, areas: Sequence[str]) -> pd.DataFrame:
    """Milestones and setbacks per area and year, over one shared run of years (zeros included)."""
    head, restrict, params = _prefix(filters, by, areas)
    where, wp = filters.where()
    sql = f"""
    {head},
    f AS (SELECT year(e.date_start) AS year, e.kind, a.area FROM cur_entries e
          JOIN area_of a ON a.partnership = e.partnership WHERE {where} AND {restrict}),
    years AS (SELECT unnest(range(min(year), max(year) + 1)) AS year FROM f),
    kinds AS (SELECT unnest(['milestone', 'setback']) AS kind),
    counts AS (SELECT area, year, kind, count(*) AS n FROM f GROUP BY ALL)
    SELECT a.label AS area, a.area AS area_key, a.area_order, y.year, k.kind, coalesce(c.n, 0) AS entries
    FROM areas a CROSS JOIN years y CROSS JOIN kinds k
    LEFT JOIN counts c ON c.area = a.area AND c.year = y.year AND c.kind = k.kind
    ORDER BY a.area_order, y.year, k.kind
    """
    frame = to_frame(store.cursor().execute(sql, [*params, *wp]))
    for column in ("area_order", "year", "entries"):
        frame[column] = frame[column].astype(int)
    return frame


def legacy_profile(store: Store, filters: Filters, by: str, areas: Sequence[str]) -> pd.DataFrame:
    """Structures per area by current status (continuing, hosted elsewhere, decommissioned, not recorded).

    A retired status is listed only while a structure of the compared areas has it (then for every
    area, as a retired typology is); "not recorded" only for the areas with such structures."""
    head, restrict, params = _prefix(filters, by, areas)
    where, wp = filters.where()
    register = register_ctes(f"{where} AND {restrict}", filters.as_at is not None)
    sql = f"""
    {head}, {register},
    counts AS (
        SELECT ao.area, r.status, r.status_slug, count(*) AS n FROM register r
        JOIN area_of ao ON ao.partnership = r.partnership_slug GROUP BY ALL
    ),
    statuses AS (
        SELECT label AS status, position AS status_order, slug FROM terms
        WHERE vocabulary = 'status' AND (NOT retired OR slug IN (SELECT status_slug FROM counts))
        UNION ALL SELECT '{NOT_RECORDED}', 999, NULL
    )
    SELECT a.label AS area, a.area AS area_key, a.area_order, s.status, s.status_order,
           coalesce(c.n, 0) AS structures
    FROM areas a CROSS JOIN statuses s
    LEFT JOIN counts c ON c.area = a.area AND c.status = s.status
    WHERE s.slug IS NOT NULL OR c.n > 0
    ORDER BY a.area_order, s.status_order
    """
    frame = to_frame(store.cursor().execute(sql, [*params, *wp]))
    for column in ("area_order", "status_order", "structures"):
        frame[column] = frame[column].astype(int)
    return frame


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    frame["share"] = frame["share"].fillna(0.0).astype(float)
    for column in ("area_order", "category_order", "entries", "area_entries"):
        frame[column] = frame[column].astype(int)
    return frame


# --- the facts behind each area's summary -------------------------------------------------------


@dataclass(frozen=True)
class AreaFacts:
    """What the generated summary of one area says, as numbers and names from the data."""

    area: str
    partnerships: int = 1  # those with entries matching the filters (a programme's, when by programme)
    entries: int = 0
    milestones: int = 0
    setbacks: int = 0
    first_year: int | None = None
    last_year: int | None = None
    structures: int = 0
    continuing: int = 0
    hosted: int = 0
    decommissioned: int = 0
    not_recorded: int = 0
    hosts: tuple[tuple[str, int], ...] = ()  # (organisation, structures it hosts), most first
    confirmed_after_end: int = 0
    top_typologies: tuple[str, ...] = ()
    top_typology_entries: int = 0
    top_mechanisms: tuple[str, ...] = ()
    top_mechanism_entries: int = 0
    setback_typologies: tuple[str, ...] = ()
    setback_typology_entries: int = 0
    by: str = "partnership"

    @property
    def running(self) -> int:
        """Structures still running: continuing or hosted elsewhere."""
        return self.continuing + self.hosted


_FACTS = """
{head}, {register},
f AS (SELECT e.*, a.area FROM cur_entries e JOIN area_of a ON a.partnership = e.partnership
      WHERE {where} AND {restrict}),
base AS (
    SELECT area, count(DISTINCT partnership) AS partnerships, count(*) AS entries,
           count(*) FILTER (WHERE kind = 'milestone') AS milestones,
           count(*) FILTER (WHERE kind = 'setback') AS setbacks,
           min(year(date_start)) AS first_year, max(year(date_end)) AS last_year
    FROM f GROUP BY area
),
typ AS (
    SELECT f.area, ty.label, ty.position, count(*) AS n,
           rank() OVER (PARTITION BY f.area ORDER BY count(*) DESC) AS r
    FROM f JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = f.typology
    GROUP BY f.area, ty.label, ty.position
),
mech AS (
    SELECT f.area, me.label, me.position, count(*) AS n,
           rank() OVER (PARTITION BY f.area ORDER BY count(*) DESC) AS r
    FROM f JOIN cur_mechanisms m ON m.entry_id = f.id
    JOIN terms me ON me.vocabulary = 'mechanism' AND me.slug = m.mechanism
    GROUP BY f.area, me.label, me.position
),
setb AS (
    SELECT f.area, ty.label, ty.position, count(*) AS n,
           rank() OVER (PARTITION BY f.area ORDER BY count(*) DESC) AS r
    FROM f JOIN terms ty ON ty.vocabulary = 'typology' AND ty.slug = f.typology
    WHERE f.kind = 'setback' GROUP BY f.area, ty.label, ty.position
),
hosts AS (
    SELECT ao.area, min(r.host) AS host, count(*) AS n FROM register r
    JOIN area_of ao ON ao.partnership = r.partnership_slug
    WHERE r.status_slug = 'hosted-elsewhere' AND r.host IS NOT NULL
    GROUP BY ao.area, lower(trim(r.host))
),
reg AS (
    SELECT ao.area, count(*) AS structures,
           count(*) FILTER (WHERE r.status_slug = 'continuing') AS continuing,
           count(*) FILTER (WHERE r.status_slug = 'hosted-elsewhere') AS hosted,
           count(*) FILTER (WHERE r.status_slug = 'decommissioned') AS decommissioned,
           count(*) FILTER (WHERE r.status_slug IS NULL) AS not_recorded,
           count(*) FILTER (WHERE r.status_slug IN ('continuing', 'hosted-elsewhere')
                            AND {confirmed}) AS confirmed_after_end
    FROM register r JOIN area_of ao ON ao.partnership = r.partnership_slug GROUP BY ao.area
)
SELECT a.label AS area, coalesce(b.partnerships, 0) AS partnerships,
       coalesce(b.entries, 0) AS entries, coalesce(b.milestones, 0) AS milestones,
       coalesce(b.setbacks, 0) AS setbacks, b.first_year, b.last_year,
       coalesce(g.structures, 0) AS structures, coalesce(g.continuing, 0) AS continuing,
       coalesce(g.hosted, 0) AS hosted, coalesce(g.decommissioned, 0) AS decommissioned,
       coalesce(g.not_recorded, 0) AS not_recorded,
       (SELECT list([h.host, CAST(h.n AS VARCHAR)] ORDER BY h.n DESC, lower(h.host)) FROM hosts h
        WHERE h.area = a.area) AS hosts,
       coalesce(g.confirmed_after_end, 0) AS confirmed_after_end,
       (SELECT list(label ORDER BY position) FROM typ WHERE typ.area = a.area AND r = 1) AS top_typologies,
       (SELECT max(n) FROM typ WHERE typ.area = a.area) AS top_typology_entries,
       (SELECT list(label ORDER BY position) FROM mech WHERE mech.area = a.area AND r = 1) AS top_mechanisms,
       (SELECT max(n) FROM mech WHERE mech.area = a.area) AS top_mechanism_entries,
       (SELECT list(label ORDER BY position) FROM setb WHERE setb.area = a.area AND r = 1) AS setback_typologies,
       (SELECT max(n) FROM setb WHERE setb.area = a.area) AS setback_typology_entries
FROM areas a
LEFT JOIN base b ON b.area = a.area
LEFT JOIN reg g ON g.area = a.area
ORDER BY a.area_order
"""


def facts(store: Store, filters: Filters, by: str, areas: Sequence[str]) -> list[AreaFacts]:
    """The numbers and names each area's summary is written from, in the order the areas were given."""
    head, restrict, params = _prefix(filters, by, areas)
    where, wp = filters.where()
    register = register_ctes(f"{where} AND {restrict}", filters.as_at is not None)
    sql = _FACTS.format(
        head=head,
        register=register,
        where=where,
        restrict=restrict,
        confirmed=confirmed_since("r.partnership_end", "r"),  # as the legacy page and survival count it (#8)
    )
    cur = store.cursor().execute(sql, [*params, *wp, *wp])
    names = [d[0] for d in cur.description]
    out = []
    for row in cur.fetchall():
        record = dict(zip(names, row, strict=True))
        values: dict[str, Any] = {"by": by}
        for name, value in record.items():
            if name == "hosts":
                values[name] = tuple((host, int(n)) for host, n in value or ())
            elif isinstance(value, list):
                values[name] = tuple(value)
            elif value is None and name not in ("first_year", "last_year"):
                values[name] = 0 if name.endswith("entries") else ()
            else:
                values[name] = value
        out.append(AreaFacts(**values))
    return out


# --- the generated text ---------------------------------------------------------------------------


def _n(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def _listed(names: Sequence[str]) -> str:
    """Names joined by semicolons (labels may contain commas and "and")."""
    return "; ".join(names)


def summary_text(f: AreaFacts, max_hosts: int = 3) -> str:
    """A short plain-English summary of one area, written only from its facts (no free text)."""
    if f.entries == 0 and f.structures == 0:
        return "No entries match the current filters."
    sentences = []
    span = ""
    if f.first_year is not None and f.last_year is not None:
        span = f" in {f.first_year}" if f.first_year == f.last_year else f" from {f.first_year} to {f.last_year}"
    who = f" across {_n(f.partnerships, 'partnership')}" if f.by == "programme" else ""
    sentences.append(
        f"{_n(f.entries, 'entry', 'entries')}{who}{span}: "
        f"{_n(f.milestones, 'milestone')} and {_n(f.setbacks, 'setback')}."
    )
    if f.structures == 0:
        sentences.append("No structures recorded.")
    else:
        rest = [f"{f.decommissioned:,} decommissioned"]
        if f.not_recorded:
            rest.append(f"{f.not_recorded:,} with no status recorded")
        running = f"{f.running:,} still running" if f.running else "none still running"
        sentences.append(f"{_n(f.structures, 'structure')} recorded: {running}, {', '.join(rest)}.")
        parts = [f"{f.continuing:,} continuing"] if f.continuing else []
        named = sum(n for _, n in f.hosts[:max_hosts])
        parts += [f"{n:,} hosted by {host}" for host, n in f.hosts[:max_hosts]]
        if f.hosted > named:
            others = len(f.hosts) - max_hosts
            by = f" by {_n(others, 'other organisation')}" if others > 0 else ""
            parts.append(f"{f.hosted - named:,} hosted elsewhere{by}")
        if parts:
            sentences.append(f"Still running: {_listed(parts)}.")
        if f.confirmed_after_end:
            sentences.append(
                f"{f.confirmed_after_end:,} of the {f.running:,} still running "
                f"{'has' if f.confirmed_after_end == 1 else 'have'} been confirmed since funding ended."
            )
    if f.top_typologies:
        each = " each" if len(f.top_typologies) > 1 else ""
        sentences.append(
            f"Most entries: {_listed(f.top_typologies)} ({f.top_typology_entries:,}{each} of {f.entries:,})."
        )
    if f.top_mechanisms:
        many = len(f.top_mechanisms) > 1
        sentences.append(
            f"Mechanism{'s' if many else ''} named most often: {_listed(f.top_mechanisms)} "
            f"({_n(f.top_mechanism_entries, 'entry', 'entries')}{' each' if many else ''})."
        )
    elif f.entries:
        sentences.append("No contributing mechanisms recorded.")
    if f.setbacks == 1 and f.setback_typologies:
        sentences.append(f"The setback concerns {f.setback_typologies[0]}.")
    elif f.setbacks and f.setback_typologies:
        each = " each" if len(f.setback_typologies) > 1 else ""
        sentences.append(
            f"Most setbacks: {_listed(f.setback_typologies)} ({f.setback_typology_entries:,}{each} of {f.setbacks:,})."
        )
    return " ".join(sentences)


# --- everything the page shows, in one read ------------------------------------------------------


@dataclass
class Comparison:
    """The chosen areas side by side: profiles on shared scales and a generated summary each."""

    by: str
    areas: list[str]
    typology: pd.DataFrame
    mechanism: pd.DataFrame
    years: pd.DataFrame
    legacy: pd.DataFrame
    facts: list[AreaFacts] = field(default_factory=list)

    @property
    def summaries(self) -> list[tuple[str, str]]:
        """(area label, generated summary) per area, in the chosen order."""
        return [(f.area, summary_text(f)) for f in self.facts]

    @property
    def empty(self) -> bool:
        return not any(f.entries or f.structures for f in self.facts)


def compare(store: Store, filters: Filters, by: str, areas: Sequence[str]) -> Comparison:
    """Profiles and summaries of ``areas`` (partnership slugs, or programme names when ``by='programme'``)."""
    chosen = list(dict.fromkeys(areas))
    return Comparison(
        by=by,
        areas=chosen,
        typology=typology_profile(store, filters, by, chosen),
        mechanism=mechanism_profile(store, filters, by, chosen),
        years=year_profile(store, filters, by, chosen),
        legacy=legacy_profile(store, filters, by, chosen),
        facts=facts(store, filters, by, chosen),
    )


def area_options(store: Store, filters: Filters, by: str) -> dict[str, str]:
    """Areas that can be chosen (key -> label): within the sidebar's partnership and programme filters."""
    if by not in BY:
        raise ValueError(f"areas are one of: {', '.join(BY)}")
    conds, params = ["TRUE"], []
    if filters.partnerships:
        conds.append(f"slug IN ({', '.join('?' for _ in filters.partnerships)})")
        params += list(filters.partnerships)
    if filters.programmes:
        conds.append(f"programme IN ({', '.join('?' for _ in filters.programmes)})")
        params += list(filters.programmes)
    key, label = ("slug", "name") if by == "partnership" else ("programme", "programme")
    rows = (
        store.cursor()
        .execute(
            f"SELECT DISTINCT {key}, {label} FROM partnerships WHERE {' AND '.join(conds)} ORDER BY {label}", params
        )
        .fetchall()
    )
    return {row[0]: row[1] for row in rows}


# --- charts: one shared scale per chart -----------------------------------------------------------

PROFILE_MEASURES: dict[str, str] = {"share": "Share of the area's entries", "count": "Number of entries"}
_TOTAL_WIDTH = 880


def _wrap(text: str, width: int = 22) -> list[str]:
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return lines or [""]


def _header_expr(labels: Sequence[str], width: int) -> str:
    """A Vega expression wrapping each facet header (area name) onto lines that fit its column."""
    wrapped = {label: _wrap(label, width) for label in labels}
    return f"{json.dumps(wrapped)}[datum.value] || datum.value"


def _header(labels: Sequence[str], width: int, **kwargs: Any) -> alt.Header:
    return alt.Header(
        title=None,
        labelFontSize=charts.LABEL_SIZE,
        labelFontWeight="bold",
        labelColor=charts.TEXT_DARK,
        labelExpr=_header_expr(labels, width),
        **kwargs,
    )


def profile_chart(
    frame: pd.DataFrame, *, category_title: str, measure: str = "share", colour_by: str | None = None
) -> alt.FacetChart:
    """One column of horizontal bars per area, every column on the same x scale (count or share)."""
    if measure not in PROFILE_MEASURES:
        raise ValueError(f"measure is one of: {', '.join(PROFILE_MEASURES)}")
    data = charts._frame(frame, ("area", "area_order", "category", "category_order", "entries", "share"), "profile")
    data["label"] = [
        (f"{share:.0%}" if measure == "share" else f"{n:,}") if n else ""
        for n, share in zip(data["entries"], data["share"], strict=True)
    ]
    areas = charts._ordered(data, "area", "area_order")
    categories = charts._ordered(data, "category", "category_order")
    field_name = "share" if measure == "share" else "entries"
    top = float(pd.to_numeric(data[field_name], errors="coerce").max()) if len(data) else 0.0
    top = top if top > 0 else 1.0
    longest = max((len(c) for c in categories), default=8)
    label_px = min(280, 7 * longest + 16)
    column_px = max(90, int((_TOTAL_WIDTH - label_px) / max(len(areas), 1)) - 14)
    if colour_by and colour_by in data:
        groups = list(dict.fromkeys(data.sort_values("category_order")[colour_by].astype(str)))
        colour = alt.Color(
            f"{colour_by}:N",
            scale=alt.Scale(domain=groups, range=charts._palette(len(groups))),
            legend=charts._legend("Mechanism group", orient="bottom", columns=3, symbolType="square"),
        )
    else:
        colour = alt.Color(
            "category:N",
            scale=alt.Scale(domain=categories, range=charts._palette(len(categories))),
            legend=None,
        )
    x = alt.X(
        f"{field_name}:Q",
        title=None,  # the section says what the bars measure; one title per column would be noise
        scale=alt.Scale(domain=[0, top * 1.3], nice=False),
        axis=charts._axis(
            format=".0%" if measure == "share" else ",d",
            tickCount=3,
            tickMinStep=0.05 if measure == "share" else 1,
            gridColor="#E6E6E6",
            titleFontSize=13,
            labelFontSize=13,
        ),
    )
    y = alt.Y("category:N", sort=categories, axis=charts._band_axis(None, labelLimit=label_px - 10))
    tooltip = [
        alt.Tooltip("area:N", title="Area"),
        alt.Tooltip("category:N", title=category_title),
        alt.Tooltip("entries:Q", title="Entries", format=",d"),
        alt.Tooltip("share:Q", title="Share of the area's entries", format=".0%"),
    ]
    base = alt.Chart().encode(y=y, tooltip=tooltip)
    bars = base.mark_bar(height={"band": 0.7}).encode(x=x, color=colour)
    words = base.mark_text(align="left", dx=4, fontSize=13, color=charts.TEXT_DARK).encode(
        x=alt.X(f"{field_name}:Q"), text=alt.Text("label:N")
    )
    return (
        alt.layer(bars, words, data=data)
        .properties(width=column_px, height=28 * max(len(categories), 1))
        .facet(column=alt.Column("area:N", sort=areas, header=_header(areas, max(12, column_px // 8))), spacing=28)
        .resolve_scale(x="shared", y="shared")
    )


_LABEL_PLACES: tuple[tuple[str, Literal["bottom", "top"], int], ...] = (
    ("milestone", "bottom", -2),
    ("setback", "top", 2),
)


def year_chart(frame: pd.DataFrame) -> alt.FacetChart:
    """Milestones (up) and setbacks (down) per year: one row per area, same years and same y scale."""
    data = charts._frame(frame, ("area", "area_order", "year", "kind", "entries"), "year_chart")
    data["signed"] = [-n if kind == "setback" else n for n, kind in zip(data["entries"], data["kind"], strict=True)]
    data["label"] = [f"{n:,}" if n else "" for n in data["entries"]]
    areas = charts._ordered(data, "area", "area_order")
    years = sorted({int(y) for y in data["year"]}) if len(data) else []
    top = max(int(data["entries"].max()) if len(data) else 0, 1)
    y = alt.Y(
        "signed:Q",
        title=None,
        scale=alt.Scale(domain=[-top * 1.35, top * 1.35], nice=False),
        axis=charts._axis(
            labelExpr="format(abs(datum.value), 'd')",
            tickMinStep=1,
            tickCount=4,
            titleFontSize=13,
            labelFontSize=13,
            gridColor={"condition": {"test": "datum.value === 0", "value": "#333333"}, "value": "#E6E6E6"},
        ),
    )
    x = alt.X("year:O", sort=years, title=None, axis=charts._axis(labelAngle=0, ticks=False))
    tooltip = [
        alt.Tooltip("area:N", title="Area"),
        alt.Tooltip("year:O", title="Year"),
        alt.Tooltip("kind:N", title="Kind"),
        alt.Tooltip("entries:Q", title="Entries", format=",d"),
    ]
    base = alt.Chart().encode(x=x, y=y, tooltip=tooltip)
    bars = base.mark_bar(width={"band": 0.7}).encode(
        color=alt.Color(
            "kind:N",
            scale=alt.Scale(domain=list(charts.KIND_COLOURS), range=list(charts.KIND_COLOURS.values())),
            legend=charts._legend(
                "Kind", orient="top", labelExpr=charts._KIND_LABEL_EXPR, symbolType="square", direction="horizontal"
            ),
        )
    )
    labels = [
        base.transform_filter(f"datum.kind === '{kind}' && datum.entries > 0")
        .mark_text(fontSize=13, fontWeight="bold", color=charts.TEXT_DARK, baseline=baseline, dy=dy)
        .encode(text=alt.Text("label:N"))
        for kind, baseline, dy in _LABEL_PLACES
    ]
    return (
        alt.layer(bars, *labels, data=data)
        .properties(width=_TOTAL_WIDTH - 260, height=130)
        .facet(
            row=alt.Row(
                "area:N",
                sort=areas,
                header=_header(areas, 26, labelAngle=0, labelAlign="left", labelOrient="left", labelBaseline="middle"),
            )
        )
        .resolve_scale(x="shared", y="shared")
    )


def legacy_chart(frame: pd.DataFrame, statuses: Sequence[str]) -> alt.LayerChart:
    """Structures per area by current status, on one shared axis (the register's stacked bar), areas in
    the order chosen."""
    data = charts._frame(frame, ("area", "area_order", "status", "structures"), "legacy_chart")
    areas = charts._ordered(data, "area", "area_order")
    # Zero rows kept: an area with no structures in view keeps its row, an empty bar (none), rather
    # than dropping off the chart as if it had not been chosen.
    counts = data.rename(columns={"area": "partnership"})
    # The legend as the rows: a status the profile left out (retired, no structure has it) is not offered.
    present = set(data["status"])
    statuses = [s for s in statuses if s in present or s == NOT_RECORDED]
    chart = charts.legacy_status_bar(counts, statuses=statuses)
    for layer in chart.layer:
        y = layer.encoding.y if layer.encoding is not alt.Undefined else alt.Undefined
        if y is not alt.Undefined:
            y.sort = areas
    return chart
