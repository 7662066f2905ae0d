"""基础数据 through AppTest: an admin confirms or merges the chambers and banks sheets named."""

from __future__ import annotations

import pytest
import streamlit as st
from sqlalchemy import select

from crm.access import SYSTEM
from crm.db import session_factory
from crm.models import Bank, BankProduct, Chamber, Street
from crm.services.users import add_user
from tests.test_app_pages import _navigation_only, assert_healthy, logged_in, page_text


@pytest.fixture
def world(engine, db_url, monkeypatch):
    """The app on this test's database with one administrator, in Chinese."""
    _navigation_only(monkeypatch)
    with session_factory(engine).begin() as session:
        add_user(session, "admin", role="admin", password=None, actor=SYSTEM)
    monkeypatch.setenv("CRM_DATABASE_URL", db_url)
    monkeypatch.delenv("CRM_LANG", raising=False)
    monkeypatch.delenv("CRM_DEMO_MODE", raising=False)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield engine
    st.cache_resource.clear()
    st.cache_data.clear()


def _unconfirmed(engine) -> dict[str, int]:
    with session_factory(engine).begin() as s:
        real = Chamber(name="江北区工商联")
        chamber = Chamber(name="江北区工商联（表格）", confirmed=False)
        bank = Bank(name="重庆农商行", confirmed=False)
        s.add_all([real, chamber, bank])
        s.flush()
        s.add(BankProduct(bank_id=bank.id, name="渝快贷"))
        return {"real": real.id, "chamber": chamber.id, "bank": bank.id}


def test_an_admin_merges_a_chamber_and_confirms_a_bank_on_the_reference_page(world):
    ids = _unconfirmed(world)
    at = logged_in(world, "admin")
    at.switch_page("pages/reference.py").run()
    assert_healthy(at)
    text = page_text(at)
    assert "待确认商会" in text and "待确认银行" in text and "江北区工商联（表格）" in text
    at.selectbox(key="fin_chamber_pick").set_value(ids["chamber"]).run()
    at.selectbox(key="fin_chamber_target").set_value(ids["real"]).run()
    at.button(key="fin_chamber_merge").click().run()
    assert_healthy(at)
    at.selectbox(key="fin_bank_pick").set_value(ids["bank"]).run()
    at.text_input(key="fin_bank_name").input("重庆农村商业银行")  # submitted with the form
    at.button(key="FormSubmitter:fin_bank_confirm-确认").click().run()
    assert_healthy(at)
    with session_factory(world)() as s:
        assert s.get(Chamber, ids["chamber"]) is None
        bank = s.get(Bank, ids["bank"])
        assert (bank.name, bank.confirmed) == ("重庆农村商业银行", True)
    text = page_text(at)
    assert "待确认商会" not in text and "待确认银行" not in text


def test_confirming_a_chamber_gives_it_a_street(world):
    ids = _unconfirmed(world)
    with session_factory(world)() as s:
        street = s.scalar(select(Street.id).where(Street.name == "江北城街道"))
    at = logged_in(world, "admin")
    at.switch_page("pages/reference.py").run()
    at.selectbox(key="fin_chamber_pick").set_value(ids["chamber"]).run()
    at.selectbox(key="fin_chamber_street").set_value(street)
    at.button(key="FormSubmitter:fin_chamber_confirm-确认").click().run()
    assert_healthy(at)
    with session_factory(world)() as s:
        chamber = s.get(Chamber, ids["chamber"])
        assert (chamber.confirmed, chamber.street_id) == (True, street)
