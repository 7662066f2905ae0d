"""The admin edits holidays and make-up days; due dates follow them."""

from __future__ import annotations

import datetime as dt

import pytest

from crm.errors import Forbidden
from crm.services import appeals, calendar_admin


def test_an_admin_adds_a_holiday_and_working_day_limits_skip_it(session, world):
    calendar_admin.set_working_days(session, True, actor=world.admin)
    # 2026-11-30 is a Monday; make Tue Dec 1 a holiday.
    calendar_admin.set_calendar_day(session, dt.date(2026, 12, 1), False, "测试假日",
                                    actor=world.admin)
    a = appeals.log_appeal(session, actor=world.liaison, enterprise_id=world.firm.id,
                           category_id=world.traffic.id, title="x",
                           received_at=dt.datetime(2026, 11, 30, 9))
    # 7 working days after Mon 11-30, skipping Tue 12-1 and the weekend: Wed 12-10.
    assert a.due_date == dt.date(2026, 12, 10)
    days = calendar_admin.calendar_days(session, 2026)
    assert {"day": dt.date(2026, 12, 1), "is_working": False, "note": "测试假日"} in days


def test_removing_a_day_restores_the_normal_week(session, world):
    calendar_admin.set_calendar_day(session, dt.date(2026, 12, 5), True, actor=world.admin)
    calendar_admin.remove_calendar_day(session, dt.date(2026, 12, 5), actor=world.admin)
    assert dt.date(2026, 12, 5) not in {d["day"] for d in calendar_admin.calendar_days(
        session, 2026)}


def test_only_an_admin_edits_the_calendar(session, world):
    with pytest.raises(Forbidden):
        calendar_admin.set_calendar_day(session, dt.date(2026, 12, 1), False,
                                        actor=world.liaison)
    with pytest.raises(Forbidden):
        calendar_admin.set_working_days(session, True, actor=world.official)
