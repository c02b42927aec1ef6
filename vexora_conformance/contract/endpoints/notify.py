"""The notification: what the provider POSTs to the merchant's notifyUrl, and how the merchant must answer.

It is the one exchange the merchant receives, so its words speak of what arrived and what to do with it, never
of what to send. A captured notification sits at the merchant's own URL: its body's shape names it.
"""

from __future__ import annotations

from typing import Any

from ...core.findings import Kind, Severity
from ..endpoint import Answer, Endpoint, Words, spec_beside

E, W = Severity.ERROR, Severity.WARNING


def looks_like_notification(body: Any) -> bool:
    """Only the provider sends platFormTradeNo unasked; a merchant's request that carries it (a pay-in submit) is
    told apart by its path, which is read first, and a Checkout request carries notifyUrl instead."""
    return isinstance(body, dict) and "platFormTradeNo" in body and "notifyUrl" not in body


ENDPOINT = Endpoint(
    name="notify", order=90, rule_prefix="notify.", noun="notification", spec=spec_beside(__file__),
    answer=Answer.OK_TEXT, checks_skew=False, diagnoses=False, recognise=looks_like_notification,
    coverage={
        "delivered 0000": "vexora_mock.deliver_notification(handler, trade_no) after vexora_mock.pay(trade_no)",
        "delivered 0001": 'vexora_mock.deliver_notification(handler, trade_no, status="0001", amount=smaller)',
        "delivered a failure": 'vexora_mock.deliver_notification(handler, trade_no, status="00029")',
        "a forged notification": "vexora_mock.deliver_notification(handler, body=dict(note, amount=\"1\"))",
        "a malformed body": 'vexora_mock.deliver_notification(handler, body=b"{")',
        "the effect battery": "vexora_mock.check_notification_handler(handler, state=your_adapter)",
    },
    words={
        Kind.METHOD: Words("the notification was not a POST", "The provider POSTs notifications."),
        Kind.CONTENT_TYPE: Words("the notification's Content-Type is not application/json",
                                 "The provider sends notifications as application/json."),
        Kind.JSON: Words("the notification's body is not a JSON object",
                         "A notification is one JSON object; refuse anything else (answer anything but OK)."),
        Kind.REQUIRED: Words("the notification lacks a field the page documents",
                             "A notification carries platFormTradeNo, tradeNo, amount, status and sign; refuse one "
                             "without them (answer anything but OK)."),
        Kind.TYPE: Words("a field of the notification has the wrong JSON type",
                         "The documented fields are JSON strings; refuse a notification that is not so formed."),
        Kind.FORMAT: Words("a field of the notification breaks the documented format",
                           "Refuse a notification whose fields are not as documented (answer anything but OK)."),
        Kind.DUPLICATE_KEY: Words("a key appears twice in one JSON object of the notification",
                                  "Parsers disagree on which value counts: refuse such a notification."),
        Kind.UNKNOWN_FIELD: Words("the notification carries a field the documentation does not list",
                                  "Verify the sign over every field received, listed or not: the provider signs "
                                  "them all."),
        Kind.SIGN_MISSING: Words("the notification has no sign",
                                 "A notification without a sign must be refused: anyone could send it."),
        Kind.SIGN_FORMAT: Words("the notification's sign is not 32 lower-case hex digits",
                                "Refuse a notification whose sign is not an MD5 digest in lower-case hex."),
        Kind.SIGN_MISMATCH: Words("the notification's sign does not verify with the app secret",
                                  "A notification whose sign does not verify must be refused (answer anything but "
                                  "OK)."),
        Kind.SIGN_AMBIGUOUS: Words("a signed value of the notification renders differently across JSON libraries",
                                   "Verify with the provider's rendering (Java's String.valueOf)."),
        Kind.DOC_CONFLICT: Words("only another reading than the page's table makes this value of the "
                                 "notification valid", "--strict-tables follows the tables."),
    },
    own_rules={
        Kind.REPLY: (E, Words("the handler did not answer a valid notification with a 2xx and exactly OK",
                              "Answer the plain text OK (case-sensitive, no JSON, no other text); until then the "
                              "provider retries for 24 hours.")),
        Kind.REPLY_PADDED: (W, Words("the handler answered OK with white space around it",
                                     "Answer exactly OK: the page says the reply is the plain text OK, and trimming "
                                     "is not promised.")),
        Kind.SLOW: (E, Words("the handler answered after the provider's timeout",
                             "Answer within 10 s: acknowledge first, do slow work after answering (a queue).")),
        Kind.DUPLICATE: (E, Words("the handler did not answer OK to a notification it had already acknowledged",
                                  "A retried notification must be acknowledged again (OK), without fulfilling the "
                                  "order twice.")),
        Kind.ACCEPTS_BAD_SIGN: (E, Words("the handler answered OK to a notification whose sign is wrong",
                                         "Verify the sign before anything else: anyone who knows a tradeNo could "
                                         "otherwise mark it paid.")),
        Kind.MALFORMED_ACCEPTED: (W, Words("the handler answered OK to a body that is not a notification",
                                           "Answer anything but OK to a body that is not a JSON notification.")),
        Kind.CRASH: (W, Words("the handler answered a malformed body with a 5xx",
                              "Refuse malformed bodies with a 4xx: a 5xx looks like an outage to the provider and "
                              "to your alerts.")),
        Kind.UNKNOWN_ORDER: (W, Words("the handler acknowledged a notification for a tradeNo it cannot know",
                                      "Either answer is defensible; make sure nothing was fulfilled for an order "
                                      "you do not have.")),
        Kind.UNREACHABLE: (E, Words("the notifyUrl could not be reached",
                                    "notifyUrl must be reachable by the provider (public https URL, no login).")),
        Kind.FORGERY_ACKNOWLEDGED: (W, Words(
            "the handler answered OK to a forged notification, and the order did not change",
            "Nothing was marked paid, but answer anything but OK to a notification whose sign does not verify: "
            "an OK tells the sender the forgery worked, and a later change of code may act on it.")),
        # what the handler's code did to the order, read through the state adapter (docs: the state adapter)
        Kind.EFFECT_OVERCREDIT: (E, Words(
            "the order was credited more than was paid",
            "Credit what the notification says was paid: for 0001 the partial amount, and when amount differs "
            "from the order's, the notified amount (or nothing, for review), never the order's own amount.")),
        Kind.EFFECT_DOUBLE_CREDIT: (E, Words(
            "the order was credited twice for one payment",
            "Make the credit idempotent on tradeNo (or platFormTradeNo): a retried or concurrent copy of a "
            "notification must find the order already paid, under a lock or a unique constraint.")),
        Kind.EFFECT_FORGED_CHANGED: (E, Words(
            "a forged notification changed the order",
            "Verify the sign before reading anything else of the notification, and change nothing when it does "
            "not verify: whoever knows a tradeNo could otherwise mark it paid.")),
        Kind.EFFECT_ACK_DROPPED: (E, Words(
            "a valid 0000 notification was acknowledged, and nothing was credited",
            "Answer OK only once the payment is recorded (or queued durably): after an OK the provider does not "
            "send it again, and the payment is lost to the order.")),
        Kind.EFFECT_CREDITED_ON_FAILURE: (E, Words(
            "the order was credited on a failure status",
            "Credit only on 0000 (in full) or 0001 (the partial amount); any other status is not a payment.")),
        Kind.EFFECT_FINAL_CHANGED: (W, Words(
            "an order in a final state was changed by a later notification that contradicts it",
            "The pages do not say whether a final status can change; keep a paid order paid unless the provider "
            "confirms otherwise (ask the status query), and log the contradiction.")),
    },
)
