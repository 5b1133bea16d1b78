"""GraphQL documents and helpers of the disbursement tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import text

from core.db.database import Database
from tests.support.gateway import Tokens

PARTNER = "PP-001"
OTHER_PARTNER = "PP-002"
PMO = "PMO"

CREATE = (
    "mutation { createDisbursementBatches { code paymentPartnerCode itemCount controlSum status } }"
)
BATCHES = """
query Batches($status: DisbursementBatchStatus, $first: Int, $after: String) {
  disbursementBatches(status: $status, first: $first, after: $after) {
    edges { node { code paymentPartnerCode itemCount controlSum status } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ITEMS = """
query Items($code: String!, $first: Int, $after: String) {
  disbursementBatch(code: $code) {
    code itemCount controlSum status
    items(first: $first, after: $after) {
      edges { node { endToEndId amount status installmentId beneficiaryName accountNumber
                     accountNumberMasked reasonCode partnerReference } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
ACKNOWLEDGE = """
mutation Ack($code: String!, $count: Int!, $sum: Rupiah!) {
  acknowledgeBatch(code: $code, itemCount: $count, controlSum: $sum) { code status acknowledgedAt }
}
"""
REPORT = """
mutation Report($code: String!, $results: [DisbursementResultInput!]!) {
  reportDisbursementResults(code: $code, results: $results) {
    batch { code status completedAt }
    results { endToEndId outcome item { endToEndId status reasonCode } errors { code field } }
  }
}
"""
RECONCILE = """
query Reconcile($code: String!) {
  disbursementReconciliation(batchCode: $code) {
    batch { itemCount controlSum status }
    totals { status count amount }
    reportedCount reportedAmount
  }
}
"""
HISTORY = """
query History($id: ID!) {
  installmentHistory(installmentId: $id) {
    installmentId status amount
    items { item { endToEndId status batchCode }
            reports { status reasonCode partnerReference applied } }
  }
}
"""


def result(
    end_to_end_id: str,
    status: str,
    *,
    reason: str | None = None,
    reference: str | None = None,
) -> dict[str, Any]:
    return {
        "endToEndId": end_to_end_id,
        "status": status,
        "reasonCode": reason,
        "partnerReference": reference or f"REF-{end_to_end_id}-{status}",
        "reportedAt": datetime.now(UTC).isoformat(),
    }


def data(body: dict[str, Any]) -> dict[str, Any]:
    assert "errors" not in body, body
    payload: dict[str, Any] = body["data"]
    return payload


def codes(body: dict[str, Any]) -> list[str]:
    return [error["extensions"]["code"] for error in body.get("errors") or []]


async def create_batches(tokens: Tokens) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = data(await tokens.graphql(PMO, CREATE))[
        "createDisbursementBatches"
    ]
    return made


async def batch_of(tokens: Tokens, partner: str) -> dict[str, Any]:
    """The partner's newest READY batch, made now from the pool."""
    made = await create_batches(tokens)
    mine = [batch for batch in made if batch["paymentPartnerCode"] == partner]
    assert mine, made
    return mine[0]


async def all_items(
    tokens: Tokens, partner: str, code: str, page: int = 1000
) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    after = None
    while True:
        body = data(
            await tokens.graphql(partner, ITEMS, {"code": code, "first": page, "after": after})
        )
        connection = body["disbursementBatch"]["items"]
        items += [edge["node"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            return items
        after = connection["pageInfo"]["endCursor"]


async def acknowledge(tokens: Tokens, partner: str, batch: dict[str, Any]) -> dict[str, Any]:
    return await tokens.graphql(
        partner,
        ACKNOWLEDGE,
        {"code": batch["code"], "count": batch["itemCount"], "sum": batch["controlSum"]},
    )


async def report(
    tokens: Tokens, partner: str, code: str, results: list[dict[str, Any]]
) -> dict[str, Any]:
    return await tokens.graphql(partner, REPORT, {"code": code, "results": results})


async def scalar(database: Database, sql: str, **params: Any) -> Any:
    async with database.sessionmaker() as session:
        return await session.scalar(text(sql), params)
