"""Catalog writes: providers manage their own courses and schedules; programme management
reviews courses and decides which platforms list them.

The course lifecycle::

    create -> DRAFT --submit--> IN_REVIEW --approve--> APPROVED
                ^                  |  \\--reject--> REJECTED --edit/submit--> ...
                |                  +--withdraw--> WITHDRAWN --submit--> IN_REVIEW
    an edit of an APPROVED course sends it back to IN_REVIEW (out of the public catalog);
    a course IN_REVIEW is frozen until it is decided or withdrawn.

Schedules are operational data (dates and seats), not reviewed content: adding or changing
one does not send an approved course back to review. A schedule's quota never drops below
the seats already taken.

Every write locks the row it changes (``FOR UPDATE``), checks, changes, and leaves an audit
record in the same transaction. A provider's lookup is always restricted to its own
courses, so another provider's course is NOT_FOUND, exactly like one that does not exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from core.audit import Actor, record_audit
from core.enums import CourseStatus, Education, EventType, LearningMethod, PartnerType
from core.errors import BadInput, ErrorCode, GatewayError, NotFound
from core.models import Course, CourseListing, Partner, Regency, Schedule
from resolvers import catalog
from resolvers.catalog import CourseRecord, ScheduleRecord, check_date_range
from resolvers.events import record_event
from resolvers.tenancy import course_event_audience, manages_courses, own_courses

MAX_COURSE_PRICE: Final = 100_000_000
MAX_QUOTA: Final = 100_000
MAX_SCHEDULE_LENGTH: Final = timedelta(days=366)
MAX_LISTINGS: Final = 20
MAX_REASON_LENGTH: Final = 1000
AGE_RANGE: Final = range(15, 101)

# Statuses in which a provider may edit a course, and where an edit sends it.
_EDIT_SENDS_TO: Final = {
    CourseStatus.DRAFT: CourseStatus.DRAFT,
    CourseStatus.REJECTED: CourseStatus.REJECTED,
    CourseStatus.WITHDRAWN: CourseStatus.WITHDRAWN,
    CourseStatus.APPROVED: CourseStatus.IN_REVIEW,
}
_SUBMITTABLE: Final = frozenset({CourseStatus.DRAFT, CourseStatus.REJECTED, CourseStatus.WITHDRAWN})
_WITHDRAWABLE: Final = frozenset({CourseStatus.IN_REVIEW, CourseStatus.APPROVED})

EDITABLE_FIELDS: Final = (
    "title",
    "description",
    "category",
    "learning_method",
    "price",
    "hours",
    "min_age",
    "max_age",
    "min_education",
    "regency_id",
)


@dataclass(frozen=True)
class CourseValues:
    """Everything a provider sets on a course; ``regency_code`` only for OFFLINE ones."""

    title: str
    description: str
    category: str
    learning_method: LearningMethod
    price: int
    hours: int
    min_age: int | None = None
    max_age: int | None = None
    min_education: Education | None = None
    regency_code: str | None = None


def _check_text(value: str, name: str, low: int, high: int) -> str:
    stripped = value.strip()
    if not low <= len(stripped) <= high:
        raise BadInput(f"{name} must be {low} to {high} characters", field=name)
    return stripped


def _checked_columns(values: CourseValues, regency_id: int | None) -> dict[str, Any]:
    """The course's column values once every field is within its rule."""
    if not 1 <= values.price <= MAX_COURSE_PRICE:
        raise BadInput(f"price must be 1 to {MAX_COURSE_PRICE} Rupiah", field="price")
    if not 1 <= values.hours <= 1000:
        raise BadInput("hours must be 1 to 1000", field="hours")
    for name in ("min_age", "max_age"):
        age = getattr(values, name)
        if age is not None and age not in AGE_RANGE:
            raise BadInput(f"{name} must be {AGE_RANGE.start} to {AGE_RANGE.stop - 1}", field=name)
    if (
        values.min_age is not None
        and values.max_age is not None
        and values.min_age > values.max_age
    ):
        raise BadInput("min_age is above max_age", field="min_age")
    offline = values.learning_method is LearningMethod.OFFLINE
    if offline != (regency_id is not None):
        raise BadInput(
            "an OFFLINE course needs regencyCode, and only an OFFLINE one has it",
            field="regencyCode",
        )
    return {
        "title": _check_text(values.title, "title", 3, 200),
        "description": _check_text(values.description, "description", 10, 10_000),
        "category": _check_text(values.category, "category", 1, 80),
        "learning_method": values.learning_method,
        "price": values.price,
        "hours": values.hours,
        "min_age": values.min_age,
        "max_age": values.max_age,
        "min_education": values.min_education,
        "regency_id": regency_id,
    }


