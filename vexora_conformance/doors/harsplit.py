"""Cut a HAR file into the JSON texts of its entries, in one linear pass and bounded memory.

Why not a streaming JSON library: ijson's C backend builds nested values with
memory that grows with the square of their depth, and re-scans a string token
from its start at every buffer refill, so time grows with the square of a
string's length. Both are easy to trigger from an untrusted capture.

This splitter only follows the structure: strings are skipped by a regular
expression (C speed), an unterminated string is scanned onward from where the
last read stopped (never from its start), brackets are counted (never deeper
than ``MAX_DEPTH`` is remembered), and the bytes of each ``log.entries`` item
are kept up to ``max_entry`` bytes. Each entry is then parsed on its own by
``jsontext.loads``, so one broken entry costs only itself.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from ..core.jsontext import MAX_DEPTH

CHUNK = 1 << 20
BOM = b"\xef\xbb\xbf"
# Scalars, separators, white space and complete strings, up to the next bracket (or an unterminated string).
_RUN = re.compile(rb'(?:[^"\[\]{}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.S)
# The inside of a string, up to its closing quote (or the end of what has been read).
_STRING_BODY = re.compile(rb'[^"\\]*+(?:\\.[^"\\]*+)*+', re.S)
_KEY_BEFORE = re.compile(rb'"(log|entries)"\s{0,16}:\s{0,16}\Z')
_SEPARATORS = re.compile(rb"[\s,]*\Z")
_SCALAR = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"|[^\s,"]++', re.S)
_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'


def _nested(levels: int) -> bytes:
    """A pattern for text with brackets nested at most ``levels`` deep (their kinds are checked by the parser)."""
    inner = rb"(?:[^\"\[\]{}]++|" + _STRING + rb")*+"
    for _ in range(levels):
        inner = rb"(?:[^\"\[\]{}]++|" + _STRING + rb"|[\[{]" + inner + rb"[\]}])*+"
    return inner


# One whole entry nested at most 8 deep (HAR entries are 4 or 5): matched in one call, or left to the slow path.
_ENTRY = re.compile(rb"[\[{]" + _nested(7) + rb"[\]}]", re.S)
LOG_DEPTH, ENTRIES_DEPTH, ENTRY_DEPTH = 2, 3, 4
LOOKBACK = 48


@dataclass(frozen=True)
class Entry:
    """One entry's JSON text, or why it was not kept (``text`` is then its first bytes, or empty)."""

    text: bytes
    problem: str | None = None


@dataclass(frozen=True)
class Broken:
    """The file stops being readable here; nothing after it can be trusted."""

    reason: str


@dataclass(frozen=True)
class Note:
    """Something wrong outside the entries (they are still read)."""

    reason: str


Piece = Entry | Broken | Note


class _State:
    """Where the scan is: open brackets, whether inside ``log`` / ``log.entries``, the entry being kept."""

    def __init__(self, max_entry: int) -> None:
        self.max_entry = max_entry
        self.depth = 0
        self.openers: list[int] = []  # the brackets opened, up to MAX_DEPTH + 1 of them
        self.in_log = False
        self.in_entries = False
        self.entries_done = False
        self.parts: list[bytes] = []  # bytes of the current entry already moved out of the buffer
        self.kept = 0
        self.problem: str | None = None
        self.deep_outside_noted = False

    def keep(self, data: bytes) -> None:
        if self.problem is None and data:
            if self.kept + len(data) > self.max_entry:
                self.problem = f"entry larger than {self.max_entry // (1024 * 1024)} MiB, not read"
                # Keep its head: enough to tell a Checkout entry from another one.
                self.parts.append(data[: max(0, self.max_entry - self.kept)])
                self.kept = self.max_entry
                return
            self.parts.append(data)
            self.kept += len(data)


