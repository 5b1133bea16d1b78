"""Trainings ready to complete: bought, redeemed and post-tested through the public API."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.db.database import Database
from tests.support.enrollment import ATTEND, Sale, buy, open_sale
from tests.support.gateway import Tokens

SUBMIT = """
mutation Submit($input: SubmitCompletionsInput!) {
  submitCompletions(input: $input) {
    results {
      redeemCode
      certificate { number status url credential courseCode providerCode platformCode score }
      errors { code message field certificate { number } }
    }
  }
}
"""
CERTIFICATE = """
query Certificate($number: String!) {
  certificate(number: $number) { number status statusReason courseCode credential }
}
"""
REVOKE = """
mutation Revoke($number: String!, $reason: String!) {
  revokeCertificate(number: $number, reason: $reason) { number status statusReason revokedAt }
}
"""
SUSPEND = """
mutation Suspend($number: String!, $reason: String!) {
  suspendCertificate(number: $number, reason: $reason) { number status statusReason }
}
"""
REINSTATE = """
mutation Reinstate($number: String!) {
  reinstateCertificate(number: $number) { number status statusReason }
}
"""


async def attend(
    tokens: Tokens, provider: str, redeem_code: str, sequence: int, score: int | None = None
) -> None:
    body = await tokens.graphql(
        provider,
        ATTEND,
        {"input": {"redeemCode": redeem_code, "sequence": sequence, "score": score}},
    )
    assert "errors" not in body, body


async def trained(
    tokens: Tokens,
    database: Database,
    *,
    count: int = 1,
    post_test: bool = True,
    redeem: bool = True,
) -> tuple[Sale, list[str]]:
    """``count`` participants who bought one course, redeemed it and passed its post-test;
    returns the sale and their redeem codes."""
    sale = await open_sale(database, recipients=count)
    codes = []
    for card in sale.cards:
        purchase = await buy(tokens, database, sale, card)
        code = purchase["redeemCode"]
        if redeem:
            await attend(tokens, sale.provider_code, code, 1)
            if post_test:
                await attend(tokens, sale.provider_code, code, 999, 88)
        codes.append(code)
    return sale, codes


def item(code: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"redeemCode": code, "completedAt": datetime.now(UTC).isoformat()}
    values.update(changes)
    return values


async def submit(
    tokens: Tokens, provider: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    body = await tokens.graphql(provider, SUBMIT, {"input": {"items": items}})
    assert "errors" not in body, body
    results: list[dict[str, Any]] = body["data"]["submitCompletions"]["results"]
    return results
