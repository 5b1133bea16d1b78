"""Two apps on one database, one with compiled reads and one without: the differential
tests of compiled reads and compiled documents ask both and compare."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from core.db.database import Database
from resolvers.compiled_reads import COMPILED_READ_MARK
from tests.support.catalog import counting
from tests.support.credentials import SharedCredentials
from tests.support.gateway import Tokens, graphql, make_client


@dataclass
class Apps:
    compiled: httpx.AsyncClient
    normal: httpx.AsyncClient
    tokens: Tokens
    database: Database
    partner: str  # who asks, unless a call names another

    async def thrice(
        self, query: str, variables: dict[str, Any] | None = None, *, partner: str | None = None
    ) -> tuple[dict[str, Any], list[str]]:
        """The body (the same from the first, the replayed and the normal answer) and the
        statements the replay sent."""
        token = await self.tokens.issue(partner or self.partner)
        first = await graphql(self.compiled, query, variables, token=token)
        with counting(self.database) as statements:
            replayed = await graphql(self.compiled, query, variables, token=token)
        normal = await graphql(self.normal, query, variables, token=token)
        assert first == replayed == normal
        return replayed, statements

    async def both(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        partner: str | None = None,
        scopes: list[str] | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """The body (the same from both apps) and whether the compiled read answered."""
        token = await self.tokens.issue(partner or self.partner, scopes)
        with counting(self.database) as statements:
            compiled = await graphql(self.compiled, query, variables, token=token)
        answered = any(COMPILED_READ_MARK in statement for statement in statements)
        with counting(self.database) as statements:
            normal = await graphql(self.normal, query, variables, token=token)
        assert not any(COMPILED_READ_MARK in statement for statement in statements)
        assert compiled == normal
        return compiled, answered


@asynccontextmanager
async def compiled_and_normal(
    database: Database, shared_credentials: SharedCredentials, *, partner: str
) -> AsyncIterator[Apps]:
    async with (
        make_client(database, catalog_cache=False) as compiled,
        make_client(database, catalog_cache=False, compiled_reads=False) as normal,
    ):
        tokens = Tokens(compiled, database, shared_credentials)
        yield Apps(compiled, normal, tokens, database, partner)
