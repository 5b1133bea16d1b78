"""Quickstart for a regional office: register a resident offline, then read the office's
registrants and its figures.

Against `prakerja-gateway demo` (the DISNAKER-1101 client, Kabupaten Simeulue):

    pip install httpx authlib
    export PRAKERJA_BASE_URL=http://127.0.0.1:8000
    export CLIENT_ID=... CLIENT_SECRET=...   # the REGIONAL_OFFICE client the demo printed
    python docs/quickstarts/regional_office.py

REGENCY_CODE is the office's own regency (default 1101). The NIK here is made up for the
demo, encoded as a real one is: regency, district, birth day (+ 40 for women), month, year.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from collections import Counter
from typing import Any

from authlib.integrations.httpx_client import AsyncOAuth2Client

BASE_URL = os.environ.get("PRAKERJA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
REGENCY = os.environ.get("REGENCY_CODE", "1101")

REGISTER = """
mutation Register($input: RegisterParticipantInput!) {
  registerParticipant(input: $input) {
    id nikMasked fullName regencyCode channel status registeredAt
  }
}
"""
REGISTRANT = """
query Registrant($id: ID!) {
  registrant(id: $id) {
    id fullName status
    journey { registeredAt waveNumber purchases completions incentivesPaid incentivesPaidAmount }
  }
}
"""
REGISTRANTS = """
query Registrants($first: Int, $after: String, $channel: RegistrationChannel) {
  registrants(first: $first, after: $after, channel: $channel) {
    edges { node { id channel status journey { purchases completions } } }
    pageInfo { hasNextPage endCursor }
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


def demo_form() -> dict[str, Any]:
    serial = secrets.randbelow(9000) + 1000  # a new person on every run
    return {
        # 15 June 1990, a man: day 15 (a woman's would be 55).
        "nik": f"{REGENCY}01150690{serial:04d}",
        "kk": f"{REGENCY}01{secrets.randbelow(10**10):010d}",
        "fullName": f"Warga Uji {serial}",
        "birthDate": "1990-06-15",
        "sex": "MALE",
        "address": "Jalan Merdeka 1, Sinabang",
        "regencyCode": REGENCY,
        "education": "SMA",
        "employmentStatus": "UNEMPLOYED",
        "consent": {"method": "THUMBPRINT", "officeUser": "petugas-1"},
    }


async def main() -> None:
    async with AsyncOAuth2Client(
        os.environ["CLIENT_ID"],
        os.environ["CLIENT_SECRET"],
        token_endpoint=f"{BASE_URL}/oauth/token",
        grant_type="client_credentials",
    ) as client:
        await client.fetch_token()

        registrant = (await graphql(client, REGISTER, {"input": demo_form()}))[
            "registerParticipant"
        ]
        print(f"registered {registrant['nikMasked']} {registrant['channel']} {registrant['id']}")

        journey = (await graphql(client, REGISTRANT, {"id": registrant["id"]}))["registrant"][
            "journey"
        ]
        print(f"journey: {journey['purchases']} purchases, {journey['completions']} completions")

        # The office's figures: every registrant of its regency, a page (at most 100) at a time.
        by_status: Counter[str] = Counter()
        by_channel: Counter[str] = Counter()
        completions = 0
        after = None
        while True:
            page = (await graphql(client, REGISTRANTS, {"first": 100, "after": after}))[
                "registrants"
            ]
            for edge in page["edges"]:
                node = edge["node"]
                by_status[node["status"]] += 1
                by_channel[node["channel"]] += 1
                completions += node["journey"]["completions"]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        print(f"registrants: {sum(by_status.values())}")
        for status, count in sorted(by_status.items()):
            print(f"  {status:12} {count:>6}")
        print(f"  by channel: {dict(sorted(by_channel.items()))}; completions: {completions}")


if __name__ == "__main__":
    asyncio.run(main())
