"""Turn each endpoint's documented tables into JSON Schema (draft 2020-12) documents, per market.

A market whose page is stored gets ``schemas/<market>/<endpoint>-<part>.schema.json``; the shared shape (what
a market with no stored page is judged by) is ``schemas/shared/...``; ``schemas/index.json`` says, for every
market and endpoint, which schema judges it and on what page it rests. A strict twin (``.strict``) follows the
tables literally where another reading contradicts them. The output is committed and shipped inside the wheel;
``vexora-conformance schemas --check`` proves the two never drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from ..markets import MARKETS
from .tables import Contract, Field, Strength

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "urn:vexora-conformance:schema:"
CONFLICT_KEY = "x-vexora-conflict"
TABLE_KEY = "x-vexora-table"
SOURCE_KEY = "x-vexora-source"
OPEN_KEY = "x-vexora-open-questions"
SHOULD_KEY = "x-vexora-should"  # what the page advises but does not require: a warning, never an error
PAGE_KEY = "x-vexora-page"
HEADER_NOTE = "Header names are case-insensitive in HTTP: normalise them before validating. "
INDEX = "index.json"
OPENAPI = "openapi.json"  # one per market, beside its schemas

# The page's "Type" column, as JSON Schema types ("?": no source says, so no type is asserted).
DOC_TYPES: dict[str, str | None] = {
    "String": "string", "string": "string", "long": "integer", "integer": "integer", "Integer": "integer",
    "float": "number", "Float": "number", "Boolean": "boolean", "Object": "object", "List": "array", "?": None,
}
# The JSON type of a value in another reading (the page's example, another page), as a conflicts row names it.
EXAMPLE_TYPES = {"string": "string", "integer": "integer", "number": "number", "boolean": "boolean"}
# A conflicts row whose example leaves the field out: required by the table only.
ABSENT = "absent"
# (spec table, file-name part, title words)
PARTS = (("header", "request-headers", "request headers"), ("body", "request-body", "request body"),
         ("response", "response-body", "response body"))


@dataclass(frozen=True)
class SchemaName:
    """Where one generated schema comes from."""

    endpoint: str
    variant: str  # a market, or "shared"
    table: str
    part: str
    strict: bool

    @property
    def name(self) -> str:
        return f"{self.variant}/{self.endpoint}-{self.part}" + (".strict" if self.strict else "")


def _renamed(contract: Contract, path: str) -> str | None:
    """The other name a conflicts row gives a field (``paymentLink`` for ``paymentUrl``), if it names one."""
    c = contract.conflict_for(path)
    if c is None or c.example_type in EXAMPLE_TYPES or c.example_type == ABSENT:
        return None
    return c.example_type


def _has_conflict(contract: Contract, table: str) -> bool:
    prefix = table + "."
    return any(c.field.startswith(prefix) for c in contract.conflicts) or any(
        r.field.startswith(prefix) and r.strength is Strength.CONFLICT for r in contract.refinements)


@cache
def schema_names() -> dict[str, SchemaName]:
    """name -> SchemaName: each table of each contract, and a strict twin where it has conflicts."""
    from ..registry import ENDPOINTS

    names: dict[str, SchemaName] = {}
    for endpoint in ENDPOINTS.values():
        for contract in endpoint.spec.contracts():
            for table, part, _ in PARTS:
                if not contract.has_table(table):
                    continue
                for strict in (False, True):
                    if strict and not _has_conflict(contract, table):
                        continue
                    n = SchemaName(endpoint.name, contract.variant, table, part, strict)
                    names[n.name] = n
    return names


def schema_for(endpoint: str, variant: str, part: str, strict: bool) -> str | None:
    """The name of the schema of a contract's part (strict falls back to the plain one without conflicts)."""
    names = schema_names()
    plain = f"{variant}/{endpoint}-{part}"
    if strict and f"{plain}.strict" in names:
        return f"{plain}.strict"
    return plain if plain in names else None


