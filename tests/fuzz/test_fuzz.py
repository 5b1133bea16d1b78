"""A small fuzzing run in CI (``bench/fuzz.py`` runs 10,000 documents per partner type)."""

from __future__ import annotations

import pytest

from core.enums import PartnerType
from tests.fuzz import fuzzer
from tests.fuzz.schema_model import INTROSPECTION_QUERY, client_schema
from tests.support.gateway import Tokens

DOCUMENTS_PER_TYPE = 40


@pytest.mark.parametrize("partner_type", list(PartnerType))
async def test_random_documents_never_break_the_gateway(
    tokens: Tokens, partner_type: PartnerType
) -> None:
    pmo = await tokens.headers(PartnerType.PROGRAM_MANAGEMENT)
    introspection = await tokens.http.post(
        "/graphql", json={"query": INTROSPECTION_QUERY}, headers=pmo
    )
    schema = client_schema(introspection.json()["data"])
    headers = await tokens.headers(partner_type)
    counts = await fuzzer.run(
        tokens.http,
        schema,
        headers,
        count=DOCUMENTS_PER_TYPE,
        seed=list(PartnerType).index(partner_type),
    )
    assert counts.documents == DOCUMENTS_PER_TYPE
    assert (counts.server_errors, counts.not_json, counts.internal_errors) == (0, 0, 0), (
        counts.codes,
        counts.examples,
    )
    assert counts.logged_errors == 0
