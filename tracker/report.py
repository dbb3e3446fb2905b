"""The meeting pack: one document (PDF or HTML) for the current filters, to take away from a SCAN meeting.

Contents: a title page with the filters in words, the generation date and the as-at moment; the
headline figures; the heatmaps; the timeline; the legacy register (chart and full table); the
areas compared side by side when some were chosen; and a generated summary per area.

:func:`build` gathers everything once (SQL in :mod:`tracker.queries` and :mod:`tracker.compare`,
charts from :mod:`tracker.charts`, rendered to SVG by :mod:`tracker.render`); :func:`pdf` and
:func:`html` lay the same content out. The PDF is written with fpdf2: charts are embedded as vector
drawings (their text stays selectable), tables break across pages with the header row repeated.
"""

from __future__ import annotations

import argparse
import contextlib
import html as html_lib
import io
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tracker import charts, compare, queries, render
from tracker.filters import Filters, describe, end_of_day
from tracker.models import FuzzyDate
from tracker.store import Store

TITLE = "Systems change meeting pack"
CHART_WIDTH = 1000
"""Width in CSS pixels of the charts that fill their container on screen."""


# --- content -------------------------------------------------------------------------------------


@dataclass
class Figure:
    """A chart: its title, a line saying how to read it, and the SVG drawing."""

    title: str
    caption: str
    svg: str


@dataclass
class Table:
    """A table: headings and rows of text; ``widths`` are relative column widths."""

    title: str
    headings: list[str]
    rows: list[list[str]]
    widths: list[float] | None = None
    caption: str = ""


@dataclass
class Text:
    """A titled paragraph (a generated area summary)."""

    title: str
    body: str


Block = Figure | Table | Text


@dataclass
class Section:
    """One chapter of the pack (a bookmark in the PDF, an ``<h2>`` in HTML)."""

    title: str
    intro: str
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Pack:
    """Everything in the pack, ready to lay out."""

    scope: str
    generated: datetime
    as_at: datetime | None
    areas: list[str]
    figures: dict[str, int]
    sections: list[Section]
    title: str = TITLE


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and value != value) or str(value) in ("NaT", "<NA>", "nan"):
        return ""
    if isinstance(value, float) and value.is_integer():
        return f"{int(value):,}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def _rows(frame: pd.DataFrame, columns: Sequence[str]) -> list[list[str]]:
    return [[_cell(v) for v in record] for record in frame[list(columns)].itertuples(index=False)]


def _figure(chart: Any, title: str, caption: str, font: str | None) -> Figure:
    return Figure(title, caption, render.svg(chart, width=CHART_WIDTH, font=font))


FIGURE_ROWS = (
    ("entries", "Entries"),
    ("milestones", "Milestones"),
    ("setbacks", "Setbacks"),
    ("partnerships", "Partnerships with entries"),
    ("structures", "Structures recorded"),
    ("continuing", "Structures continuing"),
    ("hosted-elsewhere", "Structures hosted elsewhere"),
    ("decommissioned", "Structures decommissioned"),
    ("not-recorded", "Structures with no status recorded"),
)