def split_har(stream: IO[bytes], max_entry: int, chunk: int = CHUNK) -> Iterator[Piece]:
    """Yield each ``log.entries`` item's text (or why it was skipped), then stop; ``Broken`` ends the stream."""
    st = _State(max_entry)
    buf = stream.read(chunk)
    if buf.startswith(BOM):  # Windows exporters write one; it is not JSON but carries no meaning
        buf = buf[len(BOM):]
    i = 0
    mark: int | None = None  # where the current entry starts in ``buf``
    in_string = False
    eof = False
    while True:
        if in_string:
            j = _STRING_BODY.match(buf, i).end()  # type: ignore[union-attr]  # this pattern matches the empty string
            if j < len(buf) and buf[j] == 0x22:  # the closing quote
                in_string = False
                i = j + 1
                continue
            i = j  # all of the buffer, or all but a trailing backslash whose escape is in the next read
        else:
            j = _RUN.match(buf, i).end()  # type: ignore[union-attr]
            if st.in_entries and st.depth == ENTRIES_DEPTH and not _SEPARATORS.match(buf, i, j):
                for _ in _SCALAR.finditer(buf, i, j):  # entries that are strings, numbers, true, false or null
                    yield Entry(b"", "the entry is not a JSON object")
            if j < len(buf):
                c = buf[j]
                if c == 0x22:  # a string that does not end in what has been read
                    in_string = True
                    i = j + 1
                    continue
                if st.in_entries and st.depth == ENTRIES_DEPTH and c != 0x5D:
                    whole = _ENTRY.match(buf, j)  # an entry that lies whole in the buffer, at C speed
                    if whole is not None and whole.end() - j <= max_entry:
                        yield Entry(buf[j:whole.end()])
                        i = whole.end()
                        continue
                i = j + 1
                # Inside an entry a bracket only counts depth: kept inline, it is the slow path's hot spot.
                if c == 0x7B or c == 0x5B:
                    if ENTRY_DEPTH <= st.depth < MAX_DEPTH and st.in_entries:
                        st.depth += 1
                        st.openers.append(c)
                        continue
                elif ENTRY_DEPTH < st.depth <= len(st.openers) and st.in_entries and \
                        (st.openers[-1] == 0x7B) == (c == 0x7D):
                    st.openers.pop()
                    st.depth -= 1
                    continue
                piece, mark = _bracket(st, buf, j, mark)
                if piece is not None:
                    yield piece
                    if isinstance(piece, Broken):
                        return
                if st.entries_done:
                    return
                continue
            i = j
        # Need more input: move the entry's bytes out of the buffer, keep only the unconsumed tail.
        if eof:
            if st.depth == 0 and not in_string and buf[i:].strip() == b"":
                return
            yield Broken("the HAR file ends early (it is cut off); entries after this point were not read")
            return
        if mark is not None:
            st.keep(buf[mark:i])
        # A little of what was consumed stays, so a key just before a bracket is still seen after a refill.
        keep_from = max(0, i - LOOKBACK)
        more = stream.read(chunk)
        eof = not more
        buf = buf[keep_from:] + more
        i -= keep_from
        if mark is not None:
            mark = i


def _bracket(st: _State, buf: bytes, j: int, mark: int | None) -> tuple[Piece | None, int | None]:
    """Open or close a bracket at ``buf[j]``; an entry is yielded when its closing bracket is reached."""
    c = buf[j]
    if c in b"{[":
        st.depth += 1
        if st.depth == 1 and c != 0x7B:
            return Broken("not a HAR file: the top level is not a JSON object"), mark
        if len(st.openers) <= MAX_DEPTH:
            st.openers.append(c)
        if st.depth == LOG_DEPTH and c == 0x7B and _key_before(buf, j) == b"log":
            st.in_log = True
        elif st.depth == ENTRIES_DEPTH and st.in_log and c == 0x5B and _key_before(buf, j) == b"entries":
            st.in_entries = True
        elif st.depth == ENTRY_DEPTH and st.in_entries:
            st.parts, st.kept, st.problem = [], 0, None
            mark = j
        if st.depth > MAX_DEPTH:
            if st.in_entries and st.depth > ENTRY_DEPTH:
                st.problem = st.problem or f"nested deeper than {MAX_DEPTH} levels"
            elif not st.deep_outside_noted:
                st.deep_outside_noted = True
                return Note(f"a part of the HAR outside its entries is nested deeper than {MAX_DEPTH} levels "
                            "(ignored)"), mark
        return None, mark
    # a closing bracket
    if st.depth == 0:
        return Broken("the HAR file is not valid JSON (a bracket closes nothing)"), mark
    if st.depth <= len(st.openers):
        opener = st.openers.pop()
        if (opener == 0x7B) != (c == 0x7D):
            return Broken("the HAR file is not valid JSON (brackets do not match)"), mark
    piece: Piece | None = None
    if st.depth == ENTRY_DEPTH and st.in_entries and mark is not None:
        st.keep(buf[mark:j + 1])
        piece = Entry(b"".join(st.parts), st.problem)
        st.parts, mark = [], None
    elif st.depth == ENTRIES_DEPTH and st.in_entries:
        st.in_entries, st.entries_done = False, True  # nothing after the entries is needed
    elif st.depth == LOG_DEPTH and st.in_log:
        st.in_log = False
    st.depth -= 1
    return piece, mark


def _key_before(buf: bytes, j: int) -> bytes | None:
    """The key (``log`` or ``entries`` only) written just before the bracket at ``j``."""
    m = _KEY_BEFORE.search(buf, max(0, j - LOOKBACK), j)
    return m.group(1) if m else None
