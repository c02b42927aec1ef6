"""Write example captures: a HAR and a JSON-lines file, each exchange with at most one known defect.

    python examples/make_captures.py            # rewrites examples/captures/
The secret of these captures is in examples/captures/sandbox-secret.txt (a made-up sandbox value).
``CASES`` is also the test suite's table of "defect -> rule id".
"""

from __future__ import annotations

import base64
import json
import sys
from datetime import UTC
from pathlib import Path
from typing import Any

from vexora_conformance.contract import signing
from vexora_conformance.contract.signing.diagnosis import recipe_for, sign_with

HERE = Path(__file__).resolve().parent / "captures"
SECRET = "sandbox-0f9e8d7c6b5a"
MERCHANT = "1000000001"
BASE = "https://sandbox.vexora.example/mexico"
T0 = 1764000000.0  # capture time of the first exchange (epoch seconds)


def body(n: int, **changes: Any) -> dict[str, Any]:
    b: dict[str, Any] = {
        "timestamp": str(int((T0 + n) * 1000)), "tradeNo": f"2025112416000{n:04d}", "amount": "300",
        "notifyUrl": "https://merchant.example/notify", "wayCode": "va", "remark": f"order {n}",
        "payer": "José Pérez", "email": "jose@example.mx", "mobile": "5512345678",
    }
    b.update(changes)
    return {k: v for k, v in b.items() if v is not ...}


def signed(b: dict[str, Any], *mistakes: str) -> dict[str, Any]:
    return {**b, "sign": sign_with(b, SECRET, recipe_for(*mistakes), MERCHANT) if mistakes else signing.sign(b, SECRET)}


def response(b: dict[str, Any], n: int, **changes: Any) -> dict[str, Any]:
    data = {"tradeNo": b.get("tradeNo"), "platFormTradeNo": f"p{n:015d}", "status": "0015", "desc": "Create",
            "remark": b.get("remark", ""), "paymentUrl": f"https://cashier.vexora.example/#/order/{n}"}
    data.update(changes)
    return {"msg": "success", "code": "0000", "timestamp": int((T0 + n) * 1000) + 150, "success": True, "data": data}


HEADERS = {"Content-Type": "application/json", "merchantNo": MERCHANT}

