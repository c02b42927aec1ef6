"""Which keys were seen, and at what position first, in a few tens of bytes per key.

``validate`` remembers every tradeNo and platFormTradeNo of a capture that may
hold millions of requests. A dict of labelled tuples costs hundreds of bytes per
key; this open-addressing table keeps, per key, a slot, its hash, its position
and its exact UTF-8 bytes (a hash hit is confirmed against them, so two keys
never merge; a key longer than ``LONG_KEY`` bytes by its SHA-256), all in flat arrays.
"""

from __future__ import annotations

import hashlib
from array import array

LONG_KEY = 96  # bytes: longer keys are remembered by their digest


class FirstSeen:
    """``first(key, position)``: the position where ``key`` was first seen, or None (and remember it here)."""

    __slots__ = ("_blob", "_ends", "_hashes", "_mask", "_positions", "_slots")

    def __init__(self) -> None:
        self._mask = 1023
        self._slots = array("i", bytes(4 * 1024))  # entry number + 1; 0 is a free slot
        self._hashes = array("q")
        self._positions = array("q")
        self._ends = array("q")  # entry e's bytes are _blob[_ends[e - 1]:_ends[e]]
        self._blob = bytearray()

    def __len__(self) -> int:
        return len(self._positions)

    def first(self, key: str, position: int) -> int | None:
        data = key.encode("utf-8", "surrogatepass")
        if len(data) > LONG_KEY:
            # A hostile capture may hold megabyte-long tradeNos: keep their SHA-256 instead (0xFF never
            # starts UTF-8, so a digest cannot equal a short key's bytes).
            data = b"\xff" + hashlib.sha256(data).digest()
        h = hash(data)
        slots, hashes, mask = self._slots, self._hashes, self._mask
        i = h & mask
        while True:
            e = slots[i]
            if not e:
                break
            e -= 1
            if hashes[e] == h and self._blob[self._ends[e - 1] if e else 0:self._ends[e]] == data:
                return self._positions[e]
            i = (i + 1) & mask  # linear probing: the table is at most half full
        slots[i] = len(self._positions) + 1
        hashes.append(h)
        self._positions.append(position)
        self._blob += data
        self._ends.append(len(self._blob))
        if 2 * len(hashes) > mask:
            self._grow()
        return None

    def _grow(self) -> None:
        size = 2 * (self._mask + 1)
        mask = size - 1
        slots = array("i", bytes(4 * size))
        for e, h in enumerate(self._hashes):
            i = h & mask
            while slots[i]:
                i = (i + 1) & mask
            slots[i] = e + 1
        self._slots, self._mask = slots, mask

    def retained_bytes(self) -> int:
        """Bytes held by the table (for the memory test and the benchmark)."""
        return sum(a.buffer_info()[1] * a.itemsize for a in (self._slots, self._hashes, self._positions,
                                                              self._ends)) + len(self._blob)
