"""Who sees a certificate; suspension and revocation everywhere (API, public page, the
verify route and the offline example script); why a credential does not verify."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from core.db.database import Database
from gateway.certificates import _date
from tests.support.certificates import (
    CERTIFICATE,
    REINSTATE,
    REVOKE,
    SUSPEND,
    item,
    submit,
    trained,
)
from tests.support.enrollment import scalar
from tests.support.gateway import Tokens, make_client


async def _issued(tokens: Tokens, database: Database) -> tuple[str, str]:
    sale, (code,) = await trained(tokens, database)
    (result,) = await submit(tokens, sale.provider_code, [item(code)])
    return sale.provider_code, result["certificate"]["number"]


def _code(body: dict[str, Any]) -> str | None:
    errors = body.get("errors") or []
    return errors[0]["extensions"]["code"] if errors else None


async def test_the_trainer_the_seller_and_pmo_see_it_and_nobody_else(
    tokens: Tokens, database: Database
) -> None:
    provider, number = await _issued(tokens, database)
    for partner in (provider, "DP-001", "PMO"):
        body = await tokens.graphql(partner, CERTIFICATE, {"number": number})
        assert body["data"]["certificate"]["number"] == number, (partner, body)
    other_provider = "LP-0001" if provider != "LP-0001" else "LP-0002"
    for partner in (other_provider, "DP-002"):
        body = await tokens.graphql(partner, CERTIFICATE, {"number": number})
        assert _code(body) == "CERTIFICATE_NOT_FOUND", (partner, body)
    body = await tokens.graphql("PP-001", CERTIFICATE, {"number": number})
    assert _code(body) == "FORBIDDEN"
    listed = await tokens.graphql(
        "DP-002", "{ certificates(first: 100) { edges { node { number platformCode } } } }"
    )
    nodes = [edge["node"] for edge in listed["data"]["certificates"]["edges"]]
    assert nodes and all(node["platformCode"] == "DP-002" for node in nodes)
    assert number not in {node["number"] for node in nodes}


async def test_suspension_is_reversible_revocation_final_and_both_show_everywhere(
    tokens: Tokens, database: Database, client: httpx.AsyncClient, tmp_path: Path, repo_root: Path
) -> None:
    provider, number = await _issued(tokens, database)
    accept_jwt = {"accept": "application/vc+jwt"}
    jwt = (await client.get(f"/certificates/{number}", headers=accept_jwt)).text
    (tmp_path / "cert.jwt").write_text(jwt)
    (tmp_path / "jwks.json").write_text((await client.get("/certificates/jwks.json")).text)

    async def offline() -> subprocess.CompletedProcess[str]:
        lists = []
        for purpose in ("revocation", "suspension"):
            response = await client.get(f"/certificates/status/{purpose}/1")
            assert response.headers["cache-control"].startswith("public, max-age=")
            path = tmp_path / f"{purpose}.jwt"
            path.write_text(response.text)
            lists += ["--status-list", str(path)]
        script = repo_root / "examples" / "verify_certificate.py"
        jwks = ["--jwks", str(tmp_path / "jwks.json")]
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, str(script), str(tmp_path / "cert.jwt"), *jwks, *lists],
            capture_output=True,
            text=True,
            check=False,
        )

    async def verified() -> dict[str, Any]:
        response = await client.post("/certificates/verify", json={"credential": jwt})
        body: dict[str, Any] = response.json()
        return body

    valid = await offline()
    assert valid.returncode == 0 and valid.stdout.startswith("VALID"), valid
    assert (await verified())["valid"] is True

    body = await tokens.graphql("PMO", SUSPEND, {"number": number, "reason": "under review"})
    assert body["data"]["suspendCertificate"]["status"] == "SUSPENDED"
    assert (await verified())["code"] == "CERTIFICATE_SUSPENDED"
    assert (await offline()).stdout.startswith("SUSPENDED")
    body = await tokens.graphql("PMO", REINSTATE, {"number": number})
    assert body["data"]["reinstateCertificate"]["status"] == "VALID"
    assert (await offline()).returncode == 0

    reason = "fraudulent attendance"
    body = await tokens.graphql("PMO", REVOKE, {"number": number, "reason": reason})
    assert body["data"]["revokeCertificate"]["statusReason"] == reason
    result = await verified()
    assert result["code"] == "CERTIFICATE_REVOKED" and result["reason"] == reason
    revoked = await offline()
    assert revoked.returncode == 1 and revoked.stdout.startswith("REVOKED"), revoked
    page = await client.get(f"/certificates/{number}", headers={"accept": "text/html"})
    assert "Revoked" in page.text and reason in page.text
    assert "<svg" in page.text and "<script" not in page.text and "<link" not in page.text
    api = await tokens.graphql(provider, CERTIFICATE, {"number": number})
    assert api["data"]["certificate"]["status"] == "REVOKED"

    assert _code(await tokens.graphql("PMO", REINSTATE, {"number": number})) == (
        "CERTIFICATE_REVOKED"
    )
    body = await tokens.graphql("PMO", REVOKE, {"number": number, "reason": " "})
    assert _code(body) == "REASON_REQUIRED"
    body = await tokens.graphql(provider, REVOKE, {"number": number, "reason": "x"})
    assert _code(body) == "FORBIDDEN"
    audited = await scalar(
        database,
        "SELECT count(*) FROM audit_log WHERE detail->>'number' = :n AND action IN "
        "('certificate.suspended', 'certificate.reinstated', 'certificate.revoked')",
        n=number,
    )
    assert audited == 3


async def test_verify_says_why_not(
    tokens: Tokens, database: Database, client: httpx.AsyncClient
) -> None:
    _, number = await _issued(tokens, database)
    accept_jwt = {"accept": "application/vc+jwt"}
    jwt = (await client.get(f"/certificates/{number}", headers=accept_jwt)).text
    header, payload, signature = jwt.split(".")
    flipped = "A" if signature[10] != "A" else "B"
    tampered = f"{header}.{payload}.{signature[:10]}{flipped}{signature[11:]}"
    for token, code in (
        ("not a jwt", "CREDENTIAL_MALFORMED"),
        (tampered, "CREDENTIAL_SIGNATURE_INVALID"),
    ):
        response = await client.post("/certificates/verify", json={"credential": token})
        assert response.json()["code"] == code, response.json()
    raw = await client.post(
        "/certificates/verify", content=jwt, headers={"content-type": "application/vc+jwt"}
    )
    assert raw.json()["valid"] is True
    assert (await client.get("/certificates/CERT-0000-NOTHERE0")).status_code == 404
    summary = (
        await client.get(f"/certificates/{number}", headers={"accept": "application/json"})
    ).json()
    assert summary["credential"]["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    subject = summary["credential"]["credentialSubject"]
    assert subject["identifier"][0]["identityHash"].startswith("sha256$")
    card = await scalar(
        database,
        "SELECT p.card_number FROM participants p JOIN certificates c "
        "ON c.participant_id = p.id WHERE c.number = :n",
        n=number,
    )
    assert card not in summary["jwt"] and card not in str(summary["credential"])


async def test_a_seeded_certificate_gets_its_credential_on_first_request(
    client: httpx.AsyncClient, database: Database
) -> None:
    number = await scalar(database, "SELECT number FROM certificates ORDER BY id LIMIT 1")
    response = await client.post(
        "/certificates/verify",
        content=(
            await client.get(f"/certificates/{number}", headers={"accept": "application/vc+jwt"})
        ).text,
        headers={"content-type": "application/vc+jwt"},
    )
    assert response.json()["number"] == number and response.json()["valid"] is True


async def test_anonymous_routes_are_rate_limited(database: Database) -> None:
    async with make_client(database, public_rate_per_minute=8) as http:
        statuses = [(await http.get("/certificates/jwks.json")).status_code for _ in range(4)]
    assert statuses[:2] == [200, 200] and statuses[-1] == 429


async def test_the_public_page_says_when_and_why_a_certificate_was_revoked(
    tokens: Tokens, database: Database, client: httpx.AsyncClient
) -> None:
    _, number = await _issued(tokens, database)
    html = {"accept": "text/html"}
    page = (await client.get(f"/certificates/{number}", headers=html)).text
    assert "Valid / Berlaku" in page and "Completed / Selesai" in page
    assert re.search(rf"<title>QR code of https?://\S+/certificates/{number}</title>", page)
    reason = "the provider withdrew the completion"
    body = await tokens.graphql("PMO", REVOKE, {"number": number, "reason": reason})
    revoked_at = body["data"]["revokeCertificate"]["revokedAt"]
    page = (await client.get(f"/certificates/{number}", headers=html)).text
    assert "Revoked / Dicabut" in page and "Valid / Berlaku" not in page
    day = _date(datetime.fromisoformat(revoked_at))
    assert f"Revoked on / Dicabut pada:</strong> {day}" in page and reason in page


async def test_certificate_dates_without_an_offset_are_refused(tokens: Tokens) -> None:
    """Found by the fuzzer: a naive and an aware time compared was an internal error."""
    body = await tokens.graphql(
        "PMO",
        '{ certificates(issuedFrom: "2024-01-01T00:00:00", issuedTo: "0001-01-01T00:00:00Z")'
        " { edges { node { number } } } }",
    )
    assert [error["extensions"]["code"] for error in body["errors"]] == ["BAD_USER_INPUT"]
    assert body["errors"][0]["extensions"]["field"] == "issuedFrom"
