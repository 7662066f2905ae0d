"""init-db's reference data: the district a deployment starts with."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.errors import NotFound
from crm.models import CalendarDay, Category, Community, Street, Unit
from crm.services.lookup import find_street, street_key
from crm.services.reference import get_setting, init_reference_data, set_setting


def test_the_district_has_twelve_streets_and_towns_and_128_communities(session):
    assert session.scalar(select(func.count()).select_from(Street)) == 12
    assert session.scalar(select(func.count()).select_from(Community)) == 128
    towns = session.scalars(select(Street.name).where(Street.kind == "town")).all()
    assert sorted(towns) == sorted(["鱼嘴镇", "复盛镇", "五宝镇"])


def test_default_categories_carry_the_domain_time_limits(session):
    limits = dict(session.execute(select(Category.name, Category.limit_days)).all())
    assert limits == {"融资": 15, "用工": 10, "交通": 7, "政策咨询": 5, "审批": 10,
                      "水电气": 7, "环境": 10, "法律": 15, "其他": 10}


def test_common_handling_units_and_street_offices_exist(session):
    names = set(session.scalars(select(Unit.name)))
    assert {"区交巡警支队", "区人力社保局", "区金融办", "江北城街道经发办"} <= names


def test_loading_reference_data_again_changes_nothing(session):
    assert sum(init_reference_data(session).values()) == 0


def test_an_admins_edit_survives_a_second_init(session):
    category = session.scalar(select(Category).where(Category.name == "交通"))
    category.limit_days = 3
    set_setting(session, "kpi.basic_satisfied_weight", 1.0)
    session.flush()
    init_reference_data(session)
    assert session.get(Category, category.id).limit_days == 3
    assert get_setting(session, "kpi.basic_satisfied_weight") == 1.0


def test_the_holiday_calendar_knows_2026_holidays_and_make_up_days(session):
    import datetime as dt

    assert session.get(CalendarDay, dt.date(2026, 10, 1)).is_working is False
    assert session.get(CalendarDay, dt.date(2026, 2, 14)).is_working is True


@pytest.mark.parametrize("written", ["大石坝", "大石坝街道", "大石坝街道办事处", " 大石坝街道 "])
def test_short_and_long_street_names_find_the_official_street(session, written):
    assert find_street(session, written).name == "大石坝街道"


def test_town_names_normalise_too():
    assert street_key("鱼嘴镇人民政府") == "鱼嘴"


def test_an_unknown_street_is_refused_with_its_name(session):
    with pytest.raises(NotFound, match="火星街道"):
        find_street(session, "火星街道")
