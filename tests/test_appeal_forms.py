"""Issue 16 on the appeal and firm pages, through AppTest: nothing typed is lost, every
action confirms itself after the rerun, 退单 lands on the inbox, the QF number opens an
appeal (URL, lookup box, merge target, list rows), a firm opens by its USCC, and a firm
of another street is named as such."""

from __future__ import annotations

from sqlalchemy import select

from crm.db import session_factory
from crm.models import Appeal, Category, Enterprise, Unit
from crm.services.firm_search import initials
from tests.test_app_pages import (  # noqa: F401  (world is a fixture)
    LIGHTING,
    PARKING,
    SECURITIES,
    assert_healthy,
    logged_in,
    page_text,
    world,
)
from tests.test_appeal_pages import log_through_the_page, open_detail, stored, submit


def code_of(engine, title: str) -> str:
    with session_factory(engine)() as s:
        return s.scalar(select(Appeal.code).where(Appeal.title == title))


def unit_id(engine, name: str) -> int:
    with session_factory(engine)() as s:
        return s.scalar(select(Unit.id).where(Unit.name == name))


def open_by_url(engine, username: str, code: str):
    at = logged_in(engine, username)
    at.query_params["code"] = code
    at.switch_page("pages/appeal.py").run()
    return at


def successes(at) -> str:
    return " ".join(str(s.value) for s in at.success)


def test_a_refused_appeal_keeps_every_field_and_the_category_until_it_is_saved(world):
    at = logged_in(world, "liaison_jbc")
    at.switch_page("pages/log_appeal.py").run()
    at.text_input(key="log_query").input("证券").run()
    with session_factory(world)() as s:
        traffic = s.scalar(select(Category.id).where(Category.name == "交通"))
    at.selectbox(key="log_category").set_value(traffic)
    at.text_area(key="log_description").input("早高峰车辆排队至主干道")
    at.text_input(key="log_contact").input("王经理")
    at.text_input(key="log_phone").input("13812345678")
    submit(at, "log_appeal")  # no title
    assert any("请填写诉求标题" in str(e.value) for e in at.error), page_text(at)
    assert at.text_area(key="log_description").value == "早高峰车辆排队至主干道"
    assert at.text_input(key="log_contact").value == "王经理"
    assert at.text_input(key="log_phone").value == "13812345678"
    assert at.session_state["log_category"] == traffic
    at.text_input(key="log_title").input("地下车库出入口拥堵")
    submit(at, "log_appeal")
    assert "已受理" in successes(at), page_text(at)  # shown after the rerun
    assert at.text_input(key="log_title").value == ""  # cleared once saved
    assert at.text_area(key="log_description").value == ""
    with session_factory(world)() as s:
        appeal = s.scalar(select(Appeal).where(Appeal.title == "地下车库出入口拥堵"))
        assert appeal.category.name == "交通" and appeal.contact_name == "王经理"


def test_a_pasted_over_long_title_is_refused_with_its_limit_and_kept_whole(world):
    at = logged_in(world, "liaison_jbc")
    at.switch_page("pages/log_appeal.py").run()
    title_box = at.text_input(key="log_title")
    assert not title_box.max_chars  # a browser would cut a paste at max_chars silently
    assert "200" in (title_box.help or "")
    at.text_input(key="log_query").input("证券").run()
    long_title = "停车难" * 70  # 210 characters
    at.text_input(key="log_title").input(long_title)
    submit(at, "log_appeal")
    assert any("诉求标题" in str(e.value) and "200" in str(e.value) for e in at.error), \
        page_text(at)
    assert at.text_input(key="log_title").value == long_title
    with session_factory(world)() as s:
        assert s.scalar(select(Appeal).where(Appeal.title.like("停车难%"))) is None


def test_every_step_of_the_loop_confirms_itself_after_the_rerun(world):
    appeal_id = log_through_the_page(world, "楼宇门前道路积水")
    code = stored(world, appeal_id).code
    at = open_detail(world, "liaison_jbc", appeal_id)
    at.selectbox(key="dispatch_lead").set_value(unit_id(world, "区交巡警支队"))
    submit(at, "act_dispatch")
    assert f"诉求 {code} 已派单" in successes(at), page_text(at)
    at = open_detail(world, "handler_jj", appeal_id)
    submit(at, "act_accept")
    assert "已签收" in successes(at)
    at.number_input(key="ext_days").set_value(3)
    at.text_area(key="ext_reason").input("需协调多部门")
    submit(at, "act_request_extension")
    assert "已提交延期申请" in successes(at)
    at = open_detail(world, "liaison_jbc", appeal_id)
    submit(at, "act_decide_extension")
    assert "延期申请已审批" in successes(at)
    at = open_detail(world, "handler_jj", appeal_id)
    at.text_area(key="reply_text").input("已疏通排水")
    submit(at, "act_reply")
    assert "已答复" in successes(at)
    at = open_detail(world, "liaison_jbc", appeal_id)
    submit(at, "act_callback")
    assert "已回访" in successes(at)
    submit(at, "act_archive")
    assert "已归档" in successes(at)
    assert stored(world, appeal_id).status == "archived"


