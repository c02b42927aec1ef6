"""serve's fair turn: first come, first served, and a sleep away from the turn holds up no one."""

from __future__ import annotations

import threading
import time

from vexora_conformance.doors.turn import FairTurn


def _queue_in_order(turn: FairTurn, n: int, work: list[int]) -> list[threading.Thread]:
    """n threads asking for the turn one after another (each seen waiting before the next starts)."""
    threads = []
    for k in range(n):
        t = threading.Thread(target=lambda k=k: _take(turn, work, k))
        t.start()
        deadline = time.monotonic() + 5
        while len(turn._waiting) < k + 1 and time.monotonic() < deadline:
            time.sleep(0.001)
        threads.append(t)
    return threads


def _take(turn: FairTurn, work: list[int], k: int) -> None:
    with turn:
        work.append(k)


def test_the_turn_goes_in_the_order_it_was_asked_for() -> None:
    turn, work = FairTurn(), []
    with turn:  # held while twenty threads line up behind it
        threads = _queue_in_order(turn, 20, work)
        assert work == []
    for t in threads:
        t.join(5)
    assert work == list(range(20))
    with turn:  # free again: taken at once
        pass


def test_one_away_from_its_turn_lets_the_others_through_and_comes_back_last() -> None:
    turn, work = FairTurn(), []

    def sleeper() -> None:
        with turn:
            work.append(-1)
            turn.away(0.5)
            work.append(-2)

    s = threading.Thread(target=sleeper)
    s.start()
    while not work:
        time.sleep(0.001)
    started = time.monotonic()
    threads = [threading.Thread(target=_take, args=(turn, work, k)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert time.monotonic() - started < 0.4  # not held up by the sleeper
    s.join(5)
    assert work == [-1, 0, 1, 2, -2]


def test_an_exception_inside_the_turn_hands_it_on() -> None:
    turn = FairTurn()
    try:
        with turn:
            raise ValueError("inside")
    except ValueError:
        pass
    done = threading.Event()
    t = threading.Thread(target=lambda: (turn.__enter__(), done.set(), turn.__exit__()))
    t.start()
    assert done.wait(2)
    t.join(2)
