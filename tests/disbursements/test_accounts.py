"""Payment accounts: a payment partner registers a participant's account at itself, the
gateway verifies it by the inquiry's holder name, only verified accounts are paid, the
number is masked in every answer but the item its partner must pay, and no other payment
partner sees or changes it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from core.db.database import Database
from core.enums import (
    Education,
    IncentiveKind,
    InstallmentStatus,
    ParticipantStatus,
    RegistrationChannel,
)
from tests.support.disbursements import (
    ITEMS,
    OTHER_PARTNER,
    PARTNER,
    PMO,
    codes,
    create_batches,
    data,
    scalar,
)
from tests.support.gateway import Tokens

REGISTER = """
mutation Register($input: RegisterPaymentAccountInput!) {
  registerPaymentAccount(input: $input) {
    account { id cardNumber paymentPartnerCode kind maskedAccountNumber holderName
              nameMatched verified verifiedAt isPrimary }
  }
}
"""
ACCOUNTS = """
query Accounts($card: String!) {
  paymentAccounts(cardNumber: $card) {
    id paymentPartnerCode maskedAccountNumber verified isPrimary
  }
}
"""
NAME = "SITI NURHALIZA"


async def participant_with_a_due_installment(database: Database) -> tuple[str, int]:
    """A participant without any account, owed one training incentive: (card, installment)."""
    async with database.sessionmaker() as session:
        card, installment = (
            await session.execute(
                text(
                    """
                WITH p AS (
                    INSERT INTO participants (id, card_number, nik_hash, nik_masked,
                        full_name, birth_date, education, regency_id, training_balance,
                        status, registration_channel)
                    SELECT n, prakerja_card_number(n),
                        sha256(convert_to(prakerja_card_number(n), 'UTF8')),
                        '317101********01', 'Siti  Nurhaliza', date '1996-02-03', :education,
                        (SELECT min(id) FROM regencies), 0, :registered, :online
                      FROM (SELECT nextval(pg_get_serial_sequence('participants', 'id')) AS n)
                           AS issued
                    RETURNING id, card_number)
                INSERT INTO incentive_installments (participant_id, kind, sequence, amount,
                                                    due_at, status)
                SELECT id, :training, 1, 600000, now() - interval '1 day', :due FROM p
                RETURNING (SELECT card_number FROM p), id
                """
                ),
                {
                    "education": Education.SMA,
                    "registered": ParticipantStatus.REGISTERED,
                    "online": RegistrationChannel.ONLINE,
                    "training": IncentiveKind.TRAINING,
                    "due": InstallmentStatus.DUE,
                },
            )
        ).one()
        await session.commit()
    return str(card), int(installment)


def account_input(card: str, number: str, holder: str, kind: str = "BANK") -> dict[str, Any]:
    return {"input": {"cardNumber": card, "kind": kind, "accountNumber": number,
                      "holderName": holder}}  # fmt: skip


async def register(tokens: Tokens, partner: str, variables: dict[str, Any]) -> dict[str, Any]:
    account: dict[str, Any] = data(await tokens.graphql(partner, REGISTER, variables))[
        "registerPaymentAccount"
    ]["account"]
    return account


async def item_of(database: Database, installment: int) -> Any:
    return await scalar(
        database,
        "SELECT b.code FROM disbursement_items d JOIN disbursement_batches b"
        " ON b.id = d.batch_id WHERE d.installment_id = :installment",
        installment=installment,
    )


async def test_only_a_verified_account_is_paid_and_its_number_shows_only_to_its_payer(
    tokens: Tokens, database: Database
) -> None:
    card, installment = await participant_with_a_due_installment(database)

    # The inquiry's name is someone else's: registered, not verified, never paid.
    refused = await register(tokens, PARTNER, account_input(card, "0123456789012", "BUDI SANTOSO"))
    assert (refused["verified"], refused["nameMatched"], refused["isPrimary"]) == (
        False,
        False,
        False,
    )
    assert refused["maskedAccountNumber"] == "*********9012"
    await create_batches(tokens)
    assert await item_of(database, installment) is None

    # The same account, the inquiry now returning the participant's name with a title.
    verified = await register(
        tokens, PARTNER, account_input(card, "0123456789012", "Ibu Siti Nurhaliza")
    )
    assert verified["id"] == refused["id"]  # the same account, not a second one
    assert (verified["verified"], verified["nameMatched"], verified["isPrimary"]) == (
        True,
        True,
        True,
    )
    assert verified["verifiedAt"] is not None
    assert verified["cardNumber"] == card and verified["paymentPartnerCode"] == PARTNER

    made = await create_batches(tokens)
    code = await item_of(database, installment)
    assert code in {batch["code"] for batch in made}
    items = data(await tokens.graphql(PARTNER, ITEMS, {"code": code, "first": 1000}))
    mine = [
        edge["node"]
        for edge in items["disbursementBatch"]["items"]["edges"]
        if edge["node"]["beneficiaryName"] == "Ibu Siti Nurhaliza"
    ]
    assert [(item["accountNumber"], item["accountNumberMasked"]) for item in mine] == [
        ("0123456789012", False)
    ]
    # Everywhere else, masked: the account list, and the programme's view of the item.
    listed = await tokens.graphql(PARTNER, ACCOUNTS, {"card": card})
    assert "0123456789012" not in str(listed)
    seen_by_pmo = await tokens.graphql(PMO, ITEMS, {"code": code, "first": 1000})
    assert "0123456789012" not in str(seen_by_pmo)

    actions = await scalar(
        database,
        "SELECT string_agg(action, ',' ORDER BY id) FROM audit_log"
        " WHERE entity_type = 'payment_account' AND entity_id = :id",
        id=str(
            await scalar(
                database, "SELECT id FROM payment_accounts WHERE account_number = '0123456789012'"
            )
        ),
    )
    assert actions.split(",") == [
        "payment_account.name_mismatch",
        "payment_account.registered",
        "payment_account.verified",
        "payment_account.registered",
    ]


async def test_another_payment_partner_neither_sees_nor_changes_the_account(
    tokens: Tokens, database: Database
) -> None:
    card, _ = await participant_with_a_due_installment(database)
    ours = await register(tokens, PARTNER, account_input(card, "5550001111", NAME))
    assert ours["isPrimary"]

    assert data(await tokens.graphql(OTHER_PARTNER, ACCOUNTS, {"card": card})) == {
        "paymentAccounts": []
    }
    # The other partner registering the very same number makes an account of its own,
    # unverified by a wrong name; ours keeps its verification and stays the one paid.
    theirs = await register(tokens, OTHER_PARTNER, account_input(card, "5550001111", "X"))
    assert theirs["id"] != ours["id"] and not theirs["verified"]
    # Even verified, theirs does not displace the primary account at another partner.
    theirs = await register(
        tokens, OTHER_PARTNER, account_input(card, "5550001111", NAME, kind="EWALLET")
    )
    assert theirs["verified"] and not theirs["isPrimary"]

    assert data(await tokens.graphql(PARTNER, ACCOUNTS, {"card": card}))["paymentAccounts"] == [
        {
            "id": ours["id"],
            "paymentPartnerCode": PARTNER,
            "maskedAccountNumber": "******1111",
            "verified": True,
            "isPrimary": True,
        }
    ]
    everyone = data(await tokens.graphql(PMO, ACCOUNTS, {"card": card}))["paymentAccounts"]
    assert [account["paymentPartnerCode"] for account in everyone] == [
        PARTNER,
        OTHER_PARTNER,
        OTHER_PARTNER,
    ]
    # Another partner type may not register one at all.
    body = await tokens.graphql("DP-001", REGISTER, account_input(card, "5550001111", NAME))
    assert codes(body) == ["FORBIDDEN"]


async def test_registration_refuses_bad_input_and_replays_under_its_idempotency_key(
    tokens: Tokens, database: Database
) -> None:
    card, _ = await participant_with_a_due_installment(database)
    unknown = await tokens.graphql(PARTNER, REGISTER, account_input("1" * 16, "5550001111", NAME))
    assert codes(unknown) == ["PARTICIPANT_NOT_FOUND"]
    for number in ("12ab", "123", "1" * 35):
        body = await tokens.graphql(PARTNER, REGISTER, account_input(card, number, NAME))
        assert codes(body) == ["BAD_USER_INPUT"], number
    assert codes(await tokens.graphql(PARTNER, REGISTER, account_input(card, "5550001111", " ")))
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM payment_accounts a JOIN participants p ON p.id = a.participant_id"
            " WHERE p.card_number = :card",
            card=card,
        )
        == 0
    )

    headers = {**await tokens.headers(PARTNER), "Idempotency-Key": f"account-{card}"}
    body = {"query": REGISTER, "variables": account_input(card, "5550001111", NAME)}
    first = (await tokens.http.post("/graphql", json=body, headers=headers)).json()
    again = (await tokens.http.post("/graphql", json=body, headers=headers)).json()
    assert again == first and data(first)["registerPaymentAccount"]["account"]["verified"]
    assert (
        await scalar(
            database,
            "SELECT count(*) FROM audit_log WHERE action = 'payment_account.registered'"
            " AND entity_id = :id",
            id=str(await scalar(database, "SELECT max(id) FROM payment_accounts")),
        )
        == 1
    )
