"""msgspec Structs generated from the bundled schemas: a body decoded into one is checked in C as it is parsed.

``struct_checker(name)`` turns one schema into a ``StructChecker``: a decoder that
refuses what the schema's types, required fields, string enums, lengths and
integer bounds refuse (and, for a request body, any field the contract does not
document), and a generated predicate for the rest - patterns (plain digit
patterns by string methods, others by regex), formats, an ``if``/``then`` on a
constant, an ``anyOf`` of required names, advice. Like ``compile.fast_accept``
it only *accepts*: a schema keyword or type it does not model makes it decline
the whole schema (None), and any part it cannot decide (a value of a type it
narrowed away, such as a float) fails the decoding, so the caller hands the
record to the explaining path. ``tests/test_structs.py`` holds what it accepts to
jsonschema's verdict; ``tests/test_fastpath.py`` and ``tests/test_fastpath_family.py``
hold it, through ``doors.fastpath``, to the explaining path's on every endpoint's traffic.

Duplicate keys are not seen by a decoder (the last value wins): the generated check
counts the quotes the object has when written with each key once and compares them
with the text's own count (the text has no escaped quote: the caller sees to that).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from operator import attrgetter
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import msgspec

from ..signing.reference import SIGN_KEY, java_order_key
from .compile import _CACHED, _CACHED_LENGTH, FORMATS, _compile, ecma_regex, load_schema

UNSET = msgspec.UNSET
UnsetType = msgspec.UnsetType
_SCALARS = {"string": str, "integer": int, "boolean": bool, "null": type(None)}
_DIGITS = re.compile(r"\^\[0-9\](\+|\{(\d+)\}|\{(\d+),(\d+)\})\$")  # ^[0-9]+$, ^[0-9]{n}$, ^[0-9]{n,m}$
_NODE_KEYWORDS = {"type", "enum", "pattern", "format", "minLength", "maxLength", "minimum", "maximum",
                  "required", "properties", "anyOf", "x-vexora-should"}
_ANNOTATIONS = {"description", "title", "$schema", "$id"}
_MD5_HEX = "^[0-9a-f]{32}$"
# The pages' URL patterns, each with a regex of the plain URLs that both it and the "uri" format accept
# (compile.is_uri's fast case): a host of 1 to 63 of _PLAIN_URI's host characters, not starting with a dot and
# without "..", then nothing or a path of printable ASCII without a backslash.
_PLAIN_HOST = r"(?!\.)(?!(?:[^/]*\.\.|[^/]{64}))[A-Za-z0-9._~-]+(?:/[!-\[\]-~]*)?\Z"
_PLAIN_URLS = {"^https?://[^\\s\\\\]+$": re.compile("https?://" + _PLAIN_HOST),
               "^https://[^\\s\\\\]+$": re.compile("https://" + _PLAIN_HOST)}


class Declined(Exception):
    """The schema asks for something the generator does not model: the caller keeps the general fast path."""


@dataclass(frozen=True)
class StructChecker:
    """One schema as a decoder and the checks left after it."""

    decode: Callable[[str], Any]  # raises msgspec.DecodeError / ValidationError for what it refuses
    # check(decoded, text): None unless the text wrote each key once and every check the decoder cannot make
    # holds (the sign's own shape aside); else (the values in field order, sign last; whether one is an int,
    # asked of a request body only: an answer's is False)
    check: Callable[[Any, str], tuple[tuple[Any, ...], bool] | None]
    prefixes: tuple[str, ...]  # "key=" for each signed field of a request body, in signing order
    sign_shape: Callable[[str], bool]  # the sign field's pattern and format
    digest_is_shape: bool  # that pattern is exactly a lowercase MD5 digest's: a verified sign needs no look


class _Source:
    """The names generated code refers to: one namespace for an object and the objects nested in it."""

    def __init__(self) -> None:
        self.env: dict[str, Any] = {"UNSET": UNSET, "UnsetType": UnsetType, "_formats": FORMATS, "_holds": _holds}

    def name(self, value: Any) -> str:
        key = f"_c{len(self.env)}"
        self.env[key] = value
        return key


def _holds(check: Any, value: Any) -> bool:
    """The full checker of a rule finds nothing in ``value``."""
    issues: list[Any] = []
    check(value, "", issues)
    return not issues


def _known(schema: dict[str, Any], allowed: set[str]) -> None:
    """Decline a schema with a keyword outside ``allowed`` (annotations and ``x-vexora-`` notes aside; advice,
    ``x-vexora-should``, is a rule)."""
    unknown = {k for k in schema if k not in allowed and k not in _ANNOTATIONS
               and not (k.startswith("x-vexora-") and k != "x-vexora-should")}
    if unknown:
        raise Declined(f"keywords {sorted(unknown)}")


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    if t is None:
        if any(k not in _ANNOTATIONS and not k.startswith("x-vexora-") for k in schema):
            raise Declined("a value without a type, with rules")
        # Any value at all (a page's field of unknown type): taken when it is a scalar, whose quotes are known.
        return ["string", "integer", "number", "boolean", "null"]
    return [t] if isinstance(t, str) else list(t)


def _string_check(src: _Source, schema: dict[str, Any], var: str) -> str | None:
    """An expression true when the string ``var`` meets the schema's pattern and format (None: no such rule)."""
    tests = []
    cacheable = False
    if "pattern" in schema:
        m = _DIGITS.fullmatch(schema["pattern"])
        if m is None:
            tests.append(f"{src.name(ecma_regex(schema['pattern']).search)}({var}) is not None")
            cacheable = True
        else:
            if m.group(2):
                tests.append(f"len({var}) == {int(m.group(2))}")
            elif m.group(3):
                tests.append(f"{int(m.group(3))} <= len({var}) <= {int(m.group(4))}")
            tests.append(f"{var}.isdigit() and {var}.isascii()")
    if "format" in schema:
        if schema["format"] not in FORMATS:
            raise Declined(f"format {schema['format']}")
        tests.append(f"_formats[{schema['format']!r}]({var})")
        cacheable = True
    if not tests:
        return None
    test = " and ".join(tests)
    plain = _PLAIN_URLS.get(schema.get("pattern", "")) if schema.get("format") == "uri" else None
    if plain is not None:  # the pages' URL fields: a plain URL meets the pattern and the format, by one regex
        test = f"{src.name(plain.match)}({var}) is not None or ({test})"
    if cacheable:  # a repeated URL or e-mail is not parsed again (a bounded set, as compile.fast_accept)
        ok = src.name(set())
        keep = f"(len({ok}) >= {_CACHED} or len({var}) > {_CACHED_LENGTH} or {ok}.add({var}) is None)"
        return f"({var} in {ok} or (({test}) and {keep}))"
    return f"({test})"


