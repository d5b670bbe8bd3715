"""Request bodies bounded while they stream in: the whole body, each uploaded file and the number of files.

An ASGI middleware counts the bytes `receive()` hands the app. The moment a count passes its limit it stops
reading (the chunk that passed it is never given to the app, and `receive()` is never called again) and the
request is answered 413 with a plain sentence: a page on the site, an ErrorBody under /api. A declared
Content-Length already past the limit is refused before a byte is read.

The upload routes get the upload limits (KB_MAX_UPLOAD_MB for the whole request, KB_MAX_FILE_MB for each file,
KB_MAX_UPLOAD_FILES files); their multipart body is followed part by part as it arrives (python-multipart,
the parser Starlette itself uses), so an oversize file is refused as soon as its own bytes pass the limit,
not after the whole request is in. Every other request with a body is a form of text fields, bounded by
MAX_FORM_BYTES. Requests without a body (GET, HEAD, OPTIONS) pass untouched: nothing reads one.
"""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kb.errors import KbError
from kb.settings import Settings
from kb.uploads import display_name
from web.errors import respond

MB = 1024 * 1024
UPLOAD_PATHS = frozenset({"/curate/uploads"})
# why 2 MB: the longest form (a case study's four 20,000-character texts) is under 1 MB even when every
# character is non-ASCII and percent-encoded; a body twice that is not a form anyone filled in.
MAX_FORM_BYTES = 2 * MB
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BodyTooLarge(KbError):
    """A request body (or a file in it, or its number of files) passed a limit; nothing of it was kept."""

    status_code = 413


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int
    max_file_bytes: int | None = None  # None: not an upload route, so files are not followed
    max_files: int | None = None

    def whole_message(self) -> str:
        if self.max_file_bytes is None:
            return f"This request is larger than the {self.max_bytes / MB:g} MB the site accepts for a form."
        return (
            f"Nothing was uploaded: the upload is larger than the {self.max_bytes / MB:g} MB one upload may be. "
            "Send the files in smaller groups, or ask an administrator to raise the limit."
        )

    def file_message(self, filename: str) -> str:
        return (
            f"Nothing was uploaded: {display_name(filename)} is larger than the "
            f"{(self.max_file_bytes or 0) / MB:g} MB limit for one file. "
            "Split it or ask an administrator to raise the limit."
        )

    def count_message(self) -> str:
        return (
            f"Nothing was uploaded: upload at most {self.max_files} files at a time. "
            "For a whole folder, ask an administrator to use `kb ingest`."
        )


def limits_for(path: str, settings: Settings) -> BodyLimits:
    if path.rstrip("/") in UPLOAD_PATHS:
        return BodyLimits(
            max_bytes=settings.max_upload_mb * MB,
            max_file_bytes=settings.max_file_mb * MB,
            max_files=settings.max_upload_files,
        )
    return BodyLimits(max_bytes=MAX_FORM_BYTES)


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return None


def declared_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class _FileCounter:
    """Follows a multipart body part by part as it arrives: how many files, and how large the current one.

    Only counts; Starlette's own parser still makes the form. A malformed body stops the counting (the
    form parser reports it) but never the byte limit on the whole request."""

    def __init__(self, boundary: bytes, limits: BodyLimits):
        self.limits = limits
        self.refusal: str | None = None
        self.files = 0
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._filename: str | None = None
        self._file_bytes = 0
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_part,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
            },
        )
        self._broken = False

    def write(self, data: bytes) -> None:
        if self._broken or self.refusal is not None:
            return
        try:
            self._parser.write(data)
        except FormParserError:
            self._broken = True

    def _part_begin(self) -> None:
        self._disposition, self._filename, self._file_bytes = b"", None, 0

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        filename = options.get(b"filename")
        if filename:  # a form sent with no file chosen carries one empty, unnamed part: not a file
            self._filename = filename.decode("utf-8", "replace")
            self.files += 1
            if self.limits.max_files is not None and self.files > self.limits.max_files:
                self.refusal = self.limits.count_message()

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._filename is None or self.refusal is not None:
            return
        self._file_bytes += end - start
        if self.limits.max_file_bytes is not None and self._file_bytes > self.limits.max_file_bytes:
            self.refusal = self.limits.file_message(self._filename)


class _GuardedBody:
    """The app's `receive`: hands on each chunk after counting it, and refuses the first that passes a limit."""

    def __init__(self, receive: Receive, scope: Scope, limits: BodyLimits):
        self._receive = receive
        self.limits = limits
        self.received = 0
        self.refusal: str | None = None
        self._files: _FileCounter | None = None
        if limits.max_file_bytes is not None:
            content_type = (_header(scope, b"content-type") or b"").decode("latin-1")
            kind, options = parse_options_header(content_type)
            if kind == b"multipart/form-data" and options.get(b"boundary"):
                self._files = _FileCounter(options[b"boundary"], limits)

    async def receive(self) -> Message:
        if self.refusal is not None:
            raise BodyTooLarge(self.refusal)
        message = await self._receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            self.received += len(chunk)
            if self.received > self.limits.max_bytes:
                self.refusal = self.limits.whole_message()
            elif self._files is not None:
                self._files.write(chunk)
                self.refusal = self._files.refusal
            if self.refusal is not None:
                raise BodyTooLarge(self.refusal)
        return message


class BodyLimitMiddleware:
    """Answers 413 as soon as a request body passes its limit, without reading the rest of it."""

    def __init__(self, app: ASGIApp, settings: Settings):
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limits = limits_for(scope["path"], self.settings)
        declared = declared_length(scope)
        if declared is not None and declared > limits.max_bytes:
            await refuse(scope, receive, send, limits.whole_message())
            return
        body = _GuardedBody(receive, scope, limits)
        started = False

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if body.refusal is not None and not started:
                return  # why: whatever the app made of a body cut short, the answer is the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, body.receive, guarded_send)
        except Exception:
            if body.refusal is None:
                raise
        if body.refusal is not None and not started:
            await refuse(scope, receive, send, body.refusal)


async def refuse(scope: Scope, receive: Receive, send: Send, message: str) -> None:
    """The 413, rendered like every other refusal (web/errors.py), closing the connection: the rest of the
    body is never read, so the connection cannot carry another request."""
    request = Request(scope, receive)
    response = respond(request, 413, message, headers={"Connection": "close"})
    await response(scope, receive, send)
