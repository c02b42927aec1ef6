"""What a test queues for the fake provider instead of the documented success: a Scenario.

A scenario is used by the next call the judge finds no error in: a broken request is answered for what it is
(``8000`` "param error"), and the scenario waits for a conformant one. Each is checked when it is made
(``ValueError`` with a reason), so a bad value is refused when it is queued, not when a later reply is built.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, get_args

import httpx

ScenarioKind = Literal["envelope", "status", "http", "not-json", "connect-error", "read-timeout", "slow"]
SCENARIO_KINDS: frozenset[str] = frozenset(get_args(ScenarioKind))
MAX_DELAY_S = 600.0  # a scripted delay longer than ten minutes is a mistake, not a test
MAX_TEXT = 200


class SilentTimeout(httpx.ReadTimeout):
    """The queued read timeout; over HTTP the loopback server stays silent ``delay`` seconds, then hangs up."""

    def __init__(self, message: str, *, request: httpx.Request, delay: float) -> None:
        super().__init__(message, request=request)
        self.delay = delay


@dataclass(frozen=True)
class Scenario:
    kind: ScenarioKind
    code: str = "8000"
    msg: str = "request failed"
    status: str = "00029"
    http_status: int = 500
    delay: float = 0.0  # "slow": seconds before answering; "read-timeout" over HTTP: seconds before hanging up

    def __post_init__(self) -> None:
        if self.kind not in SCENARIO_KINDS:
            raise ValueError(f"outcome must be one of {sorted(SCENARIO_KINDS)}")
        for name in ("code", "msg", "status"):
            _check_text(name, getattr(self, name))
        if type(self.http_status) is not int or not 400 <= self.http_status <= 599:
            raise ValueError("http_status must be an HTTP error status, an integer from 400 to 599")
        if type(self.delay) not in (int, float) or not 0 <= self.delay <= MAX_DELAY_S:  # NaN fails both
            raise ValueError(f"delay must be a number of seconds from 0 to {MAX_DELAY_S:g}")


def _check_text(name: str, value: Any) -> None:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"{name} must be a string of at most {MAX_TEXT} characters")
    if not value.isprintable():  # lone surrogates are not printable either
        raise ValueError(f"{name} must hold printable characters only (no control characters or lone surrogates)")
