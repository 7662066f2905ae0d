"""Editable settings and the working-day calendar."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base
from crm.models._types import updated_at


class Setting(Base):
    """A key/value setting an admin edits (KPI weights, signing limit, district name…)."""

    __tablename__ = "setting"
    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[updated_at]


class CalendarDay(Base):
    """An exception to the Mon–Fri week: a holiday, or a 调休 make-up working day."""

    __tablename__ = "calendar_day"
    day: Mapped[dt.date] = mapped_column(primary_key=True)
    is_working: Mapped[bool]
    note: Mapped[str | None] = mapped_column(String(40))