def _contract(n: SchemaName) -> Contract:
    from ..registry import ENDPOINTS

    spec = ENDPOINTS[n.endpoint].spec
    return spec.shared if n.variant == "shared" else spec.markets[n.variant]


def _field_schema(contract: Contract, field: Field, strict: bool) -> dict[str, Any]:
    path = f"{field.table}.{field.name}"
    json_type: Any = DOC_TYPES[field.doc_type]
    schema: dict[str, Any] = {"description": field.description}
    schema[TABLE_KEY] = {"required": field.required, "type": field.doc_type}
    if field.source:
        schema[SOURCE_KEY] = field.source
    conflict = contract.conflict_for(path)
    if conflict is not None:
        renamed = _renamed(contract, path)
        reading = "the table's" + (" requirement" if conflict.example_type == ABSENT else
                                   " name" if renamed else " type")
        schema[CONFLICT_KEY] = {
            "table": conflict.table_type,
            "example": conflict.example_type,
            "exampleValue": conflict.example_value,
            "source": conflict.source,
            "note": "the page's table and another reading disagree; "
            + (f"strict mode accepts only {reading}" if strict else "both readings are accepted"),
        }
        if not strict and conflict.example_type in EXAMPLE_TYPES:
            json_type = [json_type, EXAMPLE_TYPES[conflict.example_type]]
    if json_type is not None:
        schema["type"] = json_type
    should: dict[str, Any] = {}
    for ref in contract.refinements_for(path):
        if ref.keyword == "nullable-unless-success":
            schema["type"] = [*(json_type if isinstance(json_type, list) else [json_type]), "null"]
        elif ref.strength is Strength.SHOULD or (ref.strength is Strength.CONFLICT and not strict):
            should[ref.keyword] = ref.value
            if ref.strength is Strength.CONFLICT:
                schema.setdefault(CONFLICT_KEY, {"table": {ref.keyword: ref.value}, "example": "breaks it",
                                                 "source": ref.source,
                                                 "note": "the page's own example breaks this rule: a warning by "
                                                         "default, an error in strict mode"})
        else:
            if ref.keyword in schema:
                raise ValueError(f"{contract.endpoint}/{contract.variant}: two {ref.keyword} rules on {path}")
            schema[ref.keyword] = ref.value
    if should:
        schema[SHOULD_KEY] = should
    return schema


def _object_schema(contract: Contract, fields: list[Field], strict: bool, parent: str = "") -> dict[str, Any]:
    """Properties for the rows directly under ``parent``; ``data.x`` rows nest under ``data``."""
    props: dict[str, Any] = {}
    required: list[str] = []
    either: list[list[str]] = []
    for field in fields:
        short = field.name[len(parent):]
        if not field.name.startswith(parent) or "." in short:
            continue
        sub = _field_schema(contract, field, strict)
        if any(f.name.startswith(field.name + ".") for f in fields):
            nested = _object_schema(contract, fields, strict, parent=field.name + ".")
            sub.update({k: v for k, v in nested.items() if k != "type"})
        props[short] = sub
        path = f"{field.table}.{field.name}"
        conflict = contract.conflict_for(path)
        renamed = _renamed(contract, path)
        if renamed is not None:
            alias = {k: v for k, v in sub.items() if k not in (CONFLICT_KEY, TABLE_KEY, SOURCE_KEY)}
            props[renamed] = {**alias, "description": f"{field.name} as another reading names it ({conflict.source})"
                              if conflict else alias["description"]}
        if not field.required:
            continue
        if renamed is not None and not strict:
            either.append([short, renamed])
        elif strict or conflict is None or conflict.example_type != ABSENT:
            required.append(short)
    out: dict[str, Any] = {"type": "object", "required": required, "properties": props}
    if len(either) == 1:
        out["anyOf"] = [{"required": [name]} for name in either[0]]
    elif either:
        out["allOf"] = [{"anyOf": [{"required": [name]} for name in pair]} for pair in either]
    return out


