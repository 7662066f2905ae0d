"""Chambers of commerce and bank–enterprise financing matches (银企对接)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import JSON, Column, ForeignKey, Numeric, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.models._types import choice, created_at, intpk, updated_at
from crm.models.enterprise import Enterprise

COLLATERAL = ("credit", "mortgage", "guarantee", "pledge")
URGENCY = ("low", "normal", "high")
NEED_STATUSES = ("open", "matched", "funded", "closed")
MATCH_STATUSES = ("recommended", "contacted", "applied", "approved", "rejected", "disbursed")

chamber_member = Table(
    "chamber_member",
    Base.metadata,
    Column("chamber_id", ForeignKey("chamber.id", ondelete="CASCADE"), primary_key=True),
    Column("enterprise_id", ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)


class Chamber(Base):
    __tablename__ = "chamber"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(60), unique=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    founded_on: Mapped[dt.date | None]

    members: Mapped[list[Enterprise]] = relationship(secondary=chamber_member)


class BankProduct(Base):
    """A loan product in the catalogue; amounts in 万元, rates as fractions, terms in months."""

    __tablename__ = "bank_product"
    __table_args__ = (UniqueConstraint("bank", "name"),)
    id: Mapped[intpk]
    bank: Mapped[str] = mapped_column(String(60))
    name: Mapped[str] = mapped_column(String(80))
    amount_min: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_max: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    rate_min: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    rate_max: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    term_min: Mapped[int | None]
    term_max: Mapped[int | None]
    collateral: Mapped[list | None] = mapped_column(JSON)  # subset of COLLATERAL
    industries: Mapped[list | None] = mapped_column(JSON)  # empty = any
    sizes: Mapped[list | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)


class FinancingNeed(Base):
    __tablename__ = "financing_need"
    id: Mapped[intpk]
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chamber.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))  # 万元
    amount_approx: Mapped[bool] = mapped_column(default=False)  # "100余万元"
    purpose: Mapped[str | None] = mapped_column(String(200))
    term_months: Mapped[int | None]
    collateral: Mapped[str | None] = mapped_column(choice(*COLLATERAL, name="collateral"))
    urgency: Mapped[str] = mapped_column(choice(*URGENCY, name="urgency"), default="normal")
    requested_on: Mapped[dt.date]
    status: Mapped[str] = mapped_column(choice(*NEED_STATUSES, name="need_status"),
                                        default="open")
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]

    enterprise: Mapped[Enterprise] = relationship()
    matches: Mapped[list[FinancingMatch]] = relationship(back_populates="need")


class FinancingMatch(Base):
    __tablename__ = "financing_match"
    __table_args__ = (UniqueConstraint("need_id", "product_id"),)
    id: Mapped[intpk]
    need_id: Mapped[int] = mapped_column(ForeignKey("financing_need.id", ondelete="CASCADE"))
    product_id: Mapped[int] = mapped_column(ForeignKey("bank_product.id"), index=True)
    score: Mapped[float] = mapped_column(default=0.0)
    reasons: Mapped[list | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(choice(*MATCH_STATUSES, name="match_status"),
                                        default="recommended")
    approved_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    rejected_reason: Mapped[str | None] = mapped_column(String(200))
    disbursed_amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    disbursed_on: Mapped[dt.date | None]
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    need: Mapped[FinancingNeed] = relationship(back_populates="matches")
    product: Mapped[BankProduct] = relationship()
    events: Mapped[list[FinancingMatchEvent]] = relationship(order_by="FinancingMatchEvent.id")

    __mapper_args__ = {"version_id_col": version}


class FinancingMatchEvent(Base):
    __tablename__ = "financing_match_event"
    id: Mapped[intpk]
    match_id: Mapped[int] = mapped_column(ForeignKey("financing_match.id", ondelete="CASCADE"),
                                          index=True)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    amount: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    note: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[dt.datetime]
