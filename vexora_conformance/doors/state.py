"""The state adapter: how the tool creates an order in the merchant's system and reads it back.

With it the tool judges what the merchant's code *did* with the money, not only what it answered. The
protocol is small enough to write in any language (docs: the state adapter):

- command form (``--state-cmd 'CMD ...'``): ``CMD ... create TRADE_NO AMOUNT`` makes a pending order and exits
  0; ``CMD ... read TRADE_NO`` prints one JSON object ``{"credited": "<digits>", "status": "<word>"}``;
- URL form (``--state-url URL``): ``POST URL`` with ``{"tradeNo": ..., "amount": ...}`` creates; ``GET
  URL?tradeNo=...`` answers the same object;
- in Python: any object with ``create(trade_no, amount)`` and ``read(trade_no)`` returning that mapping.

An adapter is untrusted: each call is bounded in time and in output, and anything it does wrong is a
``StateError`` whose message names what it did (the command line makes it exit 2, one line).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote

from ..core.text import one_line
from . import wire

TIMEOUT_S = 10.0  # one call of the adapter
MAX_OUTPUT = 64 * 1024
MAX_STATUS = 200
_DIGITS = re.compile(r"[0-9]+(\.[0-9]+)?\Z")


class StateError(Exception):
    """The state adapter did something the protocol does not allow; the message says what."""


@dataclass(frozen=True)
class OrderState:
    """An order as the merchant's system has it: what it credited (or fulfilled) for it, and its own word."""

    credited: Decimal
    status: str

    def shown(self) -> str:
        return f"credited {self.credited}, status {self.status!r}"


class StateAdapter(Protocol):
    def create(self, trade_no: str, amount: str) -> None: ...

    def read(self, trade_no: str) -> OrderState: ...


def parse_state(value: Any, where: str) -> OrderState:
    """The adapter's answer to ``read``, checked: ``{"credited": "<digits>", "status": "<text>"}``."""
    if not isinstance(value, Mapping):
        raise StateError(f"{where} did not answer a JSON object with credited and status")
    credited, status = value.get("credited"), value.get("status")
    if isinstance(credited, int) and not isinstance(credited, bool):
        credited = str(credited)
    if not isinstance(credited, str) or not _DIGITS.match(credited):
        raise StateError(f"{where} answered credited={one_line(repr(credited))[:60]}: it must be a string of digits "
                         '("0" when nothing was credited)')
    if not isinstance(status, str) or len(status) > MAX_STATUS:
        raise StateError(f"{where} answered no status text (at most {MAX_STATUS} characters)")
    return OrderState(Decimal(credited), status)


class CommandState:
    """``CMD ... create TRADE_NO AMOUNT`` and ``CMD ... read TRADE_NO``, each bounded in time and output."""

    def __init__(self, command: str, timeout: float = TIMEOUT_S) -> None:
        try:
            self.argv = shlex.split(command)
        except ValueError as exc:
            raise StateError(f"the state command cannot be read as a command line: {exc}") from None
        if not self.argv:
            raise StateError("the state command is empty")
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"CommandState({self.argv[0]!r})"

    def _run(self, *args: str) -> bytes:
        try:
            proc = subprocess.Popen([*self.argv, *args], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
        except OSError as exc:
            raise StateError(f"cannot start the state command {self.argv[0]!r}: {exc.strerror or exc}") from None
        try:
            out, err = _bounded(proc, self.timeout)
        finally:
            with contextlib.suppress(OSError):
                os.killpg(proc.pid, signal.SIGKILL)
        if proc.returncode != 0:
            said = one_line(err.decode("utf-8", "replace").strip().splitlines()[-1][:200]) if err.strip() else ""
            raise StateError(f"the state command '{args[0]}' exited with code {proc.returncode}"
                             + (f": {said}" if said else ""))
        return out

    def create(self, trade_no: str, amount: str) -> None:
        self._run("create", trade_no, amount)

    def read(self, trade_no: str) -> OrderState:
        out = self._run("read", trade_no)
        try:
            value = json.loads(out.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            shown = one_line(out[:60].decode("utf-8", "replace"))
            raise StateError(f"the state command 'read' printed {shown!r}, not one JSON object") from None
        return parse_state(value, "the state command 'read'")


def _bounded(proc: subprocess.Popen[bytes], timeout: float) -> tuple[bytes, bytes]:
    """Its output, at most MAX_OUTPUT of each stream, within ``timeout``: more, or later, is a StateError."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise StateError(f"the state command did not finish within {timeout:g} s") from None
    if len(out) > MAX_OUTPUT:
        raise StateError(f"the state command printed more than {MAX_OUTPUT // 1024} KiB")
    return out, err[-MAX_OUTPUT:]


class UrlState:
    """``POST URL`` creates, ``GET URL?tradeNo=...`` reads; each a bounded exchange (``wire``)."""

    def __init__(self, url: str, timeout: float = TIMEOUT_S) -> None:
        from ..core.urls import http_url_problem

        problem = http_url_problem(url)
        if problem is not None:
            raise StateError(f"the state URL is not a usable http(s) URL: {problem}")
        self.url, self.timeout = url, timeout

    def __repr__(self) -> str:
        return "UrlState(...)"

    def _call(self, method: str, url: str, body: bytes, what: str) -> wire.Answer:
        try:
            answer = wire.request(method, url, body, {"Content-Type": "application/json"}, self.timeout, MAX_OUTPUT)
        except wire.DeliveryError as exc:
            raise StateError(f"the state URL ({what}): {exc}") from None
        if not 200 <= answer.status < 300:
            raise StateError(f"the state URL ({what}) answered HTTP {answer.status}")
        if answer.cut:
            raise StateError(f"the state URL ({what}) answered more than {MAX_OUTPUT // 1024} KiB")
        return answer

    def create(self, trade_no: str, amount: str) -> None:
        self._call("POST", self.url, json.dumps({"tradeNo": trade_no, "amount": amount}).encode(), "create")

    def read(self, trade_no: str) -> OrderState:
        sep = "&" if "?" in self.url else "?"
        answer = self._call("GET", f"{self.url}{sep}tradeNo={quote(trade_no, safe='')}", b"", "read")
        try:
            value = json.loads(answer.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise StateError("the state URL (read) did not answer one JSON object") from None
        return parse_state(value, "the state URL (read)")


class PythonState:
    """An object of the caller's with ``create`` and ``read``; what it raises or returns is checked alike."""

    def __init__(self, adapter: Any) -> None:
        if not callable(getattr(adapter, "create", None)) or not callable(getattr(adapter, "read", None)):
            raise StateError("the state adapter needs create(trade_no, amount) and read(trade_no)")
        self.adapter = adapter

    def create(self, trade_no: str, amount: str) -> None:
        try:
            self.adapter.create(trade_no, amount)
        except Exception as exc:
            raise StateError(f"the state adapter's create raised {type(exc).__name__}: {one_line(str(exc))[:200]}") \
                from exc

    def read(self, trade_no: str) -> OrderState:
        try:
            value = self.adapter.read(trade_no)
        except Exception as exc:
            raise StateError(f"the state adapter's read raised {type(exc).__name__}: {one_line(str(exc))[:200]}") \
                from exc
        return parse_state(value, "the state adapter's read")


def adapter_from(state: Any) -> StateAdapter:
    """A ``StateAdapter`` from what a caller gave: one already, a command or URL string, or a Python object."""
    if isinstance(state, (CommandState, UrlState, PythonState)):
        return state
    if isinstance(state, str):
        return UrlState(state) if state.startswith(("http://", "https://")) else CommandState(state)
    return PythonState(state)
