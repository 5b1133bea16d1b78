"""Provinces and regencies/cities (kabupaten/kota) of Indonesia."""

from __future__ import annotations

from sqlalchemy import CHAR, ForeignKey, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.enums import RegencyKind
from core.models.base import Base, text_enum


class Province(Base):
    __tablename__ = "provinces"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(CHAR(2), unique=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)

    regencies: Mapped[list[Regency]] = relationship(back_populates="province", lazy="raise")


class Regency(Base):
    __tablename__ = "regencies"

    id: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    code: Mapped[str] = mapped_column(CHAR(4), unique=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("provinces.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[RegencyKind] = mapped_column(text_enum(RegencyKind, "regency_kind"))

    province: Mapped[Province] = relationship(back_populates="regencies", lazy="raise")
