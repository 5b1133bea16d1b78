"""Declarative base and the column shapes every model shares."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from sqlalchemy import BigInteger, DateTime, Enum, MetaData, func
from sqlalchemy.orm import DeclarativeBase, mapped_column

# Stable constraint names, so Alembic migrations can refer to them on every PostgreSQL version.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


BigId = Annotated[int, mapped_column(BigInteger, primary_key=True, autoincrement=True)]
# Rupiah are whole numbers; sums of a disbursement batch exceed 2^31, hence BIGINT everywhere.
Rupiah = Annotated[int, mapped_column(BigInteger)]
CreatedAt = Annotated[
    datetime, mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)
]


def text_enum(enum: type[StrEnum], name: str) -> Enum:
    """A StrEnum stored as text with a CHECK constraint: adding a value is a plain migration."""
    return Enum(
        enum,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )
