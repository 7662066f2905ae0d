"""The appeal closed loop: every transition, allowed and refused, per role."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError

from crm.db import session_factory
from crm.errors import Conflict, CrmError, Forbidden, InvalidTransition, NotFound, ValidationError
from crm.models import Appeal, AppealEvent, Extension
from crm.services import appeals as svc

JJ, RS, JR = "区交巡警支队", "区人力社保局", "区金融办"


def new(s, w, **kw) -> Appeal:
    kw.setdefault("title", "楼宇周边车辆乱停乱放")
    return svc.log_appeal(s, actor=w.liaison, enterprise_id=w.firm.id,
                          category_id=w.traffic.id, **kw)


def bring(s, w, state: str, *, satisfaction="satisfied", solved=True) -> Appeal:
    """An appeal of 江北城街道 in `state`, lead 区交巡警支队, co 区人力社保局."""
    a = new(s, w)
    if state == "received":
        return a
    if state == "merged":
        target = new(s, w)
        return svc.merge(s, a.id, actor=w.liaison, into_id=target.id)
    svc.dispatch(s, a.id, actor=w.liaison, lead_unit_id=w.unit(JJ), co_unit_ids=[w.unit(RS)])
    if state == "dispatched":
        return a
    svc.accept(s, a.id, actor=w.lead)
    if state == "accepted":
        return a
    svc.reply(s, a.id, actor=w.lead, reply_text="已现场处置", solved=True)
    if state == "replied":
        return a
    svc.callback(s, a.id, actor=w.liaison, satisfaction=satisfaction, solved=solved)
    if state == "callback":
        return a
    return svc.archive(s, a.id, actor=w.liaison)


STATES = ["received", "dispatched", "accepted", "replied", "callback", "archived", "merged"]
ACTORS = ["liaison", "other_liaison", "lead", "co", "outsider", "admin", "official", "cadre"]
DESK = {"liaison", "admin"}
LEAD = {"lead", "admin"}
# Written out by hand from DOMAIN.md §1, independently of crm.lifecycle.
EXPECTED = {
    "dispatch": {"received": DESK},
    "reassign": {"dispatched": DESK},
    "accept": {"dispatched": LEAD},
    "return": {"dispatched": LEAD, "accepted": LEAD},
    "reply": {"accepted": LEAD},
    "request_extension": {"dispatched": LEAD, "accepted": LEAD},
    "callback": {"replied": DESK},
    "archive": {"callback": DESK},
    "merge": {"received": DESK, "dispatched": DESK, "accepted": DESK},
    "note": {"received": DESK, "dispatched": DESK | {"lead", "co"},
             "accepted": DESK | {"lead", "co"}, "replied": DESK | {"lead", "co"},
             "callback": DESK | {"lead", "co"}},
}


def attempt(s, w, action: str, appeal: Appeal, who: str):
    actor = getattr(w, who)
    if action in ("dispatch", "reassign"):
        return getattr(svc, action)(s, appeal.id, actor=actor, lead_unit_id=w.unit(JJ))
    if action == "accept":
        return svc.accept(s, appeal.id, actor=actor)
    if action == "return":
        return svc.return_appeal(s, appeal.id, actor=actor, reason="不属于本单位职责")
    if action == "reply":
        return svc.reply(s, appeal.id, actor=actor, reply_text="已办理", solved=True)
    if action == "request_extension":
        return svc.request_extension(s, appeal.id, actor=actor, days=5, reason="需协调")
    if action == "callback":
        return svc.callback(s, appeal.id, actor=actor, satisfaction="satisfied", solved=True)
    if action == "archive":
        return svc.archive(s, appeal.id, actor=actor)
    if action == "merge":
        target = new(s, w)
        return svc.merge(s, appeal.id, actor=actor, into_id=target.id)
    if action == "note":
        return svc.add_note(s, appeal.id, actor=actor, note="已电话联系企业")
    raise AssertionError(action)


@pytest.mark.parametrize("action", sorted(EXPECTED))
def test_each_action_is_allowed_exactly_for_the_roles_and_states_the_domain_gives(
        session, world, action):
    for state in STATES:
        for who in ACTORS:
            appeal = bring(session, world, state)
            session.commit()
            events_before = len(appeal.events)
            status_before = appeal.status
            allowed = who in EXPECTED[action].get(state, set())
            try:
                attempt(session, world, action, appeal, who)
                session.commit()
                outcome = True
            except CrmError as err:
                session.rollback()
                outcome = False
                assert isinstance(err, (Forbidden, NotFound, InvalidTransition)), err
            assert outcome == allowed, f"{action} from {state} by {who}"
            session.expire_all()
            fresh = session.get(Appeal, appeal.id)
            if not allowed:
                assert fresh.status == status_before
                assert len(fresh.events) == events_before


def test_logging_sets_the_due_date_from_the_category_limit_and_records_the_receipt(session,
                                                                                 world):
    received = dt.datetime(2026, 3, 2, 10, 0)
    a = new(session, world, received_at=received)
    assert a.status == "received"
    assert a.due_date == dt.date(2026, 3, 9)  # 交通: 7 calendar days
    assert a.code == f"QF2026{a.id:07d}"
    assert [(e.action, e.from_status, e.to_status) for e in a.events] == [
        ("receive", None, "received")]
    assert a.street_id == world.firm.street_id


def test_working_day_limits_skip_weekends_holidays_and_count_make_up_days(session, world):
    world.traffic.working_days = True
    # 2026-09-30 (Wed) + 7 working days: Oct 1–7 holiday, Oct 10 (Sat) is a make-up day.
    a = new(session, world, received_at=dt.datetime(2026, 9, 30, 9, 0))
    assert a.due_date == dt.date(2026, 10, 15)  # Oct 8, 9, 10 (make-up), 12, 13, 14, 15


def test_a_liaison_cannot_log_for_a_firm_of_another_street(session, world):
    with pytest.raises(NotFound):
        svc.log_appeal(session, actor=world.liaison, enterprise_id=world.other_firm.id,
                       category_id=world.traffic.id, title="x")


@pytest.mark.parametrize("who", ["lead", "official"])
def test_handlers_and_officials_do_not_log_appeals(session, world, who):
    with pytest.raises(Forbidden):
        svc.log_appeal(session, actor=getattr(world, who), enterprise_id=world.firm.id,
                       category_id=world.traffic.id, title="x")


def test_an_empty_title_is_refused(session, world):
    with pytest.raises(ValidationError):
        new(session, world, title="  ")


def test_control_characters_typed_into_an_appeal_are_dropped_not_stored(session, world):
    """A NUL pasted into a form would make PostgreSQL refuse the row with a traceback."""
    a = new(session, world, title="停车\x00难", description="a\x07b\nc")
    session.flush()
    assert (a.title, a.description) == ("停车难", "ab\nc")


def test_dispatch_names_one_lead_and_co_handling_units_who_all_see_it(session, world):
    a = bring(session, world, "dispatched")
    roles = {au.unit.name: au.role for au in a.units if au.active}
    assert roles == {JJ: "lead", RS: "co"}
    assert svc.get_appeal(session, a.id, world.co).id == a.id
    with pytest.raises(NotFound):
        svc.get_appeal(session, a.id, world.outsider)


def test_only_the_lead_unit_replies_while_co_handlers_add_notes(session, world):
    a = bring(session, world, "accepted")
    with pytest.raises(Forbidden):
        svc.reply(session, a.id, actor=world.co, reply_text="x", solved=True)
    svc.add_note(session, a.id, actor=world.co, note="协办单位已到场")
    assert a.events[-1].action == "note" and a.events[-1].unit_id == world.unit(RS)


def test_a_returned_appeal_goes_back_to_received_and_can_be_redispatched(session, world):
    a = bring(session, world, "accepted")
    svc.return_appeal(session, a.id, actor=world.lead, reason="应由区人力社保局办理")
    assert (a.status, a.lead_unit_id) == ("received", None)
    assert a.events[-1].note == "应由区人力社保局办理"
    with pytest.raises(NotFound):  # the unit no longer sees it
        svc.get_appeal(session, a.id, world.lead)
    svc.dispatch(session, a.id, actor=world.liaison, lead_unit_id=world.unit(RS))
    assert a.lead_unit_id == world.unit(RS) and a.status == "dispatched"
    svc.accept(session, a.id, actor=world.co)


def test_a_return_needs_a_reason(session, world):
    a = bring(session, world, "dispatched")
    with pytest.raises(ValidationError):
        svc.return_appeal(session, a.id, actor=world.lead, reason=" ")


def test_reassign_changes_the_lead_before_signing(session, world):
    a = bring(session, world, "dispatched")
    svc.reassign(session, a.id, actor=world.liaison, lead_unit_id=world.unit(JR))
    assert a.lead_unit_id == world.unit(JR)
    with pytest.raises(NotFound):
        svc.accept(session, a.id, actor=world.lead)
    svc.accept(session, a.id, actor=world.outsider)


def test_replied_and_solved_are_separate_facts(session, world):
    a = bring(session, world, "accepted")
    svc.reply(session, a.id, actor=world.lead, reply_text="已答复，需长期协调", solved=False)
    assert a.status == "replied" and a.replied_at is not None and a.solved is False


def test_an_approved_extension_moves_the_due_date_and_a_rejected_one_does_not(session, world):
    a = bring(session, world, "accepted")
    due = a.due_date
    svc.request_extension(session, a.id, actor=world.lead, days=5, reason="需多部门协调")
    with pytest.raises(InvalidTransition):
        svc.request_extension(session, a.id, actor=world.lead, days=3, reason="again")
    with pytest.raises(Forbidden):
        svc.decide_extension(session, a.id, actor=world.lead, approve=True)
    svc.decide_extension(session, a.id, actor=world.liaison, approve=True)
    assert a.due_date == due + dt.timedelta(days=5) and a.extension_days == 5
    svc.request_extension(session, a.id, actor=world.lead, days=3, reason="再延")
    svc.decide_extension(session, a.id, actor=world.liaison, approve=False)
    assert a.due_date == due + dt.timedelta(days=5)
    statuses = session.scalars(select(Extension.status).where(Extension.appeal_id == a.id)
                               .order_by(Extension.id)).all()
    assert statuses == ["approved", "rejected"]


def test_deciding_without_a_pending_request_is_refused(session, world):
    a = bring(session, world, "accepted")
    with pytest.raises(InvalidTransition):
        svc.decide_extension(session, a.id, actor=world.liaison, approve=True)


@pytest.mark.parametrize(("satisfaction", "solved"), [("unsatisfied", True),
                                                       ("satisfied", False)])
def test_an_unsatisfied_or_unsolved_callback_can_reopen_to_the_same_unit(session, world,
                                                                        satisfaction, solved):
    a = bring(session, world, "callback", satisfaction=satisfaction, solved=solved)
    assert "reopen" in svc.actions_for(session, a, world.liaison)
    svc.reopen(session, a.id, actor=world.liaison, note="企业不满意，重办")
    assert (a.status, a.reopen_count, a.lead_unit_id) == ("dispatched", 1, world.unit(JJ))
    assert a.replied_at is None and a.satisfaction is None
    assert a.due_date >= a.received_at.date()
    svc.accept(session, a.id, actor=world.lead)


def test_a_satisfied_and_solved_callback_cannot_reopen(session, world):
    a = bring(session, world, "callback")
    assert "reopen" not in svc.actions_for(session, a, world.liaison)
    with pytest.raises(InvalidTransition):
        svc.reopen(session, a.id, actor=world.liaison)


def test_archived_is_final(session, world):
    a = bring(session, world, "archived")
    assert svc.actions_for(session, a, world.admin) == []


def test_merge_folds_a_duplicate_into_an_appeal_of_the_same_firm(session, world):
    original, duplicate = new(session, world), new(session, world)
    svc.merge(session, duplicate.id, actor=world.liaison, into_id=original.id)
    assert duplicate.status == "merged" and duplicate.merged_into_id == original.id
    assert original.events[-1].action == "absorb"


def test_merge_refuses_another_firm_itself_and_a_final_target(session, world):
    a = new(session, world)
    other = svc.log_appeal(session, actor=world.admin, enterprise_id=world.other_firm.id,
                           category_id=world.traffic.id, title="y")
    with pytest.raises(ValidationError):
        svc.merge(session, a.id, actor=world.admin, into_id=other.id)
    with pytest.raises(ValidationError):
        svc.merge(session, a.id, actor=world.liaison, into_id=a.id)
    done = bring(session, world, "archived")
    with pytest.raises(InvalidTransition):
        svc.merge(session, a.id, actor=world.liaison, into_id=done.id)


def test_a_stale_version_is_refused_with_a_conflict(session, world):
    a = bring(session, world, "dispatched")
    seen = a.version
    svc.accept(session, a.id, actor=world.lead, version=seen)
    with pytest.raises(Conflict):
        svc.add_note(session, a.id, actor=world.liaison, note="x", version=seen)


def test_two_people_acting_at_once_the_second_is_refused_not_overwritten(engine, world):
    factory = session_factory(engine)
    with factory.begin() as s:
        appeal_id = bring(s, world, "dispatched").id
    # Both pages render the appeal at the same version...
    with factory() as s:
        seen_by_handler = svc.get_appeal(s, appeal_id, world.lead).version
    with factory() as s:
        seen_by_liaison = svc.get_appeal(s, appeal_id, world.liaison).version
    assert seen_by_handler == seen_by_liaison
    # ...the handler signs first...
    with factory.begin() as s:
        svc.accept(s, appeal_id, actor=world.lead, version=seen_by_handler)
    # ...and the liaison's reassignment, based on what they saw, is refused.
    with pytest.raises(Conflict), factory.begin() as s:
        svc.reassign(s, appeal_id, actor=world.liaison, lead_unit_id=world.unit(JR),
                     version=seen_by_liaison)
    with factory() as s:
        stored = s.get(Appeal, appeal_id)
        assert (stored.status, stored.lead_unit_id) == ("accepted", world.unit(JJ))


def test_the_orm_version_column_catches_a_concurrent_flush(engine, world):
    factory = session_factory(engine)
    with factory.begin() as s:
        appeal_id = bring(s, world, "accepted").id
    first, second = factory(), factory()
    try:
        a1, a2 = first.get(Appeal, appeal_id), second.get(Appeal, appeal_id)
        a1.title = "first"
        first.commit()
        a2.title = "second"
        with pytest.raises(StaleDataError):
            second.commit()
    finally:
        first.close()
        second.close()


def test_the_timeline_is_a_chain_from_receipt_to_archive(session, world):
    a = bring(session, world, "archived")
    events = session.scalars(select(AppealEvent).where(AppealEvent.appeal_id == a.id)
                             .order_by(AppealEvent.id)).all()
    assert [e.action for e in events] == ["receive", "dispatch", "accept", "reply", "callback",
                                          "archive"]
    for prev, cur in zip(events, events[1:], strict=False):
        assert cur.from_status == prev.to_status
        assert cur.at >= prev.at
    assert events[-1].to_status == "archived"
    actors = [e.actor_id for e in events]
    assert actors == [world.liaison.id, world.liaison.id, world.lead.id, world.lead.id,
                      world.liaison.id, world.liaison.id]


def test_an_over_long_title_or_phone_is_refused_not_cut(session, world):
    with pytest.raises(ValidationError) as err:
        new(session, world, title="长" * 201)
    assert err.value.params == {"field": "title", "limit": 200}
    with pytest.raises(ValidationError):
        new(session, world, contact_phone="1" * 31)
    assert new(session, world, title="长" * 200).title == "长" * 200


def test_merge_takes_the_targets_qf_number_as_typed_within_scope(session, world):
    from crm.services import appeal_queries

    original, duplicate = new(session, world), new(session, world)
    assert original.code.startswith("QF")
    svc.merge(session, duplicate.id, actor=world.liaison,
              into_code=f" {original.code.lower()} ")
    assert duplicate.merged_into_id == original.id
    detail = appeal_queries.appeal_detail(session, duplicate.id, actor=world.liaison)
    assert detail["merged_into_code"] == original.code
    with pytest.raises(NotFound):  # another street's liaison: the same refusal as for an id
        appeal_queries.appeal_id_by_code(session, original.code, actor=world.other_liaison)
    with pytest.raises(ValidationError):
        svc.merge(session, new(session, world).id, actor=world.liaison, into_code=" ")


def test_after_a_return_the_detail_shows_why_and_never_suggests_the_unit_that_refused(
        session, world):
    from crm.services import appeal_queries

    a = new(session, world)  # 交通: the category's unit is 区交巡警支队
    before = appeal_queries.appeal_detail(session, a.id, actor=world.liaison)
    assert before["suggested_unit_id"] == world.unit(JJ) and before["last_return"] is None
    svc.dispatch(session, a.id, actor=world.liaison, lead_unit_id=world.unit(JJ))
    svc.return_appeal(session, a.id, actor=world.lead, reason="应由城管处理")
    assert not appeal_queries.in_scope(session, a.id, actor=world.lead)
    after = appeal_queries.appeal_detail(session, a.id, actor=world.liaison)
    assert after["last_return"]["reason"] == "应由城管处理"
    assert after["last_return"]["unit"] == JJ
    assert after["refused_unit_ids"] == [world.unit(JJ)]
    assert after["suggested_unit_id"] is None
