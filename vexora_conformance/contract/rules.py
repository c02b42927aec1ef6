"""The rule catalogue: every finding id, its severity and its words, built from what each endpoint declares.

A kind of finding (``request.required``) has template words filled in with the endpoint's own noun, path and
echoed fields; an endpoint may give a kind words of its own, and has only the kinds its spec can produce (no
``enum`` rule where no table lists values). The run has a few rules of its own (an unreadable record, an
unchecked sign). ``docs/rules.md`` is generated from ``catalogue()``.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from ..core.findings import Kind, Severity
from .endpoint import Answer, Rule, Words

if TYPE_CHECKING:
    from .endpoint import Endpoint

E, W = Severity.ERROR, Severity.WARNING

# kind -> (severity, summary, hint); {noun}, {path}, {echo} are the endpoint's.
TEMPLATES: dict[Kind, tuple[Severity, str, str]] = {
    Kind.METHOD: (E, "the {noun} is not a POST", "The provider accepts POST only: POST {{base}}{path}."),
    Kind.PATH: (E, "the path of the {noun} does not end with {path}",
                "Use {{base}}{path} exactly (the market's prefix first, e.g. /bangladesh{path}): no trailing "
                "slash, this letter case, version v1."),
    Kind.CONTENT_TYPE: (E, "the Content-Type of the {noun} is not application/json",
                        "Send the body as JSON with 'Content-Type: application/json'."),
    Kind.MERCHANT_NO: (E, "the merchantNo header of the {noun} is missing, empty or not the expected merchant",
                       "Send your merchant number in the 'merchantNo' header (not in the body)."),
    Kind.JSON: (E, "the body of the {noun} is not a JSON object",
                "Serialise the parameters as one JSON object (not form fields, not an array)."),
    Kind.REQUIRED: (E, "a field the market's table requires is missing from the {noun}",
                    "Send every field the market's table marks required."),
    Kind.TYPE: (E, "a field of the {noun} has the wrong JSON type",
                "Send each field with the JSON type of the market's table (a string unless the table says a "
                "number)."),
    Kind.FORMAT: (E, "a field of the {noun} breaks the documented format",
                  "Send the value in the format the market's page gives for the field."),
    Kind.AMOUNT: (E, "the amount of the {noun} breaks the market's rule for amounts (decimals, minimum)",
                  "Write the amount as the market's page does: digits, with decimals only where the page allows "
                  "them, and no more places than it allows."),
    Kind.ADVICE: (W, "a field of the {noun} breaks what the market's page advises",
                  "The page recommends another value here (or its own example breaks its rule): follow the "
                  "table."),
    Kind.ENUM: (E, "a field of the {noun} is not one of the values the market's page lists",
                "Send one of the values the market's page lists for the field."),
    Kind.DUPLICATE_KEY: (E, "a key appears twice in one JSON object of the {noun}",
                         "Send each key once: parsers disagree on which value counts, so the provider may sign "
                         "another body."),
    Kind.UNKNOWN_FIELD: (W, "the {noun} has a field the market's page does not document",
                         "The provider signs every body field, documented or not; remove fields it does not know."),
    Kind.SIGN_MISSING: (E, "the {noun} has no sign", "Add 'sign': the MD5 of the sorted pairs plus the secret."),
    Kind.SIGN_FORMAT: (E, "the sign of the {noun} is not 32 lower-case hex digits",
                       "Send the MD5 digest as 32 lower-case hex characters."),
    Kind.SIGN_MISMATCH: (E, "the sign of the {noun} does not match the reference signature",
                         "Compare your canonical string with `vexora-conformance sign`; `doctor` names the "
                         "mistake."),
    Kind.SIGN_AMBIGUOUS: (W, "a signed value of the {noun} renders differently across JSON libraries",
                          "Send strings (or omit the key) so client and server sign the same text."),
    Kind.TRADE_NO_DUPLICATE: (E, "a tradeNo was already used by an earlier {noun} of the same merchant",
                              "Generate a unique tradeNo per order (suggested: YYYYMMDDHHMMSS + random digits)."),
    Kind.TIMESTAMP_SKEW: (W, "the timestamp of the {noun} is far from the time it was sent",
                          "Use the current time in milliseconds (13 digits), from a synchronised clock."),
    Kind.RESPONSE_JSON: (E, "the answer to the {noun} is not a JSON object", "Expect a JSON envelope."),
    Kind.RESPONSE_DUPLICATE_KEY: (E, "a key appears twice in one JSON object of the answer to the {noun}",
                                  "Parsers disagree on which of the values counts; a conformant provider sends "
                                  "each key once."),
    Kind.RESPONSE_REQUIRED: (E, "a documented field is missing from the answer to the {noun}",
                             "See the market's answer table."),
    Kind.RESPONSE_TYPE: (E, "a field of the answer to the {noun} has the wrong JSON type",
                         "See the market's answer table."),
    Kind.RESPONSE_FORMAT: (E, "a field of the answer to the {noun} breaks the documented format",
                           "See the market's answer table."),
    Kind.RESPONSE_ECHO: (E, "the answer to the {noun} does not return {echo} as sent",
                         "{echo_data} are returned as sent."),
    Kind.PLATFORM_TRADE_NO_DUPLICATE: (E, "a platFormTradeNo was returned twice",
                                       "The provider documents platFormTradeNo as unique per transaction."),
    Kind.DOC_CONFLICT: (E, "only another reading than the page's table (its example, another page) makes "
                           "this value of the {noun} valid",
                        "--strict-tables follows the tables; the page's example or another source contradicts "
                        "them here. Send the table's type."),
}

# The run's own rules: they belong to no endpoint.
RUN_RULES = (
    Rule("sign.unchecked", Kind.SIGN_UNCHECKED, W, "no app secret was given, so signatures were not checked",
         "Pass --secret-env NAME or --secret-file PATH (or set VEXORA_SECRET); --no-sign-check says you meant it."),
    Rule("input.malformed", Kind.INPUT_MALFORMED, E, "a record of the capture cannot be read",
         "The rest of the capture is judged."),
    Rule("request.unknown-endpoint", Kind.PATH, E, "the path names no endpoint the provider documents",
         "Send each request to one of the provider's documented paths, under /v1/vexora/."),
    # the proxy's upstream: no answer, so the exchange is judged on the request alone (the client got a 502/504)
    Rule("upstream.unreachable", Kind.UPSTREAM_UNREACHABLE, E, "the proxy could not reach the upstream",
         "Check --upstream (scheme, host, port) and that the sandbox or serve is up; the client got a 502."),
    Rule("upstream.timeout", Kind.UPSTREAM_TIMEOUT, E, "the upstream did not answer within --upstream-timeout",
         "The client got a 504: a client must survive it (ask the status query before retrying a payment)."),
    Rule("upstream.bad-answer", Kind.UPSTREAM_BAD_ANSWER, E, "the upstream's answer is not HTTP, or was cut off",
         "The client got a 502; the upstream (the sandbox, or serve) is at fault, not the client."),
    Rule("upstream.too-large", Kind.UPSTREAM_TOO_LARGE, E, "the upstream's answer is larger than the proxy relays",
         "The client got a 502; no answer of the provider's API is that large."),
    # replay: the same exchange, matched by endpoint, tradeNo and sequence, judged otherwise than when recorded
    Rule("replay.changed", Kind.REPLAY_CHANGED, W, "the verdict on a replayed exchange differs from the recorded one",
         "A rule that now holds is a fix; one that now fails is a regression of the client or handler. A "
         "difference in the answers alone can be the upstream's: serve is not the sandbox."),
)

_REFINED = {"pattern", "format", "minLength", "maxLength", "minimum", "maximum"}


def kinds_of(endpoint: Endpoint) -> list[Kind]:
    """The kinds of finding an endpoint's spec and declaration can produce, in catalogue order."""
    contracts = endpoint.spec.contracts()
    refs = [r for c in contracts for r in c.refinements]
    body_refs = [r for r in refs if r.field.startswith("body.")]
    has = {
        Kind.PATH: endpoint.sent_by_merchant,
        Kind.MERCHANT_NO: any(f.name == "merchantNo" for c in contracts for f in c.table("header")),
        Kind.FORMAT: any(r.keyword in _REFINED and r.field not in ("body.sign", "body.amount")
                         and r.strength != "should" for r in body_refs),
        Kind.AMOUNT: any(r.field == "body.amount" and r.strength != "should" for r in body_refs),
        Kind.ADVICE: any(r.strength != "must" for r in body_refs) or len(endpoint.spec.paths()) > 1
        or any(f.name == "merchantNo" and not f.required for c in contracts for f in c.table("header")),
        Kind.ENUM: any(r.keyword == "enum" for r in body_refs),
        Kind.UNKNOWN_FIELD: any(not c.open_body for c in contracts),
        Kind.TRADE_NO_DUPLICATE: endpoint.trade_no_space is not None,
        Kind.TIMESTAMP_SKEW: endpoint.checks_skew,
        Kind.DOC_CONFLICT: any(c.conflicts for c in contracts) or any(r.strength == "conflict" for r in refs),
        Kind.RESPONSE_FORMAT: any(r.field.startswith("response.") and r.keyword in _REFINED | {"enum"}
                                  for r in refs),
        Kind.RESPONSE_ECHO: bool(endpoint.echo),
        Kind.PLATFORM_TRADE_NO_DUPLICATE: endpoint.unique_platform_trade_no,
    }
    envelope = endpoint.answer is Answer.ENVELOPE
    kinds = []
    for kind in TEMPLATES:
        if kind.value.startswith("response.") and not envelope:
            continue
        if has.get(kind, True):
            kinds.append(kind)
    return kinds


