"""Receiving an evidence upload: a multipart/form-data body streamed straight into the store.

A CCTV export can be gigabytes, so no part of this holds an upload in memory. The part named
`file` goes, chunk by chunk, into a `Staging` in the store's own directory (hashed on the
way, so it is never read back); the other parts are small text fields, kept within
`MAX_FIELD_BYTES`. The size limit is checked on every chunk received, so an over-limit
upload is refused the moment it passes the limit, and what was written is thrown away.

FastAPI's `UploadFile` would instead spool the file to the system's temporary directory and
leave the handler to copy it a second time, after the whole body had been received.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from anyio import to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from khusela.core.errors import InvalidInput, KhuselaError
from khusela.evidence.storage import CHUNK, Staging, TooLarge

FILE_FIELD = "file"
MAX_FIELD_BYTES = 8 * 1024
"""A text field (`kind`, `captured_at`, `source`) is a few hundred bytes at most."""
MAX_PARTS = 16


class MalformedUpload(KhuselaError):
    """The body is not the multipart/form-data it claims to be."""

    title = "Malformed upload"


@dataclass
class Received:
    """What an upload carried besides the file's bytes (those are in the `Staging`)."""

    fields: dict[str, str] = field(default_factory=dict)
    has_file: bool = False
    filename: str | None = None
    content_type: str | None = None


def boundary_of(content_type: str) -> bytes:
    """The multipart boundary, or a clear refusal for anything but multipart/form-data."""
    kind, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise InvalidInput(f"send the upload as multipart/form-data with a part named {FILE_FIELD!r}")
    return boundary


class _Parts:
    """The parser's callbacks: sort each part into a text field or the file's pending bytes.

    Callbacks run synchronously inside `MultipartParser.write`; the file's bytes are only
    collected here (at most about one chunk) and written to disk by `receive` off the event loop.
    """

    def __init__(self) -> None:
        self.received = Received()
        self.pending = bytearray()
        self._headers: dict[bytes, bytes] = {}
        self._header_name = b""
        self._header_value = b""
        self._name = ""
        self._value = bytearray()
        self._is_file = False
        self._parts = 0
        self.ended = False
        """Whether the closing boundary arrived: without it the body was cut short."""

    def callbacks(self) -> dict[str, object]:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
            "on_end": self.on_end,
        }

    def on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_PARTS:
            raise MalformedUpload(f"an upload has at most {MAX_PARTS} parts")
        self._headers, self._value, self._is_file = {}, bytearray(), False

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        if len(self._header_value) > MAX_FIELD_BYTES:
            raise MalformedUpload("a part's header is too long")

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise MalformedUpload('every part needs a Content-Disposition with a "name"')
        self._name = _text(options[b"name"])
        self._is_file = self._name == FILE_FIELD
        if self._is_file:
            if self.received.has_file:
                raise InvalidInput(f"send one file per upload (one part named {FILE_FIELD!r})")
            self.received.has_file = True
            filename = options.get(b"filename")
            self.received.filename = _text(filename) if filename else None
            content_type = self._headers.get(b"content-type")
            self.received.content_type = _text(content_type) if content_type else None

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._is_file:
            self.pending += data[start:end]
            return
        self._value += data[start:end]
        if len(self._value) > MAX_FIELD_BYTES:
            raise InvalidInput(f"the field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes")

    def on_part_end(self) -> None:
        if not self._is_file:
            self.received.fields[self._name] = _text(bytes(self._value))

    def on_end(self) -> None:
        self.ended = True


async def receive(content_type: str, body: AsyncIterator[bytes], staging: Staging, limit: int) -> Received:
    """Parse `body` into `staging` (the file) and text fields; refuse past `limit` bytes.

    `limit` counts the whole body, as the client's Content-Length does. Disk writes and
    hashing run in a worker thread, about one chunk (`CHUNK`) at a time, so neither the event
    loop nor memory carries the upload.
    """
    parts = _Parts()
    parser = MultipartParser(boundary_of(content_type), parts.callbacks())  # type: ignore[arg-type]
    size = 0
    async for chunk in body:
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"uploads are limited to {limit} bytes")
        _feed(parser, chunk)
        if len(parts.pending) >= CHUNK:
            await _flush(parts, staging)
    try:
        parser.finalize()
    except FormParserError:
        parts.ended = False
    if not parts.ended:
        raise MalformedUpload("the multipart body ends before its closing boundary")
    await _flush(parts, staging)
    if not parts.received.has_file:
        raise InvalidInput(f"the upload has no part named {FILE_FIELD!r}")
    return parts.received


def _feed(parser: MultipartParser, chunk: bytes) -> None:
    try:
        parser.write(chunk)
    except FormParserError:
        raise MalformedUpload("the body is not valid multipart/form-data") from None


async def _flush(parts: _Parts, staging: Staging) -> None:
    if parts.pending:
        data, parts.pending = bytes(parts.pending), bytearray()
        await to_thread.run_sync(staging.write, data)


def _text(raw: bytes) -> str:
    try:
        return codecs.decode(raw, "utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("text fields and file names must be UTF-8") from None
