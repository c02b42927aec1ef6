"""A small merchant's notification handler, written without the project's code (the standard library only).

    python shop.py ORDERS.json SECRET [--flaw NAME]

It prints its port, then serves:
- ``POST /vexora/notify``: the provider's notification; verifies the sign (MD5 of the sorted non-empty pairs,
  sign excluded, the secret appended), credits the order and answers ``OK``;
- ``POST /state`` ``{"tradeNo", "amount"}`` creates a pending order, ``GET /state?tradeNo=...`` reads one as
  ``{"credited": "...", "status": "..."}``: the state adapter's URL form.

Orders live in ORDERS.json, which the Node state adapter (``state.mjs``) reads and writes too, under the same
lock (a directory beside the file: making one is atomic in both languages).

``--flaw`` makes it lose money the way the two public integrations were seen to:
``partial-in-full`` credits a 0001 as the whole order, ``amount-unchecked`` credits a 0000 at the order's amount
whatever was paid, ``no-final-state`` lets every notification set the state, ``ok-then-nothing`` answers OK to
every sender outside an allow-list and processes nothing, ``double-credit`` adds each 0000 again,
``no-sign-check`` believes any notification, ``credit-on-failure`` credits whatever the status.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

ORDERS = Path(sys.argv[1])
SECRET = sys.argv[2]
FLAW = sys.argv[sys.argv.index("--flaw") + 1] if "--flaw" in sys.argv else "none"
LOCK = Path(str(ORDERS) + ".lock")
FINAL = ("paid", "failed")


class Locked:
    def __enter__(self) -> dict:
        deadline = time.monotonic() + 10
        while True:
            try:
                os.mkdir(LOCK)
                break
            except FileExistsError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.002)
        self.orders = json.loads(ORDERS.read_text()) if ORDERS.exists() else {}
        return self.orders

    def __exit__(self, *exc: object) -> None:
        tmp = ORDERS.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.orders))
        os.replace(tmp, ORDERS)
        os.rmdir(LOCK)


def sign_of(fields: dict) -> str:
    text = "".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "sign" and str(fields[k]) != "")
    return hashlib.md5((text + SECRET).encode("utf-8")).hexdigest()


def credit(order: dict, note: dict) -> None:
    status, amount = note["status"], Decimal(note["amount"])
    wanted = Decimal(order["amount"])
    if FLAW == "credit-on-failure":
        order["credited"] = str(amount)
        order["status"] = "paid"
        return
    if order["status"] in FINAL and FLAW not in ("no-final-state", "double-credit"):
        return  # a final state stays final
    if status == "0000":
        if FLAW == "double-credit":
            time.sleep(0.05)  # the read-modify-write window a concurrent copy falls into
            order["credited"] = str(Decimal(order["credited"]) + amount)
            order["status"] = "paid"
        elif FLAW in ("amount-unchecked", "no-final-state"):
            order["credited"], order["status"] = str(wanted), "paid"
        elif amount == wanted:
            order["credited"], order["status"] = str(amount), "paid"
        else:
            order["status"] = "review"  # paid a different amount: a person looks at it; nothing is credited
    elif status == "0001":
        order["credited"] = str(wanted if FLAW == "partial-in-full" else amount)
        order["status"] = "partial"
    elif status == "0015":
        if FLAW == "no-final-state":
            order["credited"], order["status"] = "0", "pending"
    else:
        order["status"] = "failed"
        if FLAW == "no-final-state":
            order["credited"] = "0"


class Shop(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def answer(self, status: int, text: str, kind: str = "text/plain") -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        trade_no = parse_qs(url.query).get("tradeNo", [""])[0]
        with Locked() as orders:
            order = orders.get(trade_no)
        if url.path != "/state" or order is None:
            self.answer(404, "no such order")
        else:
            self.answer(200, json.dumps({"credited": order["credited"], "status": order["status"]}),
                        "application/json")

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path = urlsplit(self.path).path
        if path == "/state":
            asked = json.loads(body)
            with Locked() as orders:
                orders[asked["tradeNo"]] = {"amount": asked["amount"], "credited": "0", "status": "pending"}
            self.answer(201, "created")
            return
        if path != "/vexora/notify":
            self.answer(404, "not found")
            return
        if FLAW == "ok-then-nothing":  # an allow-list of the provider's addresses: everyone else is told OK
            self.answer(200, "OK")
            return
        try:
            note = json.loads(body)
            fields_ok = all(isinstance(note.get(k), str) for k in ("tradeNo", "amount", "status"))
        except ValueError:
            note, fields_ok = None, False
        if not isinstance(note, dict) or not fields_ok:
            self.answer(400, "bad request")
            return
        if FLAW != "no-sign-check" and note.get("sign") != sign_of(note):
            self.answer(401, "bad sign")
            return
        with Locked() as orders:
            order = orders.get(note["tradeNo"])
            if order is None:
                known = False
            else:
                known = True
                credit(order, note)
        if not known:
            self.answer(404, "unknown order")  # refuses orders it does not have
        else:
            self.answer(200, "OK")


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    print(server.server_address[1], flush=True)
    server.serve_forever()