def _leaf(src: _Source, schema: dict[str, Any], kinds: set[str]) -> tuple[Any, str | None]:
    """(the msgspec type of a scalar value, the residual test on ``v`` or None)."""
    _known(schema, _NODE_KEYWORDS - {"required", "properties", "anyOf"})
    wanted = [t for t in _types(schema) if t in kinds]
    members: list[Any] = []
    residual: list[str] = []
    for t in wanted:
        if t == "string":
            if "enum" in schema:
                # Only the enum's members that every other rule of the field accepts: then no rule is left.
                values = [e for e in schema["enum"] if type(e) is str and _string_ok(schema, e)]
                if values:
                    members.append(Literal[tuple(values)])
                continue
            meta: dict[str, Any] = {}
            if "minLength" in schema:
                meta["min_length"] = int(schema["minLength"])
            if "maxLength" in schema:
                meta["max_length"] = int(schema["maxLength"])
            members.append(Annotated[str, msgspec.Meta(**meta)] if meta else str)
            test = _string_check(src, schema, "v")
            if test is not None:
                # only a string has a pattern or format to meet: the guard is left out where nothing else can be
                residual.append(test if wanted == ["string"] else f"type(v) is not str or {test}")
        elif t == "integer" or (t == "number" and "integer" not in wanted):
            # In a request body a number is taken only when it is an integer: a float's rendering in the sign is
            # the server's JSON library's (the explaining path warns of it), and 3.0 is an integer to JSON
            # Schema. In an answer, a number is any number (nothing signs it).
            if "enum" in schema:
                raise Declined("an integer enum")
            meta = {}
            for keyword, name in (("minimum", "ge"), ("maximum", "le")):
                if keyword in schema:
                    if type(schema[keyword]) is not int:
                        raise Declined(f"a {keyword} that is not an integer")
                    meta[name] = schema[keyword]
            numbers: list[Any] = [int] if t == "integer" or "float" not in kinds else [int, float]
            members += [Annotated[n, msgspec.Meta(**meta)] if meta else n for n in numbers]
        elif t == "array":
            # Only an empty one (an answer's list of payments, before there are any): its quotes are known.
            members.append(Annotated[list, msgspec.Meta(max_length=0)])
        elif "enum" not in schema and t in _SCALARS:
            members.append(_SCALARS[t])
    if "x-vexora-should" in schema:
        # An advice must hold too: a value that breaks one is explained, since it has a warning.
        full = src.name(_compile(schema["x-vexora-should"]))
        residual.append(f"_holds({full}, v)")
    return _union(members), " and ".join(f"({r})" for r in residual) or None