def build(
    store: Store,
    filters: Filters = Filters(),
    *,
    by: str = "partnership",
    areas: Sequence[str] = (),
    generated: datetime | None = None,
    font: str | None = None,
) -> Pack:
    """Gather the pack's content for ``filters``; ``areas`` (2–6) adds a side-by-side comparison."""
    vocab = store.vocab()
    figures = queries.headline(store, filters)
    typologies = list(vocab["typology"].labels.values())
    statuses = [*vocab["status"].labels.values(), queries.NOT_RECORDED]
    sections: list[Section] = []

    by_area = queries.summary(store, ["partnership", "kind"], filters)
    per_partnership: dict[str, dict[str, int]] = {}
    for row in by_area:
        counts = per_partnership.setdefault(row["partnership"], {"milestone": 0, "setback": 0})
        counts[row["kind"]] = row["count"]
    by_typology = queries.summary(store, ["typology"], filters)
    sections.append(
        Section(
            "Overview",
            "Headline figures for the filters on the title page. A structure's status is the one its latest "
            "entry records.",
            [
                Table(
                    "Headline figures",
                    ["Figure", "Number"],
                    [[label, f"{figures[k]:,}"] for k, label in FIGURE_ROWS],
                    [3, 1],
                ),
                Table(
                    "Entries by partnership",
                    ["Partnership", "Entries", "Milestones", "Setbacks"],
                    [
                        [name, f"{c['milestone'] + c['setback']:,}", f"{c['milestone']:,}", f"{c['setback']:,}"]
                        for name, c in per_partnership.items()
                    ],
                    [3, 1, 1, 1],
                ),
                Table(
                    "Entries by typology",
                    ["Typology", "Entries"],
                    [[str(r["typology"]), f"{r['count']:,}"] for r in by_typology],
                    [3, 1],
                ),
            ],
        )
    )
    if figures["entries"]:
        heat_blocks: list[Block] = []
        for rows, cols, title in (
            ("partnership", "typology", "Partnership × typology"),
            ("partnership", "mechanism", "Partnership × mechanism"),
            ("typology", "mechanism", "Typology × mechanism"),
        ):
            cells = queries.heatmap(store, filters, rows, cols)
            chart = charts.heatmap(cells, "count", rows.capitalize(), cols.capitalize())
            heat_blocks.append(
                _figure(
                    chart,
                    title,
                    "Each cell counts the entries with that pair; an entry with several mechanisms counts under each.",
                    font,
                )
            )
        sections.append(
            Section("Heatmaps", "Which kinds of change happen where, and which mechanisms recur.", heat_blocks)
        )

        points, binned = queries.timeline(store, filters, "partnership", max_rows=charts.MAX_ROWS)
        timeline_caption = (
            "Circles are milestones, triangles setbacks; colour shows the typology. A year- or month-only date "
            "is a bar over that year or month."
            if not binned
            else "Too many entries to draw one by one: each mark counts the entries of one partnership, period, "
            "kind and typology."
            + (
                ""
                if charts.binned_by_year(points)
                else " The periods are months: an entry dated by year only is counted in January of its year."
            )
        )
        sections.append(
            Section(
                "Timeline",
                "When things changed, one lane per partnership.",
                [
                    _figure(
                        charts.timeline(points, None, lane_title="Partnership", typologies=typologies, binned=binned),
                        "Entries over time",
                        timeline_caption,
                        font,
                    ),
                    _figure(
                        charts.year_bars(queries.year_counts(store, filters)),
                        "Milestones and setbacks per year",
                        "Milestones above the line, setbacks below it.",
                        font,
                    ),
                ],
            )
        )

    register = queries.structures(store, filters)
    legacy_blocks: list[Block] = []
    if not register.empty:
        legacy_blocks.append(
            _figure(
                charts.legacy_status_bar(
                    counts := queries.structure_status_counts(store, filters),
                    statuses=queries.status_legend(vocab["status"], counts["status"]),
                ),
                "Structures by current status",
                "Each bar is a partnership's structures; the status is also written in each segment.",
                font,
            )
        )
        legacy_blocks.append(
            Table(
                "Legacy register",
                [heading[:1].upper() + heading[1:] for heading in queries.REGISTER_COLUMNS.values()],
                _rows(register, list(queries.REGISTER_COLUMNS)),
                [1.9, 2.4, 1.9, 1.7, 2.2, 1.25, 1.25, 1.0],
                "One row per structure: its current status, who hosts it now, and since when.",
            )
        )
    sections.append(
        Section(
            "Legacy register",
            "Which structures survived, who hosts them now, and since when."
            if legacy_blocks
            else "No structures match these filters.",
            legacy_blocks,
        )
    )

    said = queries.quotes(store, filters, limit=60)
    contribution = queries.summary(store, ["contribution", "kind"], filters)
    evidence: list[Block] = [
        Table(
            "The programme's contribution",
            ["Contribution", "Kind", "Entries"],
            [
                [_cell(r["contribution"] or "not rated").capitalize(), _cell(r["kind"]), _cell(r["count"])]
                for r in contribution
            ],
            [2.0, 1.5, 1.0],
            "How much the programme contributed to each change, as the partnerships rated it.",
        )
    ]
    if not said.empty:
        evidence.append(
            Table(
                "In their words",
                ["Partnership", "Date", "Entry", "Quote", "Speaker", "Contribution"],
                _rows(said, ["partnership", "date", "title", "quote", "speaker", "contribution"]),
                [1.6, 0.8, 2.0, 4.2, 1.5, 1.1],
                "Quotes recorded with the entries (the latest 60), with the speaker's role as given.",
            )
        )
    sections.append(
        Section(
            "Evidence and voice",
            "What the changes rest on: the programme's contribution, and quotes from the people involved.",
            evidence,
        )
    )

    chosen = list(dict.fromkeys(areas))
    labels = compare.area_options(store, filters, by)
    if compare.MIN_AREAS <= len(chosen) <= compare.MAX_AREAS:
        result = compare.compare(store, filters, by, chosen)
        sections.append(
            Section(
                "Areas compared",
                "The chosen areas side by side; every chart puts them on the same scale.",
                [
                    _figure(
                        compare.profile_chart(result.typology, category_title="Typology"),
                        "Typology profile",
                        "Share of each area's entries by typology.",
                        font,
                    ),
                    _figure(
                        compare.profile_chart(result.mechanism, category_title="Mechanism", colour_by="group"),
                        "Mechanism profile",
                        "Share of each area's entries naming the mechanism (an entry may name several).",
                        font,
                    ),
                    _figure(
                        compare.year_chart(result.years),
                        "Milestones and setbacks per year",
                        "Same years and same scale for every area.",
                        font,
                    ),
                    _figure(
                        compare.legacy_chart(result.legacy, statuses),
                        "Legacy",
                        "Structures by current status.",
                        font,
                    ),
                ],
            )
        )
        area_facts = result.facts
    else:
        chosen = []
        area_facts = [f for f in compare.facts(store, filters, by, list(labels)) if f.entries or f.structures]
    sections.append(
        Section(
            "Area summaries",
            "Written from the data: counts, hosts and the most frequent typology and mechanism of each area.",
            [Text(f.area, compare.summary_text(f)) for f in area_facts],
        )
    )
    return Pack(
        scope=describe(filters, vocab),
        generated=generated or datetime.now(UTC),
        as_at=filters.as_at,
        areas=[labels.get(a, a) for a in chosen],
        figures=figures,
        sections=sections,
    )


