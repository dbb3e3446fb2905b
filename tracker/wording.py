"""Counts in words, as people write them on a projector: "1 structure has", "23 structures have".

Not "structure(s)": a sentence read out in a meeting should not read like a spreadsheet formula.
"""

from __future__ import annotations


def quantity(count: int, singular: str, plural: str | None = None) -> str:
    """``count`` and the noun that agrees with it: "1 structure", "1,204 structures", "0 entries"
    (``plural`` when adding an "s" is wrong)."""
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"


def agree(count: int, singular: str, plural: str) -> str:
    """The verb that agrees with ``count``: ``agree(1, "has", "have")`` is "has"."""
    return singular if count == 1 else plural
