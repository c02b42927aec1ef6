"""Read captured traffic (HAR 1.2, JSON lines) as a stream of Exchanges.

Readers never load a whole file: JSON lines are read a line at a time (a line
over ``MAX_RECORD_BYTES`` is skipped without being held), HAR entries are cut
out one by one by ``harsplit`` and parsed alone. A record that cannot be read becomes a
``Malformed`` item and reading goes on; only exchanges with the provider (a path
the registry knows, or a notification's body) are yielded, the rest are counted
as ``Skipped``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..contract.registry import ENDPOINTS, by_shape, endpoint_for_path
from ..core.errors import InputError, os_reason
from ..core.exchange import NOT_PARSED, Exchange, Request, Response, header_map
from ..core.jsontext import JSONTextError, loads
from .harsplit import BOM, Broken, Entry, split_har

MAX_RECORD_BYTES = 16 * 1024 * 1024
MAX_EPOCH_MS = 10**15  # the year 33658: anything larger is not a capture time


@dataclass(frozen=True)
class Malformed:
    source: str
    index: int
    reason: str


@dataclass(frozen=True)
class Skipped:
    source: str
    index: int


Item = Exchange | Malformed | Skipped


class RecordError(ValueError):
    """One record is unusable; the message is safe to show (no record content)."""


# --- shared record helpers ---


def _text_field(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{what} is missing or not a string")
    return value


def _headers(value: Any) -> dict[str, str]:
    """Headers as an object, a list of [name, value] pairs, or HAR's list of {name, value}."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return header_map((str(k), str(v)) for k, v in value.items())
    if isinstance(value, list):
        pairs = []
        for h in value:
            if isinstance(h, dict) and "name" in h:
                pairs.append((str(h["name"]), str(h.get("value", ""))))
            elif isinstance(h, list) and len(h) == 2:
                pairs.append((str(h[0]), str(h[1])))
            else:
                raise RecordError("a header is neither {name, value} nor [name, value]")
        return header_map(pairs)
    raise RecordError("headers are neither an object nor a list")


def _epoch(value: Any) -> float | None:
    """A capture's time: epoch seconds or milliseconds, or an ISO 8601 string."""
    if value is None:
        return None
    if type(value) is float or (isinstance(value, (int, float)) and not isinstance(value, bool)):
        # Bounded before float(): an integer of 310 digits overflows it, and NaN or Infinity is no time.
        if not -MAX_EPOCH_MS < value < MAX_EPOCH_MS:
            raise RecordError("time is not a number of seconds or milliseconds since 1970 (out of range)")
        return float(value) / 1000 if value > 1e11 else float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except (ValueError, OverflowError):
            raise RecordError("time is not an ISO 8601 date") from None
    raise RecordError("time is neither a number nor a string")


# --- JSON lines ---


def _jsonl_body(value: Any) -> tuple[str | None, Any]:
    """``body`` is raw text, or an already-parsed JSON value."""
    if value is None or isinstance(value, str):
        return value, NOT_PARSED
    return None, value




def _holds_parsed_body(record: Any) -> bool:
    if not isinstance(record, dict):
        return False
    parts = (record.get("request"), record.get("response"))
    return any(isinstance(p, dict) and isinstance(p.get("body"), (dict, list)) for p in parts)


def worth_judging(url: Any, body: Any) -> bool:
    """A request to a provider endpoint (or a near miss of one), or a body shaped like its notification.

    Cheap on purpose: it runs on every record of a capture, most of which are other traffic.
    """
    if isinstance(url, str) and endpoint_for_path(url) is not None:
        return True
    if isinstance(body, dict):
        return by_shape(body) is not None
    return isinstance(body, str) and '"platFormTradeNo"' in body


