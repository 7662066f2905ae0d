"""The admin's working-day calendar: holidays and 调休 make-up days, and the switch
that makes time limits count working days instead of calendar days."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.access import require
from crm.auth import Actor
from crm.db import today
from crm.errors import ValidationError
from crm.models import CalendarDay
from crm.services import audit
from crm.services.reference import get_setting, set_setting


def _admin(actor: Actor | None) -> None:
    require(actor, "reference.manage")


def current_year() -> int:
    return today().year


def calendar_days(session: Session, year: int, *, actor: Actor | None = None) -> list[dict]:
    stmt = (select(CalendarDay).where(CalendarDay.day >= dt.date(year, 1, 1),
                                      CalendarDay.day <= dt.date(year, 12, 31))
            .order_by(CalendarDay.day))
    return [{"day": d.day, "is_working": d.is_working, "note": d.note or ""}
            for d in session.scalars(stmt)]


def set_calendar_day(session: Session, day: dt.date, is_working: bool, note: str = "", *,
                     actor: Actor | None) -> CalendarDay:
    """Mark a day as a holiday or a make-up working day (an exception to Mon–Fri)."""
    _admin(actor)
    if not isinstance(day, dt.date):
        raise ValidationError("not a date", key="calendar.bad_day")
    row = session.get(CalendarDay, day)
    if row is None:
        row = CalendarDay(day=day, is_working=bool(is_working), note=note.strip() or None)
        session.add(row)
    else:
        row.is_working, row.note = bool(is_working), note.strip() or None
    audit.record(session, actor, "calendar.set", "calendar_day", None, day=day.isoformat(),
                 is_working=bool(is_working))
    session.flush()
    return row


def remove_calendar_day(session: Session, day: dt.date, *, actor: Actor | None) -> None:
    _admin(actor)
    row = session.get(CalendarDay, day)
    if row is not None:
        session.delete(row)
        audit.record(session, actor, "calendar.remove", "calendar_day", None,
                     day=day.isoformat())


def working_days_enabled(session: Session, *, actor: Actor | None = None) -> bool:
    return bool(get_setting(session, "appeals.working_days", False))


def set_working_days(session: Session, enabled: bool, *, actor: Actor | None) -> bool:
    """Time limits in working days (skipping weekends and holidays) or in calendar days."""
    _admin(actor)
    set_setting(session, "appeals.working_days", bool(enabled))
    audit.record(session, actor, "setting.set", "setting", None, key="appeals.working_days",
                 value=bool(enabled))
    return bool(enabled)