async def _regency_id(session: AsyncSession, code: str | None) -> int | None:
    if code is None:
        return None
    found: int | None = await session.scalar(select(Regency.id).where(Regency.code == code))
    if found is None:
        raise NotFound("regency", code)
    return found


def _audited_course(course: Course) -> dict[str, Any]:
    """What the audit log keeps of a course: its reviewed content and status."""
    shown: dict[str, Any] = {name: getattr(course, name) for name in EDITABLE_FIELDS}
    shown["status"] = course.status
    return {key: value.value if hasattr(value, "value") else value for key, value in shown.items()}


def _require_provider(actor: Actor) -> None:
    if not manages_courses(actor.principal):
        raise GatewayError(ErrorCode.FORBIDDEN, "only a training provider manages courses")


async def _own_course(session: AsyncSession, actor: Actor, code: str) -> Course:
    """The caller's own course, locked; another provider's is NOT_FOUND like a missing one."""
    _require_provider(actor)
    course: Course | None = await session.scalar(
        select(Course)
        .where(Course.code == code)
        .where(own_courses(actor.principal))
        .with_for_update()
    )
    if course is None:
        raise NotFound("course", code)
    return course


async def _any_course(session: AsyncSession, code: str) -> Course:
    course: Course | None = await session.scalar(
        select(Course).where(Course.code == code).with_for_update()
    )
    if course is None:
        raise NotFound("course", code)
    return course


async def _reread(session: AsyncSession, actor: Actor, course: Course) -> CourseRecord:
    await session.flush()
    record = await catalog.course_by_code(session, actor.principal, course.code)
    assert record is not None  # the caller owns or administers it
    return record


async def create_course(session: AsyncSession, actor: Actor, values: CourseValues) -> CourseRecord:
    _require_provider(actor)
    columns = _checked_columns(values, await _regency_id(session, values.regency_code))
    course_id: int = (
        await session.execute(select(func.nextval(func.pg_get_serial_sequence("courses", "id"))))
    ).scalar_one()
    course = Course(
        id=course_id,
        code=f"CRS-{course_id:06d}",
        provider_id=actor.partner_id,
        status=CourseStatus.DRAFT,
        **columns,
    )
    session.add(course)
    await record_audit(
        session,
        action="catalog.course.created",
        actor=actor,
        entity_type="course",
        entity_id=course.code,
        after=_audited_course(course),
    )
    return await _reread(session, actor, course)


async def update_course(
    session: AsyncSession, actor: Actor, code: str, changes: dict[str, Any]
) -> CourseRecord:
    """Applies ``changes`` (CourseValues field names; absent means unchanged)."""
    course = await _own_course(session, actor, code)
    if course.status not in _EDIT_SENDS_TO:
        raise GatewayError(
            ErrorCode.COURSE_NOT_EDITABLE,
            f"a course {course.status.value} cannot be edited; withdraw it first",
            status=course.status.value,
        )
    current = {name: getattr(course, name) for name in EDITABLE_FIELDS if name != "regency_id"}
    regency_code = changes.pop("regency_code", None)
    merged = CourseValues(**{**current, **changes})
    if regency_code is None and merged.learning_method is LearningMethod.OFFLINE:
        regency_id = course.regency_id
    else:
        regency_id = await _regency_id(session, regency_code)
    columns = _checked_columns(merged, regency_id)
    before = _audited_course(course)
    changed = {name: value for name, value in columns.items() if getattr(course, name) != value}
    if not changed:
        return await _reread(session, actor, course)
    for name, value in changed.items():
        setattr(course, name, value)
    course.status = _EDIT_SENDS_TO[course.status]
    if course.status is CourseStatus.IN_REVIEW:
        course.approved_at = None
    await record_audit(
        session,
        action="catalog.course.updated",
        actor=actor,
        entity_type="course",
        entity_id=course.code,
        before=before,
        after=_audited_course(course),
    )
    return await _reread(session, actor, course)


