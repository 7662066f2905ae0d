"""Job fairs (春风行动): a fair, the firms that sign up, their positions and each position's
hiring funnel as dated updates; and the hiring needs (用工需求) firms raise between fairs.

The funnel of a position is never overwritten: every update is a row dated the day its
figures were true (`FairPositionUpdate.as_of`), so the funnel can be read as of any
date (the latest update on or before it). The order of the stages is a rule in
`crm.rules` (funnel_break), checked by the service, the importer and the form.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.models._types import created_at, intpk
from crm.models.enterprise import Enterprise

# Stored as plain VARCHARs (checked by crm.rules / crm.lifecycle): migration 0009 adds
# them to existing tables in place, where SQLite cannot add a CHECK constraint.
FAIR_KINDS = ("onsite", "online", "special")                   # 现场 / 网络 / 专场
PARTICIPATION_STATUSES = ("signed_up", "attended", "withdrawn")  # crm.lifecycle.PARTICIPATION
HIRING_NEED_STATUSES = ("open", "invited", "met", "closed")      # crm.lifecycle.HIRING_NEED


class JobFair(Base):
    __tablename__ = "job_fair"
    __table_args__ = (UniqueConstraint("name", "held_on"),)
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(100))
    held_on: Mapped[dt.date]
    place: Mapped[str | None] = mapped_column(String(100))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))  # organising street
    kind: Mapped[str] = mapped_column(String(24), default="onsite", server_default="onsite")
    note: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    participations: Mapped[list[FairParticipation]] = relationship(back_populates="fair")

    __mapper_args__ = {"version_id_col": version}


class FairParticipation(Base):
    """A firm signed up to a fair (its positions hold the funnel)."""

    __tablename__ = "fair_participation"
    __table_args__ = (UniqueConstraint("fair_id", "enterprise_id"),)
    id: Mapped[intpk]
    fair_id: Mapped[int] = mapped_column(ForeignKey("job_fair.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default="signed_up",
                                        server_default="signed_up")
    signed_up_on: Mapped[dt.date | None]

    fair: Mapped[JobFair] = relationship(back_populates="participations")
    enterprise: Mapped[Enterprise] = relationship()
    positions: Mapped[list[FairPosition]] = relationship(back_populates="participation",
                                                         cascade="all, delete-orphan")


class FairPosition(Base):
    """A position a firm offers at a fair. No pay range (both ends None) with
    `pay_negotiable` is 面议; no range without it is "not said"."""

    __tablename__ = "fair_position"
    id: Mapped[intpk]
    participation_id: Mapped[int] = mapped_column(
        ForeignKey("fair_participation.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(60))
    headcount: Mapped[int] = mapped_column(default=1)
    pay_min: Mapped[int | None]  # yuan per month
    pay_max: Mapped[int | None]
    pay_negotiable: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    requirements: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    participation: Mapped[FairParticipation] = relationship(back_populates="positions")
    updates: Mapped[list[FairPositionUpdate]] = relationship(
        back_populates="position", cascade="all, delete-orphan",
        order_by="FairPositionUpdate.as_of")

    __mapper_args__ = {"version_id_col": version}


class FairPositionUpdate(Base):
    """A position's whole funnel as it stood on `as_of` (one update per position and day).
    `retained_90d` is None until someone counts it, which is allowed only 90 days after
    the fair."""

    __tablename__ = "fair_position_update"
    __table_args__ = (UniqueConstraint("position_id", "as_of"),)
    id: Mapped[intpk]
    position_id: Mapped[int] = mapped_column(
        ForeignKey("fair_position.id", ondelete="CASCADE"), index=True)
    as_of: Mapped[dt.date]
    applicants: Mapped[int] = mapped_column(default=0)
    intents: Mapped[int] = mapped_column(default=0)
    medical_checks: Mapped[int] = mapped_column(default=0)
    hired: Mapped[int] = mapped_column(default=0)
    retained_90d: Mapped[int | None]
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[created_at]

    position: Mapped[FairPosition] = relationship(back_populates="updates")


class HiringNeed(Base):
    """用工需求: a firm asking for workers between fairs (from a 用工 appeal or entered
    directly); the next fair's invitation list starts from the open ones."""

    __tablename__ = "hiring_need"
    id: Mapped[intpk]
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    headcount: Mapped[int | None]
    positions: Mapped[str | None] = mapped_column(Text)
    requested_on: Mapped[dt.date]
    appeal_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"), unique=True)
    status: Mapped[str] = mapped_column(String(24), default="open")
    fair_id: Mapped[int | None] = mapped_column(ForeignKey("job_fair.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[created_at]
    version: Mapped[int] = mapped_column(default=1)

    enterprise: Mapped[Enterprise] = relationship()

    __mapper_args__ = {"version_id_col": version}
