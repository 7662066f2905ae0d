"""A mapping a user fixed by hand is remembered for the next file from the same street."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm.access import SYSTEM
from crm.db import session_factory
from crm.errors import Forbidden
from crm.models import Enterprise, Street
from crm.services.users import actor_of, add_user
from etl.app import save_mapping
from tests.etl.conftest import A, B, counts, run_import, xlsx

ROWS = [["信用代码号", "企业名称", "片区"], [A, "重庆齐祥灯饰有限公司", "大石坝"]]


@pytest.fixture
def liaison(engine):
    with session_factory(engine).begin() as s:
        return actor_of(add_user(s, "li", role="liaison", street="大石坝街道", password=None,
                                 actor=SYSTEM))


def test_a_saved_mapping_is_used_for_the_streets_next_file(engine, liaison, tmp_path):
    path = xlsx(tmp_path / "roster.xlsx", ROWS)
    first = run_import(engine, "enterprises", path, actor=liaison, dry_run=True,
                       overrides={"信用代码号": "uscc", "片区": "street"})
    assert counts(first) == (1, 1, 0, 0, 0)
    with session_factory(engine).begin() as s:
        assert save_mapping(s, "enterprises", {"信用代码号": "uscc", "片区": "street"},
                            actor=liaison) == 2
    report = run_import(engine, "enterprises", path, actor=liaison)
    assert report.mapping.fields == {"uscc": 0, "name": 1, "street": 2}
    assert all(c.remembered for c in report.mapping.columns if c.header != "企业名称")
    with session_factory(engine)() as s:
        street = s.scalar(select(Street.name).join(Enterprise, Enterprise.street_id == Street.id))
        assert street == "大石坝街道"


def test_without_the_mapping_the_header_is_not_recognised(engine, tmp_path):
    from crm.errors import ValidationError

    with pytest.raises(ValidationError, match="no header row"):
        run_import(engine, "enterprises", xlsx(tmp_path / "roster.xlsx", ROWS))


def test_a_liaison_imports_firms_into_their_own_street_only(engine, liaison, tmp_path):
    rows = [["统一社会信用代码", "企业名称", "镇街"], [A, "重庆齐祥灯饰有限公司", None],
            [B, "中信证券重庆江北嘴营业部", "江北城街道"]]
    report = run_import(engine, "enterprises", xlsx(tmp_path / "r.xlsx", rows), actor=liaison)
    assert counts(report) == (2, 1, 0, 0, 1)
    assert [(e.row, e.message()) for e in report.errors] == [(3, "不属于您所在的镇街")]


def test_a_handler_may_not_import(engine, tmp_path):
    with session_factory(engine).begin() as s:
        handler = actor_of(add_user(s, "h", role="handler", unit="区交巡警支队", password=None,
                                    actor=SYSTEM))
    with pytest.raises(Forbidden):
        run_import(engine, "enterprises", xlsx(tmp_path / "r.xlsx", ROWS), actor=handler)