async def _transition(
    session: AsyncSession,
    actor: Actor,
    course: Course,
    *,
    allowed: frozenset[CourseStatus],
    to: CourseStatus,
    action: str,
    reason: str | None = None,
) -> CourseRecord:
    if course.status not in allowed:
        raise GatewayError(
            ErrorCode.INVALID_STATUS_TRANSITION,
            f"a course {course.status.value} cannot become {to.value}",
            status=course.status.value,
        )
    before = course.status
    course.status = to
    course.review_reason = reason
    course.approved_at = func.now() if to is CourseStatus.APPROVED else None
    await record_audit(
        session,
        action=action,
        actor=actor,
        entity_type="course",
        entity_id=course.code,
        before={"status": before.value},
        after={"status": to.value},
        detail=None if reason is None else {"reason": reason},
    )
    if (event := _COURSE_EVENTS.get(to)) is not None:
        await record_event(
            session,
            event,
            f"course:{course.code}",
            {"courseCode": course.code, "status": to.value, "reason": reason},
            course_event_audience(course.provider_id),
        )
    return await _reread(session, actor, course)


# The review outcomes a provider hears of (a submission is its own act: no event).
_COURSE_EVENTS = {
    CourseStatus.APPROVED: EventType.COURSE_APPROVED,
    CourseStatus.REJECTED: EventType.COURSE_REJECTED,
    CourseStatus.WITHDRAWN: EventType.COURSE_WITHDRAWN,
}


async def submit_course(session: AsyncSession, actor: Actor, code: str) -> CourseRecord:
    course = await _own_course(session, actor, code)
    return await _transition(
        session,
        actor,
        course,
        allowed=_SUBMITTABLE,
        to=CourseStatus.IN_REVIEW,
        action="catalog.course.submitted",
    )


async def withdraw_course(session: AsyncSession, actor: Actor, code: str) -> CourseRecord:
    course = await _own_course(session, actor, code)
    return await _transition(
        session,
        actor,
        course,
        allowed=_WITHDRAWABLE,
        to=CourseStatus.WITHDRAWN,
        action="catalog.course.withdrawn",
    )


async def approve_course(session: AsyncSession, actor: Actor, code: str) -> CourseRecord:
    course = await _any_course(session, code)
    return await _transition(
        session,
        actor,
        course,
        allowed=frozenset({CourseStatus.IN_REVIEW}),
        to=CourseStatus.APPROVED,
        action="catalog.course.approved",
    )


async def reject_course(
    session: AsyncSession, actor: Actor, code: str, reason: str
) -> CourseRecord:
    checked = _check_text(reason, "reason", 1, MAX_REASON_LENGTH)
    course = await _any_course(session, code)
    return await _transition(
        session,
        actor,
        course,
        allowed=frozenset({CourseStatus.IN_REVIEW}),
        to=CourseStatus.REJECTED,
        action="catalog.course.rejected",
        reason=checked,
    )


async def set_course_listings(
    session: AsyncSession, actor: Actor, code: str, platform_codes: Sequence[str]
) -> CourseRecord:
    """Makes exactly these platforms list the course (an empty list: none)."""
    wanted = sorted(set(platform_codes))
    if len(wanted) > MAX_LISTINGS:
        raise BadInput(f"at most {MAX_LISTINGS} platforms", field="platformCodes")
    course = await _any_course(session, code)
    rows = await session.execute(
        select(Partner.code, Partner.id)
        .where(Partner.code.in_(wanted))
        .where(Partner.type == PartnerType.PLATFORM)
    )
    found: dict[str, int] = {code: pk for code, pk in rows}
    for platform_code in wanted:
        if platform_code not in found:
            raise NotFound("platform", platform_code)
    before = sorted(
        await session.scalars(
            select(Partner.code)
            .join_from(CourseListing, Partner, Partner.id == CourseListing.platform_id)
            .where(CourseListing.course_id == course.id)
        )
    )
    await session.execute(
        delete(CourseListing)
        .where(CourseListing.course_id == course.id)
        .where(CourseListing.platform_id.not_in(list(found.values())))
    )
    if found:
        await session.execute(
            insert(CourseListing)
            .values([{"course_id": course.id, "platform_id": pk} for pk in found.values()])
            .on_conflict_do_nothing()
        )
    await record_audit(
        session,
        action="catalog.course.listings_set",
        actor=actor,
        entity_type="course",
        entity_id=course.code,
        before={"platforms": before},
        after={"platforms": wanted},
    )
    return await _reread(session, actor, course)