def rules_of(endpoint: Endpoint) -> dict[Kind, Rule]:
    """Every rule of an endpoint: the templates in its own words, then the kinds only it has."""
    echo = " and ".join(endpoint.echo)
    fill = {"noun": endpoint.noun, "path": endpoint.path, "echo": echo,
            "echo_data": " and ".join(f"data.{e}" for e in endpoint.echo)}
    out: dict[Kind, Rule] = {}
    for kind in kinds_of(endpoint):
        severity, summary, hint = TEMPLATES[kind]
        own = endpoint.words.get(kind)
        words = own if own is not None else Words(summary.format(**fill), hint.format(**fill))
        out[kind] = Rule(endpoint.rule_prefix + kind.value, kind, severity, words.summary, words.hint,
                         endpoint.name)
    for kind, (severity, words) in endpoint.own_rules.items():
        out[kind] = Rule(endpoint.rule_prefix + kind.value, kind, severity, words.summary, words.hint,
                         endpoint.name)
    return out


@cache
def catalogue() -> dict[str, Rule]:
    """Every rule id of every endpoint in the registry, and the run's own."""
    from .registry import ENDPOINTS

    rules = {r.id: r for e in ENDPOINTS.values() for r in e.rules.values()}
    rules.update((r.id, r) for r in RUN_RULES)
    return rules


def run_rule(kind: Kind) -> Rule:
    """The run's own rule of a kind (the unchecked sign, an unreadable record)."""
    return next(r for r in RUN_RULES if r.kind is kind and r.id.startswith(("sign.", "input.")))


def rule(rule_id: str) -> Rule:
    """A rule by its public id (``KeyError`` for an unknown one)."""
    return catalogue()[rule_id]
