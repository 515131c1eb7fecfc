"""Checks on a request's raw input, before any route parses it.

Two kinds of input crash a parser or the database rather than failing validation:

- JSON nested thousands of levels deep: Python's parser recurses once per level and
  raises RecursionError (and anything walking the result afterwards would too);
- NUL characters: PostgreSQL refuses them in text, so an otherwise valid form or JSON
  answer would fail only when it is stored.

The middleware (app/web/middleware.py) runs these on every request, so a route never sees
such input. They work on bytes, in passes that run in C, and are cheap for the common
case (no NUL escape at all, fewer opening brackets than the depth limit).
"""

from __future__ import annotations

import operator
import re
from collections.abc import AsyncGenerator, Iterable
from itertools import accumulate, count

from python_multipart.multipart import parse_options_header
from starlette.datastructures import Headers
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import i18n

# Deeper than any JSON Between itself sends (an entry is three or four levels deep).
MAX_JSON_DEPTH = 64

# A JSON string, or an unterminated one up to the end: it never fails once started, so the
# scan is linear whatever the input (the loop is unrolled: runs of plain characters at once).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?', re.DOTALL)
_BRACKETS = b"[]{}"
# Openers count 2 and closers 0: the running sum minus the position is the depth.
_DEPTH_TABLE = bytes.maketrans(b"[{]}", b"\x02\x02\x00\x00")
_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in _BRACKETS)
# \u0000 as a JSON escape: the backslash before it must not itself be escaped.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether `body`, read as JSON, nests arrays and objects more than `limit` levels.

    Brackets inside strings do not count. Malformed JSON is measured the same way (its
    parser will refuse it anyway)."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", body).translate(_DEPTH_TABLE, _NOT_BRACKETS)
    return max(map(operator.sub, accumulate(brackets), count(1)), default=0) > limit


def json_has_nul(body: bytes) -> bool:
    """Whether JSON text holds a NUL: a raw byte, or the escape \\u0000 in a string."""
    if b"\x00" in body:
        return True
    return b"\\u0000" in body and _JSON_NUL.search(body) is not None


def urlencoded_has_nul(raw: bytes) -> bool:
    """Whether a query string or form body decodes to a NUL (%00, or a raw NUL byte).

    "%00" typed as text is sent as "%2500", which this does not match."""
    return b"%00" in raw or b"\x00" in raw


# --- the middleware -----------------------------------------------------------------------------


class InputCheckMiddleware:
    """Refuses a request whose query string or body holds a NUL (422), or whose body nests
    JSON too deeply (400), with the app's own translated problem answer; nothing runs.

    It sits inside RequestContextMiddleware, which has set the language, limited the body's
    size (so reading it whole here is bounded) and adds the security headers to the answer.
    A body is read ahead once and handed on unchanged. Every body counts as possible JSON
    (the push routes read JSON whatever its content type) except forms, whose fields are
    checked decoded. Uploads (`upload_paths`, allowed a larger body) are passed on unread:
    they are binary, and their few text fields are an id and a number.
    """

    def __init__(self, app: ASGIApp, *, upload_paths: Iterable[str] = ()) -> None:
        self.app = app
        self.upload_paths = frozenset(upload_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if urlencoded_has_nul(scope.get("query_string", b"")) or "\x00" in scope["path"]:
            await _refuse(scope, send, 422, _nul_message())
            return
        headers = Headers(scope=scope)
        if not _has_body(headers) or scope["path"] in self.upload_paths:
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:  # the client went away
            return
        refusal = await _refusal(headers, body)
        if refusal is not None:
            await _refuse(scope, send, *refusal)
            return
        await self.app(scope, _replay(body, receive), send)


def _nul_message() -> str:
    return i18n.gettext(
        "Some of what was sent contains a null character, which cannot be saved. Please remove it and try again."
    )


def _has_body(headers: Headers) -> bool:
    length = headers.get("content-length")
    return "transfer-encoding" in headers or (length is not None and length.strip() not in ("", "0"))


async def _read_body(receive: Receive) -> bytes | None:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """The body as one message, then whatever the server sends next (a disconnect)."""
    pending = True

    async def replay() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _refusal(headers: Headers, body: bytes) -> tuple[int, str] | None:
    content_type, _options = parse_options_header(headers.get("content-type", ""))
    if content_type == b"multipart/form-data":
        return (422, _nul_message()) if await _multipart_has_nul(headers, body) else None
    if json_too_deep(body):
        return 400, i18n.gettext("This could not be read: it is nested too deeply.")
    # A form's NUL is %00. JSON's escape is checked in forms too: the push routes read their body
    # as JSON whatever its content type says (a browser's form would send it as %5Cu0000).
    form = content_type == b"application/x-www-form-urlencoded"
    nul = (form and urlencoded_has_nul(body)) or json_has_nul(body)
    return (422, _nul_message()) if nul else None


async def _multipart_has_nul(headers: Headers, body: bytes) -> bool:
    async def stream() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(headers, stream()).parse()
    except MultiPartException:
        return False  # malformed: the route's own parsing refuses it
    try:
        for key, value in form.multi_items():
            text = value if isinstance(value, str) else (value.filename or "")
            if "\x00" in key or "\x00" in text:
                return True
        return False
    finally:
        await form.close()


async def _refuse(scope: Scope, send: Send, status: int, message: str) -> None:
    from app.web.errors import problem  # the error pages need the whole app; this module is imported early

    response = problem(Request(scope), status, message)
    await response(scope, _no_body, send)


async def _no_body() -> Message:
    return {"type": "http.disconnect"}
