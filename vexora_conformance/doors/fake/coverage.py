"""Which of the provider's outcomes a test suite made its client meet, and which request fields it sent.

The fake names what each call exercised as ``"<endpoint>: <name>"``; the pytest plugin gathers the names per
test (across xdist workers) and reports, for every endpoint the suite used, what it never exercised and the call
that would. An endpoint's outcomes are declared by its module (``Endpoint.coverage``); its request fields are
the optional fields and listed values of the contract of the market the client used.
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Set as AbstractSet
from typing import Any, NamedTuple

from ...contract.endpoint import Endpoint
from ...contract.registry import ENDPOINTS
from ...contract.schema.tables import Contract

KNOWN_STATUSES = ("0000", "0001", "0015")
SEP = ": "


def name_of(endpoint: str, what: str) -> str:
    return f"{endpoint}{SEP}{what}"


def answered(endpoint: Endpoint, status_code: int, payload: Any) -> AbstractSet[str]:
    """What a provider answer shows the client: a 5xx, a body that is not JSON (given as text), an envelope
    code, a business status, a refusal the endpoint names."""
    if status_code == 200 and type(payload) is dict and payload.get("code") == "0000":
        # the answer to most calls: its names are remembered per (endpoint, business status)
        data = payload.get("data")
        status = data.get("status") if type(data) is dict else None
        if type(status) is str and len(status) > 16:
            return _answered(endpoint, status_code, payload)  # not remembered: any text may be sent back
        key = (endpoint.name, status if type(status) is str else None)
        found = _SUCCESS.get(key)
        if found is None or found[0] is not endpoint:
            found = (endpoint, frozenset(_answered(endpoint, status_code, payload)))
            if len(_SUCCESS) < 1024:
                _SUCCESS[key] = found
        return found[1]
    return _answered(endpoint, status_code, payload)


_SUCCESS: dict[tuple[str, str | None], tuple[Endpoint, frozenset[str]]] = {}


def _answered(endpoint: Endpoint, status_code: int, payload: Any) -> set[str]:
    if 500 <= status_code < 600:
        names = {"HTTP 5xx"}
    elif not isinstance(payload, dict):
        names = {"not JSON"}
    else:
        code = payload.get("code")
        names = {"success" if code == "0000" else f"envelope {code}"}
        data = payload.get("data")
        if code == "0000" and isinstance(data, dict) and isinstance(data.get("status"), str):
            names.add(f"status {data['status']}" if data["status"] in KNOWN_STATUSES else "status failure")
        msg = payload.get("msg")
        if code != "0000" and isinstance(msg, str):
            names |= {name for name, words in REFUSALS.items() if words in msg}
    return {name_of(endpoint.name, n) for n in names if n in endpoint.coverage}


# What the fake's refusals say, by the outcome they are (the books' words).
REFUSALS = {"insufficient balance": "insufficient balance", "repeated tradeNo refused": "was already used"}


def transport(endpoint: Endpoint, what: str) -> set[str]:
    """A transport outcome (connection error, read timeout, slow answer), when the endpoint lists it."""
    return {name_of(endpoint.name, what)} if what in endpoint.coverage else set()


class _FieldTests(NamedTuple):
    """``request_fields`` of one contract, and the tests ``sent`` makes of a body for them."""

    contract: Contract
    names: dict[str, str]  # request_fields
    present: tuple[tuple[str, str], ...]  # (body key, name): carried when present and not empty
    values: dict[str, dict[str, str]]  # body key -> {listed value: name}: carried when the key has that value


_FIELDS: dict[int, _FieldTests] = {}


def request_fields(contract: Contract) -> dict[str, str]:
    """name -> how to exercise it: the contract's optional body fields, and each value its tables list."""
    return _fields(contract).names