def _check_window(starts_at: datetime, ends_at: datetime) -> None:
    check_date_range(starts_at, ends_at)
    if ends_at - starts_at > MAX_SCHEDULE_LENGTH:
        raise GatewayError(ErrorCode.INVALID_DATE_RANGE, "a schedule lasts at most 366 days")


def _check_quota(quota: int) -> None:
    if not 1 <= quota <= MAX_QUOTA:
        raise BadInput(f"quota must be 1 to {MAX_QUOTA}", field="quota")


def _schedule_record(schedule: Schedule) -> ScheduleRecord:
    return ScheduleRecord(
        id=schedule.id,
        code=schedule.code,
        course_id=schedule.course_id,
        starts_at=schedule.starts_at,
        ends_at=schedule.ends_at,
        quota=schedule.quota,
        remaining=schedule.remaining,
    )


def _audited_schedule(schedule: Schedule) -> dict[str, Any]:
    return {
        "starts_at": schedule.starts_at.isoformat(),
        "ends_at": schedule.ends_at.isoformat(),
        "quota": schedule.quota,
        "remaining": schedule.remaining,
    }


async def create_schedule(
    session: AsyncSession,
    actor: Actor,
    course_code: str,
    *,
    starts_at: datetime,
    ends_at: datetime,
    quota: int,
) -> ScheduleRecord:
    _check_window(starts_at, ends_at)
    _check_quota(quota)
    course = await _own_course(session, actor, course_code)
    schedule_id: int = (
        await session.execute(select(func.nextval(func.pg_get_serial_sequence("schedules", "id"))))
    ).scalar_one()
    schedule = Schedule(
        id=schedule_id,
        code=f"SCH-{schedule_id:07d}",
        course_id=course.id,
        starts_at=starts_at,
        ends_at=ends_at,
        quota=quota,
        remaining=quota,
    )
    session.add(schedule)
    await session.flush()
    await record_audit(
        session,
        action="catalog.schedule.created",
        actor=actor,
        entity_type="schedule",
        entity_id=schedule.code,
        after=_audited_schedule(schedule),
        detail={"course": course.code},
    )
    return _schedule_record(schedule)


async def update_schedule(
    session: AsyncSession,
    actor: Actor,
    code: str,
    *,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    quota: int | None = None,
) -> ScheduleRecord:
    """Moves a schedule or resizes it; seats already taken stay taken."""
    _require_provider(actor)
    schedule: Schedule | None = await session.scalar(
        select(Schedule)
        .join_from(Schedule, Course, Course.id == Schedule.course_id)
        .where(Schedule.code == code)
        .where(own_courses(actor.principal))
        .with_for_update(of=Schedule)
    )
    if schedule is None:
        raise NotFound("schedule", code)
    new_start = starts_at or schedule.starts_at
    new_end = ends_at or schedule.ends_at
    _check_window(new_start, new_end)
    before = _audited_schedule(schedule)
    if quota is not None:
        _check_quota(quota)
        taken = schedule.quota - schedule.remaining
        if quota < taken:
            raise GatewayError(
                ErrorCode.QUOTA_BELOW_TAKEN,
                f"{taken} seats are taken; the quota cannot drop below that",
                taken=taken,
            )
        schedule.remaining = quota - taken
        schedule.quota = quota
    schedule.starts_at = new_start
    schedule.ends_at = new_end
    await session.flush()
    await record_audit(
        session,
        action="catalog.schedule.updated",
        actor=actor,
        entity_type="schedule",
        entity_id=schedule.code,
        before=before,
        after=_audited_schedule(schedule),
    )
    return _schedule_record(schedule)
