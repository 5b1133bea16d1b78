"""submitCompletions through the API: certificates, every per-item code, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import httpx

from core.db.database import Database
from tests.support.certificates import SUBMIT, attend, item, submit, trained
from tests.support.enrollment import VOID, buy, open_sale, scalar
from tests.support.gateway import Tokens


def _codes(result: dict) -> list[str]:
    return [error["code"] for error in result["errors"]]


async def test_a_completion_becomes_a_certificate_and_a_second_submission_answers_it(
    tokens: Tokens, database: Database
) -> None:
    sale, (code,) = await trained(tokens, database)
    (first,) = await submit(tokens, sale.provider_code, [item(code)])
    certificate = first["certificate"]
    assert first["errors"] == [] and certificate["status"] == "VALID"
    assert certificate["credential"].count(".") == 2
    assert certificate["courseCode"] == sale.course_code and certificate["score"] == 88
    (again,) = await submit(tokens, sale.provider_code, [item(code)])
    assert _codes(again) == ["ALREADY_COMPLETED"] and again["certificate"] is None
    assert again["errors"][0]["certificate"]["number"] == certificate["number"]
    count = await scalar(
        database, "SELECT count(*) FROM certificates WHERE number = :n", n=certificate["number"]
    )
    assert count == 1
    audited = await scalar(
        database,
        "SELECT count(*) FROM audit_log WHERE action = 'certificate.issued' "
        "AND detail->>'number' = :n",
        n=certificate["number"],
    )
    assert audited == 1


async def test_every_item_code_in_input_order_and_failures_do_not_undo_successes(
    tokens: Tokens, database: Database
) -> None:
    sale, codes = await trained(tokens, database, count=4)
    _, (unredeemed,) = await trained(tokens, database, redeem=False)
    _, (untested,) = await trained(tokens, database, post_test=False)
    now = datetime.now(UTC)
    items = [
        item(codes[0], evidenceUrl="https://lp.example/evidence/1"),
        item("NO-SUCH-CODE"),
        item(codes[0]),
        item(unredeemed),
        item(untested),
        item(codes[1], completedAt=(now + timedelta(days=2)).isoformat()),
        item(codes[2], completedAt=(now - timedelta(days=30)).isoformat()),
        item(codes[3], evidenceUrl="http://insecure.example/x"),
    ]
    results = await submit(tokens, sale.provider_code, items)
    assert [r["redeemCode"] for r in results] == [i["redeemCode"] for i in items]
    assert results[0]["certificate"] is not None
    assert [_codes(r) for r in results[1:]] == [
        ["REDEEM_CODE_NOT_FOUND"],
        ["DUPLICATE_IN_REQUEST"],
        ["NOT_REDEEMED"],
        ["POSTTEST_MISSING"],
        ["COMPLETED_IN_FUTURE"],
        ["COMPLETED_BEFORE_START"],
        ["EVIDENCE_URL_INVALID"],
    ]
    stored = await scalar(
        database,
        "SELECT evidence_url FROM completions c JOIN purchases p ON p.id = c.purchase_id "
        "WHERE p.redeem_code = :code",
        code=codes[0],
    )
    assert stored == "https://lp.example/evidence/1"


async def test_another_providers_code_and_a_voided_purchase_are_refused(
    tokens: Tokens, database: Database
) -> None:
    sale, (code,) = await trained(tokens, database)
    other = await scalar(
        database,
        "SELECT code FROM partners WHERE type = 'TRAINING_PROVIDER' AND code <> :me "
        "AND status = 'ACTIVE' ORDER BY code LIMIT 1",
        me=sale.provider_code,
    )
    (result,) = await submit(tokens, other, [item(code)])
    assert _codes(result) == ["NOT_YOUR_COURSE"]

    voided_sale = await open_sale(database)
    purchase = await buy(tokens, database, voided_sale)
    body = await tokens.graphql(
        "DP-001",
        VOID,
        {
            "input": {
                "invoiceCode": purchase["invoiceCode"],
                "transactionCode": purchase["transactionCode"],
            }
        },
    )
    assert "errors" not in body, body
    (voided,) = await submit(tokens, voided_sale.provider_code, [item(purchase["redeemCode"])])
    assert _codes(voided) == ["PURCHASE_VOIDED"]


async def test_more_than_500_items_or_none_are_refused_whole(
    tokens: Tokens, database: Database
) -> None:
    sale, _ = await trained(tokens, database)
    for items in ([], [item(f"CODE-{n}") for n in range(501)]):
        body = await tokens.graphql(sale.provider_code, SUBMIT, {"input": {"items": items}})
        assert body["errors"][0]["extensions"]["code"] == "TOO_MANY_ITEMS"


async def test_a_retry_under_the_same_idempotency_key_replays_the_first_answer(
    tokens: Tokens, database: Database, client: httpx.AsyncClient
) -> None:
    sale, (code,) = await trained(tokens, database)
    headers = {**await tokens.headers(sale.provider_code), "Idempotency-Key": "completions-1"}
    payload = {"query": SUBMIT, "variables": {"input": {"items": [item(code)]}}}
    first = await client.post("/graphql", json=payload, headers=headers)
    second = await client.post("/graphql", json=payload, headers=headers)
    assert second.headers.get("idempotent-replayed") == "true"
    assert second.json() == first.json()
    number = first.json()["data"]["submitCompletions"]["results"][0]["certificate"]["number"]
    assert number
    count = await scalar(
        database,
        "SELECT count(*) FROM completions c JOIN purchases p ON p.id = c.purchase_id "
        "WHERE p.redeem_code = :code",
        code=code,
    )
    assert count == 1


async def test_the_first_certificate_creates_the_schemes_installments_and_later_ones_none(
    tokens: Tokens, database: Database
) -> None:
    sale, (code,) = await trained(tokens, database)
    (result,) = await submit(tokens, sale.provider_code, [item(code)])
    participant = await scalar(
        database,
        "SELECT participant_id FROM certificates WHERE number = :n",
        n=result["certificate"]["number"],
    )
    scheme = await scalar(
        database,
        "SELECT s.code FROM participants p JOIN waves w ON w.id = p.wave_id "
        "JOIN schemes s ON s.id = w.scheme_id WHERE p.id = :p",
        p=participant,
    )
    rows = await scalar(
        database,
        "SELECT json_agg(json_build_object('kind', kind, 'amount', amount, 'status', status,"
        " 'due', due_at IS NOT NULL) ORDER BY kind, sequence) FROM incentive_installments"
        " WHERE participant_id = :p",
        p=participant,
    )
    training = [row for row in rows if row["kind"] == "TRAINING"]
    survey = [row for row in rows if row["kind"] == "SURVEY"]
    expected = {"2020": (4, 3), "2023": (1, 2)}[scheme]
    assert (len(training), len(survey)) == expected
    assert all(
        row["amount"] == 600_000 and row["status"] == "DUE" and row["due"] for row in training
    )
    assert all(row["amount"] == 50_000 for row in survey)

    # A second training of the same participant: a certificate, and no new installment.
    second_sale = await open_sale(database)
    card = await scalar(
        database, "SELECT card_number FROM participants WHERE id = :p", p=participant
    )
    await _commit(database, participant)
    purchase = await buy(tokens, database, second_sale, card)
    await attend(tokens, second_sale.provider_code, purchase["redeemCode"], 1)
    await attend(tokens, second_sale.provider_code, purchase["redeemCode"], 999, 70)
    (later,) = await submit(tokens, second_sale.provider_code, [item(purchase["redeemCode"])])
    assert later["certificate"] is not None
    count = await scalar(
        database,
        "SELECT count(*) FROM incentive_installments WHERE participant_id = :p",
        p=participant,
    )
    assert count == len(rows)


async def _commit(database: Database, participant: int) -> None:
    from sqlalchemy import text

    async with database.sessionmaker() as session:
        await session.execute(
            text("UPDATE participants SET training_balance = 3500000 WHERE id = :p"),
            {"p": participant},
        )
        await session.commit()


ALL_FIELDS = """
  id number status statusReason issuedAt revokedAt suspendedAt completedAt score evidenceUrl
  courseCode courseTitle courseHours learningMethod providerCode providerName platformCode
  redeemCode invoiceCode url credential
