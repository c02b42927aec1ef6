"""Test-suite settings shared by every test directory.

Hypothesis profiles: ``dev`` (default, quick), ``ci`` (Hypothesis's own CI
profile, which it loads when ``CI`` is set, extended with more examples), and
``thorough`` for a long local run. Choose with ``HYPOTHESIS_PROFILE``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None)
settings.register_profile(
    "ci",
    settings.get_profile("ci"),  # extend Hypothesis's built-in CI profile rather than replace it
    max_examples=150,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

pytest_plugins = ["pytester"]
