"""Courses, their schedules, and which platforms list them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import CourseStatus, Education, LearningMethod
from core.limits import COURSE_CODE_LENGTH, PROGRAMME_CODE_LENGTH
from core.models.base import Base, BigId, CreatedAt, Rupiah, text_enum

# DDL cannot bind a parameter: the partial indexes name the enum's value once, here.
_APPROVED = text(f"status = '{CourseStatus.APPROVED.value}'")


class Course(Base):
    __tablename__ = "courses"
    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("hours > 0", name="hours_positive"),
        CheckConstraint(
            "min_age IS NULL OR max_age IS NULL OR min_age <= max_age", name="age_range"
        ),
        CheckConstraint(
            "(learning_method = 'OFFLINE') = (regency_id IS NOT NULL)", name="offline_has_place"
        ),
        Index("ix_courses_status_id", "status", "id"),
        # Keyset orders of the catalog among approved courses (migration 0003).
        Index("ix_courses_approved_price", "price", "id", postgresql_where=_APPROVED),
        Index("ix_courses_approved_created", "created_at", "id", postgresql_where=_APPROVED),
        Index("ix_courses_regency_id", "regency_id"),
        # Typo-tolerant search over folded title and description (migrations 0001, 0023).
        Index(
            "ix_courses_search_trgm",
            "search_document",
            postgresql_using="gin",
            postgresql_ops={"search_document": "gin_trgm_ops"},
        ),
    )

    id: Mapped[BigId]
    code: Mapped[str] = mapped_column(String(COURSE_CODE_LENGTH), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(80), index=True)
    learning_method: Mapped[LearningMethod] = mapped_column(
        text_enum(LearningMethod, "learning_method")
    )
    price: Mapped[Rupiah]
    hours: Mapped[int] = mapped_column(SmallInteger)
    min_age: Mapped[int | None] = mapped_column(SmallInteger)
    max_age: Mapped[int | None] = mapped_column(SmallInteger)
    min_education: Mapped[Education | None] = mapped_column(text_enum(Education, "education"))
    regency_id: Mapped[int | None] = mapped_column(SmallInteger, ForeignKey("regencies.id"))
    status: Mapped[CourseStatus] = mapped_column(text_enum(CourseStatus, "course_status"))
    review_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[CreatedAt]
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # What the text search matches: folded once per write, not at every recheck (0023).
    search_document: Mapped[str] = mapped_column(
        Text,
        # Written as PostgreSQL gives it back, so the models-match-migrations test compares.
        Computed("prakerja_fold((((title)::text || ' '::text) || description))", persisted=True),
    )


class Schedule(Base):
    __tablename__ = "schedules"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint("quota > 0", name="quota_positive"),
        CheckConstraint("remaining >= 0 AND remaining <= quota", name="remaining_in_quota"),
        Index("ix_schedules_course_starts", "course_id", "starts_at", "id"),
    )

    id: Mapped[BigId]
    code: Mapped[str] = mapped_column(String(PROGRAMME_CODE_LENGTH), unique=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    quota: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[CreatedAt]


class CourseListing(Base):
    """A platform that sells a course; programme management decides."""

    __tablename__ = "course_listings"

    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), primary_key=True)
    platform_id: Mapped[int] = mapped_column(
        ForeignKey("partners.id"), primary_key=True, index=True
    )
    created_at: Mapped[CreatedAt]
