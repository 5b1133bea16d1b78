"""Partners of the programme, their OAuth clients, and the gateway's signing keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from core.enums import ClientStatus, PartnerStatus, PartnerType, SigningKeyStatus
from core.limits import PARTNER_CODE_LENGTH
from core.models.base import Base, BigId, CreatedAt, text_enum


class Partner(Base):
    __tablename__ = "partners"
    __table_args__ = (
        # A regional office acts for exactly one regency; no other partner has one.
        CheckConstraint(
            "(type = 'REGIONAL_OFFICE') = (regency_id IS NOT NULL)", name="regency_iff_office"
        ),
        # A catalog search also finds courses by their provider's name (migrations 0027 and 0028).
        Index(
            "ix_partners_search_words",
            "search_words",
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
        ),
    )

    id: Mapped[BigId]
    code: Mapped[str] = mapped_column(String(PARTNER_CODE_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    type: Mapped[PartnerType] = mapped_column(text_enum(PartnerType, "partner_type"), index=True)
    status: Mapped[PartnerStatus] = mapped_column(
        text_enum(PartnerStatus, "partner_status"), default=PartnerStatus.ACTIVE
    )
    regency_id: Mapped[int | None] = mapped_column(
        SmallInteger, ForeignKey("regencies.id"), index=True
    )
    created_at: Mapped[CreatedAt]
    # What a catalog search matches: the distinct folded words of the name as lexemes, once
    # per write (migrations 0027 and 0028), written as PostgreSQL gives them back.
    search_words: Mapped[str] = mapped_column(
        TSVECTOR, Computed("prakerja_search_words((name)::text)", persisted=True)
    )


class OAuthClient(Base):
    __tablename__ = "oauth_clients"
    __table_args__ = (
        CheckConstraint("secret_hash IS NOT NULL OR jwks IS NOT NULL", name="has_a_credential"),
    )

    id: Mapped[BigId]
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Keyed hash of the secret, "hmac-sha256$v1$<pepper id>$<digest>" (or a legacy scrypt hash
    # until the client next authenticates): auth/secrets.py. The secret is shown once.
    secret_hash: Mapped[str | None] = mapped_column(String(256))
    # Public keys for private_key_jwt client authentication (RFC 7523), as a JWK Set.
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list)
    status: Mapped[ClientStatus] = mapped_column(
        text_enum(ClientStatus, "client_status"), default=ClientStatus.ACTIVE
    )
    created_at: Mapped[CreatedAt]
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Production mode for a partner's application: only its registered (trusted) documents
    # run, any other document is refused (gateway/trusted_documents.py).
    registered_documents_only: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class SigningKey(Base):
    __tablename__ = "signing_keys"

    id: Mapped[BigId]
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    algorithm: Mapped[str] = mapped_column(String(16))
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSONB)
    # The private JWK, encrypted with a key derived from the master key (AES-GCM).
    private_jwk_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[SigningKeyStatus] = mapped_column(
        text_enum(SigningKeyStatus, "signing_key_status")
    )
    created_at: Mapped[CreatedAt]
    activated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class RevokedToken(Base):
    """Access tokens revoked before their expiry (RFC 7009); pruned once they would expire."""

    __tablename__ = "revoked_tokens"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    revoked_at: Mapped[CreatedAt]


class UsedClientAssertion(Base):
    """Replay cache for private_key_jwt client assertions: a jti is accepted once."""

    __tablename__ = "used_client_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(256), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