"""


async def test_the_submitted_certificates_are_the_ones_the_api_reads_back_and_verify(
    tokens: Tokens, database: Database, client: httpx.AsyncClient
) -> None:
    """submitCompletions answers from what it wrote, without reading it back, and signs the
    items of one course from one template: every field must be what a later read of the
    certificate answers, and every credential must verify."""
    sale, codes = await trained(tokens, database, count=2)
    completed = datetime.now(UTC).astimezone(timezone(timedelta(hours=7)))
    items = [
        item(code, completedAt=completed.isoformat(), evidenceUrl=f"https://lp.example/e/{code}")
        for code in codes
    ]
    submitted = await tokens.graphql(
        sale.provider_code,
        "mutation S($input: SubmitCompletionsInput!) { submitCompletions(input: $input) {"
        f" results {{ certificate {{ {ALL_FIELDS} }} }} }} }}",
        {"input": {"items": items}},
    )
    results = submitted["data"]["submitCompletions"]["results"]
    assert len(results) == 2
    for result in results:
        certificate = result["certificate"]
        read = await tokens.graphql(
            sale.provider_code,
            f"query C($number: String!) {{ certificate(number: $number) {{ {ALL_FIELDS} }} }}",
            {"number": certificate["number"]},
        )
        assert read["data"]["certificate"] == certificate
        assert datetime.fromisoformat(certificate["completedAt"]) == completed
        verified = await client.post(
            "/certificates/verify", json={"credential": certificate["credential"]}
        )
        assert verified.json()["valid"] is True, verified.json()
