"""Job fairs (春风行动) and each firm's funnel: positions → intent → check → hired."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.models._types import intpk
from crm.models.enterprise import Enterprise


class JobFair(Base):
    __tablename__ = "job_fair"
    __table_args__ = (UniqueConstraint("name", "held_on"),)
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(100))
    held_on: Mapped[dt.date]
    place: Mapped[str | None] = mapped_column(String(100))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    note: Mapped[str | None] = mapped_column(Text)

    participations: Mapped[list[FairParticipation]] = relationship(back_populates="fair")


class FairParticipation(Base):
    """A firm at a fair with its funnel counts (applicants ≥ intents ≥ checks ≥ hired)."""

    __tablename__ = "fair_participation"
    __table_args__ = (UniqueConstraint("fair_id", "enterprise_id"),)
    id: Mapped[intpk]
    fair_id: Mapped[int] = mapped_column(ForeignKey("job_fair.id", ondelete="CASCADE"))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    applicants: Mapped[int] = mapped_column(default=0)
    intents: Mapped[int] = mapped_column(default=0)
    medical_checks: Mapped[int] = mapped_column(default=0)
    hired: Mapped[int] = mapped_column(default=0)
    retained_90d: Mapped[int | None]

    fair: Mapped[JobFair] = relationship(back_populates="participations")
    enterprise: Mapped[Enterprise] = relationship()
    positions: Mapped[list[FairPosition]] = relationship(back_populates="participation",
                                                         cascade="all, delete-orphan")


class FairPosition(Base):
    __tablename__ = "fair_position"
    id: Mapped[intpk]
    participation_id: Mapped[int] = mapped_column(
        ForeignKey("fair_participation.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(60))
    headcount: Mapped[int] = mapped_column(default=1)
    pay_min: Mapped[int | None]  # yuan per month
    pay_max: Mapped[int | None]

    participation: Mapped[FairParticipation] = relationship(back_populates="positions")
