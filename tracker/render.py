"""Charts as files, rendered on the server: Vega-Lite spec in, SVG or PNG out (vl-convert, no browser).

Used by the download buttons under every chart and by the meeting pack. A chart that fills its
container on screen (``width: "container"``) gets a fixed width here, since a file has no
container; a title (what the chart shows) and a subtitle (the filters in words) travel with the
image, so that a chart pasted into an email still says what it is.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import Any, Protocol

import pandas as pd
import vl_convert as vlc

from tracker.interchange import frame_csv

DEFAULT_WIDTH = 900
PNG_SCALE = 2.0
"""PNGs are drawn at twice the CSS pixel size: sharp on a projector and in a document."""

_SCHEMA_VERSION = re.compile(r"/v(\d+)\.(\d+)(?:\.\d+)?\.json$")


class _HasSpec(Protocol):
    def to_dict(self) -> dict[str, Any]: ...


def _vl_version(spec: Mapping[str, Any]) -> str | None:
    """The Vega-Lite version the spec was written for, if vl-convert has it (else its latest)."""
    found = _SCHEMA_VERSION.search(str(spec.get("$schema", "")))
    if not found:
        return None
    version = f"{found.group(1)}.{found.group(2)}"
    return version if version in vlc.get_vegalite_versions() else None


def _fix_width(node: Any, width: int) -> None:
    """Replace every ``"container"`` width (top level, layers, facet specs) by ``width`` pixels."""
    if isinstance(node, dict):
        if node.get("width") == "container":
            node["width"] = width
        for key, value in node.items():
            if key not in ("data", "datasets"):
                _fix_width(value, width)
    elif isinstance(node, list):
        for item in node:
            _fix_width(item, width)


def static_spec(
    chart: _HasSpec | Mapping[str, Any],
    *,
    width: int = DEFAULT_WIDTH,
    title: str | None = None,
    subtitle: str | None = None,
    font: str | None = None,
) -> dict[str, Any]:
    """The chart's Vega-Lite spec made ready for a file: fixed width, optional title, subtitle and font."""
    spec = copy.deepcopy(dict(chart)) if isinstance(chart, Mapping) else chart.to_dict()
    _fix_width(spec, width)
    if font:
        spec["config"] = {**spec.get("config", {}), "font": font}
    if title:
        spec["title"] = {
            "text": title,
            "subtitle": subtitle or "",
            "anchor": "start",
            "fontSize": 20,
            "subtitleFontSize": 14,
            "subtitleColor": "#444444",
            "offset": 14,
        }
    spec.setdefault("background", "white")
    spec.setdefault("padding", 12)
    return spec


def svg(chart: _HasSpec | Mapping[str, Any], **kwargs: Any) -> str:
    """The chart as an SVG document (vector; text stays text)."""
    spec = static_spec(chart, **kwargs)
    return str(vlc.vegalite_to_svg(spec, vl_version=_vl_version(spec)))


def png(chart: _HasSpec | Mapping[str, Any], *, scale: float = PNG_SCALE, **kwargs: Any) -> bytes:
    """The chart as a PNG image, ``scale`` times its CSS pixel size."""
    spec = static_spec(chart, **kwargs)
    return bytes(vlc.vegalite_to_png(spec, vl_version=_vl_version(spec), scale=scale))


def table_csv(table: pd.DataFrame, columns: Mapping[str, str] | None = None) -> bytes:
    """The data behind a chart as CSV (UTF-8 with BOM, formulas neutralised); ``columns``: name -> heading."""
    chosen = dict(columns) if columns else {str(c): str(c) for c in table.columns}
    chosen = {name: heading for name, heading in chosen.items() if name in table.columns}
    return frame_csv(table, chosen)


def file_stem(description: str, limit: int = 60) -> str:
    """A file name stem from a chart's description: lower case, hyphens, no odd characters."""
    stem = re.sub(r"[^a-z0-9]+", "-", description.lower()).strip("-")
    return stem[:limit].rstrip("-") or "chart"