def _success_gate(contract: Contract) -> dict[str, Any] | None:
    """``data`` may be null on an error envelope, but must be what the table says when ``code`` says success."""
    for ref in contract.refinements:
        if ref.keyword == "nullable-unless-success" and ref.field.startswith("response."):
            name = ref.field.split(".", 1)[1]
            row = next(f for f in contract.table("response") if f.name == name)
            kind = DOC_TYPES[row.doc_type]
            return {
                "if": {"required": ["code"], "properties": {"code": {"const": ref.value}}},
                "then": {"properties": {name: {"type": kind}}},
            }
    return None


def build_schema(name: str) -> dict[str, Any]:
    n = schema_names()[name]
    contract = _contract(n)
    fields = list(contract.table(n.table))
    words = next(w for t, _, w in PARTS if t == n.table)
    market = "the shape every market without a stored page shares" if n.variant == "shared" else n.variant
    doc: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"{ID_PREFIX}{n.variant}:{n.endpoint}-{n.part}" + (".strict" if n.strict else ""),
        "title": f"{contract.title} {words}, {market}" + (" (strict: tables only)" if n.strict else ""),
        "description": (
            "Generated by vexora-conformance from the provider's documented tables "
            f"(vexora_conformance/contract/endpoints/{n.endpoint.replace('-', '_')}.md); do not edit by hand. "
            + (HEADER_NOTE if n.table == "header" else "")
            + (f"Fields marked {CONFLICT_KEY} are where the page's table and another reading disagree. "
               * _has_conflict(contract, n.table))
            + (f"{SHOULD_KEY} holds what the page advises but does not require." * any(
                r.strength is not Strength.MUST for r in contract.refinements if r.field.startswith(n.table)))
        ).strip(),
        PAGE_KEY: {"page": contract.page, "stored": contract.stored},
    }
    if contract.open_questions:
        doc[OPEN_KEY] = list(contract.open_questions)
    doc.update(_object_schema(contract, fields, n.strict))
    if n.table == "response":
        gate = _success_gate(contract)
        if gate:
            doc.update(gate)
    return doc


def index() -> dict[str, Any]:
    """For every market and endpoint: the schemas that judge it, and the page they rest on."""
    from ..registry import ENDPOINTS

    out: dict[str, Any] = {}
    for market in sorted(MARKETS):
        entry: dict[str, Any] = {}
        for endpoint in ENDPOINTS.values():
            contract = endpoint.contract(market)
            entry[endpoint.name] = {
                "variant": contract.variant, "page": contract.page, "stored": contract.stored,
                "schemas": {part: schema_for(endpoint.name, contract.variant, part, False)
                            for _, part, _ in PARTS if contract.has_table(_table(part))},
            }
        out[market] = entry
    return out


def _table(part: str) -> str:
    return next(t for t, p, _ in PARTS if p == part)


def render(doc: Any) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def generated_files() -> dict[str, str]:
    """File path (relative to the schemas folder) -> exact text the generator writes."""
    from .openapi import openapi

    files = {f"{name}.schema.json": render(build_schema(name)) for name in schema_names()}
    files[INDEX] = render(index())
    files.update((f"{market}/{OPENAPI}", render(openapi(market))) for market in sorted(MARKETS))
    return files


def write(directory: Path) -> list[str]:
    for fname, text in generated_files().items():
        path = directory / fname
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return sorted(generated_files())


def differences(directory: Path) -> list[str]:
    """One line per file that is missing, stale, or not generated; empty when in sync."""
    expected = generated_files()
    problems = []
    for fname, text in sorted(expected.items()):
        path = directory / fname
        if not path.is_file():
            problems.append(f"missing: {path}")
        elif path.read_text(encoding="utf-8") != text:
            problems.append(f"stale: {path}")
    if directory.is_dir():
        for extra in sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*.json")):
            if extra not in expected:
                problems.append(f"not generated (remove it): {directory / extra}")
    return problems
