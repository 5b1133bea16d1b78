"""Catalog mutations: a provider's own courses and schedules, and programme management's review.

A provider never reaches another provider's course: it is NOT_FOUND, like a missing one.
See ``resolvers.catalog_writes`` for the course lifecycle.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Annotated, Any

import strawberry
from strawberry.permission import BasePermission

from auth.permissions import requires
from auth.scopes import Scope
from core.errors import BadInput
from resolvers import catalog_writes
from resolvers.catalog import CourseRecord
from resolvers.catalog_writes import CourseValues
from schema.catalog import Course, EducationEnum, LearningMethodEnum, Schedule
from schema.info import Info, actor_of
from schema.scalars import Rupiah


@strawberry.input(description="A new course, as its provider describes it.")
class CourseInput:
    title: str = strawberry.field(description="3 to 200 characters.")
    description: str = strawberry.field(description="10 to 10,000 characters.")
    category: str = strawberry.field(description="1 to 80 characters.")
    learning_method: LearningMethodEnum  # type: ignore[valid-type]
    price: Rupiah = strawberry.field(description="1 to 100,000,000 Rupiah.")
    hours: int = strawberry.field(description="1 to 1000.")
    min_age: int | None = strawberry.field(default=None, description="15 to 100.")
    max_age: int | None = strawberry.field(default=None, description="15 to 100.")
    min_education: EducationEnum | None = None  # type: ignore[valid-type]
    regency_code: str | None = strawberry.field(
        default=None, description="Where an OFFLINE training takes place (required for it)."
    )


_NULLABLE = frozenset({"min_age", "max_age", "min_education", "regency_code"})


@strawberry.input(
    description=(
        "Changes to a course; an omitted field stays as it is. Changing an APPROVED course "
        "sends it back to review (IN_REVIEW) and out of the public catalog."
    )
)
class CourseChangesInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    category: str | None = strawberry.UNSET
    learning_method: LearningMethodEnum | None = strawberry.UNSET  # type: ignore[valid-type]
    price: Rupiah | None = strawberry.UNSET
    hours: int | None = strawberry.UNSET
    min_age: int | None = strawberry.field(default=strawberry.UNSET, description="null clears.")
    max_age: int | None = strawberry.field(default=strawberry.UNSET, description="null clears.")
    min_education: EducationEnum | None = strawberry.field(  # type: ignore[valid-type]
        default=strawberry.UNSET, description="null clears."
    )
    regency_code: str | None = strawberry.UNSET

    def changes(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        # The changeable fields are those a provider sets on a course: one list, CourseValues.
        for name in (field.name for field in dataclasses.fields(CourseValues)):
            value = getattr(self, name)
            if value is strawberry.UNSET:
                continue
            if value is None and name not in _NULLABLE:
                raise BadInput(f"{name} cannot be null", field=name)
            found[name] = value
        if not found:
            raise BadInput("nothing to change")
        return found


@strawberry.input(description="A new run of a course.")
class ScheduleInput:
    starts_at: datetime = strawberry.field(description="With a time zone; 2000 to 2099.")
    ends_at: datetime = strawberry.field(description="After startsAt, at most 366 days later.")
    quota: int = strawberry.field(description="Seats, 1 to 100,000.")


@strawberry.input(description="Changes to a schedule; an omitted field stays as it is.")
class ScheduleChangesInput:
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    quota: int | None = strawberry.field(
        default=None,
        description="New total seats; never below the seats already taken (QUOTA_BELOW_TAKEN).",
    )


@strawberry.type(description="The course as it is after the change.")
class CoursePayload:
    course: Course


@strawberry.type(description="The schedule as it is after the change.")
class SchedulePayload:
    schedule: Schedule


def _payload(record: CourseRecord) -> CoursePayload:
    return CoursePayload(course=Course.from_record(record))


_WRITE: list[type[BasePermission]] = [requires(Scope.CATALOG_WRITE)]
_ADMIN: list[type[BasePermission]] = [requires(Scope.PROGRAM_ADMIN)]

Code = Annotated[str, strawberry.argument(description="The course code.")]


@strawberry.type
class CatalogMutation:
    @strawberry.mutation(
        description="A provider adds a course, as a DRAFT.", permission_classes=_WRITE
    )
    async def create_course(self, info: Info, input: CourseInput) -> CoursePayload | None:
        values = CourseValues(
            title=input.title,
            description=input.description,
            category=input.category,
            learning_method=input.learning_method,
            price=input.price,
            hours=input.hours,
            min_age=input.min_age,
            max_age=input.max_age,
            min_education=input.min_education,
            regency_code=input.regency_code,
        )
        record = await catalog_writes.create_course(info.context.session, actor_of(info), values)
        return _payload(record)

    @strawberry.mutation(
        description=(
            "A provider changes its course. Not while IN_REVIEW (COURSE_NOT_EDITABLE); an "
            "APPROVED course goes back to IN_REVIEW."
        ),
        permission_classes=_WRITE,
    )
    async def update_course(
        self,
        info: Info,
        code: Code,
        input: CourseChangesInput,
    ) -> CoursePayload | None:
        record = await catalog_writes.update_course(
            info.context.session, actor_of(info), code, input.changes()
        )
        return _payload(record)

    @strawberry.mutation(
        description="A provider submits a DRAFT, REJECTED or WITHDRAWN course for review.",
        permission_classes=_WRITE,
    )
    async def submit_course(self, info: Info, code: Code) -> CoursePayload | None:
        return _payload(
            await catalog_writes.submit_course(info.context.session, actor_of(info), code)
        )

    @strawberry.mutation(
        description="A provider withdraws a course IN_REVIEW or APPROVED (out of the catalog).",
        permission_classes=_WRITE,
    )
    async def withdraw_course(self, info: Info, code: Code) -> CoursePayload | None:
        return _payload(
            await catalog_writes.withdraw_course(info.context.session, actor_of(info), code)
        )

    @strawberry.mutation(
        description="A provider adds a schedule to its course.", permission_classes=_WRITE
    )
    async def create_schedule(
        self,
        info: Info,
        course_code: Code,
        input: ScheduleInput,
    ) -> SchedulePayload | None:
        record = await catalog_writes.create_schedule(
            info.context.session,
            actor_of(info),
            course_code,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            quota=input.quota,
        )
        return SchedulePayload(schedule=Schedule.from_record(record))

    @strawberry.mutation(
        description="A provider moves or resizes a schedule of its course.",
        permission_classes=_WRITE,
    )
    async def update_schedule(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="The schedule code.")],
        input: ScheduleChangesInput,
    ) -> SchedulePayload | None:
        record = await catalog_writes.update_schedule(
            info.context.session,
            actor_of(info),
            code,
            starts_at=input.starts_at,
            ends_at=input.ends_at,
            quota=input.quota,
        )
        return SchedulePayload(schedule=Schedule.from_record(record))

    @strawberry.mutation(
        description="Programme management approves a course IN_REVIEW: it enters the catalog.",
        permission_classes=_ADMIN,
    )
    async def approve_course(self, info: Info, code: Code) -> CoursePayload | None:
        return _payload(
            await catalog_writes.approve_course(info.context.session, actor_of(info), code)
        )

    @strawberry.mutation(
        description="Programme management rejects a course IN_REVIEW, saying why.",
        permission_classes=_ADMIN,
    )
    async def reject_course(
        self,
        info: Info,
        code: Code,
        reason: Annotated[str, strawberry.argument(description="1 to 1000 characters.")],
    ) -> CoursePayload | None:
        return _payload(
            await catalog_writes.reject_course(info.context.session, actor_of(info), code, reason)
        )

    @strawberry.mutation(
        description="Programme management decides exactly which platforms list a course.",
        permission_classes=_ADMIN,
    )
    async def set_course_listings(
        self,
        info: Info,
        code: Code,
        platform_codes: Annotated[
            list[str], strawberry.argument(description="Platform codes, at most 20; [] for none.")
        ],
    ) -> CoursePayload | None:
        return _payload(
            await catalog_writes.set_course_listings(
                info.context.session, actor_of(info), code, platform_codes
            )
        )
