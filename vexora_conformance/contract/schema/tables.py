"""Read the documented tables (``spec/<endpoint>.md``) into plain data.

Each spec file reads like the provider's page; this module is the only place
that knows their layout, so everything downstream works on typed rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

ENDPOINTS = ("checkout", "query", "notify")  # one spec file each, in the order reports list them


@dataclass(frozen=True)
class Field:
    """One documented row: where it lives (header/body/response), its name, flag, type."""

    table: str
    name: str
    required: bool
    doc_type: str  # the page's Type column; "?" where no source says
    description: str
    source: str = ""  # [page], [int] or [guess]; empty for the Checkout page's own rows


@dataclass(frozen=True)
class Refinement:
    """A constraint the page states in prose, with the sentence it comes from."""

    field: str  # "body.amount", "response.data.paymentUrl"
    keyword: str
    value: Any
    source: str


@dataclass(frozen=True)
class Conflict:
    """A place where the page's table and its own example disagree."""

    field: str
    table_type: str
    example_type: str
    example_value: Any


@dataclass(frozen=True)
class Spec:
    """One endpoint as documented: who sends it, its tables, and what the sources leave open."""

    name: str  # "checkout", "query", "notify"
    title: str
    path: str
    sender: str  # "merchant" (a request to the provider) or "provider" (the notification)
    way_codes: tuple[tuple[str, str], ...]
    fields: tuple[Field, ...]
    refinements: tuple[Refinement, ...]
    conflicts: tuple[Conflict, ...]
    example_request: dict[str, Any]
    example_response: dict[str, Any] | None = None
    open_questions: tuple[str, ...] = ()
    reply: tuple[tuple[str, Any, str], ...] = ()  # (key, value, source): how a notification is answered

    def table(self, name: str) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.table == name)

    def refinements_for(self, field: str) -> tuple[Refinement, ...]:
        return tuple(r for r in self.refinements if r.field == field)

    def conflict_for(self, field: str) -> Conflict | None:
        return next((c for c in self.conflicts if c.field == field), None)

    def has_table(self, name: str) -> bool:
        return any(f.table == name for f in self.fields)

    def reply_fact(self, key: str) -> Any:
        return next(value for k, value, _ in self.reply if k == key)


def _sections(text: str) -> dict[str, list[str]]:
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
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


def parse_spec(text: str) -> Spec:
    """Turn a spec file's text into a :class:`Spec`; raises ``ValueError`` on a malformed row."""
    sec = _sections(text)
    endpoint = {r[0]: r[1] for r in _rows(sec["endpoint"])}
    fields: list[Field] = []
    for table in ("header", "body", "response"):
        for row in _rows(sec.get(table, [])):
            if len(row) not in (4, 5) or row[1] not in ("Yes", "No"):
                raise ValueError(f"spec table {table!r}: malformed row {row!r}")
            fields.append(Field(table, row[0], row[1] == "Yes", row[2], row[3], row[4] if len(row) == 5 else ""))
    refinements = tuple(
        Refinement(r[0], r[1], json.loads(r[2]), r[3]) for r in _rows(sec["refinements"])
    )
    conflicts = tuple(Conflict(r[0], r[1], r[2], json.loads(r[3])) for r in _rows(sec["conflicts"]))
    return Spec(
        name=endpoint["name"], title=endpoint["title"], path=endpoint["path"], sender=endpoint["from"],
        way_codes=tuple((r[0], r[1]) for r in _rows(sec.get("wayCode", []))),
        fields=tuple(fields),
        refinements=refinements,
        conflicts=conflicts,
        example_request=_fenced_json(sec["example request"]),
        example_response=_fenced_json(sec["example response"]) if "example response" in sec else None,
        open_questions=tuple(ln[2:].strip() for ln in sec.get("open questions", []) if ln.startswith("- ")),
        reply=tuple((r[0], json.loads(r[1]), r[2]) for r in _rows(sec.get("reply", []))),
    )


@cache
def load_spec(name: str = "checkout") -> Spec:
    """An endpoint's packaged spec (``checkout``, ``query``, ``notify``), parsed once."""
    if name not in ENDPOINTS:
        raise KeyError(f"unknown endpoint {name!r}; known: {', '.join(ENDPOINTS)}")
    spec_dir = resources.files("vexora_conformance.contract").joinpath("spec")
    return parse_spec(spec_dir.joinpath(f"{name}.md").read_text("utf-8"))
