"""Read an endpoint's documented tables (``contract/endpoints/<name>.md``) into typed rows.

A spec file reads like the provider's pages. It has one ``## endpoint`` table, a ``## shared`` section (what
applies to every market that has no page of its own, with its basis said), and one ``## market <name>`` section
per market whose page is stored. A section holds ``### about`` (the page, how much of it is stored, a path of
its own), ``### header``, ``### body``, ``### response``, ``### refinements``, ``### conflicts``,
``### open questions``, ``### example request``, ``### example response`` and, for the notification,
``### reply``. A market inherits from ``shared`` every table it does not give, with that table's refinements
and conflicts. This module is the only place that knows the layout; everything downstream reads a Contract.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from functools import cached_property
from typing import Any

TABLES = ("header", "body", "response")


class Strength(StrEnum):
    """How a refinement binds: the page says it must, only advises it, or says it must but its example breaks it."""

    MUST = "must"  # an error when broken
    SHOULD = "should"  # a warning: the page recommends it ("decimals are not recommended")
    CONFLICT = "conflict"  # the page's own example breaks it: a warning by default, an error with --strict-tables


@dataclass(frozen=True)
class Field:
    """One documented row: where it lives (header/body/response), its name, flag, type and source."""

    table: str
    name: str
    required: bool
    doc_type: str  # the page's Type column; "?" where no source says
    description: str
    source: str = ""  # [page: ...], [int: ...] or [guess]; empty when the section's page is the source


@dataclass(frozen=True)
class Refinement:
    """A constraint the page states in prose, with the sentence it comes from."""

    field: str  # "body.amount", "response.data.paymentUrl"
    keyword: str
    value: Any
    source: str
    strength: Strength = Strength.MUST


@dataclass(frozen=True)
class Conflict:
    """A place where the page's table and another reading disagree (its own example, or another source)."""

    field: str
    table_type: str
    example_type: str  # a JSON type, "absent" (required but left out), or a field name (named differently)
    example_value: Any
    source: str = "the page's example"


@dataclass(frozen=True)
class Contract:
    """One endpoint as one market documents it (or, for ``market`` None, the shape every market shares)."""

    endpoint: str
    market: str | None
    title: str
    path: str
    sender: str  # "merchant" (a request to the provider) or "provider" (the notification)
    page: str  # where the tables come from: "[page: bangladesh/payout]", or the shared section's basis
    stored: str  # how much of the page is stored: "whole", "response cut at code"
    open_body: bool  # the market's own fields are not stored: body fields beyond the table are not flagged
    placeholders: tuple[str, ...]  # fields whose value in the page's example is a placeholder ("xxxxxx")
    fields: tuple[Field, ...]
    refinements: tuple[Refinement, ...]
    conflicts: tuple[Conflict, ...]
    example_request: dict[str, Any] | None
    example_response: dict[str, Any] | None = None
    open_questions: tuple[str, ...] = ()
    reply: tuple[tuple[str, Any, str], ...] = ()  # (key, value, source): how a notification is answered

    @property
    def variant(self) -> str:
        """The name schemas and reports use for this contract: the market, or "shared"."""
        return self.market or "shared"

    def table(self, name: str) -> tuple[Field, ...]:
        return self._tables.get(name, ())

    @cached_property
    def _tables(self) -> dict[str, tuple[Field, ...]]:
        """The fields by table, once: the judge and the fake ask on every request (the contract never changes)."""
        out: dict[str, list[Field]] = {}
        for f in self.fields:
            out.setdefault(f.table, []).append(f)
        return {name: tuple(fields) for name, fields in out.items()}

    def has_table(self, name: str) -> bool:
        return any(f.table == name for f in self.fields)

    def refinements_for(self, field: str) -> tuple[Refinement, ...]:
        return tuple(r for r in self.refinements if r.field == field)

    def conflict_for(self, field: str) -> Conflict | None:
        return next((c for c in self.conflicts if c.field == field), None)

    def reply_fact(self, key: str) -> Any:
        return next(value for k, value, _ in self.reply if k == key)

    def source_of(self, table: str, name: str) -> str:
        """Where a row comes from: its own source tag, else the section's page."""
        row = next((f for f in self.fields if f.table == table and f.name == name), None)
        return row.source if row is not None and row.source not in ("", "[page]") else self.page


@dataclass(frozen=True)
class Spec:
    """An endpoint's spec file: its shared contract and each market's."""

    name: str
    title: str
    path: str
    sender: str
    shared: Contract
    markets: dict[str, Contract] = field(default_factory=dict)

    def contract(self, market: str | None) -> Contract:
        """The market's own contract, or the shared one when its page is not stored."""
        return self.markets.get(market or "", self.shared)

    def contracts(self) -> tuple[Contract, ...]:
        return (self.shared, *self.markets.values())

    def paths(self) -> frozenset[str]:
        """Every spelling of the path a stored page uses (``payinSubmit``, ``payInSubmit``)."""
        return frozenset(c.path for c in self.contracts())


