"""Chambers and banks a sheet created unconfirmed: listed, confirmed, merged into the real one."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm.access import SYSTEM
from crm.errors import ValidationError
from crm.i18n import error_text
from crm.models import (
    AuditLog,
    Bank,
    BankMeeting,
    BankProduct,
    Chamber,
    FinancingNeed,
    User,
    chamber_member,
    meeting_bank,
)
from crm.services import financing, financing_admin
from crm.services.users import add_user


def _members(session, chamber_id: int) -> set[int]:
    return set(session.scalars(select(chamber_member.c.enterprise_id)
                               .where(chamber_member.c.chamber_id == chamber_id)))


@pytest.fixture
def chambers(session, world):
    """A confirmed chamber with both firms, and an unconfirmed one (as an import leaves it)
    with one of them, a need, a meeting and a login."""
    real = Chamber(name="江北区工商联商会")
    typo = Chamber(name="江北区工商联商会（导入）", confirmed=False)
    session.add_all([real, typo])
    session.flush()
    for chamber, firms in ((real, (world.firm, world.other_firm)), (typo, (world.firm,))):
        for firm in firms:
            session.execute(chamber_member.insert().values(chamber_id=chamber.id,
                                                           enterprise_id=firm.id))
    need = FinancingNeed(enterprise_id=world.firm.id, chamber_id=typo.id, amount=100,
                         requested_on=dt.date(2026, 3, 1))
    meeting = BankMeeting(held_on=dt.date(2026, 3, 2), title="银企对接会", chamber_id=typo.id)
    session.add_all([need, meeting])
    add_user(session, "clerk", role="chamber", chamber=typo.name, password=None, actor=SYSTEM)
    session.commit()
    return real.id, typo.id, need.id, meeting.id


def test_unconfirmed_chambers_are_listed_with_what_hangs_on_them(session, world, chambers):
    _, typo, *_ = chambers
    rows = financing_admin.unconfirmed_chambers(session, actor=world.admin)
    assert [(r["id"], r["members"], r["needs"]) for r in rows] == [(typo, 1, 1)]


def test_merging_a_chamber_moves_members_needs_meetings_and_logins(session, world, chambers):
    real, typo, need_id, meeting_id = chambers
    moved = financing_admin.merge_chamber(session, typo, real, actor=world.admin)
    session.commit()
    assert moved == {"app_user": 1, "financing_need": 1, "bank_meeting": 1}
    assert session.get(Chamber, typo) is None
    assert _members(session, real) == {world.firm.id, world.other_firm.id}  # once each
    need = session.get(FinancingNeed, need_id)
    assert (need.chamber_id, need.version) == (real, 2)  # an edit open on it is stale now
    assert session.get(BankMeeting, meeting_id).chamber_id == real
    assert session.scalar(select(User.chamber_id).where(User.username == "clerk")) == real
    assert session.scalar(select(AuditLog.action).order_by(AuditLog.id.desc())) \
        == "chamber.merge"
    assert financing_admin.unconfirmed_chambers(session, actor=world.admin) == []


def test_a_confirmed_chamber_is_not_merged_nor_one_into_itself(session, world, chambers):
    real, typo, *_ = chambers
    with pytest.raises(ValidationError) as err:
        financing_admin.merge_chamber(session, real, typo, actor=world.admin)
    assert error_text(err.value) == "“江北区工商联商会”已确认，只能合并未确认的商会或银行。"
    with pytest.raises(ValidationError) as err:
        financing_admin.merge_chamber(session, typo, typo, actor=world.admin)
    assert err.value.key == "financing.merge_self"


def test_confirming_a_chamber_renames_it_and_takes_it_off_the_list(session, world, chambers):
    _, typo, *_ = chambers
    financing.save_chamber(session, actor=world.admin, chamber_id=typo, name="江北区青年商会")
    session.commit()
    chamber = session.get(Chamber, typo)
    assert (chamber.name, chamber.confirmed) == ("江北区青年商会", True)
    assert financing_admin.unconfirmed_chambers(session, actor=world.admin) == []


@pytest.fixture
def banks(session):
    real = Bank(name="重庆农村商业银行")
    typo = Bank(name="重庆农商行", confirmed=False)
    session.add_all([real, typo])
    session.flush()
    session.add_all([BankProduct(bank_id=real.id, name="渝快贷"),
                     BankProduct(bank_id=typo.id, name="科技贷"),
                     BankProduct(bank_id=typo.id, name="商户贷")])
    meeting = BankMeeting(held_on=dt.date(2026, 3, 2), title="银企对接会")
    session.add(meeting)
    session.flush()
    session.execute(meeting_bank.insert(), [{"meeting_id": meeting.id, "bank_id": real.id},
                                            {"meeting_id": meeting.id, "bank_id": typo.id}])
    session.commit()
    return real.id, typo.id


def test_merging_a_bank_moves_its_products(session, world, banks):
    real, typo = banks
    assert [(r["id"], r["products"]) for r in financing_admin.unconfirmed_banks(
        session, actor=world.admin)] == [(typo, 2)]
    moved = financing_admin.merge_bank(session, typo, real, actor=world.admin)
    session.commit()
    assert moved == {"bank_product": 2}  # the meeting had both: it keeps one
    assert session.get(Bank, typo) is None
    assert sorted(session.scalars(select(BankProduct.name).where(BankProduct.bank_id == real))
                  ) == ["商户贷", "渝快贷", "科技贷"]
    assert session.scalar(select(func.count()).select_from(meeting_bank)) == 1


def test_a_bank_whose_product_the_target_has_already_is_not_merged(session, world, banks):
    real, typo = banks
    session.add(BankProduct(bank_id=typo, name="渝快贷"))
    session.commit()
    with pytest.raises(ValidationError) as err:
        financing_admin.merge_bank(session, typo, real, actor=world.admin)
    assert error_text(err.value) == \
        "“重庆农村商业银行”已有同名产品：渝快贷。请先改名或删除其一再合并。"
    session.rollback()
    assert session.scalar(select(func.count()).select_from(BankProduct)
                          .where(BankProduct.bank_id == typo)) == 3


def test_confirming_a_bank_keeps_its_products(session, world, banks):
    _, typo = banks
    financing.save_bank(session, actor=world.admin, bank_id=typo, name="重庆农商行江北支行")
    session.commit()
    bank = session.get(Bank, typo)
    assert (bank.name, bank.confirmed, len(bank.products)) == ("重庆农商行江北支行", True, 2)
    assert financing_admin.unconfirmed_banks(session, actor=world.admin) == []
