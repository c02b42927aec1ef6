"""Small helpers shared by the test modules."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hypothesis import Phase, find, settings
from hypothesis import strategies as st

from vexora_conformance.contract import signing

_ONE = settings(max_examples=1, database=None, phases=[Phase.generate], deadline=None)


def signed_body(secret: str, **changes: Any) -> dict[str, Any]:
    """A documented-valid body stamped now, with a fresh tradeNo, signed with ``secret`` after ``changes``."""
    body: dict[str, Any] = {"timestamp": str(int(time.time() * 1000)), "tradeNo": f"T{time.time_ns()}",
                            "amount": "300", "notifyUrl": "https://shop.example/n", "remark": "r"}
    body.update(changes)
    body["sign"] = signing.sign(body, secret)
    return body


@contextmanager
def running_server(secret: str, merchant_no: str, notify_retry_scale: float = 1.0) -> Iterator[Any]:
    """A loopback VexoraServer on a free port, served from a thread while the block runs."""
    from vexora_conformance.contract.signing.reference import Secret
    from vexora_conformance.doors.fake.provider import FakeProvider
    from vexora_conformance.doors.server import VexoraServer

    srv = VexoraServer(("127.0.0.1", 0), FakeProvider(Secret(secret), merchant_no, source="serve"),
                       notify_retry_scale=notify_retry_scale)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def sample(strategy: st.SearchStrategy[Any], seed: int = 0) -> Any:
    """One value of a strategy, the same on every run (outside @given, where .example() is not meant for tests)."""
    import random

    return find(strategy, lambda _: True, settings=_ONE, random=random.Random(seed))