def _sections(text: str, marker: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith(marker):
            current = sections.setdefault(line[len(marker):].strip(), [])
        elif current is not None:
            current.append(line)
    return sections


def _rows(lines: list[str]) -> list[list[str]]:
    """Table rows without the header row; cells stripped."""
    rows = [[c.strip() for c in ln.strip()[1:-1].split(" | ")] for ln in lines if ln.startswith("|")]
    return rows[1:]


def _fenced_json(lines: list[str]) -> dict[str, Any]:
    body = "\n".join(ln for ln in lines if not ln.startswith("```"))
    start = body.index("{")
    value: dict[str, Any] = json.loads(body[start:])
    return value


def _fields(sec: dict[str, list[str]]) -> dict[str, tuple[Field, ...]]:
    out: dict[str, tuple[Field, ...]] = {}
    for table in TABLES:
        if table not in sec:
            continue
        rows = []
        for row in _rows(sec[table]):
            if len(row) not in (4, 5) or row[1] not in ("Yes", "No"):
                raise ValueError(f"spec table {table!r}: malformed row {row!r}")
            rows.append(Field(table, row[0], row[1] == "Yes", row[2], row[3], row[4] if len(row) == 5 else ""))
        out[table] = tuple(rows)
    return out


def _refinements(lines: list[str]) -> tuple[Refinement, ...]:
    out = []
    for r in _rows(lines):
        if len(r) not in (4, 5):
            raise ValueError(f"spec refinements: malformed row {r!r}")
        out.append(Refinement(r[0], r[1], json.loads(r[2]), r[3], Strength(r[4]) if len(r) == 5 else Strength.MUST))
    return tuple(out)


def _conflicts(lines: list[str]) -> tuple[Conflict, ...]:
    out = []
    for r in _rows(lines):
        if len(r) not in (4, 5):
            raise ValueError(f"spec conflicts: malformed row {r!r}")
        out.append(Conflict(r[0], r[1], r[2], json.loads(r[3]), *(r[4:] or [])))
    return tuple(out)


def _about(lines: list[str]) -> dict[str, str]:
    return {r[0]: r[1] for r in _rows(lines)}


def _of_tables(items: Iterable[Any], tables: Iterable[str]) -> tuple[Any, ...]:
    wanted = tuple(f"{t}." for t in tables)
    return tuple(i for i in items if i.field.startswith(wanted))


def _contract(endpoint: dict[str, str], market: str | None, sec: dict[str, list[str]],
              shared: Contract | None) -> Contract:
    about = _about(sec.get("about", []))
    own = _fields(sec)
    refinements = _refinements(sec.get("refinements", []))
    conflicts = _conflicts(sec.get("conflicts", []))
    fields: list[Field] = []
    if shared is not None:
        inherited = [t for t in TABLES if t not in own]
        fields = [f for f in shared.fields if f.table in inherited]
        # A field of the market's own table keeps each shared rule the market does not replace (the MD5 hex sign,
        # the millisecond timestamp's bounds), and the shared conflict when its row has the shared type.
        mine = {f"{f.table}.{f.name}": f for table in own.values() for f in table}
        ruled = {(r.field, r.keyword) for r in refinements}
        argued = {c.field for c in conflicts}
        refinements = _of_tables(shared.refinements, inherited) + tuple(
            r for r in shared.refinements if r.field in mine and (r.field, r.keyword) not in ruled) + refinements
        conflicts = _of_tables(shared.conflicts, inherited) + tuple(
            c for c in shared.conflicts if c.field in mine and c.field not in argued
            and mine[c.field].doc_type == c.table_type) + conflicts
    for table in TABLES:
        fields += own.get(table, ())
    base = shared
    return Contract(
        endpoint=endpoint["name"], market=market, title=endpoint["title"],
        path=about.get("path", base.path if base else endpoint["path"]), sender=endpoint["from"],
        page=about.get("page", ""), stored=about.get("stored", "whole"),
        open_body=about.get("open", "no") == "yes",
        placeholders=tuple(p.strip() for p in about.get("placeholders", "").split(",") if p.strip()),
        fields=tuple(fields), refinements=refinements, conflicts=conflicts,
        example_request=_fenced_json(sec["example request"]) if "example request" in sec else None,
        example_response=_fenced_json(sec["example response"]) if "example response" in sec else None,
        open_questions=tuple(ln[2:].strip() for ln in sec.get("open questions", []) if ln.startswith("- ")),
        reply=tuple((r[0], json.loads(r[1]), r[2]) for r in _rows(sec.get("reply", [])))
        or (base.reply if base else ()),
    )


def parse_spec(text: str) -> Spec:
    """Turn a spec file's text into a :class:`Spec`; raises ``ValueError`` on a malformed row."""
    top = _sections(text, "## ")
    endpoint = {r[0]: r[1] for r in _rows(top["endpoint"])}
    shared = _contract(endpoint, None, _sections("\n".join(top["shared"]), "### "), None)
    markets = {}
    for title, lines in top.items():
        if title.startswith("market "):
            name = title[len("market "):].strip()
            markets[name] = _contract(endpoint, name, _sections("\n".join(lines), "### "), shared)
    return Spec(endpoint["name"], endpoint["title"], endpoint["path"], endpoint["from"], shared, markets)


def with_rows(contract: Contract, *fields: Field) -> Contract:
    """A contract with extra rows (tests add a toy field this way)."""
    return replace(contract, fields=contract.fields + fields)
