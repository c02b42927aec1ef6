"""The rule catalogue: every finding id, its severity and what to do about it. Defined once, here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.findings import Finding, Kind, Severity


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    summary: str
    hint: str
    kind: Kind = Kind.INPUT_MALFORMED
    endpoint: str | None = None

    def finding(self, message: str, pointer: str | None = None, hint: str | None = None,
                **details: Any) -> Finding:
        return Finding(rule=self.id, kind=self.kind, severity=self.severity, message=message, pointer=pointer,
                       hint=hint or self.hint, endpoint=self.endpoint, details=details)


_RULES = [
    # request
    Rule("request.method", Severity.ERROR, "the request is not a POST", "The Checkout API accepts POST only."),
    Rule("request.path", Severity.ERROR, "the path does not end with /v1/vexora/checkout",
         "Use {base}/v1/vexora/checkout exactly: no trailing slash, lower case, version v1."),
    Rule("request.content-type", Severity.ERROR, "the Content-Type is not application/json",
         "Send the body as JSON with 'Content-Type: application/json'."),
    Rule("request.merchant-no", Severity.ERROR, "the merchantNo header is missing, empty or not the expected merchant",
         "Send your merchant number in the 'merchantNo' header (not in the body)."),
    Rule("request.json", Severity.ERROR, "the body is not a JSON object",
         "Serialise the parameters as one JSON object (not form fields, not an array)."),
    Rule("request.required", Severity.ERROR, "a required field is missing",
         "sign, timestamp, tradeNo, amount and notifyUrl are required."),
    Rule("request.type", Severity.ERROR, "a field has the wrong JSON type",
         "Every body field is a JSON string (timestamp may be a number: the page's table says long)."),
    Rule("request.format", Severity.ERROR, "a field's value breaks the documented format",
         "See the field's description in the README's contract table."),
    Rule("request.enum", Severity.ERROR, "a field is not one of the documented values",
         "wayCode is 'store' (convenience store) or 'va' (CLABE transfer)."),
    Rule("request.duplicate-key", Severity.ERROR, "a key appears twice in one JSON object of the body",
         "Send each key once: parsers disagree on which value counts, so the provider may sign another body."),
    Rule("request.unknown-field", Severity.WARNING, "the body has a field the page does not document",
         "The provider signs every body field, documented or not; remove fields it does not know."),
    # signature
    Rule("sign.missing", Severity.ERROR, "the body has no sign",
         "Add 'sign': the MD5 of the sorted pairs plus the secret."),
    Rule("sign.format", Severity.ERROR, "the sign is not 32 lower-case hex digits",
         "Send the MD5 digest as 32 lower-case hex characters."),
    Rule("sign.mismatch", Severity.ERROR, "the sign does not match the reference signature",
         "Compare your canonical string with `vexora-conformance sign`; `doctor` names the mistake."),
    Rule("sign.ambiguous", Severity.WARNING, "a signed value's rendering depends on the server's JSON library",
         "Send strings (or omit the key) so client and server sign the same text."),
    Rule("sign.unchecked", Severity.WARNING, "no app secret was given, so signatures were not checked",
         "Pass --secret-env NAME or --secret-file PATH (or set VEXORA_SECRET)."),
    # across exchanges
    Rule("trade-no.duplicate", Severity.ERROR, "a tradeNo was already used by an earlier request of the same merchant",
         "Generate a unique tradeNo per order (suggested: YYYYMMDDHHMMSS + random digits)."),
    Rule("timestamp.skew", Severity.WARNING, "the timestamp is far from the time the request was sent",
         "Use the current time in milliseconds (13 digits), from a synchronised clock."),
    # response
    Rule("response.json", Severity.ERROR, "the response body is not a JSON object", "Expect a JSON envelope."),
    Rule("response.duplicate-key", Severity.ERROR, "a key appears twice in one JSON object of the response",
         "Parsers disagree on which of the values counts; a conformant provider sends each key once."),
    Rule("response.required", Severity.ERROR, "a documented response field is missing", "See the response table."),
    Rule("response.type", Severity.ERROR, "a response field has the wrong JSON type", "See the response table."),
    Rule("response.format", Severity.ERROR, "a response field breaks the documented format", "See the response table."),
    Rule("response.echo", Severity.ERROR, "the response does not echo the request's tradeNo or remark",
         "data.tradeNo and data.remark are returned as sent."),
    Rule("response.platform-trade-no.duplicate", Severity.ERROR, "a platFormTradeNo was returned twice",
         "The provider documents platFormTradeNo as unique per transaction."),
    # strict mode
    Rule("doc.conflict", Severity.ERROR, "only the page's example (not its table) makes this value valid",
         "Strict mode follows the tables; the page's example contradicts them here. Send the table's type."),
    # input
    Rule("input.malformed", Severity.ERROR, "a record of the capture cannot be read",
         "The rest of the capture is judged."),
]



def _for_endpoint(prefix: str, what: str, kinds: tuple[str, ...], hints: dict[str, str],
                  severities: dict[str, Severity] | None = None) -> list[Rule]:
    """The Checkout rules of ``kinds`` again, for another endpoint: its own id prefix and hints.

    The checks are the same (one judge); the ids differ so a report says which conversation broke.
    """
    checkout = {r.id: r for r in _RULES}
    return [Rule(prefix + kind, Severity((severities or {}).get(kind, checkout[kind].severity)),
                 f"{what}: {checkout[kind].summary}", hints.get(kind, checkout[kind].hint)) for kind in kinds]


_REQUEST_KINDS = ("request.method", "request.content-type", "request.json", "request.required", "request.type",
                  "request.format", "request.enum", "request.duplicate-key", "request.unknown-field",
                  "sign.missing", "sign.format", "sign.mismatch", "sign.ambiguous")
_RESPONSE_KINDS = ("response.json", "response.required", "response.type", "response.format",
                   "response.duplicate-key", "response.echo")

_RULES += _for_endpoint(
    "query.", "status query", ("request.path", "request.merchant-no", *_REQUEST_KINDS, "timestamp.skew",
                               *_RESPONSE_KINDS),
    {"request.path": "Use {base}/v1/vexora/queryPayInResult exactly.",
     "request.merchant-no": "The Mexico page marks merchantNo 'not required' for the query, other markets "
                            "require it: send it.",
     "request.required": "tradeNo, timestamp and sign are required.",
     "request.type": "tradeNo, timestamp and sign are JSON strings.",
     "request.unknown-field": "The query takes tradeNo, timestamp and sign only; every field sent is signed.",
     "response.echo": "data.tradeNo is the tradeNo that was asked about."},
    {"request.merchant-no": Severity.WARNING})  # the page is silent-to-contradictory: warn, never fail

_RULES += _for_endpoint(
    "notify.", "notification", _REQUEST_KINDS,
    {"request.method": "The provider POSTs notifications.",
     "request.content-type": "The provider sends notifications as application/json.",
     "request.required": "A notification carries platFormTradeNo, tradeNo, amount, status and sign.",
     "sign.missing": "A notification without a sign must be refused: anyone could send it.",
     "sign.mismatch": "A notification whose sign does not verify must be refused (answer anything but OK)."})

_RULES += [
    # what the merchant's notification handler does (captured replies, check-notify, serve's notifier)
    Rule("notify.reply", Severity.ERROR, "the handler did not answer a valid notification with a 2xx and exactly OK",
         "Answer the plain text OK (case-sensitive, no JSON, no other text); until then the provider retries "
         "for 24 hours."),
    Rule("notify.reply-padded", Severity.WARNING, "the handler answered OK with white space around it",
         "Answer exactly OK: the page says the reply is the plain text OK, and trimming is not promised."),
    Rule("notify.slow", Severity.ERROR, "the handler answered after the provider's timeout",
         "Answer within 10 s: acknowledge first, do slow work after answering (a queue)."),
    Rule("notify.duplicate", Severity.ERROR, "the handler did not answer OK to a notification it had already seen",
         "A retried notification must be acknowledged again (OK), without fulfilling the order twice."),
    Rule("notify.accepts-bad-sign", Severity.ERROR, "the handler answered OK to a notification whose sign is wrong",
         "Verify the sign before anything else: anyone who knows a tradeNo could otherwise mark it paid."),
    Rule("notify.malformed-accepted", Severity.WARNING, "the handler answered OK to a body that is not a notification",
         "Answer anything but OK to a body that is not a JSON notification."),
    Rule("notify.crash", Severity.WARNING, "the handler answered a malformed body with a 5xx",
         "Refuse malformed bodies with a 4xx: a 5xx looks like an outage to the provider and to your alerts."),
    Rule("notify.unknown-order", Severity.WARNING,
         "the handler acknowledged a notification for a tradeNo it cannot know",
         "Either answer is defensible; make sure nothing was fulfilled for an order you do not have."),
    Rule("notify.unreachable", Severity.ERROR, "the notifyUrl could not be reached",
         "notifyUrl must be reachable by the provider (public https URL, no login)."),
]

def _typed(r: Rule) -> Rule:
    head = r.id.split(".", 1)[0]
    endpoint = head if head in ("query", "notify") else (
        None if head in ("input", "doc") or r.id == "sign.unchecked" else "checkout")
    kind = Kind(r.id[len(endpoint) + 1:] if endpoint in ("query", "notify") else r.id)
    return Rule(r.id, Severity(r.severity), r.summary, r.hint, kind, endpoint)


RULES: dict[str, Rule] = {r.id: _typed(r) for r in _RULES}


def endpoint_of_rule(rule_id: str) -> str | None:
    """Which endpoint a finding is about: by its prefix; None for the run-level rules (input, doc, unchecked)."""
    head = rule_id.split(".", 1)[0]
    if head in ("query", "notify"):
        return head
    return None if head in ("input", "doc") or rule_id == "sign.unchecked" else "checkout"


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
