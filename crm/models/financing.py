"""Chambers of commerce, banks and their loan products, financing needs and the matches
that follow a need to the money (银企对接), and bank–enterprise meetings (银企对接会).

A need's status is not stored: it follows from its matches (`crm.financing_status`).
A match moves along the pipeline written once as a state machine
(`crm.lifecycle.FINANCING`); every move is an event with who and when.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Column,
    ForeignKey,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.models._types import choice, created_at, intpk, updated_at
from crm.models.enterprise import Enterprise

COLLATERAL = ("credit", "mortgage", "guarantee", "pledge")
URGENCY = ("low", "normal", "high")
MATCH_STATUSES = ("recommended", "contacted", "applied", "approved", "rejected", "disbursed")

chamber_member = Table(
    "chamber_member",
    Base.metadata,
    Column("chamber_id", ForeignKey("chamber.id", ondelete="CASCADE"), primary_key=True),
    Column("enterprise_id", ForeignKey("enterprise.id", ondelete="CASCADE"), primary_key=True,
           index=True),
)

meeting_bank = Table(
    "meeting_bank",
    Base.metadata,
    Column("meeting_id", ForeignKey("bank_meeting.id", ondelete="CASCADE"), primary_key=True),
    Column("bank_id", ForeignKey("bank.id"), primary_key=True, index=True),
)

meeting_firm = Table(
    "meeting_firm",
    Base.metadata,
    Column("meeting_id", ForeignKey("bank_meeting.id", ondelete="CASCADE"), primary_key=True),
    Column("enterprise_id", ForeignKey("enterprise.id"), primary_key=True, index=True),
)


class Chamber(Base):
    """A chamber of commerce; one first named by an import is created unconfirmed."""

    __tablename__ = "chamber"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(60), unique=True)
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    founded_on: Mapped[dt.date | None]
    confirmed: Mapped[bool] = mapped_column(default=True)

    members: Mapped[list[Enterprise]] = relationship(secondary=chamber_member)


class Bank(Base):
    """A bank (its branch in the city); one first named by an import is created unconfirmed."""

    __tablename__ = "bank"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(60), unique=True)
    confirmed: Mapped[bool] = mapped_column(default=True)

    products: Mapped[list[BankProduct]] = relationship(back_populates="bank")


class BankProduct(Base):
    """A loan product in the catalogue; amounts in 万元, rates as fractions, terms in months.
    A missing bound is open; an empty list of industries or sizes serves all."""

    __tablename__ = "bank_product"
    __table_args__ = (UniqueConstraint("bank_id", "name"),)
    id: Mapped[intpk]
    bank_id: Mapped[int] = mapped_column(ForeignKey("bank.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    amount_min: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_max: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    rate_min: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    rate_max: Mapped[Decimal | None] = mapped_column(Numeric(6, 4))
    term_min: Mapped[int | None]
    term_max: Mapped[int | None]
    collateral: Mapped[list | None] = mapped_column(JSON)  # subset of COLLATERAL; empty = any
    industries: Mapped[list | None] = mapped_column(JSON)  # empty = any
    sizes: Mapped[list | None] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    bank: Mapped[Bank] = relationship(back_populates="products")

    __mapper_args__ = {"version_id_col": version}


class BankMeeting(Base):
    """A bank–enterprise meeting (银企对接会 / 政企座谈会): who came, and the needs raised there."""

    __tablename__ = "bank_meeting"
    id: Mapped[intpk]
    held_on: Mapped[dt.date]
    title: Mapped[str] = mapped_column(String(100))
    place: Mapped[str | None] = mapped_column(String(100))
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chamber.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[created_at]

    banks: Mapped[list[Bank]] = relationship(secondary=meeting_bank)
    firms: Mapped[list[Enterprise]] = relationship(secondary=meeting_firm)


class FinancingNeed(Base):
    """A firm's need for money (万元). Where it came from: typed in, a visit, an appeal of
    category 融资, a meeting, or a sheet. Withdrawn by the firm is the one state kept by hand."""

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
    note: Mapped[str | None] = mapped_column(Text)
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("bank_meeting.id"), index=True)
    withdrawn_on: Mapped[dt.date | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[created_at]
    version: Mapped[int] = mapped_column(default=1)

    enterprise: Mapped[Enterprise] = relationship()
    matches: Mapped[list[FinancingMatch]] = relationship(back_populates="need")

    __mapper_args__ = {"version_id_col": version}


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
    approved_on: Mapped[dt.date | None]
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
