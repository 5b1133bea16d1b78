"""The training catalogue: courses, the platforms that list them, and their schedules.

Besides writing rows, building the catalogue returns an in-memory ``Catalog`` that the
participants' purchases draw from, so seats taken and rules checked (age, education, listing)
are the same ones the rows say.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Final

from core.eligibility import age_admitted, age_on
from core.enums import CourseStatus, Education, LearningMethod
from gateway.seed import names, tables, timeline
from gateway.seed.loader import RowBuffer
from gateway.seed.partners import Partners, Provider
from gateway.seed.programme import PlacedRegency

APPROVED_COURSES: Final = 2_100
# Courses still on their way through programme management's review.
UNAPPROVED_COURSES: Final = (
    (CourseStatus.IN_REVIEW, 20),
    (CourseStatus.DRAFT, 15),
    (CourseStatus.REJECTED, 5),
)
MIN_PRICE: Final = 100_000
MAX_PRICE: Final = 1_000_000
PRICE_STEP: Final = 5_000
# Share of approved courses approved after launch (the catalogue kept growing).
LATE_APPROVAL_SHARE: Final = 0.15
FIRST_SCHEDULE_START: Final = datetime(2020, 4, 13, 8, 0, tzinfo=timeline.WIB)
_JULY: Final = datetime(2020, 7, 1, tzinfo=timeline.WIB)
# How many random tries a purchase makes before it gives up on a platform.
SEARCH_ATTEMPTS: Final = 300

_METHODS: Final = (LearningMethod.SELF_PACED, LearningMethod.WEBINAR, LearningMethod.OFFLINE)
_METHOD_WEIGHTS: Final = (45, 35, 20)
_HOURS: Final = {
    LearningMethod.SELF_PACED: (2, 16),
    LearningMethod.WEBINAR: (4, 24),
    LearningMethod.OFFLINE: (8, 40),
}
# Days a schedule runs: self-paced classes stay open for weeks, live ones take days.
_DAYS: Final = {
    LearningMethod.SELF_PACED: (30, 90),
    LearningMethod.WEBINAR: (1, 5),
    LearningMethod.OFFLINE: (2, 14),
}
_AGE_RULES: Final[tuple[tuple[int | None, int | None], ...]] = (
    (18, 35),
    (18, 40),
    (21, 45),
    (21, None),
    (25, None),
    (None, 40),
)
_EDUCATION_RULES: Final = (Education.SMA, Education.SMA, Education.SMA, Education.D3, Education.S1)


@dataclass(slots=True)
class Slot:
    """A schedule with seats; ``remaining`` goes down as the seed sells them."""

    id: int
    starts_at: datetime
    ends_at: datetime
    quota: int
    remaining: int


@dataclass(slots=True)
class Offer:
    """An approved course as a platform sells it."""

    id: int
    price: int
    min_age: int | None
    max_age: int | None
    min_education_rank: int | None
    listed_at: datetime
    slots: list[Slot] = field(default_factory=list)

    def admits(self, birth_date: date, education_rank: int, at: datetime) -> bool:
        if at <= self.listed_at:
            return False
        if self.min_education_rank is not None and education_rank < self.min_education_rank:
            return False
        if self.min_age is None and self.max_age is None:
            return True  # (most courses: no need to compute the age)
        return age_admitted(age_on(birth_date, at.date()), self.min_age, self.max_age)


@dataclass(frozen=True, slots=True)
class SlotWindow:
    """When the chosen schedule must run, relative to the purchase."""

    starts_after: datetime | None = None
    starts_before: datetime | None = None
    ends_after: datetime | None = None

    def fits(self, slot: Slot) -> bool:
        return (
            (self.starts_after is None or slot.starts_at > self.starts_after)
            and (self.starts_before is None or slot.starts_at < self.starts_before)
            and (self.ends_after is None or slot.ends_at > self.ends_after)
        )


class Catalog:
    def __init__(self, offers_by_platform: dict[int, list[Offer]], slots: list[Slot]) -> None:
        self.offers_by_platform = offers_by_platform
        self.slots = slots

    def find(
        self,
        rng: random.Random,
        platform_id: int,
        birth_date: date,
        education_rank: int,
        at: datetime,
        window: SlotWindow,
    ) -> tuple[Offer, Slot] | None:
        """A course of the platform the buyer may take, and a schedule of it with a seat."""
        offers = self.offers_by_platform[platform_id]
        for _ in range(SEARCH_ATTEMPTS):
            offer = offers[rng.randrange(len(offers))]
            slot = offer.slots[rng.randrange(len(offer.slots))]
            if (
                slot.remaining > 0
                and window.fits(slot)
                and offer.admits(birth_date, education_rank, at)
            ):
                return offer, slot
        return None


class _TitlePool:
    """Titles of one category, each topic and pattern pair used once before any repeats."""

    def __init__(self, rng: random.Random, category: str) -> None:
        self._rng = rng
        self._pairs = [
            (topic, pattern)
            for topic in names.TOPICS[category]
            for pattern in names.TITLE_PATTERNS
            if pattern.format(t=topic) != names.PYTHON_FOR_BEGINNERS
            and not ("UMKM" in topic and "UMKM" in pattern)
        ]
        self._queue: list[tuple[str, str]] = []

    def take(self) -> tuple[str, str]:
        """(topic, title)."""
        if not self._queue:
            self._queue = self._pairs[:]
            self._rng.shuffle(self._queue)
        topic, pattern = self._queue.pop()
        return topic, pattern.format(t=topic)


def _description(rng: random.Random, topic: str, category: str) -> str:
    opening = rng.choice(names.DESCRIPTION_OPENINGS).format(t=topic)
    others = rng.sample(names.DESCRIPTION_SENTENCES, rng.randint(0, 2))
    return " ".join([opening, *(sentence.format(c=category.lower()) for sentence in others)])


def _price(rng: random.Random) -> int:
    # Most trainings cost a few hundred thousand rupiah; a few use up the whole balance.
    raw = rng.triangular(MIN_PRICE, MAX_PRICE, 250_000)
    return max(MIN_PRICE, min(MAX_PRICE, round(raw / PRICE_STEP) * PRICE_STEP))


def _providers_of_courses(
    rng: random.Random, providers: Sequence[Provider], count: int
) -> list[Provider]:
    """Which provider offers each course: three each at least, the rest by provider size.

    The flagship course (id 1) belongs to the first provider, whatever the shuffle said.
    """
    assigned = [provider for provider in providers for _ in range(3)]
    weights = [provider.weight for provider in providers]
    assigned += rng.choices(providers, weights=weights, k=count - len(assigned))
    rng.shuffle(assigned)
    assigned.remove(providers[0])
    assigned.insert(0, providers[0])
    return assigned


@dataclass(frozen=True, slots=True)
class _Course:
    """What a course is about and who may take it, before its review history."""

    category: str
    topic: str
    title: str
    method: LearningMethod
    regency_id: int | None
    price: int
    hours: int
    min_age: int | None = None
    max_age: int | None = None
    min_education: Education | None = None


FLAGSHIP: Final = _Course(
    names.PYTHON_CATEGORY,
    "Pemrograman Python",
    names.PYTHON_FOR_BEGINNERS,
    LearningMethod.WEBINAR,
    None,
    350_000,
    12,
)


def add_catalog(
    rng: random.Random, buffer: RowBuffer, partners: Partners, regencies: list[PlacedRegency]
) -> Catalog:
    return _CatalogBuilder(rng, buffer, partners, regencies).build()


class _CatalogBuilder:
    def __init__(
        self,
        rng: random.Random,
        buffer: RowBuffer,
        partners: Partners,
        regencies: list[PlacedRegency],
    ) -> None:
        self._rng = rng
        self._buffer = buffer
        self._partners = partners
        self._regencies_by_province: dict[str, list[PlacedRegency]] = {}
        for regency in regencies:
            self._regencies_by_province.setdefault(regency.province_code, []).append(regency)
        self._titles = {category: _TitlePool(rng, category) for category in names.CATEGORIES}
        self._platform_ids = [platform.id for platform in partners.platforms]
        self._offers: dict[int, list[Offer]] = {platform: [] for platform in self._platform_ids}
        self._slots: list[Slot] = []

    def build(self) -> Catalog:
        rng = self._rng
        late_count = round(APPROVED_COURSES * LATE_APPROVAL_SHARE)
        launch = timeline.PROGRAMME_LAUNCH
        # Approval times ascend with the course id, as ids were handed out in that order.
        approvals = sorted(
            [
                timeline.moment_between(rng, timeline.CATALOG_OPENS, launch - timedelta(days=1))
                for _ in range(APPROVED_COURSES - late_count)
            ]
            + [timeline.moment_between(rng, launch, _JULY) for _ in range(late_count)]
        )
        unapproved = [status for status, count in UNAPPROVED_COURSES for _ in range(count)]
        rng.shuffle(unapproved)
        providers = _providers_of_courses(
            rng, self._partners.providers, APPROVED_COURSES + len(unapproved)
        )
        for index, provider in enumerate(providers):
            course_id = index + 1
            course = FLAGSHIP if course_id == 1 else self._invent(provider)
            if index < APPROVED_COURSES:
                self._approved(course_id, provider, course, approvals[index])
            else:
                self._unapproved(course_id, provider, course, unapproved[index - APPROVED_COURSES])
        return Catalog(self._offers, self._slots)

    def _invent(self, provider: Provider) -> _Course:
        rng = self._rng
        category = rng.choice(provider.categories)
        topic, title = self._titles[category].take()
        method = rng.choices(_METHODS, weights=_METHOD_WEIGHTS)[0]
        regency_id = None
        if method is LearningMethod.OFFLINE:
            # Offline classes are held where the provider is based, or elsewhere in its province.
            home = provider.home
            nearby = self._regencies_by_province[home.province_code]
            regency_id = (home if rng.random() < 0.7 else rng.choice(nearby)).id
        min_age, max_age = rng.choice(_AGE_RULES) if rng.random() < 0.08 else (None, None)
        min_education = rng.choice(_EDUCATION_RULES) if rng.random() < 0.12 else None
        return _Course(
            category,
            topic,
            title,
            method,
            regency_id,
            _price(rng),
            rng.randint(*_HOURS[method]),
            min_age,
            max_age,
            min_education,
        )

    def _approved(
        self, course_id: int, provider: Provider, course: _Course, approved_at: datetime
    ) -> None:
        rng = self._rng
        created_at = timeline.moment_between(
            rng, provider.created_at, approved_at - timedelta(days=1)
        )
        self._add_course(
            course_id, provider, course, CourseStatus.APPROVED, None, created_at, approved_at
        )
        listed_at = approved_at + timedelta(minutes=rng.randint(60, 48 * 60))
        offer = Offer(
            course_id,
            course.price,
            course.min_age,
            course.max_age,
            None if course.min_education is None else course.min_education.rank,
            listed_at,
        )
        listing_count = 5 if course_id == 1 else rng.randint(2, 5)
        for platform_id in sorted(rng.sample(self._platform_ids, listing_count)):
            self._buffer.add(tables.COURSE_LISTINGS, (course_id, platform_id, listed_at))
            self._offers[platform_id].append(offer)
        for _ in range(rng.choices((1, 2, 3, 4), weights=(20, 35, 30, 15))[0]):
            slot = _schedule(rng, len(self._slots) + 1, course.method, listed_at)
            offer.slots.append(slot)
            self._slots.append(slot)
            self._buffer.add(
                tables.SCHEDULES,
                (
                    slot.id,
                    f"SCH-{slot.id:07d}",
                    course_id,
                    slot.starts_at,
                    slot.ends_at,
                    slot.quota,
                    slot.remaining,
                    approved_at,
                ),
            )

    def _unapproved(
        self, course_id: int, provider: Provider, course: _Course, status: CourseStatus
    ) -> None:
        """A course submitted after the catalogue's first months, still short of approval."""
        rng = self._rng
        created_at = timeline.moment_between(rng, _JULY, timeline.AS_OF - timedelta(days=7))
        updated_at = created_at + timedelta(days=rng.randint(0, 5), minutes=rng.randint(0, 600))
        reason = rng.choice(names.REJECTION_REASONS) if status is CourseStatus.REJECTED else None
        self._add_course(course_id, provider, course, status, reason, created_at, updated_at)

    def _add_course(
        self,
        course_id: int,
        provider: Provider,
        course: _Course,
        status: CourseStatus,
        review_reason: str | None,
        created_at: datetime,
        updated_at: datetime,
    ) -> None:
        self._buffer.add(
            tables.COURSES,
            (
                course_id,
                f"CRS-{course_id:06d}",
                provider.id,
                course.title,
                _description(self._rng, course.topic, course.category),
                course.category,
                course.method.value,
                course.price,
                course.hours,
                course.min_age,
                course.max_age,
                None if course.min_education is None else course.min_education.value,
                course.regency_id,
                status.value,
                review_reason,
                created_at,
                updated_at,
                # The last change of an approved course is its approval.
                updated_at if status is CourseStatus.APPROVED else None,
            ),
        )


def _schedule(
    rng: random.Random, slot_id: int, method: LearningMethod, listed_at: datetime
) -> Slot:
    earliest = max(FIRST_SCHEDULE_START, listed_at + timedelta(days=1))
    day = timeline.moment_between(rng, earliest, timeline.LAST_SCHEDULE_START)
    if method is LearningMethod.SELF_PACED:
        starts_at = day.replace(hour=0, minute=0, second=0)
    else:
        starts_at = day.replace(hour=rng.choice((8, 9, 10, 13, 19)), minute=0, second=0)
    days = rng.randint(*_DAYS[method])
    ends_at = starts_at + timedelta(
        days=days, hours=-1 if method is LearningMethod.SELF_PACED else 3
    )
    quota = rng.randrange(50, 501, 10)
    # Seats already taken by buyers outside this demo's sample; a few schedules are full.
    remaining = 0 if rng.random() < 0.06 else quota - rng.randint(0, quota * 3 // 4)
    return Slot(slot_id, starts_at, ends_at, quota, remaining)
