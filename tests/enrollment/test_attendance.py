"""Redemption and attendance by the course's provider: in order, once each, its own only."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from core.db.database import Database
from tests.support.enrollment import (
    ATTEND,
    ENROLLMENTS,
    PLATFORM,
    VOID,
    Sale,
    buy,
    codes,
    open_sale,
    scalar,
)
from tests.support.gateway import Tokens


async def _attend(
    tokens: Tokens, provider: str, redeem_code: str, sequence: int, score: int | None = None
) -> dict[str, Any]:
    attendance: dict[str, Any] = {"redeemCode": redeem_code, "sequence": sequence}
    if score is not None:
        attendance["score"] = score
    return await tokens.graphql(provider, ATTEND, {"input": attendance})


async def _bought(tokens: Tokens, database: Database, **kwargs: Any) -> tuple[Sale, dict[str, Any]]:
    sale = await open_sale(database, **kwargs)
    return sale, await buy(tokens, database, sale)


async def test_redeem_attend_and_post_test_in_order(tokens: Tokens, database: Database) -> None:
    sale, bought = await _bought(tokens, database)
    code = bought["redeemCode"]
    redeemed = await _attend(tokens, sale.provider_code, code, 1)
    assert redeemed["data"]["recordAttendance"]["purchase"]["redeemedAt"] is not None
    for sequence in (2, 3):
        assert "errors" not in await _attend(tokens, sale.provider_code, code, sequence)
    post = await _attend(tokens, sale.provider_code, code, 999, score=87)
    assert post["data"]["recordAttendance"]["purchase"]["attendances"] == [
        {"sequence": 1, "score": None},
        {"sequence": 2, "score": None},
        {"sequence": 3, "score": None},
        {"sequence": 999, "score": 87},
    ]
    audited = await scalar(
        database,
        "SELECT count(*) FROM audit_log WHERE action IN ('purchase.redeemed',"
        " 'attendance.recorded') AND entity_id = (SELECT id::text FROM purchases"
        " WHERE redeem_code = :c)",
        c=code,
    )
    assert audited == 4


async def test_each_sequence_once_and_in_order(tokens: Tokens, database: Database) -> None:
    sale, bought = await _bought(tokens, database)
    code = bought["redeemCode"]
    provider = sale.provider_code
    assert codes(await _attend(tokens, provider, code, 2)) == ["SEQUENCE_OUT_OF_ORDER"]
    assert codes(await _attend(tokens, provider, code, 999, score=90)) == ["SEQUENCE_OUT_OF_ORDER"]
    assert "errors" not in await _attend(tokens, provider, code, 1)
    assert codes(await _attend(tokens, provider, code, 1)) == ["ALREADY_REDEEMED"]
    assert codes(await _attend(tokens, provider, code, 3)) == ["SEQUENCE_OUT_OF_ORDER"]
    assert "errors" not in await _attend(tokens, provider, code, 2)
    assert codes(await _attend(tokens, provider, code, 2)) == ["ATTENDANCE_ALREADY_RECORDED"]
    assert codes(await _attend(tokens, provider, code, 11)) == ["INVALID_SEQUENCE"]
    assert codes(await _attend(tokens, provider, code, 999)) == ["INVALID_SCORE"]
    assert codes(await _attend(tokens, provider, code, 999, score=101)) == ["INVALID_SCORE"]
    assert codes(await _attend(tokens, provider, code, 4, score=50)) == ["INVALID_SCORE"]
    rows = await scalar(
        database,
        "SELECT count(*) FROM attendances a JOIN purchases p ON p.id = a.purchase_id"
        " WHERE p.redeem_code = :c",
        c=code,
    )
    assert rows == 2


async def test_redemption_only_while_the_schedule_runs(tokens: Tokens, database: Database) -> None:
    sale, bought = await _bought(tokens, database)
    async with database.sessionmaker() as session:
        await session.execute(
            text(
                "UPDATE schedules SET starts_at = now() + interval '1 day',"
                " ends_at = now() + interval '9 days' WHERE id = :id"
            ),
            {"id": sale.schedule_id},
        )
        await session.commit()
    body = await _attend(tokens, sale.provider_code, bought["redeemCode"], 1)
    assert codes(body) == ["OUTSIDE_SCHEDULE_WINDOW"]


async def test_another_providers_code_is_not_found(tokens: Tokens, database: Database) -> None:
    sale, bought = await _bought(tokens, database)
    stranger = "LP-0002" if sale.provider_code != "LP-0002" else "LP-0003"
    body = await _attend(tokens, stranger, bought["redeemCode"], 1)
    assert codes(body) == ["REDEEM_CODE_NOT_FOUND"]
    # A platform holds no attendance:write at all.
    body = await tokens.graphql(
        PLATFORM, ATTEND, {"input": {"redeemCode": bought["redeemCode"], "sequence": 1}}
    )
    assert codes(body) == ["FORBIDDEN"]


async def test_a_voided_purchase_cannot_be_redeemed_nor_a_redeemed_one_voided(
    tokens: Tokens, database: Database
) -> None:
    sale = await open_sale(database, recipients=2)
    first = await buy(tokens, database, sale, card=sale.cards[0])
    second = await buy(tokens, database, sale, card=sale.cards[1])
    void_first = {"invoiceCode": first["invoiceCode"], "transactionCode": first["transactionCode"]}
    assert "errors" not in await tokens.graphql(PLATFORM, VOID, {"input": void_first})
    body = await _attend(tokens, sale.provider_code, first["redeemCode"], 1)
    assert codes(body) == ["REDEEM_CODE_NOT_FOUND"]

    assert "errors" not in await _attend(tokens, sale.provider_code, second["redeemCode"], 1)
    void_second = {
        "invoiceCode": second["invoiceCode"],
        "transactionCode": second["transactionCode"],
    }
    assert codes(await tokens.graphql(PLATFORM, VOID, {"input": void_second})) == [
        "ALREADY_REDEEMED"
    ]


async def test_enrollments_show_a_provider_its_students_and_a_platform_its_sales(
    tokens: Tokens, database: Database
) -> None:
    sale, bought = await _bought(tokens, database)
    provider = await tokens.graphql(
        sale.provider_code, ENROLLMENTS, {"first": 100, "course": sale.course_code}
    )
    invoices = [edge["node"]["invoiceCode"] for edge in provider["data"]["enrollments"]["edges"]]
    assert bought["invoiceCode"] in invoices
    assert all(
        edge["node"]["course"]["code"] == sale.course_code
        for edge in provider["data"]["enrollments"]["edges"]
    )

    # Walk every page of the platform's sales: only its own, no duplicates.
    seen: list[str] = []
    after = None
    while True:
        page = await tokens.graphql(PLATFORM, ENROLLMENTS, {"first": 100, "after": after})
        connection = page["data"]["enrollments"]
        seen += [edge["node"]["invoiceCode"] for edge in connection["edges"]]
        if not connection["pageInfo"]["hasNextPage"]:
            break
        after = connection["pageInfo"]["endCursor"]
    own = await scalar(
        database,
        "SELECT count(*) FROM purchases WHERE status IN ('SUCCESS', 'VOIDED')"
        " AND platform_id = (SELECT id FROM partners WHERE code = :p)",
        p=PLATFORM,
    )
    assert len(seen) == len(set(seen)) == own
    assert bought["invoiceCode"] in seen

    other = await tokens.graphql("DP-002", ENROLLMENTS, {"first": 100, "course": sale.course_code})
    assert bought["invoiceCode"] not in [
        edge["node"]["invoiceCode"] for edge in other["data"]["enrollments"]["edges"]
    ]
    # A provider with no stake in the course sees none of its students.
    stranger = "LP-0002" if sale.provider_code != "LP-0002" else "LP-0003"
    none = await tokens.graphql(stranger, ENROLLMENTS, {"first": 100, "course": sale.course_code})
    assert none["data"]["enrollments"]["edges"] == []


def _message(answer: dict[str, Any]) -> str:
    return str(answer["errors"][0]["message"])


async def test_refusals_say_what_is_missing(tokens: Tokens, database: Database) -> None:
    sale, bought = await _bought(tokens, database)
    code = bought["redeemCode"]
    provider = sale.provider_code
    # Sequence 3 before the redemption: the redemption is what is missing, not sequence 2.
    early = _message(await _attend(tokens, provider, code, 3))
    assert "redemption (sequence 1) is missing" in early
    assert "errors" not in await _attend(tokens, provider, code, 1)
    assert "sequence 2 must be recorded first" in _message(await _attend(tokens, provider, code, 3))
    assert "score is missing" in _message(await _attend(tokens, provider, code, 999))
    assert "unexpected score for sequence 2" in _message(
        await _attend(tokens, provider, code, 2, score=50)
    )
