"""Quickstart for a training provider: its courses, a redemption and attendance, and the
completion that turns the training into a certificate.

Against `prakerja-gateway demo` (the LP-0001 client), once `digital_platform.py` printed a
redeem code:

    pip install httpx authlib
    export PRAKERJA_BASE_URL=http://127.0.0.1:8000
    export CLIENT_ID=... CLIENT_SECRET=...   # the TRAINING_PROVIDER client the demo printed
    export REDEEM_CODE=...                   # what the platform quickstart printed
    python docs/quickstarts/training_provider.py
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from typing import Any

from authlib.integrations.httpx_client import OAuth2Client

BASE_URL = os.environ.get("PRAKERJA_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

VIEWER = "query Viewer { viewer { code name type scopes } }"
OWN_COURSES = """
query OwnCourses($provider: String!, $first: Int) {
  courses(
    first: $first
    filter: {providerCode: $provider, statuses: [APPROVED, DRAFT, IN_REVIEW]}
  ) {
    edges { node { code title status price } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
ATTEND = """
mutation Attend($input: RecordAttendanceInput!) {
  recordAttendance(input: $input) {
    attendance { sequence score attendedAt }
    purchase { invoiceCode redeemedAt course { code } }
  }
}
"""
COMPLETE = """
mutation Complete($input: SubmitCompletionsInput!) {
  submitCompletions(input: $input) {
    results {
      redeemCode
      certificate { number status url }
      errors { code message field }
    }
  }
}
"""
STUDENTS = """
query Students($course: String, $first: Int) {
  enrollments(courseCode: $course, first: $first) {
    edges { node { invoiceCode status attendances { sequence score } } }
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


def main() -> None:
    redeem_code = os.environ["REDEEM_CODE"]
    with OAuth2Client(
        os.environ["CLIENT_ID"],
        os.environ["CLIENT_SECRET"],
        token_endpoint=f"{BASE_URL}/oauth/token",
        grant_type="client_credentials",
    ) as client:
        client.fetch_token()
        me = graphql(client, VIEWER)["viewer"]
        print(f"signed in as {me['code']} ({me['type']})")
        courses = graphql(client, OWN_COURSES, {"provider": me["code"], "first": 5})["courses"]
        for edge in courses["edges"]:
            course = edge["node"]
            print(f"own course {course['code']} {course['status']}: {course['title']}")

        # Sequence 1 redeems the code (while the schedule runs); 2-10 are further sessions,
        # in order; 999 is the post-test, with its score. Each is recorded once.
        for sequence, score in ((1, None), (2, None), (999, 85)):
            attended = graphql(
                client,
                ATTEND,
                {"input": {"redeemCode": redeem_code, "sequence": sequence, "score": score}},
            )["recordAttendance"]
            print(f"attendance {attended['attendance']['sequence']} recorded")
        course_code = attended["purchase"]["course"]["code"]

        students = graphql(client, STUDENTS, {"course": course_code, "first": 5})["enrollments"]
        print(f"students of {course_code} on this page: {len(students['edges'])}")

        # 1-500 items a call; each is answered on its own, in input order.
        completed = graphql(
            client,
            COMPLETE,
            {
                "input": {
                    "items": [
                        {"redeemCode": redeem_code, "completedAt": datetime.now(UTC).isoformat()}
                    ]
                }
            },
        )["submitCompletions"]
        for result in completed["results"]:
            if result["errors"]:
                for error in result["errors"]:
                    print(f"not completed: {error['code']}: {error['message']}", file=sys.stderr)
                sys.exit(1)
            certificate = result["certificate"]
            print(f"certificate {certificate['number']} {certificate['status']}")
            print(f"verify at {certificate['url']}")


if __name__ == "__main__":
    main()
