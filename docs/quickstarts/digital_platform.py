"""Quickstart for a digital platform: the catalog, a purchase started and authorized, its
enrollments and the certificates of its sales.

Against `prakerja-gateway demo` (which prints the DP-001 client and the example sale):

    pip install httpx authlib
    export PRAKERJA_BASE_URL=http://127.0.0.1:8000
    export CLIENT_ID=... CLIENT_SECRET=...          # the PLATFORM client the demo printed
    export CARD_NUMBER=... COURSE_CODE=... SCHEDULE_CODE=...   # "The example sale" line
    python docs/quickstarts/digital_platform.py

The participant's one-time password goes to their phone; in the demo that is the outbox, read
by OTP_COMMAND (default `prakerja-gateway outbox --otp`; give the full path of the virtualenv's
`bin/prakerja-gateway` when it is not on PATH).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import uuid
from typing import Any

from authlib.integrations.httpx_client import OAuth2Client

BASE_URL = os.environ.get("PRAKERJA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

CATALOG = """
query Catalog($first: Int) {
  courses(first: $first) {
    edges { node { code title price provider { code name } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
COURSE = """
query Course($code: String!) {
  course(code: $code) { code title price provider { code } }
}
"""
START = """
mutation Start($input: StartPurchaseInput!) {
  startPurchase(input: $input) {
    paymentToken expiresAt
    purchase { invoiceCode status amount }
  }
}
"""
AUTHORIZE = """
mutation Authorize($input: AuthorizePurchaseInput!) {
  authorizePurchase(input: $input) { invoiceCode status amount transactionCode redeemCode }
}
"""
ENROLLMENTS = """
query Enrollments($first: Int, $after: String) {
  enrollments(first: $first, after: $after) {
    edges { node { invoiceCode status redeemedAt course { code } attendances { sequence } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
CERTIFICATES = """
query Certificates($first: Int, $after: String) {
  certificates(first: $first, after: $after) {
    edges { node { number status courseCode invoiceCode issuedAt url } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def graphql(client: OAuth2Client, query: str, variables: dict[str, Any] | None = None) -> Any:
    """POSTs one document; a GraphQL error stops the script with its stable code."""
    response = client.post(f"{BASE_URL}/graphql", json={"query": query, "variables": variables})
    body = response.json()
    if response.status_code != 200 or body.get("errors"):
        for error in body.get("errors") or [body]:
            code = (error.get("extensions") or {}).get("code")
            print(f"refused: {code}: {error.get('message')}", file=sys.stderr)
        sys.exit(1)
    return body["data"]


def read_otp() -> str:
    command = os.environ.get("OTP_COMMAND", "prakerja-gateway outbox --otp")
    # Your own command, from your own environment: the demo's stand-in for the phone.
    done = subprocess.run(shlex.split(command), capture_output=True, text=True, check=True)  # noqa: S603
    return done.stdout.strip()


def main() -> None:
    with OAuth2Client(
        os.environ["CLIENT_ID"],
        os.environ["CLIENT_SECRET"],
        token_endpoint=f"{BASE_URL}/oauth/token",
        # With this, authlib fetches a new token by itself when the old one expires.
        grant_type="client_credentials",
    ) as client:
        client.fetch_token()
        catalog = graphql(client, CATALOG, {"first": 5})["courses"]
        for edge in catalog["edges"]:
            course = edge["node"]
            print(f"course {course['code']} {course['price']} Rupiah: {course['title']}")

        course = graphql(client, COURSE, {"code": os.environ["COURSE_CODE"]})["course"]
        started = graphql(
            client,
            START,
            {
                "input": {
                    "cardNumber": os.environ["CARD_NUMBER"],
                    "courseCode": course["code"],
                    "scheduleCode": os.environ["SCHEDULE_CODE"],
                    "platformUserId": "quickstart-user-1",
                    # Your own invoice number: unique per purchase.
                    "invoiceCode": f"INV-QS-{uuid.uuid4().hex[:10].upper()}",
                    "amount": course["price"],  # a Rupiah string, exactly the course's price
                }
            },
        )["startPurchase"]
        print(f"started {started['purchase']['invoiceCode']} {started['purchase']['status']}")

        otp = read_otp()  # the participant reads it from their phone and types it in
        purchase = graphql(
            client,
            AUTHORIZE,
            {"input": {"paymentToken": started["paymentToken"], "otp": otp}},
        )["authorizePurchase"]
        print(f"authorized {purchase['invoiceCode']} {purchase['status']}")
        print(f"TRANSACTION_CODE={purchase['transactionCode']}")
        print(f"REDEEM_CODE={purchase['redeemCode']}")

        enrollments = graphql(client, ENROLLMENTS, {"first": 5})["enrollments"]
        for edge in enrollments["edges"]:
            node = edge["node"]
            print(f"enrollment {node['invoiceCode']} {node['status']} {node['course']['code']}")

        # Every certificate of the platform's sales, a page at a time.
        after, count = None, 0
        while True:
            page = graphql(client, CERTIFICATES, {"first": 100, "after": after})["certificates"]
            count += len(page["edges"])
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        print(f"certificates of our sales: {count}")


if __name__ == "__main__":
    main()
