"""A lock handed over in the order it was asked for: serve's requests judged first come, first served.

serve runs a thread per connection, and every request's work is Python under the GIL: fifty connections share
one interpreter. Left to the GIL, which hands itself to whichever thread the OS wakes, a few requests wait
behind many others: the slowest hundredth took five to six times the median (53-96 ms against 10-16).
Taking turns in order of arrival for the work itself (building the request, judging it, making the answer)
makes each request wait for the ones ahead of it and no more: the slowest hundredth then takes under twice
the median (docs/performance.md, "serve"). The median moves up towards the mean, which no scheduling changes
(fifty connections over the requests served per second). What waits on the network - reading a request,
writing its answer - stays outside the turn, so a slow client holds up no one.
"""

from __future__ import annotations

import threading
import time
from collections import deque


class FairTurn:
    """``with turn:`` runs the block when every thread that asked before has run its own."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()  # one locked lock per waiting thread, released in order
        self._busy = False

    def __enter__(self) -> None:
        with self._guard:
            if not self._busy:
                self._busy = True
                return
            mine = threading.Lock()
            mine.acquire()
            self._waiting.append(mine)
        mine.acquire()  # released by the thread before this one, which hands the turn over (busy stays True)

    def __exit__(self, *exc: object) -> None:
        with self._guard:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._busy = False

    def away(self, seconds: float) -> None:
        """Sleep without holding the turn (a scripted slow answer must not hold up every other connection),
        then queue for it again."""
        self.__exit__()
        try:
            time.sleep(seconds)
        finally:
            self.__enter__()