def _when(moment: datetime) -> str:
    """A moment in words, in UTC (naive datetimes in this tracker are UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%B %Y, %H:%M} UTC"


def title_lines(pack: Pack) -> list[tuple[str, str]]:
    """(label, value) lines of the title page."""
    lines = [("Filters", pack.scope)]
    if pack.areas:
        lines.append(("Areas compared", "; ".join(pack.areas)))
    lines.append(("Generated", _when(pack.generated)))
    if pack.as_at:
        lines.append(("As it stood at", _when(pack.as_at)))
    return lines


# --- PDF -----------------------------------------------------------------------------------------

_FONT_CANDIDATES = (
    ("DejaVu Sans", "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVu Sans", "/usr/share/fonts/TTF/DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVu Sans", "/usr/share/fonts/dejavu/DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("DejaVu Sans", "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf", "DejaVuSans-Bold.ttf"),
    ("Liberation Sans", "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf", "LiberationSans-Bold.ttf"),
    ("Arial", "/Library/Fonts/Arial.ttf", "Arial Bold.ttf"),
    ("Arial", "C:/Windows/Fonts/arial.ttf", "arialbd.ttf"),
)
_FOLD = str.maketrans({"−": "-", "→": "->", "←": "<-", "×": "x", "\u00a0": " "})


def find_font() -> tuple[str, Path, Path] | None:
    """A Unicode TrueType font pair (family, regular, bold) from the system, or ``None``.

    Debian and Ubuntu ship DejaVu Sans in ``fonts-dejavu-core``; without a TrueType font the PDF
    falls back to the PDF core font Helvetica, whose character set is smaller.
    """
    for family, regular, bold in _FONT_CANDIDATES:
        path = Path(regular)
        if path.is_file():
            bold_path = path.with_name(bold)
            return family, path, bold_path if bold_path.is_file() else path
    if shutil.which("fc-match"):
        found = subprocess.run(
            ["fc-match", "-f", "%{family[0]}|%{file}", "sans-serif:style=Regular"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
        family, _, file = found.partition("|")
        if file.endswith(".ttf") and Path(file).is_file():
            return family, Path(file), Path(file)
    return None


_SVG = "http://www.w3.org/2000/svg"
ET.register_namespace("", _SVG)
ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")


def svg_for_pdf(svg: str, family: str, fold: bool = False) -> tuple[str, float, float]:
    """Prepare a vl-convert SVG for fpdf2; returns ``(svg, width_px, height_px)``.

    fpdf2 rejects empty path data and ``<line>`` elements relying on default coordinates,
    and draws text in the fonts registered with the document: every font family is mapped to
    ``family``. With ``fold`` (core font only) characters outside Latin-1 are replaced.
    """
    root = ET.fromstring(svg)
    parents = {child: parent for parent in root.iter() for child in parent}
    for element in list(root.iter()):
        tag = element.tag.rsplit("}", 1)[-1]
        if tag == "path" and not (element.get("d") or "").strip():
            parents[element].remove(element)
            continue
        if tag == "line":
            for attr in ("x1", "y1", "x2", "y2"):
                element.attrib.setdefault(attr, "0")
        if "font-family" in element.attrib:
            element.set("font-family", family)
        if fold and element.text:
            element.text = _folded(element.text)
        element.attrib.pop("aria-label", None)
    width = float(str(root.get("width", "800")).removesuffix("px"))
    height = float(str(root.get("height", "600")).removesuffix("px"))
    return ET.tostring(root, encoding="unicode"), width, height


def _folded(text: str) -> str:
    return text.translate(_FOLD).encode("latin-1", "replace").decode("latin-1")


def pdf(pack: Pack, font: tuple[str, Path, Path] | bool | None = True) -> bytes:
    """The pack as a PDF (A4 landscape): bookmarks per section, vector charts, selectable text."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos
    from fpdf.fonts import FontFace, TextStyle
    from fpdf.outline import TableOfContents

    found = find_font() if font is True else (font or None)
    family = "Pack" if found else "helvetica"
    fold = found is None

    class PackPDF(FPDF):
        def footer(self) -> None:
            if self.page_no() == 1:
                return
            self.set_y(-10)
            self.set_font(family, "", 8)
            self.set_text_color(90)
            self.cell(0, 5, self.normalize_text(f"{pack.title} · {pack.scope}"), align="L")
            self.set_x(self.l_margin)
            self.cell(0, 5, f"Page {self.page_no()} of {{nb}}", align="R")

        def normalize_text(self, text: str) -> str:
            return super().normalize_text(_folded(text) if fold else text)

    doc = PackPDF(orientation="L", unit="mm", format="A4")
    doc.set_title(pack.title)
    doc.set_author("Systems Change Tracker")
    doc.set_subject(pack.scope)
    doc.set_creation_date(pack.generated if pack.generated.tzinfo else pack.generated.replace(tzinfo=UTC))
    doc.set_lang("en-GB")
    doc.set_margins(14, 14, 14)
    doc.set_auto_page_break(True, margin=16)
    if found:
        doc.add_font(family, "", str(found[1]))
        doc.add_font(family, "B", str(found[2]))
    dark, muted = (17, 17, 17), (80, 80, 80)

    def paragraph(text: str, size: float = 11, style: str = "", colour: tuple[int, int, int] = dark) -> None:
        doc.set_font(family, style, size)
        doc.set_text_color(*colour)
        doc.multi_cell(0, size * 0.5, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    # Title page.
    doc.add_page()
    doc.set_y(45)
    paragraph(pack.title, 30, "B")
    doc.ln(6)
    for label, value in title_lines(pack):
        doc.set_font(family, "B", 13)
        doc.set_text_color(*muted)
        doc.cell(48, 8, label, new_x=XPos.RIGHT, new_y=YPos.TOP)
        doc.set_font(family, "", 13)
        doc.set_text_color(*dark)
        doc.multi_cell(0, 8, value, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    doc.ln(6)
    paragraph(
        "Made by the Systems Change Tracker from the entries partnerships recorded. Dates given as a year or a "
        "month are kept at that precision. Many dates in the demo data are illustrative.",
        10,
        colour=muted,
    )
    doc.set_y(115)
    doc.set_font(family, "B", 14)
    doc.cell(0, 8, "Contents", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    toc = TableOfContents(TextStyle(font_family=family, font_style="B", font_size_pt=12), line_spacing=1.6)

    def contents(pdf: FPDF, outline: list[Any]) -> None:
        for item in outline:
            if item.level == 0:
                toc.render_toc_item(pdf, item)

    doc.insert_toc_placeholder(contents, pages=1, reset_page_indices=False)

    for number, section in enumerate(pack.sections):
        if number:  # the contents placeholder has already started the first section's page
            doc.add_page()
        doc.start_section(section.title, level=0)
        paragraph(section.title, 22, "B")
        doc.ln(1)
        paragraph(section.intro, 11, colour=muted)
        doc.ln(3)
        for block in section.blocks:
            if isinstance(block, Figure):
                _pdf_figure(doc, block, family, fold, paragraph)
            elif isinstance(block, Table):
                _pdf_table(doc, block, family, paragraph, FontFace)
            else:
                if doc.will_page_break(30):
                    doc.add_page()
                doc.start_section(block.title, level=1)
                paragraph(block.title, 13, "B")
                doc.ln(1)
                paragraph(block.body, 11)
                doc.ln(4)
    return bytes(doc.output())


def _pdf_figure(doc: Any, block: Figure, family: str, fold: bool, paragraph: Callable[..., None]) -> None:
    drawing, width_px, height_px = svg_for_pdf(block.svg, family, fold)
    mm_per_px = 25.4 / 96
    width, height = width_px * mm_per_px, height_px * mm_per_px
    heading = 16  # title and caption
    full_page = doc.h - doc.t_margin - doc.b_margin - heading
    best = min(1.0, doc.epw / width, full_page / height)
    here = min(best, (doc.h - doc.b_margin - doc.get_y() - heading) / height)
    # Shrink a little to stay on this page, never much: a chart too small to read is no use.
    scale = here if here >= 0.8 * best else best
    if scale is best and here < best:
        doc.add_page()
    width, height = width * scale, height * scale
    doc.start_section(block.title, level=1)
    paragraph(block.title, 14, "B")
    paragraph(block.caption, 9.5, colour=(80, 80, 80))
    doc.ln(2)
    doc.image(io.BytesIO(drawing.encode("utf-8")), x=doc.l_margin, w=width, h=height, alt_text=block.title)
    doc.ln(6)


def _pdf_table(doc: Any, block: Table, family: str, paragraph: Callable[..., None], font_face: Any) -> None:
    if doc.will_page_break(30):
        doc.add_page()
    doc.start_section(block.title, level=1)
    paragraph(block.title, 14, "B")
    if block.caption:
        paragraph(block.caption, 9.5, colour=(80, 80, 80))
    doc.ln(2)
    narrow = len(block.headings) <= 4
    doc.set_font(family, "", 9.5 if not narrow else 11)
    doc.set_text_color(17, 17, 17)
    with doc.table(
        col_widths=block.widths,
        width=doc.epw if not narrow else min(doc.epw, 70 * len(block.headings)),
        align="LEFT",
        text_align="LEFT",
        line_height=(9.5 if not narrow else 11) * 0.5,
        padding=1.4,
        headings_style=font_face(emphasis="BOLD", fill_color=(225, 232, 240)),
        cell_fill_color=(246, 246, 246),
        cell_fill_mode="ROWS",
        repeat_headings=1,
        borders_layout="HORIZONTAL_LINES",
    ) as table:
        heading = table.row()
        for text in block.headings:
            heading.cell(text)
        for values in block.rows:
            row = table.row()
            for text in values:
                row.cell(text)
    doc.ln(6)


# --- HTML ----------------------------------------------------------------------------------------

_CSS = """
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #111; margin: 2rem auto;
       max-width: 1100px; padding: 0 1.5rem; line-height: 1.45; }
h1 { font-size: 2.2rem; margin-bottom: .5rem; } h2 { font-size: 1.6rem; border-bottom: 2px solid #ccc;
padding-bottom: .2rem; margin-top: 2.5rem; } h3 { font-size: 1.2rem; margin-top: 1.6rem; }
.muted, figcaption { color: #505050; } dl.title { display: grid; grid-template-columns: 12rem 1fr; gap: .3rem 1rem; }
dl.title dt { font-weight: bold; color: #505050; } dl.title dd { margin: 0; }
figure { margin: 1rem 0 2rem; } figure svg { max-width: 100%; height: auto; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; font-size: .95rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #ddd; vertical-align: top; }
thead th { background: #e1e8f0; } tbody tr:nth-child(even) { background: #f6f6f6; }
nav ol { columns: 2; }
@media print { section.chapter { break-before: page; } figure, tr { break-inside: avoid; }
               thead { display: table-header-group; } body { max-width: none; margin: 0; } }
"""


def html(pack: Pack) -> str:
    """The pack as one self-contained HTML file: inline SVG charts, real tables, no scripts."""
    esc = html_lib.escape
    out = [
        "<!doctype html>",
        '<html lang="en-GB"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(pack.title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{esc(pack.title)}</h1><dl class='title'>",
    ]
    for label, value in title_lines(pack):
        out.append(f"<dt>{esc(label)}</dt><dd>{esc(value)}</dd>")
    out.append("</dl></header>")
    out.append("<nav aria-label='Contents'><h2>Contents</h2><ol>")
    for number, section in enumerate(pack.sections, 1):
        out.append(f"<li><a href='#s{number}'>{esc(section.title)}</a></li>")
    out.append("</ol></nav>")
    for number, section in enumerate(pack.sections, 1):
        out.append(f"<section class='chapter' id='s{number}'><h2>{esc(section.title)}</h2>")
        out.append(f"<p class='muted'>{esc(section.intro)}</p>")
        for block in section.blocks:
            if isinstance(block, Figure):
                svg = block.svg.replace("<svg ", f"<svg role='img' aria-label='{esc(block.title)}' ", 1)
                out.append(
                    f"<figure><h3>{esc(block.title)}</h3>{svg}<figcaption>{esc(block.caption)}</figcaption></figure>"
                )
            elif isinstance(block, Table):
                out.append(f"<h3>{esc(block.title)}</h3>")
                if block.caption:
                    out.append(f"<p class='muted'>{esc(block.caption)}</p>")
                out.append("<table><thead><tr>" + "".join(f"<th scope='col'>{esc(h)}</th>" for h in block.headings))
                out.append("</tr></thead><tbody>")
                for values in block.rows:
                    out.append("<tr>" + "".join(f"<td>{esc(v)}</td>" for v in values) + "</tr>")
                out.append("</tbody></table>")
            else:
                out.append(f"<h3>{esc(block.title)}</h3><p>{esc(block.body)}</p>")
        out.append("</section>")
    out.append("</body></html>")
    return "\n".join(out)


def pdf_bytes(store: Store, filters: Filters = Filters(), **kwargs: Any) -> bytes:
    """Build the pack for ``filters`` and lay it out as PDF."""
    found = find_font()
    return pdf(build(store, filters, font=found[0] if found else None, **kwargs), found)


def html_bytes(store: Store, filters: Filters = Filters(), **kwargs: Any) -> bytes:
    """Build the pack for ``filters`` and lay it out as HTML (UTF-8)."""
    return html(build(store, filters, **kwargs)).encode("utf-8")


# --- command line ----------------------------------------------------------------------------------


def _date_arg(edge: str) -> Callable[[str], date]:
    def parse(text: str) -> date:
        try:
            return getattr(FuzzyDate.parse(text), edge)  # type: ignore[no-any-return]
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    return parse


def _moment(text: str) -> datetime:
    """``--as-at``: a date and time (UTC unless it names its offset); a date alone is the end of that
    day, as the app's as-at date is (:func:`~tracker.filters.end_of_day`). A moment after now is
    refused: the title page would say the pack shows the tracker as it stood then."""
    now = datetime.now(UTC)
    with contextlib.suppress(ValueError):
        day = date.fromisoformat(text.strip())
        if day > max(date.today(), now.date()):
            raise argparse.ArgumentTypeError(
                f"'{text}' is after today; leave --as-at out for the tracker as it is now"
            ) from None
        return end_of_day(day)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"'{text}' is not a date and time (use YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
        ) from None
    moment = moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    if moment > now.replace(tzinfo=None):
        raise argparse.ArgumentTypeError(f"'{text}' is after now; leave --as-at out for the tracker as it is now")
    return moment


def cmd_report(args: argparse.Namespace) -> int:
    """``report --out FILE``: write the meeting pack as PDF or HTML (from the extension)."""
    from tracker.cli import EXIT_INVALID, EXIT_OK, EXIT_USAGE, _open

    out = Path(args.out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "html", "htm"):
        print(f"error: --out must end in .pdf or .html, not '{out.suffix or out.name}'", file=sys.stderr)
        return EXIT_USAGE
    if not out.parent.is_dir():
        print(f"error: no such folder: {out.parent}", file=sys.stderr)
        return EXIT_USAGE
    if out.is_dir():
        print(f"error: --out {out} is a folder; give a file name, e.g. {out / 'pack.pdf'}", file=sys.stderr)
        return EXIT_USAGE
    if args.date_from and args.date_to and args.date_from > args.date_to:
        print("error: --from is after --to", file=sys.stderr)
        return EXIT_INVALID
    with _open(args) as store:
        vocab = store.vocab()
        problems, partnerships, programmes, areas = [], [], [], []
        named: dict[str, str] = {}  # area key -> the name given for it
        for name in args.partnership or []:
            slug = vocab["partnership"].resolve(name)
            if slug is None:
                hint = vocab["partnership"].suggest(name)
                problems.append(f"unknown partnership '{name}'" + (f" — did you mean '{hint}'?" if hint else ""))
            elif slug not in partnerships:
                partnerships.append(slug)
        known_programmes = {p.programme.casefold(): p.programme for p in vocab.partnerships}
        for name in args.programme or []:
            found = known_programmes.get(name.strip().casefold())
            if found is None:
                problems.append(f"unknown programme '{name}'")
            elif found not in programmes:
                programmes.append(found)
        for name in args.compare or []:
            key = (
                vocab["partnership"].resolve(name)
                if args.by == "partnership"
                else known_programmes.get(name.strip().casefold())
            )
            if key is None:
                problems.append(f"unknown {args.by} to compare: '{name}'")
            elif key not in areas:
                areas.append(key)
                named[key] = name
        if args.compare and not compare.MIN_AREAS <= len(areas) <= compare.MAX_AREAS:
            problems.append(f"--compare takes {compare.MIN_AREAS} to {compare.MAX_AREAS} different areas")
        if problems:
            for problem in problems:
                print(f"error: {problem}", file=sys.stderr)
            return EXIT_INVALID
        filters = Filters(
            programmes=tuple(programmes),
            partnerships=tuple(partnerships),
            date_from=args.date_from,
            date_to=args.date_to,
            as_at=args.as_at,
        )
        offered = compare.area_options(store, filters, args.by)
        outside = [named[key] for key in areas if key not in offered]
        if outside:
            which = [f"--{flag}" for flag, given in (("partnership", partnerships), ("programme", programmes)) if given]
            print(
                f"error: cannot compare {', '.join(repr(n) for n in outside)}: the {' and '.join(which)} "
                f"filter{'s leave' if len(which) > 1 else ' leaves'} {'it' if len(outside) == 1 else 'them'} out",
                file=sys.stderr,
            )
            return EXIT_INVALID
        if fmt == "pdf":
            data = pdf_bytes(store, filters, by=args.by, areas=areas)
        else:
            data = html_bytes(store, filters, by=args.by, areas=areas)
    out.write_bytes(data)
    print(f"wrote the meeting pack to {out} ({'PDF' if fmt == 'pdf' else 'HTML'}, {len(data):,} bytes)")
    return EXIT_OK


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add the ``report`` command to the CLI (see :data:`tracker.cli.EXTENSIONS`)."""
    p = sub.add_parser(
        "report",
        parents=[common],
        help="write the meeting pack (PDF or HTML) for the given filters",
        description="Write the meeting pack: title page, headline figures, heatmaps, timeline, legacy register "
        "and per-area summaries. The format follows the --out extension (.pdf or .html).",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="pack.pdf or pack.html")
    p.add_argument(
        "--partnership", action="extend", nargs="+", metavar="NAME", help="only these partnerships (name or slug)"
    )
    p.add_argument("--programme", action="extend", nargs="+", metavar="NAME", help="only these programmes")
    p.add_argument("--from", dest="date_from", type=_date_arg("start"), metavar="DATE", help="YYYY[-MM[-DD]]")
    p.add_argument("--to", dest="date_to", type=_date_arg("end"), metavar="DATE", help="YYYY[-MM[-DD]]")
    p.add_argument(
        "--as-at",
        type=_moment,
        metavar="DATETIME",
        help="the tracker as it stood then (UTC; a date alone: the end of that day)",
    )
    p.add_argument("--compare", action="extend", nargs="+", metavar="AREA", help="2 to 6 areas to set side by side")
    p.add_argument("--by", choices=tuple(compare.BY), default="partnership", help="what --compare names")
    p.set_defaults(func=cmd_report)
