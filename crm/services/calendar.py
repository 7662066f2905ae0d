"""Due dates in calendar days or working days (holidays and 调休 make-up days as data)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.models import CalendarDay


class WorkCalendar:
    """Mon–Fri are working days unless the calendar table says otherwise."""

    def __init__(self, exceptions: dict[dt.date, bool] | None = None) -> None:
        self.exceptions = exceptions or {}

    @classmethod
    def load(cls, session: Session) -> WorkCalendar:
        rows = session.execute(select(CalendarDay.day, CalendarDay.is_working)).all()
        return cls(dict(rows))

    def is_working(self, day: dt.date) -> bool:
        if day in self.exceptions:
            return self.exceptions[day]
        return day.weekday() < 5

    def add(self, start: dt.date, days: int, *, working_days: bool) -> dt.date:
        """The day `days` days after `start` (not counting start itself)."""
        if not working_days:
            return start + dt.timedelta(days=days)
        day, left = start, days
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_working(day):
                left -= 1
        return day
