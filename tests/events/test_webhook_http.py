"""The worker's HTTP client against hand-written servers: keep-alive and a server that
closed a kept connection, redirects not followed, one time-out for the exchange, answers
ended by closing, long answers cut to their first bytes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import pytest

from gateway.webhook_http import WebhookHTTPError
from gateway.webhooks import http_client

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[bool]]
HEADERS = {"content-type": "application/json", "webhook-id": "evt_1"}


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    return head + await reader.readexactly(length)


@asynccontextmanager
async def serving(handler: Handler) -> AsyncIterator[tuple[str, list[int]]]:
    """A server on 127.0.0.1; ``handler`` answers the n-th request of a connection and
    says whether to keep the connection. Yields the URL and the requests per connection."""
    connections: list[int] = []

    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        index = len(connections)
        connections.append(0)
        try:
            while True:
                await _read_request(reader)
                connections[index] += 1
                if not await handler(reader, writer, connections[index]):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/hooks?x=1", connections


async def test_connections_are_kept_and_a_closed_one_is_replaced() -> None:
    async def once_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> bool:
        # Says nothing of closing, then closes: what a server's keep-alive time-out does.
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        return False

    async def keep(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 204 No Content\r\n\r\n")
        await writer.drain()
        return True

    async with http_client() as client:
        async with serving(keep) as (url, connections):
            for _ in range(5):
                assert (await client.post(url, HEADERS, b"{}")).status == 204
            assert connections == [5]
        async with serving(once_then_close) as (url, connections):
            for _ in range(3):
                answer = await client.post(url, HEADERS, b"{}")
                assert (answer.status, answer.excerpt) == (200, b"ok")
            assert connections == [1, 1, 1]


async def test_a_redirect_is_an_answer_not_followed() -> None:
    async def redirect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(
            b"HTTP/1.1 307 Temporary Redirect\r\nlocation: http://127.0.0.1:9/elsewhere\r\n"
            b"content-length: 0\r\n\r\n"
        )
        await writer.drain()
        return True

    async with http_client() as client, serving(redirect) as (url, connections):
        assert (await client.post(url, HEADERS, b"{}")).status == 307
        assert connections == [1]


async def test_one_time_out_for_the_whole_exchange() -> None:
    async def trickle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        # A byte at a time, never finishing: each read succeeds, the exchange must not.
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\n")
        for _ in range(100):
            writer.write(b"x")
            await writer.drain()
            await asyncio.sleep(0.1)
        return False

    # A time-out per read would never fire here; the server gives up after 10 s, and the
    # client would then see a complete-looking 200 rather than a time-out.
    async with http_client(timeout_seconds=0.5) as client, serving(trickle) as (url, _):
        with pytest.raises(TimeoutError):
            await client.post(url, HEADERS, b"{}")


async def test_an_answer_ended_by_closing_and_a_long_one_keep_their_first_bytes() -> None:
    async def close_delimited(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int
    ) -> bool:
        writer.write(b"HTTP/1.0 500 Internal Server Error\r\n\r\n" + b"e" * 1000)
        await writer.drain()
        return False

    async def chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(10):
            writer.write(b"64\r\n" + b"a" * 100 + b"\r\n")
        writer.write(b"0\r\n\r\n")
        await writer.drain()
        return True

    async with http_client() as client:
        async with serving(close_delimited) as (url, _):
            answer = await client.post(url, HEADERS, b"{}")
            assert (answer.status, answer.excerpt) == (500, b"e" * 256)
        async with serving(chunked) as (url, connections):
            for _ in range(2):
                answer = await client.post(url, HEADERS, b"{}")
                assert (answer.status, answer.excerpt) == (200, b"a" * 256)
            assert connections == [2]  # read to its end, the connection is kept


async def test_no_server_and_garbage_are_errors_not_answers() -> None:
    async def garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> bool:
        writer.write(b"this is not HTTP\r\n\r\n")
        await writer.drain()
        return False

    async with http_client() as client:
        with pytest.raises(WebhookHTTPError):
            await client.post("http://127.0.0.1:9/hooks", HEADERS, b"{}")
        async with serving(garbage) as (url, _):
            with pytest.raises(WebhookHTTPError):
                await client.post(url, HEADERS, b"{}")
