"""Enterprises, keyed by the unified social credit code (USCC)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import Column, ForeignKey, Index, Numeric, String, Table, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.models._types import choice, created_at, intpk, updated_at
from crm.models.org import Building, Street

SIZES = ("large", "medium", "small", "micro")
TAG_KINDS = ("ownership", "statistical", "industry", "other")

enterprise_tag = Table(
    "enterprise_tag",
    Base.metadata,
    Column("enterprise_id", ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", ForeignKey("tag.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Tag(Base):
    """Ownership (民营/外资/国有) and statistical tags (四上企业, 专精特新 …)."""

    __tablename__ = "tag"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(30), unique=True)
    kind: Mapped[str] = mapped_column(choice(*TAG_KINDS, name="tag_kind"))


class Enterprise(Base):
    __tablename__ = "enterprise"
    # Coverage counts firms by street and building from this index alone (no table reads).
    __table_args__ = (Index("ix_enterprise_coverage", "street_id", "building_id", "active",
                            "is_above_scale"),)
    id: Mapped[intpk]
    uscc: Mapped[str] = mapped_column(String(18), unique=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    # Pinyin initials of the name (齐祥灯饰 -> QXDS) so a liaison can type "qxds".
    name_initials: Mapped[str | None] = mapped_column(String(100), index=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"), index=True)
    address: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(40))
    size: Mapped[str | None] = mapped_column(choice(*SIZES, name="enterprise_size"))
    registered_on: Mapped[dt.date | None]
    registered_capital: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))  # 万元
    legal_rep: Mapped[str | None] = mapped_column(String(40))
    business_scope: Mapped[str | None] = mapped_column(Text)
    is_above_scale: Mapped[bool] = mapped_column(default=False, index=True)  # 四上企业
    active: Mapped[bool] = mapped_column(default=True)
    # False: created by an appeal ledger naming a firm no roster holds (etl/kinds/appeals.py);
    # a liaison confirms it or merges it into the firm it really is (crm.services.firm_admin).
    confirmed: Mapped[bool] = mapped_column(default=True, server_default=true())
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    street: Mapped[Street | None] = relationship()
    building: Mapped[Building | None] = relationship()
    tags: Mapped[list[Tag]] = relationship(secondary=enterprise_tag)
    contacts: Mapped[list[Contact]] = relationship(back_populates="enterprise",
                                                   cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class EnterpriseAlias(Base):
    """A name or credit code a firm was known by before it was merged into another
    (crm.services.firm_admin.merge_enterprise): imports naming it find this firm."""

    __tablename__ = "enterprise_alias"
    id: Mapped[intpk]
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"),
                                               index=True)
    name: Mapped[str | None] = mapped_column(String(100))
    uscc: Mapped[str | None] = mapped_column(String(18))


class Contact(Base):
    __tablename__ = "contact"
    id: Mapped[intpk]
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id", ondelete="CASCADE"),
                                               index=True)
    name: Mapped[str] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(30))
    title: Mapped[str | None] = mapped_column(String(40))
    is_primary: Mapped[bool] = mapped_column(default=False)

    enterprise: Mapped[Enterprise] = relationship(back_populates="contacts")
