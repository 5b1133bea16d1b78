"""Quickstart for a payment partner: register a participant's payment account, fetch a batch
and its items page by page and as the JSONL export, acknowledge it by echoing its header,
and report each item's result.

Against `prakerja-gateway demo` (the PP-001 client):

    pip install httpx authlib
    export PRAKERJA_BASE_URL=http://127.0.0.1:8000
    export CLIENT_ID=... CLIENT_SECRET=...   # the PAYMENT_PARTNER client the demo printed
    export CARD_NUMBER=...                   # a participant's card ("The example sale" line)
    prakerja-gateway batches create          # programme management makes batches of what is due
    python docs/quickstarts/payment_partner.py

BATCH_CODE picks a batch; by default the newest READY one. HOLDER_NAME is the name your
account inquiry returned (the account is verified when it is the participant's name).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime
from typing import Any

from authlib.integrations.httpx_client import AsyncOAuth2Client

BASE_URL = os.environ.get("PRAKERJA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
PAGE = 100  # items a page (at most 100)
REPORT_CHUNK = 1000  # results a call (at most 1,000)

REGISTER_ACCOUNT = """
mutation RegisterAccount($input: RegisterPaymentAccountInput!) {
  registerPaymentAccount(input: $input) {
    account { id cardNumber kind maskedAccountNumber nameMatched verified isPrimary }
  }
}
"""
READY_BATCHES = """
query ReadyBatches {
  disbursementBatches(status: READY, first: 1) {
    edges { node { code itemCount controlSum status createdAt } }
  }
}
"""
ITEMS = """
query Items($code: String!, $first: Int, $after: String) {
  disbursementBatch(code: $code) {
    code itemCount controlSum status
    items(first: $first, after: $after) {
      edges { node { endToEndId amount beneficiaryName accountKind accountNumber } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""
ACKNOWLEDGE = """
mutation Acknowledge($code: String!, $itemCount: Int!, $controlSum: Rupiah!) {
  acknowledgeBatch(code: $code, itemCount: $itemCount, controlSum: $controlSum) {
    code status acknowledgedAt
  }
}
"""
REPORT = """
mutation Report($code: String!, $results: [DisbursementResultInput!]!) {
  reportDisbursementResults(code: $code, results: $results) {
    batch { code status completedAt }
    results { endToEndId outcome errors { code message field } }
  }
}
"""
RECONCILE = """
query Reconcile($code: String!) {
  disbursementReconciliation(batchCode: $code) {
    totals { status count amount }
    reportedCount reportedAmount
  }
}
"""


async def graphql(
    client: AsyncOAuth2Client, query: str, variables: dict[str, Any] | None = None
) -> Any:
    """POSTs one document; a GraphQL error stops the script with its stable code."""
    response = await client.post(
        f"{BASE_URL}/graphql", json={"query": query, "variables": variables}
    )
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        for error in body.get("errors") or [body]:
            code = (error.get("extensions") or {}).get("code")
            print(f"refused: {code}: {error.get('message')}", file=sys.stderr)
        sys.exit(1)
    return body["data"]


async def main() -> None:
    async with AsyncOAuth2Client(
        os.environ["CLIENT_ID"],
        os.environ["CLIENT_SECRET"],
        token_endpoint=f"{BASE_URL}/oauth/token",
        grant_type="client_credentials",
    ) as client:
        await client.fetch_token()

        card = os.environ.get("CARD_NUMBER")
        if card:
            account = (
                await graphql(
                    client,
                    REGISTER_ACCOUNT,
                    {
                        "input": {
                            "cardNumber": card,
                            "kind": "BANK",
                            "accountNumber": "1234567890",
                            "holderName": os.environ.get("HOLDER_NAME", "Quickstart Holder"),
                        }
                    },
                )
            )["registerPaymentAccount"]["account"]
            print(
                f"account {account['maskedAccountNumber']} for {account['cardNumber']}: "
                f"verified={account['verified']} primary={account['isPrimary']}"
            )

        code = os.environ.get("BATCH_CODE")
        if not code:
            ready = (await graphql(client, READY_BATCHES))["disbursementBatches"]["edges"]
            if not ready:
                print("no READY batch: run `prakerja-gateway batches create` first")
                sys.exit(1)
            code = ready[0]["node"]["code"]

        # The items, a page at a time: keep endCursor, stop when hasNextPage is false.
        items: list[dict[str, Any]] = []
        after = None
        while True:
            batch = (await graphql(client, ITEMS, {"code": code, "first": PAGE, "after": after}))[
                "disbursementBatch"
            ]
            page = batch["items"]
            items += [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        print(f"batch {code}: {batch['itemCount']} items, {batch['controlSum']} Rupiah")
        print(f"paged through {len(items)} items")

        # The same items as one streamed JSON-lines file, with the header in HTTP headers.
        exported = 0
        async with client.stream(
            "GET", f"{BASE_URL}/disbursements/batches/{code}/items.jsonl"
        ) as response:
            response.raise_for_status()
            header = (response.headers["X-Item-Count"], response.headers["X-Control-Sum"])
            async for line in response.aiter_lines():
                if line:
                    json.loads(line)
                    exported += 1
        print(f"exported {exported} items (X-Item-Count {header[0]}, X-Control-Sum {header[1]})")

        # Acknowledge by echoing the header: a mismatch is BATCH_HEADER_MISMATCH.
        acknowledged = (
            await graphql(
                client,
                ACKNOWLEDGE,
                {"code": code, "itemCount": batch["itemCount"], "controlSum": batch["controlSum"]},
            )
        )["acknowledgeBatch"]
        print(f"acknowledged {acknowledged['code']} {acknowledged['status']}")

        # Pay, then report each item's result; the same report again changes nothing.
        now = datetime.now(UTC).isoformat()
        for start in range(0, len(items), REPORT_CHUNK):
            results = [
                {
                    "endToEndId": item["endToEndId"],
                    "status": "PAID",
                    "partnerReference": f"QS-{item['endToEndId']}",
                    "reportedAt": now,
                }
                for item in items[start : start + REPORT_CHUNK]
            ]
            reported = (await graphql(client, REPORT, {"code": code, "results": results}))[
                "reportDisbursementResults"
            ]
            refused = [result for result in reported["results"] if result["errors"]]
            for result in refused:
                print(f"not applied {result['endToEndId']}: {result['errors']}", file=sys.stderr)
        print(f"reported; batch {reported['batch']['code']} {reported['batch']['status']}")

        reconciliation = (await graphql(client, RECONCILE, {"code": code}))[
            "disbursementReconciliation"
        ]
        for total in reconciliation["totals"]:
            print(f"  {total['status']:10} {total['count']:>6} {total['amount']:>14} Rupiah")
        if refused:
            sys.exit(1)


if __name__ == "__main__":
    asyncio.run(main())
