"""Trusted documents: the GraphQL documents a client registered, called by their hash."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    CHAR,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.models.base import Base, BigId, CreatedAt


class TrustedDocument(Base):
    """One document registered for one client, with what was worked out once at registration:
    the operations it holds, its static cost and the schema it was validated against."""

    __tablename__ = "trusted_documents"
    __table_args__ = (
        UniqueConstraint("client_pk", "sha256"),
        # The id is the text's hash: a row whose hash is not its body's could never be called.
        CheckConstraint(
            "sha256 = encode(sha256(convert_to(body, 'UTF8')), 'hex')", name="hash_is_the_body_s"
        ),
    )

    id: Mapped[BigId]
    client_pk: Mapped[int] = mapped_column(ForeignKey("oauth_clients.id", ondelete="CASCADE"))
    # Lower-case hex SHA-256 of the document's UTF-8 text: the id clients call it by.
    sha256: Mapped[str] = mapped_column(CHAR(64))
    body: Mapped[str] = mapped_column(Text)
    operation_names: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # The static cost (schema/cost.py) with every page at its default size, and the
    # variables that can change a page's size (a call that sets one is costed for it).
    cost: Mapped[int] = mapped_column(Integer)
    page_variables: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # SHA-256 of the SDL it was validated against: under another schema it is validated again.
    schema_sha256: Mapped[str] = mapped_column(CHAR(64))
    registered_by: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[CreatedAt]
