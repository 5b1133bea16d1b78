"""The demo's explorer: served from the package, with no URL outside the gateway."""

from __future__ import annotations

import re

from core.db.database import Database
from tests.support.gateway import make_client

BROWSER = {"Accept": "text/html,application/xhtml+xml"}


async def test_the_explorer_loads_nothing_from_outside(database: Database) -> None:
    async with make_client(database, demo=True) as http:
        page = await http.get("/graphql", headers=BROWSER)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "Get a token" in html and "/oauth/token" in html and "__schema" in html
    # No absolute URL at all: no CDN, no font, no script from elsewhere.
    assert re.findall(r"https?://", html) == []
    assert re.findall(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html) == []
    assert "default-src 'self'" in page.headers["content-security-policy"]


async def test_no_explorer_outside_demo_mode(database: Database) -> None:
    async with make_client(database) as http:
        page = await http.get("/graphql", headers=BROWSER)
    assert "Prakerja gateway explorer" not in page.text
    assert "unpkg" not in page.text and "jsdelivr" not in page.text
