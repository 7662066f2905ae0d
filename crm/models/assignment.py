"""包联送: who owns which building or firm (dated), and the visits they make."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, String, Table, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.models._types import choice, created_at, intpk
from crm.models.enterprise import Enterprise
from crm.models.people import Person

ASSIGNMENT_KINDS = ("leader_building", "office_enterprise", "cadre_enterprise")
VISIT_WAYS = ("onsite", "phone", "meeting")


class Assignment(Base):
    """Leader→building, office→enterprise or cadre→enterprise, from start to end.

    Ending an assignment sets `end_date`; rows are never deleted so the history
    of who served a firm survives a cadre leaving. A firm has at most one active
    cadre: a partial unique index enforces it in the database itself.
    """

    __tablename__ = "assignment"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'leader_building' AND person_id IS NOT NULL AND building_id IS NOT NULL)"
            " OR (kind = 'office_enterprise' AND unit_id IS NOT NULL AND enterprise_id IS NOT NULL)"
            " OR (kind = 'cadre_enterprise' AND person_id IS NOT NULL"
            " AND enterprise_id IS NOT NULL)",
            name="target_matches_kind",
        ),
        CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),
        Index("uq_assignment_one_active_cadre", "enterprise_id", unique=True,
              sqlite_where=text("kind = 'cadre_enterprise' AND end_date IS NULL"),
              postgresql_where=text("kind = 'cadre_enterprise' AND end_date IS NULL")),
        Index("ix_assignment_person_active", "person_id", "end_date"),
        # Covering for coverage counts: who serves which firm now, without reading rows.
        Index("ix_assignment_active_cadre", "enterprise_id", "person_id",
              sqlite_where=text("kind = 'cadre_enterprise' AND end_date IS NULL"),
              postgresql_where=text("kind = 'cadre_enterprise' AND end_date IS NULL")),
    )
    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(choice(*ASSIGNMENT_KINDS, name="assignment_kind"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    building_id: Mapped[int | None] = mapped_column(ForeignKey("building.id"))
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprise.id"))
    start_date: Mapped[dt.date]
    end_date: Mapped[dt.date | None]
    note: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[created_at]

    person: Mapped[Person | None] = relationship()
    enterprise: Mapped[Enterprise | None] = relationship()


visit_policy = Table(
    "visit_policy",
    Base.metadata,
    Column("visit_id", ForeignKey("visit.id", ondelete="CASCADE"), primary_key=True),
    Column("policy_id", ForeignKey("policy.id"), primary_key=True, index=True),
)


class Policy(Base):
    """A policy the district delivers to firms (送政策); the admin keeps the list."""

    __tablename__ = "policy"
    id: Mapped[intpk]
    title: Mapped[str] = mapped_column(String(120), unique=True)
    issuer: Mapped[str | None] = mapped_column(String(60))
    url: Mapped[str | None] = mapped_column(String(300))
    active: Mapped[bool] = mapped_column(default=True)


class Visit(Base):
    __tablename__ = "visit"
    __table_args__ = (Index("ix_visit_enterprise_date", "enterprise_id", "visited_on"),
                      Index("ix_visit_person_date", "person_id", "visited_on"),
                      # Covering for "visits in the last N days / per month" across firms.
                      Index("ix_visit_date", "visited_on", "enterprise_id", "person_id"))
    id: Mapped[intpk]
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    visited_on: Mapped[dt.date]
    way: Mapped[str] = mapped_column(choice(*VISIT_WAYS, name="visit_way"))
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[created_at]

    enterprise: Mapped[Enterprise] = relationship()
    person: Mapped[Person | None] = relationship()
    policies: Mapped[list[Policy]] = relationship(secondary=visit_policy)
