"""催办 / 督办: who is reminded when, once per due date, and who hears of it; the queues."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.access import SYSTEM
from crm.errors import Forbidden, NotFound
from crm.models import AppealEvent, CalendarDay, Escalation, Notification
from crm.services import appeals as svc
from crm.services import dashboard, escalation, kpi, notifications
from crm.services.calendar import WorkCalendar
from crm.services.reference import set_setting

JJ, RS = "区交巡警支队", "区人力社保局"
MONDAY = dt.date(2026, 3, 2)  # received; 交通 is 7 calendar days: due Monday 9 March
DUE = MONDAY + dt.timedelta(days=7)


def dispatched(s, w, *, received: dt.date = MONDAY, accept: bool = False, firm=None):
    actor = w.liaison if firm is None else w.other_liaison
    a = svc.log_appeal(s, actor=actor, enterprise_id=(firm or w.firm).id,
                       category_id=w.traffic.id, title="楼宇周边车辆乱停乱放",
                       received_at=dt.datetime.combine(received, dt.time(9)))
    svc.dispatch(s, a.id, actor=actor, lead_unit_id=w.unit(JJ), co_unit_ids=[w.unit(RS)])
    if accept:
        svc.accept(s, a.id, actor=w.lead)
    s.flush()
    return a


def run(s, day: dt.date) -> dict:
    return escalation.escalate(s, actor=SYSTEM, as_of=day)


def events(s, appeal_id: int, action: str) -> int:
    return s.scalar(select(func.count()).select_from(AppealEvent).where(
        AppealEvent.appeal_id == appeal_id, AppealEvent.action == action))


def inbox(s, actor) -> list[tuple[str, str]]:
    return [(n["kind"], n["code"]) for n in notifications.list_notifications(s, actor=actor)]


def test_an_appeal_due_tomorrow_is_reminded_once_to_its_lead_units_clerks(session, world):
    s, w = session, world
    a = dispatched(s, w)
    assert a.due_date == DUE
    first = run(s, DUE - dt.timedelta(days=1))
    assert (first["remind"], first["supervise"], first["events"]) == (1, 0, 1)
    assert first["notifications"] == 1
    assert events(s, a.id, "remind") == 1
    assert inbox(s, w.lead) == [("remind", a.code)]
    assert inbox(s, w.co) == [] and inbox(s, w.official) == [] and inbox(s, w.liaison) == []
    # the same day again, and the due day itself: nothing new
    for day in (DUE - dt.timedelta(days=1), DUE):
        again = run(s, day)
        assert (again["remind"], again["supervise"], again["events"],
                again["notifications"]) == (0, 0, 0, 0)
    assert events(s, a.id, "remind") == 1


def test_two_days_before_the_due_date_is_too_early_and_a_replied_appeal_is_never_reminded(
        session, world):
    s, w = session, world
    early = dispatched(s, w)
    assert run(s, DUE - dt.timedelta(days=2))["remind"] == 0
    svc.accept(s, early.id, actor=w.lead)
    svc.reply(s, early.id, actor=w.lead, reply_text="已处置", solved=True)
    assert run(s, DUE - dt.timedelta(days=1))["remind"] == 0
    assert events(s, early.id, "remind") == 0


def test_an_appeal_without_a_lead_unit_is_not_reminded(session, world):
    s, w = session, world
    a = svc.log_appeal(s, actor=w.liaison, enterprise_id=w.firm.id, category_id=w.traffic.id,
                       title="未派单", received_at=dt.datetime.combine(MONDAY, dt.time(9)))
    assert run(s, DUE - dt.timedelta(days=1))["remind"] == 0
    assert events(s, a.id, "remind") == 0


def test_an_approved_extension_moves_the_due_date_and_may_earn_a_new_reminder(session, world):
    s, w = session, world
    a = dispatched(s, w, accept=True)
    assert run(s, DUE - dt.timedelta(days=1))["remind"] == 1
    svc.request_extension(s, a.id, actor=w.lead, days=5, reason="需协调")
    svc.decide_extension(s, a.id, actor=w.liaison, approve=True)
    new_due = DUE + dt.timedelta(days=5)
    assert a.due_date == new_due
    assert run(s, DUE)["remind"] == 0                      # the new due date is far
    assert run(s, new_due - dt.timedelta(days=1))["remind"] == 1
    assert events(s, a.id, "remind") == 2
    assert sorted(s.scalars(select(Escalation.due_date).where(
        Escalation.appeal_id == a.id))) == [DUE, new_due]


def test_overdue_by_the_setting_it_is_flagged_for_supervision_once(session, world):
    s, w = session, world
    a = dispatched(s, w)
    b = dispatched(s, w, firm=w.other_firm)
    assert run(s, DUE + dt.timedelta(days=2))["supervise"] == 0   # overdue by 2 days
    third = run(s, DUE + dt.timedelta(days=3))
    assert third["supervise"] == 2
    assert events(s, a.id, "supervise") == 1
    assert sorted(inbox(s, w.official)) == sorted([("supervise", a.code),
                                                   ("supervise", b.code)])
    assert inbox(s, w.liaison) == [("supervise", a.code)]        # their street only
    assert inbox(s, w.other_liaison) == [("supervise", b.code)]
    assert ("supervise", a.code) not in inbox(s, w.lead)
    assert run(s, DUE + dt.timedelta(days=10))["supervise"] == 0
    set_setting(s, "escalation.supervise_overdue_days", 1)
    c = dispatched(s, w, received=MONDAY + dt.timedelta(days=1))
    got = run(s, DUE + dt.timedelta(days=2))
    assert got["supervise"] == 1 and events(s, c.id, "supervise") == 1


def test_a_missed_reminder_is_not_sent_once_the_appeal_is_overdue(session, world):
    s, w = session, world
    a = dispatched(s, w)
    assert run(s, DUE + dt.timedelta(days=1))["remind"] == 0
    assert events(s, a.id, "remind") == 0


def test_thresholds_count_working_days_with_the_holiday_calendar(session, world):
    s, w = session, world
    set_setting(s, "appeals.working_days", True)
    # due Tuesday 10 March; Monday 9 March made a holiday: the last working day
    # before is Friday 6 March, where 1 working day before reaches Tuesday
    s.add(CalendarDay(day=dt.date(2026, 3, 9), is_working=False, note="测试假日"))
    s.flush()
    a = dispatched(s, w)
    a.due_date = dt.date(2026, 3, 10)
    s.flush()
    assert run(s, dt.date(2026, 3, 5))["remind"] == 0        # Thursday: 2 working days
    assert run(s, dt.date(2026, 3, 6))["remind"] == 1        # Friday
    # 督办 after 3 working days overdue: Wed 11, Thu 12, Fri 13 → flagged on Friday,
    # not on Thursday; with calendar days it would have been Friday too, so check the
    # weekend: due Thursday 12 March, Fri 13 / Mon 16 / Tue 17 → Tuesday, not Sunday
    b = dispatched(s, w)
    b.due_date = dt.date(2026, 3, 12)
    s.flush()
    assert run(s, dt.date(2026, 3, 15))["supervise"] == 1    # a (due 10th) only
    assert events(s, b.id, "supervise") == 0
    assert run(s, dt.date(2026, 3, 16))["supervise"] == 0
    assert run(s, dt.date(2026, 3, 17))["supervise"] == 1
    assert events(s, b.id, "supervise") == 1


def test_days_before_counts_working_days_back():
    cal = WorkCalendar({dt.date(2026, 3, 9): False})
    assert escalation.days_before(cal, dt.date(2026, 3, 17), 3, working=True) == \
        dt.date(2026, 3, 12)
    assert escalation.days_before(cal, dt.date(2026, 3, 10), 1, working=True) == \
        dt.date(2026, 3, 9)
    assert escalation.days_before(cal, dt.date(2026, 3, 10), 2, working=True) == \
        dt.date(2026, 3, 5)
    assert escalation.days_before(cal, dt.date(2026, 3, 10), 3, working=False) == \
        dt.date(2026, 3, 7)


def test_only_the_administrator_or_the_system_may_run_escalation(session, world):
    for who in (world.liaison, world.lead, world.official):
        with pytest.raises(Forbidden):
            escalation.escalate(session, actor=who, as_of=DUE)
    assert escalation.escalate(session, actor=world.admin, as_of=DUE)["remind"] == 0


def test_a_long_run_reports_progress_slice_by_slice(session, world):
    s, w = session, world
    for _ in range(5):
        dispatched(s, w)
    seen = []
    got = escalation.escalate(s, actor=SYSTEM, as_of=DUE - dt.timedelta(days=1), slice_size=2,
                              progress=lambda stage, done, total: seen.append((done, total)))
    assert got["remind"] == 5
    assert seen[0][0] == 0 and seen[-1][0] == seen[-1][1] and len(seen) >= 3


def test_notifications_are_the_recipients_own_and_can_be_marked_read(session, world):
    s, w = session, world
    dispatched(s, w)
    dispatched(s, w)
    run(s, DUE - dt.timedelta(days=1))
    assert notifications.unread_count(s, actor=w.lead) == 2
    mine = notifications.list_notifications(s, actor=w.lead)
    assert [n["read"] for n in mine] == [False, False]
    with pytest.raises(NotFound):
        notifications.mark_read(s, mine[0]["id"], actor=w.co)
    assert notifications.mark_read(s, mine[0]["id"], actor=w.lead) == 1
    assert notifications.unread_count(s, actor=w.lead) == 1
    assert len(notifications.list_notifications(s, actor=w.lead, unread_only=True)) == 1
    assert notifications.mark_all_read(s, actor=w.lead) == 1
    assert notifications.unread_count(s, actor=w.lead) == 0
    assert s.scalar(select(func.count()).select_from(Notification)) == 2


# --- the queues ---------------------------------------------------------------------------

def codes(queues, name):
    return {r["code"] for r in queues[name]["rows"]}


def test_a_liaisons_queues_hold_their_streets_work_with_counts(session, world):
    s, w = session, world
    today = DUE - dt.timedelta(days=1)
    soon = dispatched(s, w)                                         # due tomorrow
    late = dispatched(s, w, received=MONDAY - dt.timedelta(days=10))  # overdue
    ext = dispatched(s, w, accept=True)
    svc.request_extension(s, ext.id, actor=w.lead, days=3, reason="需要现场勘查")
    back = dispatched(s, w)
    svc.return_appeal(s, back.id, actor=w.lead, reason="不属于本单位职责")
    imported = svc.log_appeal(s, actor=w.liaison, enterprise_id=w.firm.id,
                              category_id=w.traffic.id, title="台账导入", channel="import",
                              received_at=dt.datetime.combine(MONDAY, dt.time(9)))
    other = dispatched(s, w, firm=w.other_firm)                     # another street
    q = dashboard.work_queues(s, actor=w.liaison, today=today)
    assert set(q) == {"extensions", "returned", "imported", "due_soon", "overdue"}
    assert codes(q, "extensions") == {ext.code}
    assert q["extensions"]["rows"][0]["extension_reason"] == "需要现场勘查"
    assert codes(q, "returned") == {back.code}
    assert q["returned"]["rows"][0]["return_reason"] == "不属于本单位职责"
    assert q["returned"]["rows"][0]["returned_by"] == JJ
    assert codes(q, "imported") == {imported.code}
    assert soon.code in codes(q, "due_soon") and other.code not in codes(q, "due_soon")
    assert codes(q, "overdue") == {late.code}
    assert all(q[name]["count"] == len(q[name]["rows"]) for name in q)
    assert dashboard.work_queues(s, actor=w.other_liaison, today=today)["overdue"]["count"] == 0


def test_a_handlers_queues_are_their_units_and_show_the_reminder(session, world):
    s, w = session, world
    today = DUE - dt.timedelta(days=1)
    to_sign = dispatched(s, w)
    to_reply = dispatched(s, w, accept=True, received=MONDAY + dt.timedelta(days=2))
    run(s, today)
    q = dashboard.work_queues(s, actor=w.lead, today=today)
    assert set(q) == {"to_sign", "to_reply", "due_soon"}
    assert codes(q, "to_sign") == {to_sign.code}
    assert codes(q, "to_reply") == {to_reply.code}
    assert codes(q, "due_soon") == {to_sign.code, to_reply.code}
    flagged = {r["code"]: r["reminded"] for r in q["due_soon"]["rows"]}
    assert flagged == {to_sign.code: True, to_reply.code: False}
    co = dashboard.work_queues(s, actor=w.co, today=today)        # co-handling unit
    assert co["to_sign"]["count"] == 0 and co["to_reply"]["count"] == 0
    assert co["due_soon"]["count"] == 2
    assert dashboard.work_queues(s, actor=w.outsider, today=today)["due_soon"]["count"] == 0


def test_officials_see_the_supervision_list(session, world):
    s, w = session, world
    a = dispatched(s, w)
    day = DUE + dt.timedelta(days=3)
    assert dashboard.work_queues(s, actor=w.official, today=day)["supervised"]["count"] == 0
    run(s, day)
    q = dashboard.work_queues(s, actor=w.official, today=day)
    assert codes(q, "supervised") == {a.code}
    assert q["supervised"]["rows"][0]["supervised"] is True
    assert dashboard.work_queues(s, actor=w.admin, today=day)["supervised"]["count"] == 1
    drill = kpi.drill(s, "overdue", actor=w.official, as_of=day)["rows"]
    assert [(r["code"], r["escalation"]) for r in drill] == [(a.code, ["supervise"])]
