"""Which of the provider's outcomes a test suite made its client meet, and which request fields it sent.

The fake provider names what each call exercised; the pytest plugin gathers the
names per test (across xdist workers) and reports what the suite never exercised,
with the call that would exercise it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# name -> how a test makes the client meet it
OUTCOMES: dict[str, str] = {
    "success": "a conformant request (the default answer)",
    "envelope 8000": 'vexora_mock.fail_with_envelope("8000")',
    "envelope 5000": 'vexora_mock.fail_with_envelope("5000", "system exception")',
    "status 0000": 'vexora_mock.fail_with_status("0000"), or pay() then the status query',
    "status 0001": 'vexora_mock.fail_with_status("0001"), or pay(trade_no, "0001", smaller) then the status query',
    "status 0015": "a conformant Checkout request (created, processing)",
    "status failure": 'vexora_mock.fail_with_status("00029")',
    "HTTP 5xx": "vexora_mock.fail_with_http(503)",
    "not JSON": "vexora_mock.answer_not_json()",
    "connection error": "vexora_mock.fail_to_connect()",
    "read timeout": "vexora_mock.time_out()",
    "slow answer": "vexora_mock.respond_slowly(seconds)",
}
REQUEST_FIELDS: dict[str, str] = {
    "returnUrl": "send returnUrl", "remark": "send remark", "email": "send email", "mobile": "send mobile",
    "payer": "send payer", "wayCode store": 'send wayCode "store"', "wayCode va": 'send wayCode "va"',
}
KNOWN_STATUSES = ("0000", "0001", "0015")


def answered(status_code: int, payload: Any) -> set[str]:
    """What a provider answer shows the client: a 5xx, a body that is not JSON (given as text), an envelope
    code, a business status."""
    if 500 <= status_code < 600:
        return {"HTTP 5xx"}
    if not isinstance(payload, dict):
        return {"not JSON"}
    code = payload.get("code")
    names = {"success" if code == "0000" else f"envelope {code}"}
    data = payload.get("data")
    if code == "0000" and isinstance(data, dict) and isinstance(data.get("status"), str):
        names.add(f"status {data['status']}" if data["status"] in KNOWN_STATUSES else "status failure")
    return names & set(OUTCOMES)


def sent(body: Any) -> set[str]:
    """The optional Checkout fields (and wayCodes) a request body carried."""
    if not isinstance(body, dict):
        return set()
    names = {k for k in ("returnUrl", "remark", "email", "mobile", "payer") if body.get(k) not in (None, "")}
    if body.get("wayCode") in ("store", "va"):
        names.add(f"wayCode {body['wayCode']}")
    return names


class Tally:
    """Which tests exercised each name."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[str]] = {name: [] for name in (*OUTCOMES, *REQUEST_FIELDS)}

    def add(self, test: str, names: Iterable[str]) -> None:
        for name in names:
            if name in self.by_name and test not in self.by_name[name]:
                self.by_name[name].append(test)

    @property
    def covered(self) -> int:
        return sum(1 for tests in self.by_name.values() if tests)

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / len(self.by_name)

    def to_dict(self) -> dict[str, Any]:
        return {"outcomes": {n: self.by_name[n] for n in OUTCOMES},
                "request_fields": {n: self.by_name[n] for n in REQUEST_FIELDS},
                "covered": self.covered, "total": len(self.by_name), "percent": round(self.percent, 1)}

    def lines(self) -> list[str]:
        out = []
        for title, names in (("provider outcomes your client met", OUTCOMES),
                             ("optional request fields your client sent", REQUEST_FIELDS)):
            met = sum(1 for n in names if self.by_name[n])
            out.append(f"{title} ({met} of {len(names)}):")
            out += [_line(n, self.by_name[n], names) for n in names]
        out.append(f"coverage: {self.covered} of {len(self.by_name)} ({self.percent:.0f}%)")
        return out


def _line(name: str, tests: list[str], how: Mapping[str, str]) -> str:
    if not tests:
        return f"  [ ] {name:<18} never; to exercise it: {how[name]}"
    more = f" (+{len(tests) - 1} more)" if len(tests) > 1 else ""
    return f"  [x] {name:<18} {tests[0]}{more}"
