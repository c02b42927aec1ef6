"""Which keys were seen, and at what position first, in a few tens of bytes per key.

``validate`` remembers every tradeNo and platFormTradeNo of a capture that may
hold millions of requests. A dict of labelled tuples costs hundreds of bytes per
key; this open-addressing table keeps, per key, a slot, its hash, its position
and its exact UTF-8 bytes (a hash hit is confirmed against them, so two keys
never merge; a key longer than ``LONG_KEY`` bytes by its SHA-256), all in flat arrays.

``FirstSeen`` is the same table compiled (``_seen.c``, built at install time where a C
compiler is: a tenth of the instructions per key); ``PyFirstSeen`` is this module's,
used where it was not built. Both give the same answers in the same memory
(``tests/test_ledger.py``); ``compiled`` says which one this process has.
"""

from __future__ import annotations

import hashlib
from array import array

LONG_KEY = 96  # bytes: longer keys are remembered by their digest
# 30 bits of the hash are kept: an int of one internal digit is made and compared without CPython's slow
# multi-digit paths (half the cost of a lookup); a hit is confirmed against the key's bytes all the same.
_HASH_BITS = (1 << 30) - 1


class PyFirstSeen:
    """``first(key, position)``: the position where ``key`` was first seen, or None (and remember it here).

    ``every_hash_alike``: every key hashes to 42, so only the stored bytes tell keys apart (for tests)."""

    __slots__ = ("_alike", "_blob", "_mask", "_rows", "_slots")

    def __init__(self, *, every_hash_alike: bool = False) -> None:
        self._alike = every_hash_alike
        self._mask = 1023
        self._slots = array("i", bytes(4 * 1024))  # entry number + 1; 0 is a free slot
        # Entry e is _rows[3e:3e+3]: its hash, its position, and where its bytes end in _blob (they start where
        # entry e - 1's end). One array: a new key is one extend, not three appends.
        self._rows = array("q")
        self._blob = bytearray()

    def __len__(self) -> int:
        return len(self._rows) // 3

    def first(self, key: str, position: int) -> int | None:
        try:
            data = key.encode()
        except UnicodeEncodeError:  # a lone surrogate (rare): kept as it is, so two such keys stay apart
            data = key.encode("utf-8", "surrogatepass")
        if len(data) > LONG_KEY:
            # A hostile capture may hold megabyte-long tradeNos: keep their SHA-256 instead (0xFF never
            # starts UTF-8, so a digest cannot equal a short key's bytes).
            data = b"\xff" + hashlib.sha256(data).digest()
        h = 42 if self._alike else hash(data) & _HASH_BITS
        slots, rows, mask = self._slots, self._rows, self._mask
        i = h & mask
        e = slots[i]
        while e:
            r = 3 * e - 3
            if rows[r] == h and self._blob[rows[r - 1] if r else 0:rows[r + 2]] == data:
                return rows[r + 1]
            i = (i + 1) & mask  # linear probing: the table is at most half full
            e = slots[i]
        blob = self._blob
        blob += data
        n = len(rows) // 3 + 1
        slots[i] = n
        rows.extend((h, position, len(blob)))
        if 2 * n > mask:
            self._grow()
        return None

    def _grow(self) -> None:
        size = 2 * (self._mask + 1)
        mask = size - 1
        slots = array("i", bytes(4 * size))
        for e, h in enumerate(self._rows[::3], 1):
            i = h & mask
            while slots[i]:
                i = (i + 1) & mask
            slots[i] = e
        self._slots, self._mask = slots, mask

    def retained_bytes(self) -> int:
        """Bytes held by the table (for the memory test and the benchmark)."""
        return sum(a.buffer_info()[1] * a.itemsize for a in (self._slots, self._rows)) + len(self._blob)


try:
    from ._seen import FirstSeen as FirstSeen
    compiled = True
except ImportError:  # not built here (no C compiler at install): the same table, in Python
    FirstSeen = PyFirstSeen  # type: ignore[misc,assignment]
    compiled = False