def _admits_int(kind: Any) -> bool:
    """Whether a value decoded as ``kind`` may be an integer."""
    if kind is int:
        return True
    if get_origin(kind) in (Union, Annotated):
        return any(_admits_int(k) for k in get_args(kind)[: 1 if get_origin(kind) is Annotated else None])
    return False


def _runtime_types(kind: Any) -> set[Any]:
    """The Python types a value decoded as ``kind`` may have (msgspec.UNSET's among them for an optional field)."""
    origin = get_origin(kind)
    if origin is Annotated:
        return _runtime_types(get_args(kind)[0])
    if origin is Union:
        return set().union(*(_runtime_types(k) for k in get_args(kind)))
    if origin is Literal:
        return {type(a) for a in get_args(kind)}
    return {origin or kind}


def _string_ok(schema: dict[str, Any], value: str) -> bool:
    """Whether a string enum member meets the field's other string rules (decided once, at generation)."""
    if "minLength" in schema and len(value) < schema["minLength"]:
        return False
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return False
    if "pattern" in schema and ecma_regex(schema["pattern"]).search(value) is None:
        return False
    return "format" not in schema or FORMATS[schema["format"]](value)


def _union(members: list[Any]) -> Any:
    """The members as one type; none at all: only absence is accepted (a present value fails decoding)."""
    if not members:
        return UnsetType
    return members[0] if len(members) == 1 else Union[tuple(members)]  # noqa: UP007 (a runtime tuple)


