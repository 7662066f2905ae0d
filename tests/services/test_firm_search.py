"""Finding a firm by name fragment, USCC or pinyin initials, within scope; registering one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.errors import Forbidden, ValidationError
from crm.models import AuditLog, Enterprise
from crm.services.firm_search import initials, search_firms
from crm.services.registration import register_enterprise
from crm.uscc import complete


@pytest.fixture
def firms(session, world):
    for firm in (world.firm, world.other_firm):
        firm.name_initials = initials(firm.name)
    session.commit()
    return world


def names(hits):
    return [h.name for h in hits]


def test_a_name_fragment_finds_the_firm(session, firms):
    assert names(search_firms(session, "齐祥", actor=firms.official)) == ["重庆齐祥灯饰有限公司"]


def test_pinyin_initials_find_the_firm_in_any_case(session, firms):
    assert names(search_firms(session, "qxds", actor=firms.official)) == ["重庆齐祥灯饰有限公司"]
    assert names(search_firms(session, "CQQX", actor=firms.official)) == ["重庆齐祥灯饰有限公司"]


def test_a_uscc_prefix_finds_the_firm(session, firms):
    code = firms.other_firm.uscc
    assert names(search_firms(session, code[:17].lower(), actor=firms.official)) == [
        "重庆齐祥灯饰有限公司"]


def test_missing_characters_are_forgiven(session, firms):
    assert names(search_firms(session, "齐灯饰", actor=firms.official)) == ["重庆齐祥灯饰有限公司"]


def test_full_width_and_spaces_in_the_query_are_ignored(session, firms):
    assert names(search_firms(session, " 齐 祥 ", actor=firms.official)) == ["重庆齐祥灯饰有限公司"]


def test_a_liaison_finds_only_firms_of_their_street(session, firms):
    assert search_firms(session, "齐祥", actor=firms.liaison) == []
    assert names(search_firms(session, "证券", actor=firms.liaison)) == [
        "重庆江北嘴证券服务有限公司"]


def test_an_exact_name_ranks_before_a_longer_match(session, firms):
    session.add(Enterprise(uscc=complete("91500105MA000099"), name="重庆齐祥灯饰有限公司二厂"))
    session.commit()
    hits = search_firms(session, "重庆齐祥灯饰有限公司", actor=firms.official)
    assert names(hits)[0] == "重庆齐祥灯饰有限公司"


def test_like_wildcards_in_a_query_match_literally(session, firms):
    assert search_firms(session, "%", actor=firms.official) == []


def test_a_liaison_registers_a_new_firm_in_their_street(session, firms):
    code = complete("91500105MA7QQQQ0")
    firm = register_enterprise(session, actor=firms.liaison, uscc=code.lower(), name=" 重庆新企 ",
                               contact_name="王**", contact_phone="13800000000")
    assert (firm.uscc, firm.name, firm.street_id) == (code, "重庆新企", firms.liaison.street_id)
    assert firm.name_initials == "CQXQ"
    assert session.scalar(select(AuditLog.action).where(AuditLog.entity_id == firm.id,
                                                        AuditLog.entity == "enterprise"))


def test_a_bad_code_is_refused_with_the_reason(session, firms):
    with pytest.raises(ValidationError) as err:
        register_enterprise(session, actor=firms.liaison, uscc="91500105MA7QQQQ0X1", name="x")
    assert "校验" in err.value.params["reason"]


def test_a_code_or_name_on_file_is_refused_naming_the_existing_firm(session, firms):
    with pytest.raises(ValidationError) as err:
        register_enterprise(session, actor=firms.liaison, uscc=firms.firm.uscc, name="另一个名字")
    assert err.value.params["name"] == firms.firm.name


def test_handlers_do_not_register_firms_and_liaisons_not_in_other_streets(session, firms):
    code = complete("91500105MA7QQQQ1")
    with pytest.raises(Forbidden):
        register_enterprise(session, actor=firms.lead, uscc=code, name="x")
    with pytest.raises(Forbidden):
        register_enterprise(session, actor=firms.liaison, uscc=code, name="x", street="大石坝")


def test_an_over_long_address_is_refused_before_it_reaches_the_database(session, firms):
    with pytest.raises(ValidationError) as err:
        register_enterprise(session, actor=firms.liaison, uscc=complete("91500105MA7QQQQ2"),
                            name="重庆长地址企业", address="路" * 201)
    assert err.value.params["field"] == "address"