# (label, expected rule or None for clean, method, path, headers, body (dict or raw text), response dict or None)
def cases() -> list[tuple[str, str | None, str, str, dict[str, str], Any, Any]]:
    ok = "/v1/vexora/checkout"
    c: list[tuple[str, str | None, str, str, dict[str, str], Any, Any]] = []

    def add(label: str, rule: str | None, b: Any, *, method: str = "POST", path: str = ok,
            headers: dict[str, str] | None = None, resp: Any = "default") -> None:
        n = len(c)
        if resp == "default":
            resp = response(b, n) if isinstance(b, dict) else None
        c.append((label, rule, method, path, headers or HEADERS, b, resp))

    add("clean", None, signed(body(0)))
    add("clean, timestamp as a number (the table's long)", None, signed(body(1, timestamp=int((T0 + 1) * 1000))))
    add("wrong method", "request.method", signed(body(2)), method="PUT")
    add("trailing slash in path", "request.path", signed(body(3)), path=ok + "/")
    add("form content type", "request.content-type", signed(body(4)),
        headers={"Content-Type": "text/plain", "merchantNo": MERCHANT})
    add("no merchantNo header", "request.merchant-no", signed(body(5)), headers={"Content-Type": "application/json"})
    add("form-encoded body", "request.json", "amount=300&tradeNo=x", resp=None)
    add("missing notifyUrl", "request.required", signed(body(7, notifyUrl=...)))
    add("amount as a number", "request.type", signed(body(8, amount=300)))
    add("decimal amount", "request.amount", signed(body(9, amount="300.50")))
    add("unknown wayCode", "request.enum", signed(body(10, wayCode="oxxo")))
    add("undocumented field", "request.unknown-field", signed(body(11, currency="MXN")))
    add("no sign", "sign.missing", body(12))
    add("upper-case sign", "sign.format", signed(body(13), "uppercase-hex"))
    add("sign over unsorted keys", "sign.mismatch", signed(body(14), "insertion-order"))
    add("sign with the secret in front", "sign.mismatch", signed(body(15), "secret-prefixed"))
    add("null remark", "sign.ambiguous", signed(body(16, remark=None)))
    add("repeated tradeNo", "trade-no.duplicate", signed(body(17, tradeNo=body(0)["tradeNo"])))
    add("timestamp an hour old", "timestamp.skew", signed(body(18, timestamp=str(int((T0 + 18 - 3600) * 1000)))))
    add("response not JSON", "response.json", signed(body(19)), resp="<html>502 Bad Gateway</html>")
    add("response without paymentUrl", "response.required", signed(body(20)),
        resp={**response(body(20), 20), "data": {k: v for k, v in response(body(20), 20)["data"].items()
                                                 if k != "paymentUrl"}})
    add("response code as a number", "response.type", signed(body(21)), resp={**response(body(21), 21), "code": 0})
    add("response paymentUrl not a URL", "response.format", signed(body(22)),
        resp=response(body(22), 22, paymentUrl="order/22"))
    add("response echoes another tradeNo", "response.echo", signed(body(23)),
        resp=response(body(23), 23, tradeNo="someone-else"))
    add("platFormTradeNo returned twice", "response.platform-trade-no.duplicate", signed(body(24)),
        resp=response(body(24), 24, platFormTradeNo=f"p{0:015d}"))
    # Raw JSON text: a Python dict cannot hold a key twice.
    twice = json.dumps(signed(body(25)), ensure_ascii=False)
    add("amount given twice", "request.duplicate-key", twice[:-1] + ', "amount": "300"}', resp=response(body(25), 25))
    reply = json.dumps(response(body(26), 26), ensure_ascii=False)
    add("response with code twice", "response.duplicate-key", signed(body(26)), resp=reply[:-1] + ', "code": "0000"}')

    # The status query: the merchant asks about an order it created above.
    q = "/v1/vexora/queryPayInResult"
    add("query", None, query(0), path=q, resp=query_response(0))
    add("query signed over unsorted keys", "query.sign.mismatch", query(1, mistake="insertion-order"), path=q,
        resp=query_response(1))
    add("query without timestamp", "query.request.required", query(2, timestamp=...), path=q, resp=query_response(2))
    add("query without merchantNo", "query.request.advice", query(3), path=q,
        headers={"Content-Type": "application/json"}, resp=query_response(3))
    add("query answered about another order", "query.response.echo", query(4), path=q,
        resp=query_response(4, tradeNo="someone-else"))

    # Notifications, as the merchant's own server saw them: the provider's POST and the merchant's answer.
    n = "https://merchant.example/notify"
    plain = {"Content-Type": "application/json"}
    add("notification acknowledged", None, notification(5), path=n, headers=plain, resp=(200, "OK"))
    add("notification answered 'success'", "notify.reply", notification(6), path=n, headers=plain,
        resp=(200, "success"))
    add("notification answered 'OK\\n'", "notify.reply-padded", notification(7), path=n, headers=plain,
        resp=(200, "OK\n"))
    add("forged notification refused", None, notification(8, secret="not-the-app-secret"),
        path=n, headers=plain, resp=(400, "FAIL"))
    add("forged notification acknowledged", "notify.accepts-bad-sign", notification(9, secret="not-the-app-secret"),
        path=n, headers=plain, resp=(200, "OK"))
    add("notification without status, refused", None, notification(10, status=...), path=n,
        headers=plain, resp=(400, "FAIL"))
    add("notification without status, acknowledged", "notify.malformed-accepted", notification(11, status=...),
        path=n, headers=plain, resp=(200, "OK"))

    # A Bangladesh client (BKASH): its market's Checkout, the pay-in submit, pay-outs, their query, the balance.
    bd = "/bangladesh/v1/vexora/"

    def at() -> int:  # the capture time of the next exchange, in milliseconds
        return int((T0 + len(c)) * 1000)

    add("bangladesh checkout", None, signed(bd_checkout(0, at())), path=bd + "checkout",
        resp=bd_answer({"tradeNo": bd_checkout(0, 0)["tradeNo"], "platFormTradeNo": "bd0", "status": "0015",
                        "desc": "Paying", "remark": "deposit 0", "paymentLink": "https://cashier.vexora.example/bd/0"},
                       at()))
    add("bangladesh checkout with Mexico's email field", "request.unknown-field",
        signed(bd_checkout(1, at(), email="a@example.com")), path=bd + "checkout",
        resp=bd_answer({"tradeNo": bd_checkout(1, 0)["tradeNo"], "platFormTradeNo": "bd1", "status": "0015",
                        "desc": "Paying", "remark": "deposit 1", "paymentLink": "https://cashier.vexora.example/bd/1"},
                       at()))
    add("pay-in submit", None, signed({"timestamp": at(), "platFormTradeNo": "bd0", "trxId": "TRX00000001"}),
        path=bd + "payinSubmit", resp=bd_answer(True, at()))
    add("pay-in submit at Myanmar's spelling", "payin-submit.request.advice",
        signed({"timestamp": at(), "platFormTradeNo": "bd1", "trxId": "TRX00000002"}), path=bd + "payInSubmit",
        resp=bd_answer(True, at()))
    payouts = [
        ("pay-out", None, {}, ()),
        ("pay-out with a repeated tradeNo", "payout.trade-no.duplicate", {"tradeNo": "PO20251124160000"}, ()),
        ("pay-out with decimals the page does not recommend", "payout.request.advice", {"amount": "300.50"}, ()),
        ("pay-out signed with the secret in front", "payout.sign.mismatch", {}, ("secret-prefixed",)),
        ("pay-out without walletId", "payout.request.required", {"walletId": ...}, ()),
    ]
    for n, (label, rule, changes, mistakes) in enumerate(payouts):
        b = bd_payout(n, at(), **changes)
        add(label, rule, signed(b, *mistakes), path=bd + "disbursements",
            resp=bd_answer({"tradeNo": b["tradeNo"], "platFormTradeNo": f"po{n}", "status": "0015",
                            "message": "In processing"}, at()))
    add("pay-out query, timestamp as a number", None, signed({"tradeNo": "PO20251124160000", "timestamp": at()}),
        path=bd + "queryPayOutResult",
        resp=bd_answer({"tradeNo": "PO20251124160000", "platFormTradeNo": "po0", "amount": "300", "status": "0000",
                        "message": "Success", "successTime": "2025-11-24 16:10:00"}, at()))
    balance = {"availableAmount": 99700.0, "freezeAmount": 300.0, "unsettledAmount": 500.0}
    add("balance query", None, signed({"timestamp": at()}), path=bd + "queryBalance", resp=bd_answer(balance, at()))
    add("balance query without merchantNo", "balance.request.merchant-no", signed({"timestamp": at()}),
        path=bd + "queryBalance", headers={"Content-Type": "application/json"}, resp=bd_answer(balance, at()))
    return c