class _Built:
    """A Struct class and the code of what is left to check after decoding into it, from one object schema."""

    cls: type
    names: tuple[str, ...]  # the Struct's fields in order (a request body's in signing order, sign last)
    checks: list[tuple[str, str | None]]  # (field, a test on its value ``v`` the decoder cannot make; None: the
    # checks of the object nested there)

    def __init__(self, schema: dict[str, Any], kinds: set[str], documented: frozenset[str] | None,
                 name: str, forbid: bool, depth: int = 0, src: _Source | None = None) -> None:
        _known(schema, _NODE_KEYWORDS | ({"if", "then"} if depth == 0 else set()))
        if depth == 0 and schema.get("type") != "object":
            raise Declined("a body that is not an object")
        if "anyOf" in schema and depth == 0:
            raise Declined("anyOf over the whole body")
        if "x-vexora-should" in schema:
            raise Declined("advice over an object")
        props: dict[str, dict[str, Any]] = schema.get("properties", {})
        required = set(schema.get("required", ()))
        if not required <= set(props):
            raise Declined("a required field without properties")
        src = src or _Source()  # one namespace for an object and the objects nested in it: one function
        fields: list[tuple[Any, ...]] = []
        self.nested: dict[str, _Built] = {}
        self.may_be_int: list[str] = []  # the fields whose value may be an integer
        self.kinds: dict[str, tuple[set[Any], bool]] = {}  # field: (the types its value may have, required)
        checks: list[tuple[str, str | None]] = []  # (field, test on v; None: the nested object's checks)
        for prop, sub in props.items():
            if not prop.isidentifier() or prop.startswith("_") or not prop.isascii():
                raise Declined(f"field name {prop!r}")
            sub_types = set(_types(sub))
            if documented is not None and prop not in documented:
                kind: Any = UnsetType  # a field the tables do not document: present, it is not for the fast path
            elif "object" in sub_types and "object" not in kinds:
                kind, test = _leaf(src, sub, kinds)  # its other types only (a request body's values are scalars)
                if test is not None:
                    checks.append((prop, test if prop in required else f"v is UNSET or {test}"))
            elif "object" in sub_types:
                if depth > 0 or not sub_types <= {"object", "null"} or "properties" not in sub:
                    raise Declined("a nested object of another shape")
                built = _Built({k: v for k, v in sub.items() if k not in ("type", "anyOf")}, kinds, None,
                               f"{name}_{prop}", False, depth + 1, src)
                self.nested[prop] = built
                kind = _union([built.cls] + ([type(None)] if "null" in sub_types and "null" in kinds else []))
                if "anyOf" in sub:
                    alternatives = [a.get("required") for a in sub["anyOf"]]
                    if any(set(a) != {"required"} for a in sub["anyOf"]) or \
                            not all(set(r) <= set(sub.get("properties", {})) for r in alternatives):
                        raise Declined("anyOf of another shape")
                    ways = " or ".join("(" + " and ".join(f"v.{r} is not UNSET" for r in req) + ")"
                                       for req in alternatives)
                    checks.append((prop, f"type(v) is not {src.name(built.cls)} or {ways}"))
                if built.checks:
                    checks.append((prop, None))  # the nested object's own checks, inline (on a decoded object)
            else:
                kind, test = _leaf(src, sub, kinds)
                if test is not None:
                    checks.append((prop, test if prop in required else f"v is UNSET or {test}"))
            if _admits_int(kind):
                self.may_be_int.append(prop)
            self.kinds[prop] = (_runtime_types(kind) - {UnsetType}, prop in required)
            fields.append((prop, kind) if prop in required else (prop, Union[kind, UnsetType], UNSET))  # noqa: UP007
        if forbid:
            # Signing order, sign last: a request body's values come out of the Struct in the order they are
            # signed in (kw_only lets a required field follow an optional one).
            fields.sort(key=lambda f: (f[0] == SIGN_KEY, java_order_key(f[0])))
        self.cls = msgspec.defstruct(name, fields, forbid_unknown_fields=forbid, kw_only=True)
        self.names = tuple(f[0] for f in fields)
        self.sign_test: Callable[[str], bool] = lambda _v: True
        self.src, self.checks, self.forbid = src, checks, forbid
        self.if_then = self._if_then(src, schema["if"], schema.get("then", {})) if "if" in schema else []

    def quote_lines(self, var: str, total: str, suffix: str) -> list[str]:
        """Statements adding to ``total`` the quotes of the object in ``var`` written with each key once: two
        per present key, two more per string value, and a nested object's own. Worked out per field from the
        types its value may have, so a field that can only be a string costs a constant (a required one) or a
        look at whether it is there: no list of the values' types to build and count."""
        constant, terms, lines = 0, [], []
        for prop, (types, required) in self.kinds.items():
            if not types:
                continue  # a field that may only be absent (present, the decoding failed)
            if types == {str}:
                each = "4"
            elif str not in types:
                each = "2"
            else:
                each = f"(4 if type({var}.{prop}) is str else 2)"
            if required and each.isdigit():
                constant += int(each)
            else:
                terms.append(each if required else f"(0 if {var}.{prop} is UNSET else {each})")
        lines.append(f"{total} {'=' if var == 'o' else '+='} {' + '.join([str(constant), *terms])}")
        for i, (prop, built) in enumerate(self.nested.items()):
            inner = f"{var}_{suffix}{i}"
            lines.append(f"{inner} = {var}.{prop}")
            lines.append(f"if type({inner}) is {self.src.name(built.cls)}:")
            lines += ["    " + line for line in built.quote_lines(inner, total, f"{suffix}{i}_")]
        return lines

    def check_lines(self, var: str) -> list[str]:
        """Statements that ``return None`` unless the object in ``var`` meets the checks left after decoding."""
        lines = []
        for prop, test in self.checks:
            if test is None:  # an object nested here, checked in place (a call per answer saved)
                inner, built = f"{var}_{prop}", self.nested[prop]
                lines += [f"{inner} = {var}.{prop}", f"if type({inner}) is {self.src.name(built.cls)}:"]
                lines += ["    " + line for line in built.check_lines(inner)]
                continue
            if self.forbid and prop == SIGN_KEY:
                env = {**self.src.env}
                exec(compile(f"def sign_shape(v):\n    return {test}\n", "<sign shape>", "exec"), env)
                self.sign_test = env["sign_shape"]
                continue
            lines.append(f"v = {var}.{prop}")
            lines.append(f"if not ({test}): return None")
        assert var == "o" or not self.if_then  # an if/then is only at the top, whose function's argument is o
        return lines + self.if_then

    def function(self) -> Callable[[Any, str], Any]:
        """``check(o, text)``: None unless ``o``, decoded from ``text``, had each key once and meets every check
        left; else the top object's values in field order (sign last), and whether one is an integer."""
        getter = self.src.name(attrgetter(*self.names) if len(self.names) > 1 else
                               (lambda o, n=self.names[0]: (getattr(o, n),)))
        if self.forbid:
            # A request body's values are strings, integers or absent (its kinds): 4 quotes per present string,
            # 2 per integer, and only the fields that may hold an integer need a look at their type.
            ints = " + ".join(f"(type(o.{prop}) is int)" for prop in self.may_be_int) or "0"
            lines = [f"vals = {getter}(o)", f"ints = {ints}",
                     "if text.count('\"') != 4 * (len(vals) - vals.count(UNSET)) - 2 * ints: return None",
                     *self.check_lines("o"), "return vals, ints > 0"]
        else:
            # An answer's values are not signed: whether one is an integer is not asked (False).
            lines = [*self.quote_lines("o", "n", ""), "if text.count('\"') != n: return None",
                     *self.check_lines("o"), f"return {getter}(o), False"]
        code = "def check(o, text):\n" + "".join(f"    {line}\n" for line in lines)
        exec(compile(code, f"<struct check {self.cls.__name__}>", "exec"), self.src.env)
        check: Callable[[Any, str], Any] = self.src.env["check"]
        return check

    def _if_then(self, src: _Source, condition: dict[str, Any], then: dict[str, Any]) -> list[str]:
        """``if`` on string constants of present fields, ``then`` on the types of fields: as statements."""
        if not set(condition) <= {"required", "properties"} or not set(then) <= {"properties"}:
            raise Declined("an if/then of another shape")
        tests = [f"o.{r} is not UNSET" for r in condition.get("required", ())]
        for prop, sub in condition.get("properties", {}).items():
            if set(sub) != {"const"} or type(sub["const"]) is not str or prop not in self.names:
                raise Declined("an if that is not a string constant")
            tests.append(f"(o.{prop} is UNSET or o.{prop} == {sub['const']!r})")
        wanted = []
        for prop, sub in then.get("properties", {}).items():
            if set(sub) != {"type"} or prop not in self.names:
                raise Declined("a then that is not a type")
            allowed = []
            for t in _types(sub):
                if t == "object" and prop in self.nested:
                    allowed.append(src.name(self.nested[prop].cls))
                elif t in _SCALARS:
                    allowed.append(src.name(_SCALARS[t]))
                else:
                    raise Declined("a then type it does not model")
            wanted.append(f"(o.{prop} is UNSET or type(o.{prop}) in ({', '.join(allowed)},))")
        return [f"if ({' and '.join(tests) or 'True'}) and not ({' and '.join(wanted) or 'True'}): return None"]


