"""Completions reported by providers, the certificates they produce, and the keys that sign
the certificates' credentials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import CertificateStatus, CredentialKeyStatus
from core.limits import PROGRAMME_CODE_LENGTH
from core.models.base import Base, BigId, CreatedAt, text_enum

# Entries of one Bitstring Status List: the spec's minimum (16 KiB of bits), so a list
# gives its members herd privacy. Migration 0005 repeats the bound in its CHECK.
STATUS_LIST_SIZE = 131_072


class Completion(Base):
    __tablename__ = "completions"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100", name="score_range"),
        CheckConstraint("evidence_url LIKE 'https://%'", name="evidence_https"),
    )

    id: Mapped[BigId]
    purchase_id: Mapped[int] = mapped_column(ForeignKey("purchases.id"), unique=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    completed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    submitted_by_client_id: Mapped[str | None] = mapped_column(String(64))
    evidence_url: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[CreatedAt]


class Certificate(Base):
    __tablename__ = "certificates"
    __table_args__ = (
        CheckConstraint("(status = 'REVOKED') = (revoked_at IS NOT NULL)", name="revoked_has_time"),
        CheckConstraint(
            "(status = 'SUSPENDED') = (suspended_at IS NOT NULL)", name="suspended_has_time"
        ),
        CheckConstraint(
            f"status_list >= 1 AND status_index BETWEEN 0 AND {STATUS_LIST_SIZE - 1}",
            name="status_entry_range",
        ),
        # One certificate per entry of a list: a revocation bit never speaks for two.
        UniqueConstraint("status_list", "status_index", name="uq_certificates_status_entry"),
        Index("ix_certificates_course_id_id", "course_id", "id"),
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
    suspended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    suspend_reason: Mapped[str | None] = mapped_column(Text)
    # The entry of the certificate in its status lists (the same index in the revocation
    # and the suspension list of that number).
    status_list: Mapped[int] = mapped_column(Integer)
    status_index: Mapped[int] = mapped_column(Integer)
    # The credential exactly as issued (a VC-JOSE JWT); NULL for certificates made before
    # credentials existed (the seed's), which get theirs on first request.
    credential_jwt: Mapped[str | None] = mapped_column(Text)


class CredentialKey(Base):
    """Keys that sign certificates. Unlike token keys they are never deleted: a certificate
    must verify for as long as it exists, so every public half stays in the JWKS."""

    __tablename__ = "credential_keys"
    __table_args__ = (
        Index(
            "uq_credential_keys_one_active",
            "status",
            unique=True,
            postgresql_where=text("status = 'ACTIVE'"),
        ),
    )

    id: Mapped[BigId]
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The private JWK, encrypted with a key derived from the master key (AES-GCM).
    private_jwk_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[CredentialKeyStatus] = mapped_column(
        text_enum(CredentialKeyStatus, "credential_key_status")
    )
    created_at: Mapped[CreatedAt]
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
