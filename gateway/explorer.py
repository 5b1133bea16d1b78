"""The in-browser explorer at ``GET /graphql`` (demo mode): one page of our own, no CDN.

GraphiQL's page loads React and GraphiQL from a CDN, a blank "Loading..." without internet.
This page is plain HTML and JavaScript shipped inside the package (``gateway/static``), so it
works on a machine with no outside network. Every other request passes through untouched.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files

from starlette.types import ASGIApp, Receive, Scope, Send

PAGE_PATH = "/graphql"


@lru_cache(maxsize=1)
def explorer_page() -> bytes:
    return files("gateway").joinpath("static", "explorer.html").read_bytes()


class ExplorerMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_page_request(scope):
            await self.app(scope, receive, send)
            return
        body = explorer_page()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    # Nothing outside this origin may load: the page needs nothing outside.
                    (
                        b"content-security-policy",
                        b"default-src 'self'; script-src 'unsafe-inline'; "
                        b"style-src 'unsafe-inline'; connect-src 'self'",
                    ),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _is_page_request(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != PAGE_PATH:
        return False
    if b"query=" in scope.get("query_string", b""):
        return False
    accept = next((value for key, value in scope["headers"] if key == b"accept"), b"")
    return b"text/html" in accept