@cache
def struct_checker(name: str, documented: frozenset[str] | None = None, request: bool = True) -> StructChecker | None:
    """The Struct checker of a bundled schema, or None when the schema has a rule the generator does not model.

    ``request``: a request body (values strings or integers only, unknown fields refused, values in signing
    order); else an answer (any scalar, unknown fields decoded past - their quotes make the count differ).
    """
    schema = load_schema(name)
    # "float": a number may be one (an answer's amounts); "array": an empty list (an answer's payments)
    kinds = {"string", "integer", "number"} if request else {*_SCALARS, "number", "float", "array", "object"}
    try:
        built = _Built(schema, kinds, documented, name.replace("/", "_").replace("-", "_").replace(".", "_"),
                       forbid=request)
    except Declined:
        return None
    check = built.function()
    prefixes: tuple[str, ...] = ()
    if request:
        if built.names[-1:] != (SIGN_KEY,) or len(built.names) < 2:
            return None  # nothing signed, or no sign: not a body the first tier knows how to verify
        prefixes = tuple(f"{n}=" for n in built.names[:-1])
    sign_rule = schema.get("properties", {}).get(SIGN_KEY, {})
    digest_is_shape = {k: v for k, v in sign_rule.items() if k not in _ANNOTATIONS and not k.startswith("x-")} == \
        {"type": "string", "pattern": _MD5_HEX}
    return StructChecker(msgspec.json.Decoder(built.cls).decode, check, prefixes, built.sign_test, digest_is_shape)
