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


def assert_fast_agrees(fast: Any, slow: Any) -> None:
    """A fast-path answer for one record (``SKIPPED``, a ``Clean`` record, or ``BadSign``) is what the explaining
    path's verdict (or skip) on the same record says: the same keys, no finding or only the wrong sign, and for
    a wrong sign the same body and observed sign handed to the diagnosis."""
    from vexora_conformance.core.records import SKIPPED, Clean
    from vexora_conformance.doors.capture import Skipped
    from vexora_conformance.judge.exchange import sign_mismatch

    if fast == SKIPPED:
        assert isinstance(slow, Skipped)
        return
    clean = fast if isinstance(fast, Clean) else fast.clean
    assert hasattr(slow, "findings"), slow
    keys = ("endpoint", "market", "variant", "merchant_no", "trade_no", "platform_trade_no")
    assert [getattr(slow, k) for k in keys] == [getattr(clean, k) for k in keys]
    if isinstance(fast, Clean):
        assert slow.findings == [], slow.findings
    else:
        assert [f.rule for f in slow.findings] == [sign_mismatch(clean.endpoint).rule]
        assert slow.pending is not None and (slow.pending.body, slow.pending.observed) == (fast.body, fast.observed)
