"""Completions reported by providers, and the certificates they produce."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import CertificateStatus
from core.limits import PROGRAMME_CODE_LENGTH
from core.models.base import Base, BigId, CreatedAt, text_enum


class Completion(Base):
    __tablename__ = "completions"
    __table_args__ = (CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),)

    id: Mapped[BigId]
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_by_client_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[CreatedAt]


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("(status = 'REVOKED') = (revoked_at IS NOT NULL)", name="revoked_has_time"),
    )

    id: Mapped[BigId]
    number: Mapped[str] = mapped_column(String(PROGRAMME_CODE_LENGTH), unique=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completions.id"), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id"), index=True)
    status: Mapped[CertificateStatus] = mapped_column(
        text_enum(CertificateStatus, "certificate_status")
    )
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoke_reason: Mapped[str | None] = mapped_column(Text)
