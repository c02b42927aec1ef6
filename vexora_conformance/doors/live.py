"""What the two live doors (``proxy``, ``listen``) share: a bounded server that relays each request, judges it
in arrival order after answering, says each finding on a live stream, records what it saw, and serves its own
``GET /__vexora__/findings`` (never relayed)."""

from __future__ import annotations

import threading
from typing import IO, Any

from ..core.findings import Finding
from ..core.outcome import Outcome
from ..core.text import one_line
from . import wire
from .fake.record import RunRecord
from .httpdoor import CONTROL, ArrivalOrder, BoundedHandler, BoundedServer
from .recording import Recorder


class LiveHandler(BoundedHandler):
    server: LiveServer

    def _route(self, body: bytes, target: str, path: str) -> None:
        if path.startswith(CONTROL):
            if path == CONTROL + "findings" and self.command == "GET":
                self._findings(self.server.report())
            else:
                self._json(404, {"error": f"the {self.door}'s own endpoint: GET {CONTROL}findings"})
            return
        self.server.relay(self, target, body)

    def send_raw(self, data: bytes, close: bool) -> None:
        """An answer as it came, in one write."""
        if close:
            self.close_connection = True
        self.wfile.write(data)


class LiveServer(BoundedServer):
    """``relay`` is the door's own; the rest is shared."""

    def __init__(self, address: tuple[str, int], handler: type[LiveHandler], *, patience: float,
                 recorder: Recorder | None, live: IO[str] | None, verbose: bool) -> None:
        self.record = RunRecord(self.door)
        self.order = ArrivalOrder(patience=patience)
        self.recorder, self.live = recorder, live
        self._lock = threading.Lock()
        super().__init__(address, handler, verbose)
        host, port = self.server_address[:2]
        self.base_url = f"http://{host!s}:{port}"

    def relay(self, handler: Any, target: str, body: bytes) -> None:
        raise NotImplementedError

    def answer(self, handler: LiveHandler, raw: wire.RawAnswer | None, status: int, message: str) -> None:
        """What came back, as it came (or the door's own ``status`` with ``message`` when nothing did). A client
        that went away meanwhile is no reason to skip judging: the exchange happened upstream all the same."""
        try:
            if raw is not None:
                close = raw.until_close or any(k.lower() == "connection" and "close" in v.lower()
                                               for k, v in raw.headers)
                handler.send_raw(raw.head + b"\r\n\r\n" + raw.raw_body, close)
            else:
                handler.close_connection = True
                handler._json(status, {"code": "5000", "msg": message})
        except OSError:
            handler.close_connection = True

    def say(self, f: Finding) -> None:
        if self.live is not None:
            print(one_line(f"vexora-conformance {self.door}: {f.source}#{f.index} {f.severity} {f.rule}"
                           f"{' ' + f.pointer if f.pointer else ''}: {f.message}"), file=self.live, flush=True)

    def report(self) -> Outcome:
        """The run so far, the exchanges still being judged included."""
        self.order.wait(self.order.patience)
        return self.record.report()

    def server_close(self) -> None:
        super().server_close()
        if self.recorder is not None:
            self.recorder.close()