def _endpoint_hint(value: Any) -> str | None:
    """A JSON-lines record may say which endpoint it is (``"endpoint": "notify"``)."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in ENDPOINTS:  # a list is not even hashable
        raise RecordError(f"endpoint is not one of {', '.join(ENDPOINTS)}")
    return str(value)


def exchange_from_record(record: Any, source: str, index: int) -> Exchange:
    """One JSON-lines record -> Exchange; ``RecordError`` names what is wrong."""
    if not isinstance(record, dict):
        raise RecordError("the record is not a JSON object")
    req = record.get("request")
    if not isinstance(req, dict):
        raise RecordError("the record has no request object")
    text, parsed = _jsonl_body(req.get("body"))
    request = Request(_text_field(req.get("method"), "request.method"), _text_field(req.get("url"), "request.url"),
                      _headers(req.get("headers")), text, parsed)
    response = None
    resp = record.get("response")
    if isinstance(resp, dict):
        status = resp.get("status")
        if not isinstance(status, int) or isinstance(status, bool):
            raise RecordError("response.status is not an integer")
        rtext, rparsed = _jsonl_body(resp.get("body"))
        response = Response(status, _headers(resp.get("headers")), rtext, rparsed)
    elif resp is not None:
        raise RecordError("response is not an object")
    return Exchange(request, response, _epoch(record.get("time")), source, index,
                    _endpoint_hint(record.get("endpoint")))


def iter_lines(stream: IO[bytes]) -> Iterator[bytes | None]:
    """Lines of at most MAX_RECORD_BYTES; None stands for an over-long line, which is drained unread."""
    while True:
        line = stream.readline(MAX_RECORD_BYTES + 1)
        if not line:
            return
        if len(line) > MAX_RECORD_BYTES and not line.endswith(b"\n"):
            skip_line(stream)
            yield None
        else:
            yield line


def skip_line(stream: IO[bytes]) -> None:
    """Read past the end of the current line without holding it (it may be gigabytes long)."""
    while True:
        piece = stream.readline(MAX_RECORD_BYTES)
        if not piece or piece.endswith(b"\n"):
            return


def skip_bom(stream: IO[bytes]) -> None:
    """Step over a UTF-8 byte-order mark (Windows exporters write one) at the start of a seekable file."""
    if stream.read(len(BOM)) != BOM:
        stream.seek(0)


def item_from_line(line: bytes | None, source: str, index: int) -> Item | None:
    """One JSON-lines line -> an Item (None for a blank line)."""
    if line is None:
        return Malformed(source, index, f"record longer than {MAX_RECORD_BYTES // (1024 * 1024)} MiB, skipped")
    if not line.strip():
        return None
    try:
        # The record's own keys are not judged: parse fast, and again with duplicate detection only when a
        # body travels as a parsed object inside it (rare; bodies are usually text, judged on their own).
        record = loads(line, duplicates=False)
        if _holds_parsed_body(record):
            record = loads(line)
        req = record.get("request") if isinstance(record, dict) else None
        if isinstance(req, dict) and record.get("endpoint") is None and \
                not worth_judging(req.get("url"), req.get("body")):
            return Skipped(source, index)
        return exchange_from_record(record, source, index)
    except (JSONTextError, RecordError) as exc:
        return Malformed(source, index, str(exc))


def read_jsonl(stream: IO[bytes], source: str, first_index: int = 0) -> Iterator[Item]:
    index = first_index
    for line in iter_lines(stream):
        item = item_from_line(line, source, index)
        if item is not None:
            yield item
            index += 1


# --- HAR ---


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise RecordError("content.text is not valid base64") from None


def _side_file(name: Any, har_dir: Path | None) -> bytes:
    """Playwright's ``_file``: a body stored beside the HAR. Paths outside that folder are refused."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise RecordError("content._file is not a file name")
    if har_dir is None:
        raise RecordError("body stored in a side file, which cannot be read from standard input")
    path = (har_dir / name).resolve()
    if har_dir.resolve() not in path.parents:
        raise RecordError("side file path leaves the HAR's folder (refused)")
    try:
        # Non-blocking open: a FIFO named as a side file must not hang the run; only regular files are read.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise RecordError("side file is not a regular file")
            data = f.read(MAX_RECORD_BYTES + 1)
    except OSError as exc:
        raise RecordError(f"side file cannot be read: {os_reason(exc)}") from None
    if len(data) > MAX_RECORD_BYTES:
        raise RecordError("side file is too large")
    return data


def _har_content(content: Any, har_dir: Path | None) -> str | bytes | None:
    if not isinstance(content, dict):
        return None
    if "_file" in content and content.get("text") is None:
        return _side_file(content["_file"], har_dir)
    text = content.get("text")
    if text is None:
        return None
    if not isinstance(text, str):
        raise RecordError("content.text is not a string")
    return _b64(text) if content.get("encoding") == "base64" else text