def bd_checkout(n: int, ms: int, **changes: Any) -> dict[str, Any]:
    # As the Bangladesh integration sends it: timestamp a JSON number (Date.now()), wayCode BKASH.
    b = {"timestamp": ms, "tradeNo": f"BD2025112416{n:04d}", "amount": "500", "wayCode": "BKASH",
         "notifyUrl": "https://merchant.example/notify", "returnUrl": "https://merchant.example/done",
         "remark": f"deposit {n}", **changes}
    return {k: v for k, v in b.items() if v is not ...}


def bd_payout(n: int, ms: int, **changes: Any) -> dict[str, Any]:
    b = {"timestamp": ms, "tradeNo": f"PO2025112416{n:04d}", "amount": "300", "walletId": "01712345678",
         "wayCode": "NAGAD", "notifyUrl": "https://merchant.example/notify-payout", "remark": f"withdrawal {n}",
         **changes}
    return {k: v for k, v in b.items() if v is not ...}


def bd_answer(data: Any, ms: int) -> dict[str, Any]:
    return {"msg": "success", "code": "0000", "timestamp": ms + 100, "success": True, "data": data}


def query(n: int, mistake: str | None = None, **changes: Any) -> dict[str, Any]:
    b = {"tradeNo": body(n)["tradeNo"], "timestamp": str(int((T0 + 100 + n) * 1000)), **changes}
    b = {k: v for k, v in b.items() if v is not ...}
    return signed(b, mistake) if mistake else signed(b)


