"""Load the generated JSON Schemas and compile them into fast checkers.

The schemas are read from the installed package (the wheel ships them as
``vexora_conformance/schemas/``) or, in a source checkout, from the top-level
``schemas/``. ``compile_schema`` understands exactly the keywords the
generator writes and refuses any other, so it cannot silently ignore a rule;
a differential test holds it to jsonschema's verdicts. The judge uses it
because jsonschema costs ~165 ms to import and tens of microseconds per record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ...core.urls import MAX_LABEL, http_url_problem
from .generate import CONFLICT_KEY, SHOULD_KEY, schema_names

ANNOTATIONS = {"$schema", "$id", "title", "description"}


@dataclass(frozen=True)
class SchemaIssue:
    """One way an instance breaks a schema; the message never repeats the value."""

    pointer: str  # JSON pointer of the offending value ("" for the root)
    keyword: str  # the JSON Schema keyword that failed, or "conflict"
    message: str


Check = Callable[[Any, str, list[SchemaIssue]], None]


def schema_dir() -> Path:
    """Where the schema files are: inside the installed package, else the checkout's ``schemas/``."""
    packaged = Path(str(resources.files("vexora_conformance"))) / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "schemas"


@cache
def load_schema(name: str) -> dict[str, Any]:
    """A schema document by name (``mexico/checkout-request-body``, ``...strict``); see ``schema_names``."""
    if name not in schema_names():
        raise KeyError(f"unknown schema {name!r}; known: {', '.join(schema_names())}")
    path = schema_dir() / f"{name}.schema.json"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


# --- JSON types, as JSON Schema sees them (bool is not an integer; 3.0 is) ---


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _is_type(value: Any, expected: str) -> bool:
    actual = json_type(value)
    if expected == "integer" and actual == "number":
        return float(value).is_integer()
    if expected == "number":
        return actual in ("integer", "number")
    return actual == expected


TYPE_WORDS = {"string": "a string", "integer": "an integer", "number": "a number", "boolean": "a boolean",
              "object": "an object", "array": "an array", "null": "null"}

# --- formats: checked without extra dependencies, the same way for every door ---

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def is_email(value: str) -> bool:
    return bool(EMAIL.fullmatch(value))


def ecma_regex(pattern: str) -> re.Pattern[str]:
    """A JSON Schema (ECMA-262) pattern compiled with its meaning in Python.

    ECMA's ``$`` matches only at the end of the text; Python's also before a final newline, so ``"300\n"``
    would pass ``^[0-9]+$``. Every unescaped ``$`` outside a character class becomes ``\\Z``.
    """
    out, in_class, escaped = [], False, False
    for ch in pattern:
        if escaped:
            out.append(ch)
            escaped = False
        elif ch == "\\":
            out.append(ch)
            escaped = True
        elif ch == "[":
            in_class = True
            out.append(ch)
        elif ch == "]":
            in_class = False
            out.append(ch)
        elif ch == "$" and not in_class:
            out.append(r"\Z")
        else:
            out.append(ch)
    return re.compile("".join(out))