def exchange_from_har_entry(entry: Any, source: str, index: int, har_dir: Path | None) -> Exchange:
    if not isinstance(entry, dict) or not isinstance(entry.get("request"), dict):
        raise RecordError("the entry has no request object")
    req = entry["request"]
    request = Request(_text_field(req.get("method"), "request.method"), _text_field(req.get("url"), "request.url"),
                      _headers(req.get("headers")), _har_content(req.get("postData"), har_dir))
    response = None
    resp = entry.get("response")
    # mitmproxy and browsers write status 0 for a request that never got an answer.
    if isinstance(resp, dict) and isinstance(resp.get("status"), int) and resp["status"] > 0:
        response = Response(resp["status"], _headers(resp.get("headers")), _har_content(resp.get("content"), har_dir))
    return Exchange(request, response, _epoch(entry.get("startedDateTime")), source, index)


def read_har(stream: IO[bytes], source: str, har_dir: Path | None) -> Iterator[Item]:
    """Entries one at a time, each parsed alone: a broken or oversized entry costs only itself."""
    index = 0
    for piece in split_har(stream, MAX_RECORD_BYTES):
        if isinstance(piece, Entry):
            yield _har_item(piece, source, index, har_dir)
            index += 1
        else:
            yield Malformed(source, index, piece.reason)
            if isinstance(piece, Broken):
                return


def _har_item(piece: Entry, source: str, index: int, har_dir: Path | None) -> Item:
    if piece.problem is not None:
        # Too large or too deep to read: say so only when it looks like a provider entry.
        if piece.text and b"/vexora/" not in piece.text.lower() and b"platformtradeno" not in piece.text.lower():
            return Skipped(source, index)
        return Malformed(source, index, piece.problem)
    try:
        entry = loads(piece.text)
    except JSONTextError as exc:
        return Malformed(source, index, f"the entry is {exc}")
    req = entry.get("request") if isinstance(entry, dict) else None
    if isinstance(req, dict):
        post = req.get("postData")
        if not worth_judging(req.get("url"), post.get("text") if isinstance(post, dict) else None):
            return Skipped(source, index)
    try:
        return exchange_from_har_entry(entry, source, index, har_dir)
    except RecordError as exc:
        return Malformed(source, index, str(exc))


# --- choosing a reader ---


def sniff_format(head: bytes, name: str) -> str:
    """'har' or 'jsonl', by file name first, else by the first bytes."""
    lower = name.lower()
    if lower.endswith(".har"):
        return "har"
    if lower.endswith((".jsonl", ".ndjson", ".jsonlines")):
        return "jsonl"
    first_line = head.split(b"\n", 1)[0]
    try:
        record = json.loads(first_line)
        if isinstance(record, dict) and "request" in record:
            return "jsonl"
    except (ValueError, RecursionError):
        pass
    return "har" if b'"log"' in head else "jsonl"


def open_source(name: str, stdin: IO[bytes] | None = None) -> tuple[IO[bytes], Path | None]:
    if name == "-":
        import sys

        return (stdin or sys.stdin.buffer), None
    try:
        return open(name, "rb"), Path(name).resolve().parent
    except OSError as exc:
        raise InputError(f"cannot open: {os_reason(exc)}", source=name) from None


@contextmanager
def opened_capture(name: str, stdin: IO[bytes] | None = None) -> Iterator[tuple[Any, str, Path | None]]:
    """(stream past any byte-order mark, "har" or "jsonl", the HAR's folder) of one capture; a read that
    fails inside the block is an ``InputError`` naming the source."""
    raw, har_dir = open_source(name, stdin)
    stream: Any = raw if hasattr(raw, "peek") else io.BufferedReader(raw)
    try:
        head = stream.peek(65536)[:65536]
        if head.startswith(BOM):
            stream.read(len(BOM))
            head = head[len(BOM):]
        yield stream, sniff_format(head, name), har_dir
    except OSError as exc:
        raise InputError(f"read failed: {os_reason(exc)}", source=name) from None
    finally:
        if name != "-":
            stream.close()


def read_capture(name: str, stdin: IO[bytes] | None = None) -> Iterator[Item]:
    """Every item of one capture file (or ``-``), in order."""
    with opened_capture(name, stdin) as (stream, fmt, har_dir):
        if fmt == "har":
            yield from read_har(stream, name, har_dir)
        else:
            yield from read_jsonl(stream, name)