def query_response(n: int, **changes: Any) -> dict[str, Any]:
    data = {"tradeNo": body(n)["tradeNo"], "platFormTradeNo": f"p{n:015d}", "status": "0015", "message": "Create",
            "amount": "300", "receivedAmount": "0", "paymentList": []}
    data.update(changes)
    return {"msg": "success", "code": "0000", "timestamp": int((T0 + 100 + n) * 1000) + 90, "success": True,
            "data": data}


def notification(n: int, secret: str = SECRET, **changes: Any) -> dict[str, Any]:
    b = {"platFormTradeNo": f"p{n:015d}", "tradeNo": body(n)["tradeNo"], "amount": "300", "status": "0000",
         **changes}
    b = {k: v for k, v in b.items() if v is not ...}
    return {**b, "sign": signing.sign(b, secret)}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _url(path: str) -> str:
    if path.startswith("https://"):
        return path
    return (BASE.rsplit("/", 1)[0] if path.startswith("/bangladesh/") else BASE) + path


def _answer(resp: Any) -> tuple[int, str, str]:
    """(status, body text, content type): a notification's plain-text reply, or the provider's JSON."""
    if isinstance(resp, tuple):
        return resp[0], resp[1], "text/plain"
    return 200, _text(resp), "application/json"


def jsonl_lines() -> list[str]:
    lines = []
    for n, (_, _, method, path, headers, b, resp) in enumerate(cases()):
        record: dict[str, Any] = {
            "request": {"method": method, "url": _url(path), "headers": headers, "body": _text(b)},
            "time": T0 + n,
        }
        if resp is not None:
            status, text, ctype = _answer(resp)
            record["response"] = {"status": status, "headers": {"Content-Type": ctype}, "body": text}
        lines.append(json.dumps(record, ensure_ascii=False))
    return lines


def har() -> dict[str, Any]:
    """As browsers and proxies write it: name/value headers in mixed case, a base64 body, unrelated entries."""
    entries: list[dict[str, Any]] = [{
        "startedDateTime": "2025-11-24T16:00:00.000Z",
        "request": {"method": "GET", "url": "https://merchant.example/cart", "headers": [], "httpVersion": "HTTP/1.1"},
        "response": {"status": 200, "headers": [], "content": {"size": 0, "mimeType": "text/html"}},
    }]
    from datetime import datetime

    for n, (_, _, method, path, headers, b, resp) in enumerate(cases()):
        when = datetime.fromtimestamp(T0 + n, tz=UTC).isoformat().replace("+00:00", "Z")
        hdrs = [{"name": k.lower() if n % 2 else k, "value": v} for k, v in headers.items()]
        status, text, ctype = _answer(resp) if resp is not None else (0, "", "")
        content: dict[str, Any] = {"size": 0, "mimeType": ctype}
        if resp is not None and n % 3 == 0:
            content.update(text=base64.b64encode(text.encode()).decode(), encoding="base64")
        elif resp is not None:
            content["text"] = text
        entries.append({
            "startedDateTime": when,
            "request": {"method": method, "url": _url(path), "headers": hdrs, "httpVersion": "HTTP/1.1",
                        "postData": {"mimeType": headers.get("Content-Type", ""), "text": _text(b)}},
            "response": {"status": status, "headers": [], "content": content},
        })
    return {"log": {"version": "1.2", "creator": {"name": "make_captures", "version": "1"}, "entries": entries}}


def write(directory: Path = HERE) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "checkout.jsonl").write_text("\n".join(jsonl_lines()) + "\n", encoding="utf-8")
    (directory / "checkout.har").write_text(json.dumps(har(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    (directory / "sandbox-secret.txt").write_text(SECRET + "\n", encoding="utf-8")


if __name__ == "__main__":
    write(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
    print(f"wrote {HERE}")
