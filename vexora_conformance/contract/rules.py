"""The rule catalogue: every finding id, its severity and what to do about it. Defined once, here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..models import Finding


@dataclass(frozen=True)
class Rule:
    id: str
    severity: str
    summary: str
    hint: str

    def finding(self, message: str, pointer: str | None = None, hint: str | None = None,
                **details: Any) -> Finding:
        return Finding(self.id, self.severity, message, pointer, hint or self.hint, details=details)


_RULES = [
    # request
    Rule("request.method", "error", "the request is not a POST", "The Checkout API accepts POST only."),
    Rule("request.path", "error", "the path does not end with /v1/vexora/checkout",
         "Use {base}/v1/vexora/checkout exactly: no trailing slash, lower case, version v1."),
    Rule("request.content-type", "error", "the Content-Type is not application/json",
         "Send the body as JSON with 'Content-Type: application/json'."),
    Rule("request.merchant-no", "error", "the merchantNo header is missing, empty or not the expected merchant",
         "Send your merchant number in the 'merchantNo' header (not in the body)."),
    Rule("request.json", "error", "the body is not a JSON object",
         "Serialise the parameters as one JSON object (not form fields, not an array)."),
    Rule("request.required", "error", "a required field is missing",
         "sign, timestamp, tradeNo, amount and notifyUrl are required."),
    Rule("request.type", "error", "a field has the wrong JSON type",
         "Every body field is a JSON string (timestamp may be a number: the page's table says long)."),
    Rule("request.format", "error", "a field's value breaks the documented format",
         "See the field's description in the README's contract table."),
    Rule("request.enum", "error", "a field is not one of the documented values",
         "wayCode is 'store' (convenience store) or 'va' (CLABE transfer)."),
    Rule("request.duplicate-key", "error", "a key appears twice in one JSON object of the body",
         "Send each key once: parsers disagree on which value counts, so the provider may sign another body."),
    Rule("request.unknown-field", "warning", "the body has a field the page does not document",
         "The provider signs every body field, documented or not; remove fields it does not know."),
    # signature
    Rule("sign.missing", "error", "the body has no sign", "Add 'sign': the MD5 of the sorted pairs plus the secret."),
    Rule("sign.format", "error", "the sign is not 32 lower-case hex digits",
         "Send the MD5 digest as 32 lower-case hex characters."),
    Rule("sign.mismatch", "error", "the sign does not match the reference signature",
         "Compare your canonical string with `vexora-conformance sign`; `doctor` names the mistake."),
    Rule("sign.ambiguous", "warning", "a signed value's rendering depends on the server's JSON library",
         "Send strings (or omit the key) so client and server sign the same text."),
    Rule("sign.unchecked", "warning", "no app secret was given, so signatures were not checked",
         "Pass --secret-env NAME or --secret-file PATH (or set VEXORA_SECRET)."),
    # across exchanges
    Rule("trade-no.duplicate", "error", "a tradeNo was already used by an earlier request of the same merchant",
         "Generate a unique tradeNo per order (suggested: YYYYMMDDHHMMSS + random digits)."),
    Rule("timestamp.skew", "warning", "the timestamp is far from the time the request was sent",
         "Use the current time in milliseconds (13 digits), from a synchronised clock."),
    # response
    Rule("response.json", "error", "the response body is not a JSON object", "Expect a JSON envelope."),
    Rule("response.duplicate-key", "error", "a key appears twice in one JSON object of the response",
         "Parsers disagree on which of the values counts; a conformant provider sends each key once."),
    Rule("response.required", "error", "a documented response field is missing", "See the response table."),
    Rule("response.type", "error", "a response field has the wrong JSON type", "See the response table."),
    Rule("response.format", "error", "a response field breaks the documented format", "See the response table."),
    Rule("response.echo", "error", "the response does not echo the request's tradeNo or remark",
         "data.tradeNo and data.remark are returned as sent."),
    Rule("response.platform-trade-no.duplicate", "error", "a platFormTradeNo was returned twice",
         "The provider documents platFormTradeNo as unique per transaction."),
    # strict mode
    Rule("doc.conflict", "error", "only the page's example (not its table) makes this value valid",
         "Strict mode follows the tables; the page's example contradicts them here. Send the table's type."),
    # input
    Rule("input.malformed", "error", "a record of the capture cannot be read", "The rest of the capture is judged."),
]

RULES: dict[str, Rule] = {r.id: r for r in _RULES}


def rule(rule_id: str) -> Rule:
    return RULES[rule_id]
