"""Catalog types and queries: courses, their providers and schedules, categories.

Who sees what (``resolvers.tenancy.courses_visible_to``): platforms and every other reader
see the public catalog, approved courses of active providers; a training provider also
sees its own courses in any status; programme management sees every course (it reviews
them). Every list is a keyset-paginated connection; no read depends on the clock.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Final

import strawberry

from auth.permissions import requires
from auth.scopes import Scope
from core.enums import CourseStatus, Education, LearningMethod, PartnerType
from core.errors import BadInput, ErrorCode, GatewayError, NotFound
from core.kept import KeptByIdentity
from core.limits import COURSE_CODE_LENGTH, PARTNER_CODE_LENGTH, SEARCH_WORD_MAX_LENGTH
from resolvers import catalog as catalog_resolvers
from resolvers import catalog_sql
from resolvers.catalog import (
    MAX_SCHEDULES_PER_COURSE,
    CourseOrder,
    CourseRecord,
    CourseSearch,
    Keyset,
    PageRequest,
    ProviderRecord,
    ScheduleRecord,
    schedules_first_allowed,
)
from resolvers.compiled_reads import ReadPlan
from resolvers.loaders import PlatformRecord, RegencyRecord, SchedulesKey
from schema.common import (
    Connection,
    Node,
    build_connection,
    check_page_size,
    decode_cursor,
)
from schema.compiled import (
    CompiledRead,
    Nested,
    Related,
    column,
    no_transaction,
    reads,
    record_values,
)
from schema.context import Context
from schema.info import Info
from schema.scalars import Rupiah

LearningMethodEnum = strawberry.enum(LearningMethod, description="How a training is delivered.")
CourseStatusEnum = strawberry.enum(CourseStatus, description="Where a course is in review.")
EducationEnum = strawberry.enum(Education, description="Highest education finished.")
PartnerTypeEnum = strawberry.enum(PartnerType, description="The kind of programme partner.")


@strawberry.enum(name="CourseOrder", description="How the courses of a page are ordered.")
class CourseOrderEnum(Enum):
    CATALOG = strawberry.enum_value(
        CourseOrder.CATALOG.value,
        description="The catalog's own stable order (oldest first); the default without search.",
    )
    RELEVANCE = strawberry.enum_value(
        CourseOrder.RELEVANCE.value,
        description="Best text match first (needs filter.search); the default with search.",
    )
    PRICE_ASC = strawberry.enum_value(CourseOrder.PRICE_ASC.value, description="Cheapest first.")
    PRICE_DESC = strawberry.enum_value(
        CourseOrder.PRICE_DESC.value, description="Most expensive first."
    )
    START_DATE = strawberry.enum_value(
        CourseOrder.START_DATE.value,
        description=(
            "Earliest schedule start first (among the schedules the filter selects); courses "
            "without one last."
        ),
    )
    NEWEST = strawberry.enum_value(
        CourseOrder.NEWEST.value, description="Most recently created first."
    )


@strawberry.type(description="A training provider (lembaga pelatihan).")
class Provider(Node):
    code: str = column(description="The programme's partner code, e.g. LP-0001.")
    name: str = column()

    @classmethod
    def from_record(cls, record: ProviderRecord) -> Provider:
        return cls(**record_values(cls, record))


@strawberry.type(description="A digital platform that sells trainings.")
class Platform:
    code: str = column(description="The programme's partner code, e.g. DP-001.")
    name: str = column()

    @classmethod
    def from_record(cls, record: PlatformRecord) -> Platform:
        return cls(**record_values(cls, record))


@strawberry.type(description="A province of Indonesia.")
class Province:
    code: str = strawberry.field(description="Two-digit BPS code.")
    name: str


@strawberry.type(description="A regency or city (kabupaten/kota), where offline trainings are.")
class Regency:
    code: str = strawberry.field(description="Four-digit BPS code.")
    name: str
    province: Province

    @classmethod
    def from_record(cls, record: RegencyRecord) -> Regency:
        return cls(
            code=record.code,
            name=record.name,
            province=Province(code=record.province_code, name=record.province_name),
        )


@strawberry.type(description="A scheduled run of a course, with its seats.")
class Schedule(Node):
    code: str = column(description="The programme's stable schedule code.")
    starts_at: datetime = column()
    ends_at: datetime = column()
    quota: int = column(description="Seats in total.")
    seats_left: int = column(
        "remaining",
        description="Seats not yet taken, right now (what the programme's quota check answers).",
    )

    @classmethod
    def from_record(cls, record: ScheduleRecord) -> Schedule:
        return cls(**record_values(cls, record))


@strawberry.type(description="A training in the catalog.")
class Course(Node):
    code: str = column(description="The programme's stable course code.")
    title: str = column()
    description: str = column()
    category: str = column()
    learning_method: LearningMethodEnum = column()  # type: ignore[valid-type]
    price: Rupiah = column(description="What the training costs the participant.")
    hours: int = column(description="Length of the training in hours.")
    min_age: int | None = column(description="Youngest participant age allowed.")
    max_age: int | None = column(description="Oldest participant age allowed.")
    min_education: EducationEnum | None = column(  # type: ignore[valid-type]
        description="Lowest education a participant needs."
    )
    status: CourseStatusEnum = column()  # type: ignore[valid-type]
    review_reason: str | None = column(
        description="Why programme management rejected it, while REJECTED."
    )
    created_at: datetime = column()
    updated_at: datetime = column()
    approved_at: datetime | None = column(description="When it was last approved.")
    record: strawberry.Private[CourseRecord]

    @classmethod
    def from_record(cls, record: CourseRecord) -> Course:
        return cls(record=record, **record_values(cls, record))

    @strawberry.field(
        description="The provider that runs this course.", metadata=reads(Nested("provider"))
    )
    def provider(self) -> Provider:
        return Provider.from_record(self.record.provider)

    @strawberry.field(
        description=(
            "The course's schedules by start date, at most "
            f"{MAX_SCHEDULES_PER_COURSE}; optionally only those with seats left."
        ),
        metadata=reads(Related("schedules")),
    )
    async def schedules(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="How many, 1 to 20.")] = 10,
        with_seats_left: Annotated[
            bool, strawberry.argument(description="Only schedules with a seat left.")
        ] = False,
    ) -> list[Schedule]:
        if not schedules_first_allowed(first):
            raise GatewayError(
                ErrorCode.INVALID_PAGE_SIZE,
                f"first must be between 1 and {MAX_SCHEDULES_PER_COURSE}",
            )
        records = await info.context.loaders.schedules_by_course_id.load(
            SchedulesKey(self.record.id, first, with_seats_left)
        )
        return [Schedule.from_record(record) for record in records]

    @strawberry.field(description="Where an OFFLINE training takes place; null for online ones.")
    async def regency(self, info: Info) -> Regency | None:
        if self.record.regency_id is None:
            return None
        record = await info.context.loaders.regency_by_id.load(self.record.regency_id)
        return None if record is None else Regency.from_record(record)

    @strawberry.field(description="The platforms that sell this course, by code.")
    async def listed_on(self, info: Info) -> list[Platform]:
        records = await info.context.loaders.platforms_by_course_id.load(self.record.id)
        return [Platform.from_record(record) for record in records]


@strawberry.type(description="A course category and how many approved courses it holds.")
class CategoryCount:
    name: str
    course_count: int = strawberry.field(description="Approved courses in the public catalog.")

    @classmethod
    def from_record(cls, record: catalog_resolvers.CategoryCount) -> CategoryCount:
        return cls(name=record.name, course_count=record.course_count)


@strawberry.input(
    description=(
        "What a catalog page selects; every field narrows it (all must hold). Unknown codes "
        "are NOT_FOUND."
    )
)
class CourseFilter:
    search: str | None = strawberry.field(
        default=None,
        description=(
            "Free text over title, description and provider name: accent- and "
            "case-insensitive, matched word by word and typo-tolerant (a word finds the "
            "words holding most of its trigrams; the 8 longest words of the text count; a "
            f"word of more than {SEARCH_WORD_MAX_LENGTH} letters and digits is ignored, in "
            "the text and in the catalog), ranked by RELEVANCE. "
            "2 to 100 characters; an empty or blank string is refused with SEARCH_TEXT_EMPTY "
            "(omit the field to list everything)."
        ),
    )
    categories: list[str] | None = strawberry.field(
        default=None, description="Any of these categories (at most 20)."
    )
    learning_methods: list[LearningMethodEnum] | None = strawberry.field(  # type: ignore[valid-type]
        default=None, description="Any of these learning methods."
    )
    provider_code: str | None = strawberry.field(
        default=None, description="Only this provider's courses."
    )
    platform_code: str | None = strawberry.field(
        default=None,
        description="Only courses this platform lists (a platform passes its own code).",
    )
    province_code: str | None = strawberry.field(
        default=None, description="Only offline trainings in this province."
    )
    regency_code: str | None = strawberry.field(
        default=None, description="Only offline trainings in this regency or city."
    )
    min_price: Rupiah | None = strawberry.field(default=None, description="Lowest price.")
    max_price: Rupiah | None = strawberry.field(
        default=None, description="Highest price; not below minPrice."
    )
    starts_from: datetime | None = strawberry.field(
        default=None,
        description="Only courses with a schedule starting at or after this moment.",
    )
    starts_before: datetime | None = strawberry.field(
        default=None, description="Only courses with a schedule starting before this moment."
    )
    with_seats_left: bool = strawberry.field(
        default=False,
        description=(
            "Only courses with a schedule that has a seat left (within the date range, "
            "when one is given)."
        ),
    )
    statuses: list[CourseStatusEnum] | None = strawberry.field(  # type: ignore[valid-type]
        default=None,
        description=(
            "Course statuses to include; default APPROVED. Only a provider's own courses "
            "and, for programme management, every course can be in another status."
        ),
    )

    def to_search(self) -> CourseSearch:
        return CourseSearch.checked(
            text=self.search,
            categories=tuple(self.categories or ()),
            learning_methods=tuple(self.learning_methods or ()),
            provider_code=self.provider_code,
            platform_code=self.platform_code,
            province_code=self.province_code,
            regency_code=self.regency_code,
            min_price=self.min_price,
            max_price=self.max_price,
            starts_from=self.starts_from,
            starts_before=self.starts_before,
            with_seats_left=self.with_seats_left,
            statuses=((CourseStatus.APPROVED,) if self.statuses is None else tuple(self.statuses)),
        )


def course_page_arguments(
    first: int | None,
    after: str | None,
    filter: CourseFilter | None,
    order_by: CourseOrderEnum | None,
) -> PageRequest:
    """The ``courses`` arguments, validated: where both ways of answering it start
    (the resolver below and ``_compiled_courses``)."""
    page_size = check_page_size(first)
    search = (filter or CourseFilter()).to_search()
    if order_by is None:
        order = CourseOrder.RELEVANCE if search.text is not None else CourseOrder.CATALOG
    else:
        order = CourseOrder(order_by.name)
    parts = None
    if after is not None:
        parts = decode_cursor(after, length=1 if order is CourseOrder.CATALOG else 3)
    return PageRequest(page_size, search, Keyset.from_cursor(order, parts))


# The page request of a compiled root's arguments: a compiled document replays the same
# arguments, validated the same way every time (arguments it refuses raise, and are not kept).
_page_requests: Final[KeptByIdentity[PageRequest]] = KeptByIdentity(256)


def _page_request(arguments: dict[str, Any]) -> PageRequest:
    return course_page_arguments(**arguments)


async def _compiled_courses(
    context: Context, plan: ReadPlan, arguments: dict[str, Any]
) -> tuple[Connection[CourseRecord], dict[str, Any]]:
    """The ``courses`` page for its compiled plan: the same arguments, the same page
    statement (``resolvers.catalog_sql.compiled_course_page``), the same connection."""
    page = _page_requests.get(_page_request, arguments)
    rows = await catalog_sql.compiled_course_page(context.session, context.principal, page, plan)
    connection = build_connection(
        rows.records,
        page_size=page.page_size,
        key_of=page.keyset.as_cursor,
        after=arguments.get("after"),
    )
    return connection, rows.related


def _check_code(code: str, what: str, longest: int) -> None:
    if not code or len(code) > longest:
        raise BadInput(f"{what} code must be 1 to {longest} characters", field="code")


@strawberry.type
class CatalogQuery:
    @strawberry.field(
        description=(
            "Courses the caller may see, a page at a time (1 to 100, default 20), filtered "
            "and ordered; a cursor belongs to the order it was made in."
        ),
        permission_classes=[requires(Scope.CATALOG_READ)],
        extensions=[
            CompiledRead(
                _compiled_courses,
                enabled=lambda info: info.context.compiled_reads,
                in_transaction=no_transaction,
            )
        ],
    )
    async def courses(  # see also _compiled_courses (the same page, compiled)
        self,
        info: Info,
        first: Annotated[int | None, strawberry.argument(description="Page size.")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="endCursor of the previous page.")
        ] = None,
        filter: CourseFilter | None = None,
        order_by: Annotated[
            CourseOrderEnum | None,
            strawberry.argument(description="Default: RELEVANCE with search text, else CATALOG."),
        ] = None,
    ) -> Connection[Course]:
        page = course_page_arguments(first, after, filter, order_by)
        records = await catalog_resolvers.course_page(
            info.context.session, info.context.principal, page.search, page.keyset, page.limit
        )
        return build_connection(
            [Course.from_record(record) for record in records],
            page_size=page.page_size,
            key_of=lambda course: page.keyset.as_cursor(course.record),
            after=after,
        )

    @strawberry.field(
        description=(
            "One course by its code, if the caller may see it (else NOT_FOUND, whether or "
            "not it exists)."
        ),
        permission_classes=[requires(Scope.CATALOG_READ)],
    )
    async def course(self, info: Info, code: str) -> Course:
        _check_code(code, "course", COURSE_CODE_LENGTH)
        record = await catalog_resolvers.course_by_code(
            info.context.session, info.context.principal, code
        )
        if record is None:
            raise NotFound("course", code)
        return Course.from_record(record)

    @strawberry.field(
        description="An active training provider by its code (a provider also finds itself).",
        permission_classes=[requires(Scope.CATALOG_READ)],
    )
    async def provider(self, info: Info, code: str) -> Provider:
        _check_code(code, "provider", PARTNER_CODE_LENGTH)
        record = await catalog_resolvers.provider_by_code(
            info.context.session, info.context.principal, code
        )
        if record is None:
            raise NotFound("provider", code)
        return Provider.from_record(record)

    @strawberry.field(
        description="Every category of the public catalog with its number of approved courses.",
        permission_classes=[requires(Scope.CATALOG_READ)],
    )
    async def categories(self, info: Info) -> list[CategoryCount]:
        counts = await catalog_resolvers.category_counts(info.context.session)
        return [CategoryCount.from_record(item) for item in counts]
