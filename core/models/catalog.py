"""Courses, their schedules, and which platforms list them."""

from __future__ import annotations

import uuid
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
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
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
        # The catalog search finds courses by the words they hold (migrations 0027 and 0028).
        Index(
            "ix_courses_search_words",
            "search_words",
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
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
    # What the text search matches (prakerja_search_courses, migrations 0027 and 0028): the
    # distinct folded words of the title and description, and of the title alone, as
    # lexemes, once per write. Written as PostgreSQL gives them back, so the
    # models-match-migrations test compares.
    search_words: Mapped[str] = mapped_column(
        TSVECTOR,
        Computed(
            "prakerja_search_words((((title)::text || ' '::text) || description))", persisted=True
        ),
    )
    title_words: Mapped[str] = mapped_column(
        TSVECTOR, Computed("prakerja_search_words((title)::text)", persisted=True)
    )


class SearchVocabulary(Base):
    """Every folded word a course or a partner's name has held: what a query's words are
    compared with (trigrams) before courses are found by the words they hold. Written by
    triggers (migrations 0027 and 0028), never by the application."""

    __tablename__ = "search_vocabulary"
    __table_args__ = (
        Index(
            "ix_search_vocabulary_trgm",
            "word",
            postgresql_using="gin",
            postgresql_ops={"word": "gin_trgm_ops"},
            postgresql_with={"fastupdate": "off"},
        ),
    )

    word: Mapped[str] = mapped_column(Text, primary_key=True)


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


class SearchVocabularyVersion(Base):
    """The vocabulary's version: one row, a new one (a hash of the last and the words added)
    in the transaction that adds a word (migration 0030). A search given a text's hits
    worked out under this version uses them; under any other it works them out again
    (``resolvers.search_expansions``)."""

    __tablename__ = "search_vocabulary_version"
    __table_args__ = (CheckConstraint("id = 1", name="one_row"),)

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    version: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
