"""Recordings of live traffic (``proxy --record``, ``listen --record``), in the JSON-lines format ``validate``
reads, or HAR when the file's name ends ``.har``; append-only and flushed per exchange, so a crash loses at most
the exchange in flight (a HAR is closed on exit; JSON lines need no closing).

What is written is redacted first: the payer's email, mobile and name (and a beneficiary's account) are replaced
by placeholders of the same shape - a letter for a letter, a digit for a digit, punctuation kept - so a valid
value stays valid and a broken one stays broken, and the same value always gets the same placeholder within a
recording (keyed by a random key that is never written). The app secret is never written. Signs made with it
would let anyone holding the recording guess a weak secret offline, so with ``resign_with`` (a fixture secret)
every sign is rewritten: one that verified is signed again with the fixture secret, one whose mistake is known
is remade with the same mistake, and any other wrong one is replaced by another wrong one. ``validate`` with the
fixture secret then gives the live run's verdicts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any

from ..contract import signing
from ..contract.signing.diagnosis import recipe_for, sign_with
from ..core.errors import os_reason
from ..core.exchange import Exchange
from ..core.findings import Finding, Kind
from ..core.jsontext import JSONTextError, loads

PAYER_FIELDS = frozenset({"payer", "email", "customerEmail", "mobile", "customerMobile", "phone", "name", "firstname",
                          "lastname", "customerName", "username", "accountName", "accountNo", "walletId"})


def _same_kind(ch: str, b: int) -> str:
    for kind in ("0123456789", "abcdef", "ABCDEF"):
        if ch in kind:
            return kind[b % len(kind)]
    return ch
_NUMBERISH = re.compile(r"[+(]?[0-9][0-9 ()-]*")
_PREFIX_KEPT = 3
# a payer field's key and its value (a JSON string, or an integer) as written in the text; the key either spelt
# plainly or written with an escape (``"em\u0061il"`` is "email" to every parser), which ``_payer_key`` decodes;
# the text before the first escape is matched by a class that excludes it, so a key is split one way only (two
# ways of matching each escape made a string of backslashes take time in the square of its length)
_PAYER_VALUE = re.compile(r'("(?:' + "|".join(sorted(PAYER_FIELDS)) + r'|[^"\\]*\\.(?:[^"\\]|\\.)*)"\s*:\s*)'
                          r'("(?:[^"\\]|\\.)*"|-?[0-9]+(?![0-9.eE]))')


def _payer_key(written: str) -> bool:
    """Whether the key of ``"key": `` (as ``_PAYER_VALUE`` found it) names a payer field once decoded."""
    key = written[:written.rindex('"') + 1]
    return "\\" not in key or json.loads(key) in PAYER_FIELDS


class Redactor:
    """Stable, same-shape placeholders for payer data, keyed per recording."""

    def __init__(self, key: bytes | None = None) -> None:
        self._key = key or secrets.token_bytes(32)

    def placeholder(self, value: str) -> str:
        stream = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha512).digest()
        # A phone or wallet number keeps its first three digits (a country or operator prefix, which the
        # pages' formats test: Bangladesh's walletId is ^01[0-9]{9}$); the rest, which names the payer, goes.
        keep = _PREFIX_KEPT if _NUMBERISH.fullmatch(value) else 0
        out = []
        for n, ch in enumerate(value):
            if keep and ch.isdigit():
                keep -= 1
                out.append(ch)
                continue
            b = stream[n % len(stream)] ^ (n // len(stream))
            if ch.isdigit() and ch.isascii():
                out.append(str(b % 10))
            elif ch.isalpha():
                letter = chr(ord("a") + b % 26)
                out.append(letter.upper() if ch.isupper() else letter)
            else:
                out.append(ch)  # @ . - + space: the shape that makes an email an email
        return "".join(out)

    def value(self, v: Any) -> Any:
        """A payer field's value replaced: a string by a placeholder, a number (a mobile sent as one) too."""
        if isinstance(v, str):
            return self.placeholder(v)
        if isinstance(v, int) and not isinstance(v, bool):
            return int(self.placeholder(str(v)))  # its first digits are kept: no leading zero appears
        return self.body(v)

    def text(self, text: str) -> str:
        """Every payer field's value replaced where it is written, each occurrence: a key written twice keeps
        its earlier value in the text, which the parsed body (the last one wins) no longer has."""
        def swap(match: re.Match[str]) -> str:
            literal = match.group(2)
            try:
                if not _payer_key(match.group(1)):
                    return match.group(0)
                value = json.loads(literal)
            except ValueError:
                return match.group(0)
            return match.group(1) + json.dumps(self.value(value))  # ASCII: a lone surrogate stays escaped

        return _PAYER_VALUE.sub(swap, text)

    def scramble(self, text: str) -> str:
        """A body that is not JSON (or nests too deep to read): no field can be told from another, so every
        letter and digit is replaced; its punctuation, and so its verdict (not JSON), stays."""
        return self.placeholder(text)

    def body(self, value: Any) -> Any:
        """A parsed body with every payer field (at any depth) replaced."""
        if isinstance(value, dict):
            return {k: self.value(v) if k in PAYER_FIELDS else self.body(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.body(v) for v in value]
        return value


def _replace_text(text: str, old: Any, new: Any) -> str | None:
    """``text`` with the JSON string ``old`` written as ``new``, in whichever form it was written; None when it
    is not there as written (the caller re-serializes)."""
    for ascii_only in (False, True):
        form = json.dumps(old, ensure_ascii=ascii_only)
        if form in text:
            return text.replace(form, json.dumps(new, ensure_ascii=ascii_only))
    return None


@dataclass
class Rewriter:
    """Redacts a body's text and rewrites its sign, keeping the text as it was wherever it can."""

    redactor: Redactor | None  # None: the payer's data is already placeholders (a replay of a recording)
    resign_with: signing.Secret | None = None
    shift_ms: int = 0  # added to the body's timestamp (a replay keeps each request's skew from its sending time)

    def request_body(self, text: str | None, parsed: Any, findings: list[Finding], merchant_no: str | None,
                     secret: signing.Secret | None) -> str | None:
        if text and parsed is None and self.redactor is not None:
            return self.redactor.scramble(text)
        if text is None or not isinstance(parsed, dict):
            return text
        new = self.redactor.body(parsed) if self.redactor is not None else dict(parsed)
        stamp = parsed.get("timestamp")
        if self.shift_ms and isinstance(stamp, (int, str)) and not isinstance(stamp, bool) \
                and str(stamp).isascii() and str(stamp).isdigit():
            moved = int(stamp) + self.shift_ms
            new["timestamp"] = moved if isinstance(stamp, int) else str(moved)
        if self.resign_with is not None and isinstance(parsed.get("sign"), str):
            new["sign"] = self._new_sign(parsed, new, findings, merchant_no, secret)
        # the payer's values replaced where they are written first: a key written twice keeps its earlier value
        # in the text, which no comparison of parsed bodies sees
        out: str | None = self.redactor.text(text) if self.redactor is not None else text
        if new == parsed:
            return out
        if isinstance(stamp, int) and new["timestamp"] != stamp:  # a number: only where the key names it
            out, n = re.subn(r'("timestamp"\s*:\s*)' + str(stamp) + r"(?![0-9])", rf"\g<1>{new['timestamp']}",
                             out or "", count=1)
            out = out if n else None
        for key in parsed:
            if out is None:
                break
            if parsed[key] != new[key] and isinstance(parsed[key], str) and \
                    not (key in PAYER_FIELDS and self.redactor is not None):  # replaced where written, above
                out = _replace_text(out, parsed[key], new[key])
        if out is None or any(isinstance(parsed[k], (dict, list)) and parsed[k] != new[k] for k in parsed):
            out = json.dumps(new, ensure_ascii=False, separators=(",", ":"))
        return out

    def _new_sign(self, parsed: dict[str, Any], redacted: dict[str, Any], findings: list[Finding],
                  merchant_no: str | None, secret: signing.Secret | None) -> str:
        assert self.resign_with is not None
        fields = {k: v for k, v in redacted.items() if k != signing.SIGN_KEY}
        if secret is not None and signing.verify(parsed, secret):
            return signing.sign(fields, self.resign_with)
        wrong = next((f for f in findings if f.kind in (Kind.SIGN_MISMATCH, Kind.SIGN_FORMAT)
                      and f.details.get("diagnosis")), None)
        found = wrong.details.get("diagnosis") if wrong is not None else None
        if isinstance(found, list) and len(found) == 1:  # remade with the same mistake, under the fixture secret
            return sign_with(fields, self.resign_with, recipe_for(*found[0].split("+")), merchant_no)
        # Another wrong sign of the same shape (each hex digit, lower- or upper-case letter kept as its kind),
        # so its format verdict is the one the live run gave and it still verifies under no secret.
        stream = hashlib.sha512(b"vexora-recording-wrong-sign" + json.dumps(fields, sort_keys=True).encode()).digest()
        return "".join(_same_kind(ch, stream[n % len(stream)]) for n, ch in enumerate(str(parsed["sign"])))

    def answer_body(self, text: str | None, parsed: Any) -> str | None:
        # An answer that is not JSON is kept as it came: it is a handler's reply ("OK", "success") or an error
        # page, whose exact text is the verdict; no documented answer carries the payer's data outside JSON.
        if text is None or not isinstance(parsed, (dict, list)) or self.redactor is None:
            return text
        new = self.redactor.body(parsed)
        return text if new == parsed else json.dumps(new, ensure_ascii=False, separators=(",", ":"))


class Recorder:
    """Writes each exchange as it completes: one JSON line (or one HAR entry), flushed.

    A write that fails (a full disk, a file gone) stops the recording there, never the door: ``failure`` says
    why, ``lost`` counts the exchanges not recorded since, and ``on_failure`` is told once. Nothing more is
    written after it, so a recording is never a record cut in half followed by whole ones."""

    def __init__(self, path: str, rewriter: Rewriter, on_failure: Callable[[str], None] | None = None) -> None:
        self.path, self.rewriter = path, rewriter
        self.har = path.endswith(".har")
        self.failure: str | None = None
        self.lost = 0
        self._on_failure = on_failure
        self._lock = threading.Lock()
        # JSON lines are appended to; a HAR is one document, so an existing one is never written into.
        # backslashreplace: a lone surrogate (a body may escape one) is written as its JSON escape, not a crash
        self._file: IO[str] = open(path, "x" if self.har else "a", encoding="utf-8",  # noqa: SIM115 - held
                                   errors="backslashreplace")
        self._entries = 0
        if self.har:
            self._file.write('{"log": {"version": "1.2", "creator": {"name": "vexora-conformance", "version": '
                             '"0"}, "entries": [\n')
            self._file.flush()

    def write(self, exchange: Exchange, findings: list[Finding], endpoint: str | None,
              secret: signing.Secret | None) -> None:
        req, resp = exchange.request, exchange.response
        raw = req.body.decode("utf-8", "replace") if isinstance(req.body, bytes) else req.body
        parsed = _parsed(raw)
        body = self.rewriter.request_body(raw, parsed, findings, req.headers.get("merchantno"), secret)
        record: dict[str, Any] = {"request": {"method": req.method, "url": req.url,
                                              "headers": [[k, v] for k, v in req.headers.items()], "body": body}}
        if endpoint == "notify":
            record["endpoint"] = "notify"
        if resp is not None:
            text = resp.body.decode("utf-8", "replace") if isinstance(resp.body, bytes) else resp.body
            kept = [[k, v] for k, v in resp.headers.items()
                    if k.lower() not in ("content-encoding", "transfer-encoding", "content-length")]
            record["response"] = {"status": resp.status, "headers": kept,
                                  "body": self.rewriter.answer_body(text, _parsed(text))}
        if exchange.time is not None:
            record["time"] = exchange.time
        with self._lock:
            if self.failure is not None:
                self.lost += 1
                return
            try:
                if self.har:
                    self._file.write(("," if self._entries else "") + json.dumps(_har_entry(record)) + "\n")
                else:
                    self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
                self._file.flush()
                os.fsync(self._file.fileno())
            except (OSError, ValueError) as exc:  # ValueError: the file was closed under the door
                self.lost += 1
                self._failed(exc)
                return
            self._entries += 1

    def _failed(self, exc: Exception) -> None:
        self.failure = os_reason(exc) if isinstance(exc, OSError) else "the file was closed"
        if self._on_failure is not None:
            self._on_failure(self.failure)

    def close(self) -> None:
        with self._lock:
            try:
                if self.har and self.failure is None:
                    self._file.write("]}}\n")
                self._file.close()
            except (OSError, ValueError) as exc:
                if self.failure is None:
                    self._failed(exc)

    def problem(self) -> str | None:
        """One line for the end of the run when the recording is incomplete (None when it is whole)."""
        if self.failure is None:
            return None
        return (f"the recording {self.path} stopped after {self._entries} exchange(s): {self.failure}; "
                f"{self.lost} exchange(s) were not recorded")


def _parsed(text: str | None) -> Any:
    """The body as JSON, within the judge's nesting bound; None when it is not (then it is scrambled whole)."""
    try:
        return loads(text, duplicates=False) if text else None
    except JSONTextError:
        return None


def _har_entry(record: dict[str, Any]) -> dict[str, Any]:
    import datetime

    req, resp = record["request"], record.get("response")
    when = datetime.datetime.fromtimestamp(record.get("time") or 0, datetime.UTC).isoformat()
    entry: dict[str, Any] = {
        "startedDateTime": when, "time": 0,
        "request": {"method": req["method"], "url": req["url"], "httpVersion": "HTTP/1.1",
                    "headers": [{"name": k, "value": v} for k, v in req["headers"]], "queryString": [],
                    "cookies": [], "headersSize": -1, "bodySize": -1,
                    "postData": {"mimeType": "application/json", "text": req["body"] or ""}},
        "response": {"status": resp["status"] if resp else 0, "statusText": "", "httpVersion": "HTTP/1.1",
                     "headers": [{"name": k, "value": v} for k, v in (resp["headers"] if resp else [])],
                     "cookies": [], "content": {"size": -1, "mimeType": "application/json",
                                                "text": (resp["body"] or "") if resp else ""},
                     "redirectURL": "", "headersSize": -1, "bodySize": -1},
        "cache": {}, "timings": {"send": 0, "wait": 0, "receive": 0},
    }
    return entry
