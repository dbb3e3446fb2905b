"""Hypothesis settings profiles for the property tests (#7), chosen with ``HYPOTHESIS_PROFILE``.

- ``ci`` (the default): 2,000 examples per fuzz test, no per-example deadline (a real DuckDB
  write takes tens of milliseconds and varies with machine load).
- ``long``: 20,000 examples, for a run on demand: ``HYPOTHESIS_PROFILE=long make test``.

Tests apply the chosen profile with ``@PROFILE`` instead of loading it globally, so other
modules' Hypothesis tests keep their own settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# One store is reused across the examples of a test (the point: failed imports must leave it
# untouched), so the function-scoped fixture warning does not apply; large cells are on purpose.
_CHECKS = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large]

settings.register_profile("ci", max_examples=2000, deadline=None, suppress_health_check=_CHECKS)
settings.register_profile("long", max_examples=20_000, deadline=None, suppress_health_check=_CHECKS)
settings.register_profile("dev", max_examples=200, deadline=None, suppress_health_check=_CHECKS)

NAME = os.environ.get("HYPOTHESIS_PROFILE", "ci")
PROFILE = settings(settings.get_profile(NAME))
"""The selected profile, as a decorator for ``@given`` tests."""


def scaled(fraction: float) -> settings:
    """The selected profile with ``fraction`` of its examples (for slower strategies such as XLSX)."""
    return settings(PROFILE, max_examples=max(int(PROFILE.max_examples * fraction), 10))
