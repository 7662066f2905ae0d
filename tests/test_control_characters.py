"""No door stores a control character (issue 18.1): a NUL typed into any form made
PostgreSQL refuse the row with a traceback; SQLite kept it and the xlsx export broke.
The rule is one flush hook (crm.db._drop_control_characters); these writes go through
three different services and a plain ORM edit, on both backends."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm.models import AppealEvent, Enterprise, FinancingNeed
from crm.services import appeals, financing
from tests.services.conftest import world  # noqa: F401 - the shared fixture


def _stored(session, column, where):
    session.expire_all()
    return session.scalar(select(column).where(where))


def test_a_nul_in_a_financing_note_is_dropped(session, world):  # noqa: F811
    need = financing.add_financing_need(
        session, actor=world.liaison, enterprise_id=world.firm.id, amount="50",
        requested_on=dt.date(2026, 3, 1), purpose="流动\x00资金", note="急\x07需\x1f")
    session.commit()
    assert _stored(session, FinancingNeed.purpose, FinancingNeed.id == need.id) == "流动资金"
    assert _stored(session, FinancingNeed.note, FinancingNeed.id == need.id) == "急需"


def test_a_nul_in_an_appeal_action_note_is_dropped(session, world):  # noqa: F811
    a = appeals.log_appeal(session, actor=world.liaison, enterprise_id=world.firm.id,
                           category_id=world.traffic.id, title="停车难")
    appeals.add_note(session, a.id, actor=world.liaison, note="已\x00联系\t企业")
    session.commit()
    notes = session.scalars(select(AppealEvent.note).where(
        AppealEvent.appeal_id == a.id, AppealEvent.action == "note")).all()
    assert notes == ["已联系\t企业"]  # a tab is text, kept


def test_a_plain_orm_edit_loses_them_too(session, world):  # noqa: F811
    world.firm.address = "江北区\x00建新东路\x0b1号\n2楼"
    session.commit()
    assert _stored(session, Enterprise.address, Enterprise.id == world.firm.id) \
        == "江北区建新东路1号\n2楼"
