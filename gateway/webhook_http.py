"""The delivery worker's HTTP/1.1 client: one POST, its status and the first bytes back.

Why not httpx: profiled on the webhook benchmark, httpx (with httpcore and anyio) spent
2-4 ms of CPU per request on this machine, where writing the request whole and parsing
the answer with httptools (uvicorn's C parser) spends tens of microseconds: the client was
the worker's whole cost. A webhook needs little of HTTP: a POST with a small body, the
status, the first bytes of the answer, no redirects followed (Standard Webhooks), one
time-out for the whole exchange, and connections kept alive between webhooks.

Connections are kept per origin (scheme, host, port) while idle for less than
``KEEPALIVE_SECONDS``. A kept connection the server closed meanwhile (its keep-alive
time-out) fails before any answer byte arrives: the request goes once more on a new
connection, which can send a webhook twice but never two at once (at least once; receivers
deduplicate by webhook-id).
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httptools

# Idle connections older than this are closed rather than reused: under most servers' own
# keep-alive time-outs (uvicorn 5 s, nginx 75 s), so a reused one is rarely found closed.
KEEPALIVE_SECONDS = 4.0
# What is read of an answer at most: past it the connection is closed, not drained.
MAX_ANSWER_BYTES = 64 * 1024


class WebhookHTTPError(Exception):
    """No answer: connection refused or reset, TLS failure, a malformed answer."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    excerpt: bytes  # the first ``excerpt_bytes`` of the body


@dataclass(frozen=True, slots=True)
class _Target:
    origin: tuple[str, str, int]
    target: bytes  # path and query, as sent in the request line
    host_header: bytes


class _AnswerReader:
    """httptools' callbacks for the answers of one connection, one after the other: a
    parser is made once per connection (making one costs more than parsing an answer)."""

    __slots__ = ("body", "complete", "excerpt_bytes", "keep_alive", "parser", "started")

    def __init__(self, excerpt_bytes: int) -> None:
        self.excerpt_bytes = excerpt_bytes
        self.body = bytearray()
        self.started = False
        self.complete = False
        self.keep_alive = False
        self.parser = httptools.HttpResponseParser(self)

    def expect_answer(self) -> None:
        self.body = bytearray()
        self.started = self.complete = self.keep_alive = False

    def on_message_begin(self) -> None:
        self.started = True

    def on_body(self, chunk: bytes) -> None:
        room = self.excerpt_bytes - len(self.body)
        if room > 0:
            self.body += chunk[:room]

    def on_message_complete(self) -> None:
        self.complete = True
        # Only meaningful now: once the message is over the parser no longer says.
        self.keep_alive = self.parser.should_keep_alive()


@dataclass
class _Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    answer: _AnswerReader
    idle_since: float = 0.0

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


@dataclass
class WebhookClient:
    timeout_seconds: float
    excerpt_bytes: int = 256
    _idle: dict[tuple[str, str, int], list[_Connection]] = field(default_factory=dict)
    _targets: dict[str, _Target] = field(default_factory=dict)
    _tls: ssl.SSLContext | None = None

    async def __aenter__(self) -> WebhookClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def post(self, url: str, headers: dict[str, str], body: bytes) -> Answer:
        """POSTs ``body``; raises ``TimeoutError`` past the time-out (for the whole
        exchange), ``WebhookHTTPError`` when no answer came."""
        target = self._target(url)
        request = self._request(target, headers, body)
        async with asyncio.timeout(self.timeout_seconds):
            connection = self._kept(target.origin)
            if connection is not None:
                try:
                    return await self._exchange(target, connection, request)
                except _ClosedBeforeAnswer:
                    pass  # the server had closed it: once more, on a new connection
            connection = await self._connect(target.origin)
            try:
                return await self._exchange(target, connection, request)
            except _ClosedBeforeAnswer:
                raise WebhookHTTPError("the connection closed before an answer") from None

    def _target(self, url: str) -> _Target:
        target = self._targets.get(url)
        if target is None:
            parts = urlsplit(url)
            scheme = parts.scheme
            host = parts.hostname or ""
            port = parts.port or (443 if scheme == "https" else 80)
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            default_port = port == (443 if scheme == "https" else 80)
            host_name = f"[{host}]" if ":" in host else host
            host_header = host_name if default_port else f"{host_name}:{port}"
            target = _Target(
                origin=(scheme, host, port),
                target=path.encode("ascii"),
                host_header=host_header.encode("idna"),
            )
            if len(self._targets) >= 4096:
                self._targets.clear()
            self._targets[url] = target
        return target

    @staticmethod
    def _request(target: _Target, headers: dict[str, str], body: bytes) -> bytes:
        lines = [b"POST ", target.target, b" HTTP/1.1\r\nhost: ", target.host_header, b"\r\n"]
        for name, value in headers.items():
            lines += [name.encode("ascii"), b": ", value.encode("latin-1"), b"\r\n"]
        lines += [b"content-length: ", str(len(body)).encode(), b"\r\n\r\n", body]
        return b"".join(lines)

    def _kept(self, origin: tuple[str, str, int]) -> _Connection | None:
        connections = self._idle.get(origin)
        now = time.monotonic()
        while connections:
            connection = connections.pop()
            if now - connection.idle_since < KEEPALIVE_SECONDS and not (connection.reader.at_eof()):
                return connection
            connection.close()
        return None

    async def _connect(self, origin: tuple[str, str, int]) -> _Connection:
        scheme, host, port = origin
        tls: Any = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            reader, writer = await asyncio.open_connection(
                host, port, ssl=tls, server_hostname=host if tls else None, limit=2**16
            )
        except (OSError, ssl.SSLError) as exc:
            raise WebhookHTTPError(f"connect: {type(exc).__name__}") from exc
        return _Connection(reader, writer, _AnswerReader(self.excerpt_bytes))

    async def _exchange(self, target: _Target, connection: _Connection, request: bytes) -> Answer:
        answer = connection.answer
        answer.expect_answer()
        parser = answer.parser
        received = 0
        try:
            connection.writer.write(request)
            while not answer.complete:
                chunk = await connection.reader.read(65536)
                if not chunk:
                    if not received:
                        raise _ClosedBeforeAnswer
                    break  # an answer ended by closing the connection
                received += len(chunk)
                parser.feed_data(chunk)
                if received > MAX_ANSWER_BYTES:
                    break
        except _ClosedBeforeAnswer:
            connection.close()
            raise
        except (OSError, ssl.SSLError, httptools.HttpParserError) as exc:
            connection.close()
            if not received and isinstance(exc, ConnectionError):
                raise _ClosedBeforeAnswer from exc
            raise WebhookHTTPError(f"connection: {type(exc).__name__}") from exc
        except BaseException:
            connection.close()  # a time-out mid-answer: the connection is in no known state
            raise
        status = parser.get_status_code()
        if not answer.started or not status:
            connection.close()
            raise WebhookHTTPError("no HTTP answer")
        if answer.complete and answer.keep_alive:
            connection.idle_since = time.monotonic()
            self._idle.setdefault(target.origin, []).append(connection)
        else:
            connection.close()
        return Answer(status=status, excerpt=bytes(answer.body))


class _ClosedBeforeAnswer(Exception):
    """The connection ended before the first byte of an answer."""
