"""A firm's street from its address: full forms first, else a short form (the leftmost),
never a place of the same name in another district."""

from __future__ import annotations

from sqlalchemy import select

from crm.db import session_factory
from crm.models import Enterprise, Street
from crm.uscc import complete
from tests.etl.conftest import run_import, xlsx

ADDRESSES = {
    "重庆市江北区观音桥建新北路86号": "观音桥街道",
    "重庆市江北区五里店17号4幢3楼": "五里店街道",
    "江北区大石坝街道石马河路1号": "大石坝街道",            # the full form wins
    "重庆市江北区石马河乡大石坝村黑院墙合作社": "石马河街道",  # the leftmost short form
    "重庆市江北区两路寸滩保税港区水港功能区综合大楼": "寸滩街道",
    "重庆市江北区鱼嘴镇工农路23号": "鱼嘴镇",
    "重庆市九龙坡区白市驿镇五里店": None,                    # another district's 五里店
    "重庆市南岸区大石坝涂山路596号": None,
    "重庆市大渡口区茄子溪街道钓鱼嘴": None,
    "重庆市江北区建新北路12号": None,
}


def test_streets_come_from_full_and_short_forms_in_addresses(engine, tmp_path):
    rows = [["企业名称", "统一社会信用代码", "注册地址"]] + [
        [f"地址测试{i}", complete(f"91500105MA{i:06d}"), address]
        for i, address in enumerate(ADDRESSES)]
    report = run_import(engine, "enterprises", xlsx(tmp_path / "a.xlsx", rows))
    assert report.inserted == len(ADDRESSES), report.errors
    with session_factory(engine)() as s:
        got = dict(s.execute(select(Enterprise.address, Street.name)
                             .outerjoin(Street, Street.id == Enterprise.street_id)).all())
    assert got == ADDRESSES