def test_a_return_lands_the_handler_on_the_inbox_and_the_street_sees_why(world):
    parking = code_of(world, PARKING)
    at = open_by_url(world, "handler_jj", parking)
    assert_healthy(at)
    at.text_area(key="return_reason").input("不属本单位职责，应由城管处理")
    submit(at, "act_return")
    assert f"诉求 {parking} 已退单" in successes(at), page_text(at)
    assert not at.error, [e.value for e in at.error]  # no red "未找到诉求"
    assert at.title[0].value == "诉求"  # the inbox
    at = open_by_url(world, "liaison_jbc", parking)
    assert_healthy(at)
    assert any("区交巡警支队" in str(w.value) and "应由城管处理" in str(w.value)
               for w in at.warning), page_text(at)
    lead = at.selectbox(key="dispatch_lead")
    assert lead.value is None  # the unit that refused is not preselected
    assert lead.options[-1] == "区交巡警支队"  # still choosable, listed last


def test_dispatch_suggests_the_categorys_unit(world):
    at = open_by_url(world, "liaison_jbc", code_of(world, "咨询研发费用加计扣除政策"))
    assert_healthy(at)
    assert at.selectbox(key="dispatch_lead").value == unit_id(world, "区发展改革委")  # 政策咨询
    assert "建议主办单位：区发展改革委" in page_text(at)


def test_the_qf_url_opens_an_appeal_within_scope_only(world):
    appeal_id = log_through_the_page(world, "门前路灯损坏")
    code = stored(world, appeal_id).code
    assert code.startswith("QF")
    at = open_by_url(world, "liaison_jbc", code)
    assert_healthy(at)
    assert at.header[0].value.startswith(f"{code} · 门前路灯损坏")
    other = open_by_url(world, "liaison_dsb", code)
    assert any("未找到诉求" in str(e.value) for e in other.error), page_text(other)
    assert "门前路灯损坏" not in page_text(other)
    # the lookup box takes a QF number too, typed loosely
    at.text_input(key="detail_code_input").input(code_of(world, PARKING).lower()).run()
    assert_healthy(at)
    assert PARKING in at.header[0].value


def test_merge_takes_a_qf_number_and_the_merged_appeal_names_its_target(world):
    first = log_through_the_page(world, "车位不足（重复）")
    second = log_through_the_page(world, "车位不足")
    target = stored(world, second).code
    at = open_detail(world, "liaison_jbc", first)
    at.text_input(key="merge_into").input(target)
    submit(at, "act_merge")
    assert "已并单" in successes(at), page_text(at)
    assert stored(world, first).merged_into_id == second
    assert f"已并入 [{target}](/appeal?code={target})" in page_text(at)


def test_a_long_description_is_folded_in_an_expander(world):
    appeal_id = log_through_the_page(world, "长描述")
    with session_factory(world).begin() as s:
        s.get(Appeal, appeal_id).description = "第一段情况说明。\n" * 40
    at = open_detail(world, "liaison_jbc", appeal_id)
    box = next(e for e in at.expander if e.label == "诉求内容")
    assert not box.proto.expanded
    assert "第一段情况说明" in " ".join(str(t.value) for t in box.markdown)


def test_appeal_list_rows_link_to_the_appeal_and_a_click_opens_it(world):
    at = logged_in(world, "liaison_jbc")
    at.switch_page("pages/appeals.py").run()
    table = at.dataframe[0]
    parking = code_of(world, PARKING)
    assert f"/appeal?code={parking}" in table.value.to_string()
    at.selectbox(key="appeal_open").select(parking).run()
    assert_healthy(at)
    assert PARKING in at.header[0].value


def test_a_firm_opens_by_its_uscc_within_scope_and_is_found_by_pinyin_initials(world):
    with session_factory(world).begin() as s:
        for firm in s.scalars(select(Enterprise)):
            firm.name_initials = initials(firm.name)
        uscc = s.scalar(select(Enterprise.uscc).where(Enterprise.name == SECURITIES))
    at = logged_in(world, "liaison_jbc")
    at.query_params["uscc"] = uscc
    at.switch_page("pages/enterprises.py").run()
    assert_healthy(at)
    assert at.header[0].value == SECURITIES
    outside = logged_in(world, "liaison_dsb")
    outside.query_params["uscc"] = uscc
    outside.switch_page("pages/enterprises.py").run()
    assert any("未找到该企业" in str(e.value) for e in outside.error), page_text(outside)
    at = logged_in(world, "liaison_jbc")
    at.switch_page("pages/enterprises.py").run()
    at.text_input(key="ent_query").input("zxzq").run()
    assert SECURITIES in at.dataframe[0].value.to_string()


def test_a_firm_of_another_street_is_named_with_its_street(world):
    at = logged_in(world, "liaison_jbc")
    at.switch_page("pages/enterprises.py").run()
    at.text_input(key="ent_query").input(LIGHTING).run()
    assert any("该企业属于大石坝街道，不在您的辖区" in str(w.value) for w in at.warning)
    at.switch_page("pages/log_appeal.py").run()
    at.text_input(key="log_query").input(LIGHTING).run()
    assert any("该企业属于大石坝街道，不在您的辖区" in str(w.value) for w in at.warning)
    assert "没有找到匹配的企业" not in page_text(at)