def _fields(contract: Contract) -> _FieldTests:
    # Asked on every call the fake answers; a contract is data loaded once and never changed (and not
    # hashable), so the answer is kept by its identity, beside the contract itself (an id is never reused then).
    hit = _FIELDS.get(id(contract))
    if hit is not None and hit.contract is contract:
        return hit
    out = {f"field {f.name}": f"send {f.name}" for f in contract.table("body") if not f.required}
    for ref in contract.refinements:
        if ref.field.startswith("body.") and ref.keyword == "enum":
            key = ref.field[5:]
            out.update((f"{key} {v}", f"send {key} {v!r}") for v in ref.value)
    present: list[tuple[str, str]] = []
    values: dict[str, dict[str, str]] = {}
    for name in out:
        kind, _, rest = name.partition(" ")
        if kind == "field":
            present.append((rest, name))
        else:
            values.setdefault(kind, {})[rest] = name
    found = _FieldTests(contract, out, tuple(present), values)
    if len(_FIELDS) < 1024:
        _FIELDS[id(contract)] = found
    return found


def sent(endpoint: Endpoint, contract: Contract, body: Any) -> set[str]:
    """The optional fields (and listed values) a request body carried."""
    if not isinstance(body, dict):
        return set()
    tests = _fields(contract)
    names = [name for key, name in tests.present if body.get(key) not in (None, "")]
    for key, by_value in tests.values.items():
        value = body.get(key)
        if isinstance(value, str) and value in by_value:  # the listed values are strings (a name's text)
            names.append(by_value[value])
    prefix = name_of(endpoint.name, f"{contract.variant} ")
    return {prefix + name for name in names}


class Tally:
    """Which tests exercised each name, for the endpoints the suite used."""

    def __init__(self) -> None:
        self.by_name: dict[str, list[str]] = {}
        self.fields: dict[str, dict[str, str]] = {}  # endpoint -> its request-field names -> how

    def add(self, test: str, names: Iterable[str]) -> None:
        for name in names:
            tests = self.by_name.setdefault(name, [])
            if test not in tests:
                tests.append(test)
            endpoint, _, rest = name.partition(SEP)
            if endpoint in ENDPOINTS and rest not in ENDPOINTS[endpoint].coverage:  # a request field's name
                variant = rest.split(" ", 1)[0]
                if variant == "shared" or variant in ENDPOINTS[endpoint].spec.markets:
                    self._learn_fields(endpoint, variant)

    def _learn_fields(self, endpoint: str, variant: str) -> None:
        contract = ENDPOINTS[endpoint].contract(None if variant == "shared" else variant)
        how = self.fields.setdefault(endpoint, {})
        how.update((f"{variant} {k}", v) for k, v in request_fields(contract).items())

    def used(self) -> list[str]:
        names = {n.partition(SEP)[0] for n in self.by_name}
        return [e for e in ENDPOINTS if e in names]

    def expected(self, endpoint: str) -> dict[str, str]:
        """Every name the suite could exercise for an endpoint it used: its outcomes, then its request fields."""
        return {**ENDPOINTS[endpoint].coverage, **self.fields.get(endpoint, {})}

    @property
    def total(self) -> int:
        return sum(len(self.expected(e)) for e in self.used())

    @property
    def covered(self) -> int:
        return sum(1 for e in self.used() for n in self.expected(e) if self.by_name.get(name_of(e, n)))

    @property
    def percent(self) -> float:
        return 100.0 * self.covered / self.total if self.total else 100.0

    def to_dict(self) -> dict[str, Any]:
        return {"endpoints": {e: {n: self.by_name.get(name_of(e, n), []) for n in self.expected(e)}
                              for e in self.used()},
                "covered": self.covered, "total": self.total, "percent": round(self.percent, 1)}

    def lines(self) -> list[str]:
        out = []
        for e in self.used():
            expected = self.expected(e)
            met = sum(1 for n in expected if self.by_name.get(name_of(e, n)))
            out.append(f"{e}: {met} of {len(expected)} outcomes and request fields met:")
            out += [_line(n, self.by_name.get(name_of(e, n), []), how) for n, how in expected.items()]
        out.append(f"coverage: {self.covered} of {self.total} ({self.percent:.0f}%)")
        return out


def _line(name: str, tests: list[str], how: str) -> str:
    if not tests:
        return f"  [ ] {name:<28} never; to exercise it: {how}"
    more = f" (+{len(tests) - 1} more)" if len(tests) > 1 else ""
    return f"  [x] {name:<28} {tests[0]}{more}"
