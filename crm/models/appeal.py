"""Appeals (企业诉求) and their 12345-style closed loop.

The row holds the current state and the facts KPIs need (received, due,
accepted, replied, solved, satisfaction); `appeal_event` holds the full
timeline. `version` is the optimistic lock: a stale edit is refused.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.models._types import choice, created_at, intpk, updated_at
from crm.models.enterprise import Enterprise
from crm.models.org import Street, Unit

STATUSES = ("received", "dispatched", "accepted", "replied", "callback", "archived", "merged")
CHANNELS = ("visit", "phone", "meeting", "hotline", "import", "online")
PRIORITIES = ("normal", "urgent")
SATISFACTION = ("satisfied", "basic", "unsatisfied")
UNIT_ROLES = ("lead", "co")
EXTENSION_STATUSES = ("pending", "approved", "rejected")


class Category(Base):
    """An appeal category with its time limit (融资 15 days, 交通 7 …)."""

    __tablename__ = "category"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(30), unique=True)
    limit_days: Mapped[int]
    working_days: Mapped[bool] = mapped_column(default=False)
    sort_order: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Appeal(Base):
    __tablename__ = "appeal"
    __table_args__ = (
        Index("ix_appeal_street_received", "street_id", "received_at"),
        # Covers the overdue count of the KPI pages (open appeals by due date, period,
        # street, lead unit and category) without touching the table rows.
        Index("ix_appeal_status_due", "status", "due_date", "received_at", "street_id",
              "lead_unit_id", "category_id"),
        Index("ix_appeal_lead_unit_status", "lead_unit_id", "status"),
        # The importer's natural key: a ledger's number names the same appeal every time.
        Index("ix_appeal_external_ref", "external_ref", unique=True),
    )
    id: Mapped[intpk]
    # The QF number (crm.rules.appeal_code): the appeal's name in the app, URLs and Odoo.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    # An imported appeal's number in its ledger (or the importer's derived DR-… key).
    external_ref: Mapped[str | None] = mapped_column(String(40))
    enterprise_id: Mapped[int] = mapped_column(ForeignKey("enterprise.id"), index=True)
    # The firm's street when logged: scope and rankings must not move if the firm moves.
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    channel: Mapped[str] = mapped_column(choice(*CHANNELS, name="appeal_channel"))
    priority: Mapped[str] = mapped_column(choice(*PRIORITIES, name="appeal_priority"),
                                          default="normal")
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    contact_name: Mapped[str | None] = mapped_column(String(40))
    contact_phone: Mapped[str | None] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(choice(*STATUSES, name="appeal_status"))
    received_at: Mapped[dt.datetime]
    due_date: Mapped[dt.date]
    extension_days: Mapped[int] = mapped_column(default=0)
    lead_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    dispatched_at: Mapped[dt.datetime | None]
    accepted_at: Mapped[dt.datetime | None]
    replied_at: Mapped[dt.datetime | None]
    reply_text: Mapped[str | None] = mapped_column(Text)
    solved: Mapped[bool | None]  # the unit's own word when replying
    callback_at: Mapped[dt.datetime | None]
    satisfaction: Mapped[str | None] = mapped_column(choice(*SATISFACTION, name="satisfaction"))
    callback_solved: Mapped[bool | None]  # the firm's word at callback: what 解决率 counts
    archived_at: Mapped[dt.datetime | None]
    reopen_count: Mapped[int] = mapped_column(default=0)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("appeal.id"))
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visit.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[created_at]
    updated_at: Mapped[updated_at]

    enterprise: Mapped[Enterprise] = relationship()
    street: Mapped[Street | None] = relationship()
    category: Mapped[Category] = relationship()
    lead_unit: Mapped[Unit | None] = relationship(foreign_keys=[lead_unit_id])
    units: Mapped[list[AppealUnit]] = relationship(back_populates="appeal",
                                                   cascade="all, delete-orphan")
    events: Mapped[list[AppealEvent]] = relationship(back_populates="appeal",
                                                     order_by="AppealEvent.id",
                                                     cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}


class AppealUnit(Base):
    """A unit handling an appeal: one lead (主办) and any number of co-handlers (协办)."""

    __tablename__ = "appeal_unit"
    __table_args__ = (UniqueConstraint("appeal_id", "unit_id"),)
    id: Mapped[intpk]
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"), index=True)
    role: Mapped[str] = mapped_column(choice(*UNIT_ROLES, name="appeal_unit_role"))
    active: Mapped[bool] = mapped_column(default=True)
    assigned_at: Mapped[created_at]

    appeal: Mapped[Appeal] = relationship(back_populates="units")
    unit: Mapped[Unit] = relationship()


class AppealEvent(Base):
    """One step of the timeline: who did what, when, from which state to which."""

    __tablename__ = "appeal_event"
    id: Mapped[intpk]
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"),
                                           index=True)
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str | None] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict | None] = mapped_column(JSON)
    at: Mapped[dt.datetime]

    appeal: Mapped[Appeal] = relationship(back_populates="events")


class Extension(Base):
    """A unit's request for more time (延期), approved or rejected by the liaison/admin."""

    __tablename__ = "appeal_extension"
    id: Mapped[intpk]
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"),
                                           index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    days: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(choice(*EXTENSION_STATUSES, name="extension_status"),
                                        default="pending")
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    requested_at: Mapped[created_at]
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[dt.datetime | None]