# scheme://host[:port] then only characters urlsplit neither strips nor refuses: certainly a URI with a host.
_PLAIN_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[A-Za-z0-9._~-]+(?::[0-9]*)?(?:[/?#][!-~]*)?\Z")


def is_uri(value: str) -> bool:
    """A scheme and a host, as ``urlsplit`` reads them; an http(s) one must also be callable (a port that is a
    number, DNS-sized labels: ``core.urls``, the rule the notifier follows). The plain common form with a short
    host and no port is decided without parsing."""
    if _PLAIN_URI.match(value):
        host = value.split("/", 3)[2]
        if len(host) <= MAX_LABEL and ":" not in host and ".." not in host and not host.startswith("."):
            return True
    if value[:5].lower() in ("http:", "https") and value[:8].lower().startswith(("http://", "https://")):
        return http_url_problem(value) is None
    if not value.isprintable():  # urlsplit quietly drops tabs and newlines (WHATWG): a URI holds none
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc)


FORMATS: dict[str, Callable[[str], bool]] = {"email": is_email, "uri": is_uri}


def format_checker() -> Any:
    """A ``jsonschema.FormatChecker`` that asserts the same formats as the compiled checkers."""
    import jsonschema  # deferred: 165 ms to import

    checker = jsonschema.FormatChecker(formats=())
    for name, fn in FORMATS.items():
        # jsonschema hands formats every type; like the compiled checkers, only strings are judged.
        checker.checks(name)(lambda value, fn=fn: not isinstance(value, str) or fn(value))
    return checker


@cache
def validator(name: str) -> Any:
    """A jsonschema Draft 2020-12 validator for a bundled schema, formats asserted (built once per name)."""
    import jsonschema

    return jsonschema.Draft202012Validator(load_schema(name), format_checker=format_checker())


# --- the compiler ---


def compile_schema(schema: dict[str, Any]) -> Callable[[Any], list[SchemaIssue]]:
    """A function returning every issue of an instance, in document order."""
    check = _compile(schema)

    def run(instance: Any) -> list[SchemaIssue]:
        issues: list[SchemaIssue] = []
        check(instance, "", issues)
        return issues

    return run


def _compile(schema: dict[str, Any]) -> Check:
    unknown = set(schema) - ANNOTATIONS - set(_KEYWORDS) - {"then"}
    unknown = {k for k in unknown if not k.startswith("x-")}
    if unknown:
        raise ValueError(f"schema keyword(s) not supported by the compiler: {sorted(unknown)}")
    rest = tuple(_KEYWORDS[k](schema) for k in _KEYWORDS if k in schema and k != "type")
    if SHOULD_KEY in schema:
        rest = (*rest, _should(schema[SHOULD_KEY]))
    if "type" not in schema:
        def unchecked_type(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
            for c in rest:
                c(value, ptr, out)

        return unchecked_type
    type_check = _type(schema)
    exact = _exact_types(schema)

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        # Fast path: the value's exact Python type is one the schema allows. Otherwise ask the full
        # type check; a value of the wrong type gets one issue, not a cascade of pattern/format noise.
        if type(value) not in exact:
            before = len(out)
            type_check(value, ptr, out)
            if len(out) > before:
                return
        for c in rest:
            c(value, ptr, out)

    return check


# Exact Python types that satisfy a JSON type without further thought (the fast path).
_EXACT = {"string": (str,), "object": (dict,), "array": (list,), "boolean": (bool,), "integer": (int,),
          "number": (int, float), "null": (type(None),)}


def _types(schema: dict[str, Any]) -> list[str]:
    return schema["type"] if isinstance(schema["type"], list) else [schema["type"]]


def _exact_types(schema: dict[str, Any]) -> frozenset[type]:
    return frozenset(cls for t in _types(schema) for cls in _EXACT[t])


def _type(schema: dict[str, Any]) -> Check:
    types = _types(schema)
    conflict = schema.get(CONFLICT_KEY)
    words = " or ".join(TYPE_WORDS[t] for t in types)

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        if any(_is_type(value, t) for t in types):
            return
        actual = json_type(value)
        if conflict and actual == conflict["example"]:
            out.append(SchemaIssue(ptr, "conflict", f"is {TYPE_WORDS[actual]} as in the page's example, "
                                   f"but the page's table documents {conflict['table']}"))
        else:
            out.append(SchemaIssue(ptr, "type", f"must be {words}, got {TYPE_WORDS.get(actual, actual)}"))

    return check


def _required(schema: dict[str, Any]) -> Check:
    names = tuple(schema["required"])
    props = schema.get("properties", {})
    # A field another reading names differently (paymentUrl / paymentLink): that name present is the conflict.
    renamed = {n: props[n][CONFLICT_KEY]["example"] for n in names
               if isinstance(props.get(n), dict) and CONFLICT_KEY in props[n]
               and props[n][CONFLICT_KEY].get("example") not in (None, "absent", *TYPE_WORDS)}

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        if isinstance(value, dict):
            for n in names:
                if n in value:
                    continue
                other = renamed.get(n)
                if other is not None and other in value:
                    out.append(SchemaIssue(f"{ptr}/{n}", "conflict", f"is sent as {other}, as another reading "
                                           f"names it, but the page's table names it {n}"))
                else:
                    out.append(SchemaIssue(f"{ptr}/{n}", "required", "is required but missing"))

    return check


def _any_of(schema: dict[str, Any]) -> Check:
    options = [_compile(sub) for sub in schema["anyOf"]]
    required = [sub.get("required") for sub in schema["anyOf"]]
    words = " or ".join("/".join(r) for r in required if r) or "one of its alternatives"

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        for option in options:
            probe: list[SchemaIssue] = []
            option(value, ptr, probe)
            if not probe:
                return
        if all(required):  # alternatives of required names: say which field is missing
            out.append(SchemaIssue(f"{ptr}/{required[0][0]}", "required", f"is required but missing (or {words})"))
        else:
            out.append(SchemaIssue(ptr, "anyOf", f"matches none of {words}"))

    return check


def _all_of(schema: dict[str, Any]) -> Check:
    parts = tuple(_compile(sub) for sub in schema["allOf"])

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        for part in parts:
            part(value, ptr, out)

    return check


def _should(advice: dict[str, Any]) -> Check:
    """What the page advises: broken, it is a "should" issue (a warning), never one of the keywords' own."""
    inner = _compile(advice)

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        probe: list[SchemaIssue] = []
        inner(value, ptr, probe)
        if probe:
            out.append(SchemaIssue(ptr, "should", probe[0].message.replace("does not match the documented format",
                                                                         "does not match what the page advises")))

    return check


def _properties(schema: dict[str, Any]) -> Check:
    children = {name: _compile(sub) for name, sub in schema["properties"].items()}

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        if isinstance(value, dict):
            for name, child in children.items():
                if name in value:
                    child(value[name], f"{ptr}/{name}", out)

    return check


def _pattern(schema: dict[str, Any]) -> Check:
    source = schema["pattern"]
    rx = ecma_regex(source)

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        if isinstance(value, str) and not rx.search(value):
            out.append(SchemaIssue(ptr, "pattern", f"does not match the documented format {source}"))

    return check


def _enum(schema: dict[str, Any]) -> Check:
    allowed = schema["enum"]
    shown = ", ".join(json.dumps(a) for a in allowed)
    strings = frozenset(a for a in allowed if isinstance(a, str))

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        if type(value) is str and value in strings:
            return  # the common case, without the general comparison below
        if not any(value == a and json_type(value) == json_type(a) for a in allowed):
            out.append(SchemaIssue(ptr, "enum", f"is not one of the documented values ({shown})"))

    return check


def _const(schema: dict[str, Any]) -> Check:
    expected = schema["const"]

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        if not (value == expected and json_type(value) == json_type(expected)):
            out.append(SchemaIssue(ptr, "const", f"must be {json.dumps(expected)}"))

    return check


def _format(schema: dict[str, Any]) -> Check:
    name = schema["format"]
    test = FORMATS[name]

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        if isinstance(value, str) and not test(value):
            out.append(SchemaIssue(ptr, "format", f"is not a valid {name}"))

    return check


def _bound(keyword: str) -> Callable[[dict[str, Any]], Check]:
    def build(schema: dict[str, Any]) -> Check:
        limit = schema[keyword]
        below = keyword == "minimum"

        def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
            # type() is exact: a bool is not a number here, as in JSON Schema.
            if type(value) in (int, float) and (value < limit if below else value > limit):
                word = "at least" if below else "at most"
                out.append(SchemaIssue(ptr, keyword, f"must be {word} {limit}"))

        return check

    return build


def _min_length(schema: dict[str, Any]) -> Check:
    limit = schema["minLength"]

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        if isinstance(value, str) and len(value) < limit:
            words = "must not be empty" if limit == 1 else f"needs at least {limit} characters"
            out.append(SchemaIssue(ptr, "minLength", words))

    return check


def _max_length(schema: dict[str, Any]) -> Check:
    limit = schema["maxLength"]

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        if isinstance(value, str) and len(value) > limit:
            out.append(SchemaIssue(ptr, "maxLength", f"has more than {limit} characters"))

    return check


def _if_then(schema: dict[str, Any]) -> Check:
    condition = _compile(schema["if"])
    then = _compile(schema.get("then", {}))

    def check(value: Any, ptr: str, out: list[SchemaIssue]) -> None:
        probe: list[SchemaIssue] = []
        condition(value, ptr, probe)
        if not probe:
            then(value, ptr, out)

    return check


# "type" is handled by _compile itself (fast path, and it stops cascades); listed so it is known.
_KEYWORDS: dict[str, Callable[[dict[str, Any]], Check]] = {
    "type": _type,
    "required": _required,
    "properties": _properties,
    "enum": _enum,
    "const": _const,
    "pattern": _pattern,
    "format": _format,
    "minimum": _bound("minimum"),
    "maximum": _bound("maximum"),
    "minLength": _min_length,
    "maxLength": _max_length,
    "anyOf": _any_of,
    "allOf": _all_of,
    "if": _if_then,
}


# --- the fast path: one generated function that only *accepts* ---
#
# ``fast_accept(schema)`` returns a predicate that is True only when the instance
# is certainly valid; anything unusual (a float where an integer may be, an
# unknown shape) makes it return False, and the closure checker above then
# decides and explains. It must never accept an invalid instance: a differential
# property test holds it to that. It exists because per-keyword closures cost
# more than parsing and hashing a record together.


class _Source:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.env: dict[str, Any] = {"_formats": FORMATS}
        self.count = 0

    def name(self, value: Any) -> str:
        self.count += 1
        key = f"_c{self.count}"
        self.env[key] = value
        return key

    def emit(self, depth: int, text: str) -> None:
        self.lines.append("    " * depth + text)


_PY_TYPES = {"string": "str", "object": "dict", "array": "list", "boolean": "bool", "integer": "int",
             "null": "type(None)"}


_CACHED = 256  # accepted strings remembered per checked field: captures repeat URLs, amounts, e-mails
_CACHED_LENGTH = 512  # ... of at most this many characters: 256 hostile megabyte URLs are not kept


def _emit_node(src: _Source, schema: dict[str, Any], var: str, depth: int) -> None:
    """Statements that ``return False`` unless ``var`` certainly satisfies ``schema``."""
    types = _types(schema) if "type" in schema else None
    known_str = False
    if types is not None:
        if any(t not in _PY_TYPES for t in types):
            src.emit(depth, "return False")  # "number" and friends: let the full checker decide
            return
        if types == ["string"]:
            src.emit(depth, f"if type({var}) is not str: return False")
            known_str = True
        else:
            allowed = ", ".join(_PY_TYPES[t] for t in types)
            src.emit(depth, f"if type({var}) not in ({allowed},): return False")
    if "enum" in schema:
        if known_str and all(type(a) is str for a in schema["enum"]):
            src.emit(depth, f"if {var} not in {src.name(frozenset(schema['enum']))}: return False")
        else:
            src.emit(depth, f"if not any({var} == a and type({var}) is type(a) for a in "
                            f"{src.name(schema['enum'])}): return False")
    if "const" in schema:
        c = src.name(schema["const"])
        src.emit(depth, f"if not ({var} == {c} and type({var}) is type({c})): return False")
    string_checks = []
    if "pattern" in schema:
        string_checks.append(f"not {src.name(ecma_regex(schema['pattern']).search)}({var})")
    if "format" in schema:
        string_checks.append(f"not _formats[{schema['format']!r}]({var})")
    if "minLength" in schema:
        string_checks.append(f"len({var}) < {int(schema['minLength'])}")
    if "maxLength" in schema:
        string_checks.append(f"len({var}) > {int(schema['maxLength'])}")
    if string_checks:
        guard = "" if known_str else f"type({var}) is str and "
        if "pattern" in schema or "format" in schema:
            # Remember accepted strings (a bounded set): a repeated URL is not parsed again.
            ok = src.name(set())
            src.emit(depth, f"if {guard}{var} not in {ok}:")
            src.emit(depth + 1, f"if {' or '.join(string_checks)}: return False")
            src.emit(depth + 1, f"if len({ok}) < {_CACHED} and len({var}) <= {_CACHED_LENGTH}: {ok}.add({var})")
        else:
            src.emit(depth, f"if {guard}({' or '.join(string_checks)}): return False")
    for keyword, op in (("minimum", "<"), ("maximum", ">")):
        if keyword in schema:
            src.emit(depth, f"if type({var}) is int and {var} {op} {int(schema[keyword])}: return False")
    if "required" in schema:
        names = src.name(frozenset(schema["required"]))
        src.emit(depth, f"if type({var}) is dict and not {var}.keys() >= {names}: return False")
    if "properties" in schema:
        src.emit(depth, f"if type({var}) is dict:")
        present = set(schema.get("required", ()))
        for i, (prop, sub) in enumerate(schema["properties"].items()):
            child = f"{var}_{i}"
            if prop in present:  # checked just above
                src.emit(depth + 1, f"{child} = {var}[{prop!r}]")
                _emit_node(src, sub, child, depth + 1)
                continue
            src.emit(depth + 1, f"{child} = {var}.get({prop!r}, _MISSING)")
            src.emit(depth + 1, f"if {child} is not _MISSING:")
            before = len(src.lines)
            _emit_node(src, sub, child, depth + 2)
            if len(src.lines) == before:
                src.emit(depth + 2, "pass")
    # Rarer keywords are decided by the full checker (an advice must hold too: a record that breaks one is
    # explained, since it has a warning).
    delegated: dict[str, Any] = {k: schema[k] for k in ("anyOf", "allOf") if k in schema}
    if SHOULD_KEY in schema:
        delegated.update(schema[SHOULD_KEY])
    if delegated:
        full = src.name(_compile(delegated))
        src.emit(depth, f"_probe = []; {full}({var}, '', _probe)")
        src.emit(depth, "if _probe: return False")
    if "if" in schema:
        # The condition decided exactly: inline when it only asks for string constants, else by the full checker.
        exact = _string_const_condition(schema["if"])
        if exact is not None:
            needed, consts = exact
            tests = [f"{var}.keys() >= {src.name(needed)}"] + [
                f"({var}.get({k!r}, {c!r}) == {c!r} and type({var}.get({k!r}, {c!r})) is str)"
                for k, c in consts.items()]
            src.emit(depth, f"if type({var}) is not dict or ({' and '.join(tests)}):")
        else:
            condition = src.name(_compile(schema["if"]))
            src.emit(depth, f"_probe = []; {condition}({var}, '', _probe)")
            src.emit(depth, "if not _probe:")
        before = len(src.lines)
        _emit_node(src, schema.get("then", {}), var, depth + 1)
        if len(src.lines) == before:
            src.emit(depth + 1, "pass")


def _string_const_condition(schema: dict[str, Any]) -> tuple[frozenset[str], dict[str, str]] | None:
    """(required names, {name: string constant}) when that is all ``schema`` asks; else None."""
    if not set(schema) <= {"required", "properties"}:
        return None
    consts = {}
    for name, sub in schema.get("properties", {}).items():
        if set(sub) != {"const"} or type(sub["const"]) is not str:
            return None
        consts[name] = sub["const"]
    return frozenset(schema.get("required", ())), consts


def fast_accept(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """A generated predicate: True only for instances that certainly satisfy ``schema``."""
    _compile(schema)  # refuses unknown keywords, exactly as the full checker does
    src = _Source()
    src.env["_MISSING"] = object()
    _emit_node(src, schema, "v", 1)
    code = "def accept(v):\n" + "\n".join(src.lines) + "\n    return True\n"
    exec(compile(code, f"<fast_accept {schema.get('$id', '')}>", "exec"), src.env)
    accept: Callable[[Any], bool] = src.env["accept"]
    return accept


@cache
def acceptor(name: str) -> Callable[[Any], bool]:
    """The fast acceptance predicate of a bundled schema, built once per process."""
    return fast_accept(load_schema(name))


@cache
def checker(name: str) -> Callable[[Any], list[SchemaIssue]]:
    """The checker of a bundled schema, built once per process: fast acceptance, full explanation."""
    accept, explain = acceptor(name), compile_schema(load_schema(name))

    def check(instance: Any) -> list[SchemaIssue]:
        return [] if accept(instance) else explain(instance)

    return check
