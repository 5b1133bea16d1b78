"""Catalog types and queries: courses, their providers and schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from auth.permissions import requires
from auth.scopes import Scope
from gateway.db.models import Course as CourseRow
from gateway.db.models import Partner as PartnerRow
from gateway.db.models import Schedule as ScheduleRow
from gateway.db.models.enums import CourseStatus, Education, LearningMethod, PartnerType
from resolvers import catalog as catalog_resolvers
from resolvers.loaders import SchedulesKey
from schema.common import (
    Connection,
    Node,
    build_connection,
    check_page_size,
    decode_cursor,
    to_global_id,
)
from schema.errors import BadInput, ErrorCode, GatewayError, NotFound
from schema.info import Info
from schema.scalars import Rupiah

LearningMethodEnum = strawberry.enum(LearningMethod, description="How a training is delivered.")
CourseStatusEnum = strawberry.enum(CourseStatus, description="Where a course is in review.")
EducationEnum = strawberry.enum(Education, description="Highest education finished.")
PartnerTypeEnum = strawberry.enum(PartnerType, description="The kind of programme partner.")

MAX_SCHEDULES_PER_COURSE = 20


@strawberry.type(description="A training provider (lembaga pelatihan).")
class Provider(Node):
    code: str
    name: str

    @classmethod
    def from_row(cls, row: PartnerRow) -> Provider:
        return cls(id=to_global_id("Provider", row.id), code=row.code, name=row.name)


@strawberry.type(description="A scheduled run of a course, with its seats.")
class Schedule(Node):
    code: str
    starts_at: datetime
    ends_at: datetime
    quota: int = strawberry.field(description="Seats in total.")
    seats_left: int = strawberry.field(description="Seats not yet taken, right now.")

    @classmethod
    def from_row(cls, row: ScheduleRow) -> Schedule:
        return cls(
            id=to_global_id("Schedule", row.id),
            code=row.code,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            quota=row.quota,
            seats_left=row.remaining,
        )


@strawberry.type(description="A training in the catalog.")
class Course(Node):
    code: str = strawberry.field(description="The programme's stable course code.")
    title: str
    description: str
    category: str
    learning_method: LearningMethodEnum  # type: ignore[valid-type]
    price: Rupiah
    hours: int
    min_age: int | None
    max_age: int | None
    min_education: EducationEnum | None  # type: ignore[valid-type]
    status: CourseStatusEnum  # type: ignore[valid-type]
    provider_pk: strawberry.Private[int]
    pk: strawberry.Private[int]

    @classmethod
    def from_row(cls, row: CourseRow) -> Course:
        return cls(
            id=to_global_id("Course", row.id),
            pk=row.id,
            code=row.code,
            title=row.title,
            description=row.description,
            category=row.category,
            learning_method=row.learning_method,
            price=Rupiah(row.price),
            hours=row.hours,
            min_age=row.min_age,
            max_age=row.max_age,
            min_education=row.min_education,
            status=row.status,
            provider_pk=row.provider_id,
        )

    @strawberry.field(description="The provider that runs this course.")
    async def provider(self, info: Info) -> Provider:
        row = await info.context.loaders.partner_by_id.load(self.provider_pk)
        assert row is not None  # a foreign key guarantees it
        return Provider.from_row(row)

    @strawberry.field(
        description=(
            "The course's schedules by start date, at most "
            f"{MAX_SCHEDULES_PER_COURSE}; optionally only those with seats left."
        )
    )
    async def schedules(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="How many, 1 to 20.")] = 10,
        with_seats_left: bool = False,
    ) -> list[Schedule]:
        if not 1 <= first <= MAX_SCHEDULES_PER_COURSE:
            raise GatewayError(
                ErrorCode.INVALID_PAGE_SIZE,
                f"first must be between 1 and {MAX_SCHEDULES_PER_COURSE}",
            )
        rows = await info.context.loaders.schedules_by_course_id.load(
            SchedulesKey(self.pk, first, with_seats_left)
        )
        return [Schedule.from_row(row) for row in rows]


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description="Approved courses, a page at a time (at most 100).",
        permission_classes=[requires(Scope.CATALOG_READ)],
    )
    async def courses(
        self, info: Info, first: int | None = None, after: str | None = None
    ) -> Connection[Course]:
        page_size = check_page_size(first)
        after_id: int | None = None
        if after is not None:
            (after_id,) = decode_cursor(after, length=1)
            if not isinstance(after_id, int):
                raise GatewayError(ErrorCode.INVALID_CURSOR, "cursor is malformed")
        rows = await catalog_resolvers.approved_courses_page(
            info.context.session, after_id=after_id, limit=page_size + 1
        )
        return build_connection(
            [Course.from_row(row) for row in rows],
            page_size=page_size,
            key_of=lambda course: (course.pk,),
            after=after,
        )

    @strawberry.field(
        description="One approved course by its code.",
        permission_classes=[requires(Scope.CATALOG_READ)],
    )
    async def course(self, info: Info, code: str) -> Course:
        if not code or len(code) > 32:
            raise BadInput("course code must be 1 to 32 characters", field="code")
        row = await catalog_resolvers.course_by_code(info.context.session, code)
        if row is None or row.status is not CourseStatus.APPROVED:
            raise NotFound("course", code)
        return Course.from_row(row)
