"""Turn the documented tables and refinements into JSON Schema (draft 2020-12) documents.

The output is committed under the top-level ``schemas/`` and shipped inside the
wheel; ``vexora-conformance schemas --check`` proves the two never drift.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .tables import ENDPOINTS, Conflict, Field, Spec, load_spec

DRAFT = "https://json-schema.org/draft/2020-12/schema"
ID_PREFIX = "urn:vexora-conformance:schema:"
CONFLICT_KEY = "x-vexora-conflict"
TABLE_KEY = "x-vexora-table"
SOURCE_KEY = "x-vexora-source"
OPEN_KEY = "x-vexora-open-questions"
HEADER_NOTE = "Header names are case-insensitive in HTTP: normalise them before validating. "

# The page's "Type" column, as JSON Schema types ("?": no source says, so no type is asserted).
DOC_TYPES: dict[str, str | None] = {"String": "string", "long": "integer", "Object": "object", "List": "array",
                                    "?": None}
# The JSON type of a value in the page's example, as the conflicts table names it.
EXAMPLE_TYPES = {"string": "string", "integer": "integer", "boolean": "boolean"}
# A conflicts row whose example leaves the field out: required by the table only.
ABSENT = "absent"
# (spec table, file-name part, title words)
_TABLES = (("header", "request-headers", "request headers"), ("body", "request-body", "request body"),
           ("response", "response-body", "response body"))


def _schema_names() -> dict[str, tuple[str, str, str, bool]]:
    """name -> (endpoint, table, title, strict): each table of each spec, and a strict twin where it has conflicts."""
    names: dict[str, tuple[str, str, str, bool]] = {}
    for endpoint in ENDPOINTS:
        spec = load_spec(endpoint)
        for table, part, words in _TABLES:
            if not spec.has_table(table):
                continue
            names[f"{endpoint}-{part}"] = (endpoint, table, f"{spec.title} {words}", False)
            if any(c.field.startswith(table + ".") for c in spec.conflicts):
                names[f"{endpoint}-{part}.strict"] = (endpoint, table, f"{spec.title} {words} (strict: tables only)",
                                                      True)
    return names


SCHEMAS = _schema_names()


def _field_schema(spec: Spec, field: Field, strict: bool) -> dict[str, Any]:
    path = f"{field.table}.{field.name}"
    json_type: Any = DOC_TYPES[field.doc_type]
    schema: dict[str, Any] = {"description": field.description}
    schema[TABLE_KEY] = {"required": field.required, "type": field.doc_type}
    if field.source:
        schema[SOURCE_KEY] = field.source
    conflict = spec.conflict_for(path)
    if conflict is not None:
        reading = "the table's" + (" requirement" if conflict.example_type == ABSENT else " type")
        schema[CONFLICT_KEY] = {
            "table": conflict.table_type,
            "example": conflict.example_type,
            "exampleValue": conflict.example_value,
            "note": "the page's table and its own example disagree; "
            + (f"strict mode accepts only {reading}" if strict else "both readings are accepted"),
        }
        if not strict and conflict.example_type != ABSENT:
            json_type = [json_type, EXAMPLE_TYPES[conflict.example_type]]
    if json_type is not None:
        schema["type"] = json_type
    for ref in spec.refinements_for(path):
        if ref.keyword == "nullable-unless-success":
            schema["type"] = [json_type, "null"]
        else:
            schema[ref.keyword] = ref.value
    return schema


def _object_schema(spec: Spec, fields: list[Field], strict: bool, parent: str = "") -> dict[str, Any]:
    """Properties for the rows directly under ``parent``; ``data.x`` rows nest under ``data``."""
    props: dict[str, Any] = {}
    required: list[str] = []
    for field in fields:
        short = field.name[len(parent):]
        if not field.name.startswith(parent) or "." in short:
            continue
        sub = _field_schema(spec, field, strict)
        if any(f.name.startswith(field.name + ".") for f in fields):
            nested = _object_schema(spec, fields, strict, parent=field.name + ".")
            sub["required"], sub["properties"] = nested["required"], nested["properties"]
        props[short] = sub
        if field.required and (strict or not _absent_in_example(spec.conflict_for(f"{field.table}.{field.name}"))):
            required.append(short)
    return {"type": "object", "required": required, "properties": props}


def _absent_in_example(conflict: Conflict | None) -> bool:
    return conflict is not None and conflict.example_type == ABSENT


def _success_gate(spec: Spec) -> dict[str, Any] | None:
    """``data`` may be null on an error envelope, but must be an object when ``code`` says success."""
    for ref in spec.refinements:
        if ref.keyword == "nullable-unless-success":
            name = ref.field.split(".", 1)[1]
            return {
                "if": {"required": ["code"], "properties": {"code": {"const": ref.value}}},
                "then": {"properties": {name: {"type": "object"}}},
            }
    return None


def build_schema(name: str, spec: Spec | None = None) -> dict[str, Any]:
    endpoint, table, title, strict = SCHEMAS[name]
    spec = spec or load_spec(endpoint)
    fields = list(spec.table(table))
    doc: dict[str, Any] = {
        "$schema": DRAFT,
        "$id": f"{ID_PREFIX}{endpoint}:{name}",
        "title": title,
        "description": (
            "Generated by vexora-conformance from the provider's documented tables "
            f"(vexora_conformance/contract/spec/{endpoint}.md); do not edit by hand. "
            + (HEADER_NOTE if table == "header" else "")
            + (f"Fields marked {CONFLICT_KEY} are where the page's table and example disagree." * bool(spec.conflicts))
        ),
    }
    if spec.open_questions:
        doc[OPEN_KEY] = list(spec.open_questions)
    doc.update(_object_schema(spec, fields, strict))
    if table == "response":
        gate = _success_gate(spec)
        if gate:
            doc.update(gate)
    return doc


def render(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def generated_files(spec: Spec | None = None) -> dict[str, str]:
    """File name -> exact text the generator writes."""
    return {f"{name}.schema.json": render(build_schema(name, spec)) for name in SCHEMAS}


def write(directory: Path) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    for fname, text in generated_files().items():
        (directory / fname).write_text(text, encoding="utf-8")
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
        for extra in sorted(p.name for p in directory.glob("*.json")):
            if extra not in expected:
                problems.append(f"not generated (remove it): {directory / extra}")
    return problems
