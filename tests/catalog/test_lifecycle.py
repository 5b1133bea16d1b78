"""A course's way through review, who may touch it, and the audit trail it leaves."""

from __future__ import annotations

from sqlalchemy import select

from core.db.database import Database
from core.models import AuditRecord
from tests.support.catalog import (
    APPROVE,
    COURSE,
    CREATE_COURSE,
    NEW_COURSE,
    OTHER_PROVIDER,
    PLATFORM,
    PMO,
    PROVIDER,
    REJECT,
    SET_LISTINGS,
    SUBMIT,
    UPDATE_COURSE,
    WITHDRAW,
    all_pages,
    codes,
    create_course,
    data,
)
from tests.support.gateway import Tokens


async def _visible_to_platform(tokens: Tokens, code: str) -> bool:
    body = await tokens.graphql(PLATFORM, COURSE, {"code": code})
    return "errors" not in body


async def test_a_new_course_reaches_platforms_only_after_approval(tokens: Tokens) -> None:
    body = await tokens.graphql(PROVIDER, CREATE_COURSE, {"input": NEW_COURSE})
    course = data(body)["createCourse"]["course"]
    assert course["status"] == "DRAFT" and course["provider"]["code"] == PROVIDER
    code = course["code"]
    search = {"filter": {"search": "sepeda listrik"}}
    assert not await _visible_to_platform(tokens, code)

    submitted = data(await tokens.graphql(PROVIDER, SUBMIT, {"code": code}))
    assert submitted["submitCourse"]["course"]["status"] == "IN_REVIEW"
    assert not await _visible_to_platform(tokens, code)
    assert code not in {node["code"] for node in await all_pages(tokens, PLATFORM, search)}
    # Programme management sees what it reviews.
    review = {"filter": {"statuses": ["IN_REVIEW"]}}
    assert code in {node["code"] for node in await all_pages(tokens, PMO, review)}

    approved = data(await tokens.graphql(PMO, APPROVE, {"code": code}))
    assert approved["approveCourse"]["course"]["status"] == "APPROVED"
    assert await _visible_to_platform(tokens, code)
    assert code in {node["code"] for node in await all_pages(tokens, PLATFORM, search)}


async def test_editing_an_approved_course_sends_it_back_to_review(tokens: Tokens) -> None:
    code = await create_course(tokens)
    data(await tokens.graphql(PROVIDER, SUBMIT, {"code": code}))
    data(await tokens.graphql(PMO, APPROVE, {"code": code}))

    body = await tokens.graphql(
        PROVIDER, UPDATE_COURSE, {"code": code, "input": {"price": "500000"}}
    )
    course = data(body)["updateCourse"]["course"]
    assert course["status"] == "IN_REVIEW" and course["price"] == "500000"
    assert not await _visible_to_platform(tokens, code)
    # While in review it is frozen.
    body = await tokens.graphql(PROVIDER, UPDATE_COURSE, {"code": code, "input": {"hours": 3}})
    assert codes(body) == ["COURSE_NOT_EDITABLE"]
    # An edit that changes nothing changes no status either.
    data(await tokens.graphql(PMO, APPROVE, {"code": code}))
    body = await tokens.graphql(
        PROVIDER, UPDATE_COURSE, {"code": code, "input": {"price": "500000"}}
    )
    assert data(body)["updateCourse"]["course"]["status"] == "APPROVED"


async def test_an_approved_seed_course_edited_leaves_the_catalog(tokens: Tokens) -> None:
    assert await _visible_to_platform(tokens, "CRS-000001")
    body = await tokens.graphql(
        PROVIDER, UPDATE_COURSE, {"code": "CRS-000001", "input": {"title": "Python untuk Pemula"}}
    )
    assert data(body)["updateCourse"]["course"]["status"] == "IN_REVIEW"
    assert not await _visible_to_platform(tokens, "CRS-000001")


