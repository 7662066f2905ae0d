"""The KPI pages through AppTest: headline numbers, click-through drill-down, cache freshness."""

from __future__ import annotations

from sqlalchemy import select

from crm.db import session_factory
from crm.models import Category, Enterprise
from crm.services import appeals as appeal_svc
from crm.services import kpi
from tests.test_app_pages import (  # noqa: F401  (world is a fixture)
    PARKING,
    SECURITIES,
    actor,
    assert_healthy,
    logged_in,
    page_text,
    world,
)


def open_kpi(engine, username: str, page: str = "kpi", period: str = "last_12_months"):
    at = logged_in(engine, username)
    at.switch_page(f"pages/{page}.py").run()
    assert_healthy(at)
    at.selectbox(key=f"{'kpib' if page == 'kpi_breakdown' else 'kpi'}_period").select(period)
    at.run()
    assert_healthy(at)
    return at


def metric(at, label: str) -> str:
    return next(m.value for m in at.metric if m.label == label)


def test_the_overview_shows_the_services_numbers(world):
    at = open_kpi(world, "official")
    with session_factory(world)() as s:
        start, end = kpi.period_presets()["last_12_months"]
        numbers = kpi.compute(s, date_from=start, date_to=end)
    assert metric(at, "诉求总数") == f"{numbers['appeals_total']:,}"
    assert metric(at, "满意率") == f"{numbers['satisfaction_rate']:.1%}"
    assert metric(at, "超期未办结") == f"{numbers['overdue_open']:,}"
    # the street ranking lists every street; ranked ones first, in rank order
    ranking = next(df.value for df in at.dataframe if "排名" in df.value.columns)
    assert len(ranking) == 12
    # a street without a score has no rank: "—" (the column is then text)
    ranks = [int(r) for r in ranking["排名"] if r == r and r not in (None, "—")]
    assert all(r == "—" for r in ranking["排名"][len(ranks):])
    assert ranks == list(range(1, len(ranks) + 1))
    with session_factory(world)() as s:
        rows = kpi.by_street(s, date_from=start, date_to=end)
    assert list(ranking["镇街"]) == [r["street"] for r in rows]


def test_clicking_a_number_lists_the_appeals_behind_it(world):
    at = open_kpi(world, "official")
    ranking = next(df.value for df in at.dataframe if "排名" in df.value.columns)
    row = ranking.index[ranking["镇街"] == "江北城街道"][0]
    # A click on the ranking's "诉求总数" cell of 江北城街道, as the browser reports it.
    at.session_state["kpi_streets"] = {"selection": {"rows": [], "columns": [],
                                                     "cells": [[int(row), "诉求总数"]]}}
    at.run()
    assert_healthy(at)
    assert at.selectbox(key="kpi_drill_measure").value == "total"
    text = page_text(at)
    assert PARKING in text  # 江北城's appeal
    expected = int(ranking.loc[row, "诉求总数"])
    assert f"共 {expected} 件" in text


def test_the_drill_down_pickers_list_overdue_appeals(world):
    at = open_kpi(world, "official")
    at.selectbox(key="kpi_drill_measure").select("overdue").run()
    assert_healthy(at)
    overdue = metric(at, "超期未办结")
    assert f"共 {overdue} 件" in page_text(at)


def test_a_liaison_sees_only_their_street(world):
    at = open_kpi(world, "liaison_jbc")
    ranking = next(df.value for df in at.dataframe if "排名" in df.value.columns)
    assert list(ranking["镇街"]) == ["江北城街道"]
    assert at.selectbox(key="kpi_street").options == ["江北城街道"]


def test_a_change_made_elsewhere_shows_on_the_next_run(world):
    at = open_kpi(world, "official", period="this_month")
    before = int(metric(at, "诉求总数").replace(",", ""))
    with session_factory(world).begin() as s:  # another process: no cache clearing here
        firm = s.scalar(select(Enterprise).where(Enterprise.name == SECURITIES))
        category = s.scalar(select(Category.id).where(Category.name == "交通"))
        appeal_svc.log_appeal(s, actor=actor(world, "liaison_jbc"), enterprise_id=firm.id,
                              category_id=category, title="新的停车问题")
    at.run()
    assert int(metric(at, "诉求总数").replace(",", "")) == before + 1


def test_the_breakdown_by_unit_and_category(world):
    at = open_kpi(world, "official", page="kpi_breakdown")
    assert "区交巡警支队" in page_text(at)
    at.segmented_control(key="kpib_dim").set_value("category").run()
    assert_healthy(at)
    table = next(df.value for df in at.dataframe if "类别" in df.value.columns)
    assert "交通" in set(table["类别"])


def test_the_bulletin_offers_both_downloads(world):
    at = logged_in(world, "official")
    at.switch_page("pages/kpi_bulletin.py").run()
    assert_healthy(at)
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels == ["下载通报（Excel）", "下载 CSV"]
