"""Reminders and escalation (催办 / 督办) and the in-app notifications they send.

`appeal_escalation` remembers each 催办 or 督办 an appeal earned, for the due date it
was raised against: the unique key (appeal, kind, due date) is what makes
`python -m crm escalate` idempotent, and an extension that moves the due date may
earn a new one. `notification` is one message to one login, read or not.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base
from crm.models._types import choice, created_at, intpk
from crm.rules import ESCALATION_KINDS


class Escalation(Base):
    __tablename__ = "appeal_escalation"
    __table_args__ = (UniqueConstraint("appeal_id", "kind", "due_date"),)
    id: Mapped[intpk]
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(choice(*ESCALATION_KINDS, name="escalation_kind"))
    due_date: Mapped[dt.date]                   # the due date it was raised against
    as_of: Mapped[dt.date]                      # the run's date
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))      # lead unit then
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    at: Mapped[dt.datetime]


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_user_read", "user_id", "read_at"),
                      UniqueConstraint("user_id", "escalation_id"))
    id: Mapped[intpk]
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(choice(*ESCALATION_KINDS, name="notification_kind"))
    appeal_id: Mapped[int] = mapped_column(ForeignKey("appeal.id", ondelete="CASCADE"),
                                           index=True)
    escalation_id: Mapped[int | None] = mapped_column(
        ForeignKey("appeal_escalation.id", ondelete="CASCADE"))
    created_at: Mapped[created_at]
    read_at: Mapped[dt.datetime | None]