async def test_reject_withdraw_and_resubmit(tokens: Tokens) -> None:
    code = await create_course(tokens)
    assert codes(await tokens.graphql(PMO, APPROVE, {"code": code})) == [
        "INVALID_STATUS_TRANSITION"
    ]
    data(await tokens.graphql(PROVIDER, SUBMIT, {"code": code}))
    assert codes(await tokens.graphql(PMO, REJECT, {"code": code, "reason": "  "})) == [
        "BAD_USER_INPUT"
    ]
    rejected = data(
        await tokens.graphql(PMO, REJECT, {"code": code, "reason": "Silabus belum lengkap"})
    )["rejectCourse"]["course"]
    assert rejected == {"code": code, "status": "REJECTED", "reviewReason": "Silabus belum lengkap"}
    own = data(await tokens.graphql(PROVIDER, COURSE, {"code": code}))["course"]
    assert own["reviewReason"] == "Silabus belum lengkap"

    data(await tokens.graphql(PROVIDER, UPDATE_COURSE, {"code": code, "input": {"hours": 20}}))
    assert (
        data(await tokens.graphql(PROVIDER, SUBMIT, {"code": code}))["submitCourse"]["course"][
            "status"
        ]
        == "IN_REVIEW"
    )
    withdrawn = data(await tokens.graphql(PROVIDER, WITHDRAW, {"code": code}))
    assert withdrawn["withdrawCourse"]["course"]["status"] == "WITHDRAWN"
    assert codes(await tokens.graphql(PROVIDER, WITHDRAW, {"code": code})) == [
        "INVALID_STATUS_TRANSITION"
    ]


async def test_a_provider_never_touches_another_providers_course(tokens: Tokens) -> None:
    code = await create_course(tokens)
    for document, variables in (
        (UPDATE_COURSE, {"code": code, "input": {"hours": 2}}),
        (SUBMIT, {"code": code}),
        (WITHDRAW, {"code": code}),
        (UPDATE_COURSE, {"code": "CRS-000001", "input": {"hours": 2}}),
    ):
        body = await tokens.graphql(OTHER_PROVIDER, document, variables)
        assert codes(body) == ["NOT_FOUND"], body
    # Not even a hint that it exists: the same answer as for a code nobody has.
    missing = await tokens.graphql(OTHER_PROVIDER, SUBMIT, {"code": "CRS-999999"})
    assert codes(missing) == ["NOT_FOUND"]
    own = data(await tokens.graphql(PROVIDER, COURSE, {"code": code}))["course"]
    assert own["status"] == "DRAFT"


async def test_programme_management_decides_the_listings(tokens: Tokens) -> None:
    code = await create_course(tokens)
    body = await tokens.graphql(
        PMO, SET_LISTINGS, {"code": code, "platforms": ["DP-001", "DP-003"]}
    )
    listed = data(body)["setCourseListings"]["course"]["listedOn"]
    assert [platform["code"] for platform in listed] == ["DP-001", "DP-003"]
    body = await tokens.graphql(PMO, SET_LISTINGS, {"code": code, "platforms": ["DP-003"]})
    assert [p["code"] for p in data(body)["setCourseListings"]["course"]["listedOn"]] == ["DP-003"]
    for unknown in (["DP-999"], ["LP-0001"]):
        body = await tokens.graphql(PMO, SET_LISTINGS, {"code": code, "platforms": unknown})
        assert codes(body) == ["NOT_FOUND"]
    body = await tokens.graphql(PROVIDER, SET_LISTINGS, {"code": code, "platforms": []})
    assert codes(body) == ["FORBIDDEN"]


async def test_every_change_leaves_an_audit_record(tokens: Tokens, database: Database) -> None:
    code = await create_course(tokens)
    data(await tokens.graphql(PROVIDER, SUBMIT, {"code": code}))
    data(await tokens.graphql(PMO, REJECT, {"code": code, "reason": "Harga terlalu tinggi"}))
    async with database.sessionmaker() as session:
        records = (
            await session.scalars(
                select(AuditRecord)
                .where(AuditRecord.entity_type == "course", AuditRecord.entity_id == code)
                .order_by(AuditRecord.id)
            )
        ).all()
    assert [record.action for record in records] == [
        "catalog.course.created",
        "catalog.course.submitted",
        "catalog.course.rejected",
    ]
    assert records[2].detail == {"reason": "Harga terlalu tinggi"}
    assert records[0].actor_client_id and records[0].actor_client_id.startswith("lp-0001")
