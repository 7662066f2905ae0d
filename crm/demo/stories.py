"""The seed story's cases (see /work/shared/seed and DOMAIN.md), always in the demo.

A securities firm new to 江北城街道 complains of cars parked in chaos around
its 江北嘴 tower; the street and 区交巡警支队 fix it fast. 齐祥灯饰 gets
100余万元 through 大石坝街道商会 and the 渝融通 platform. The 2022 春风行动 fair
in 鱼嘴镇 has 56 firms; Hankook gets 30+ candidates, 10 sent to the medical
check. Names of people are masked; the securities firm's name is invented.
The USCCs are fixed (first 16 characters here, check characters computed).
"""

from __future__ import annotations

import datetime as dt

# key -> facts of the firm. `first16` = registry (9), kind (1), division, org code.
FIRMS = {
    "securities": dict(
        name="渝江证券股份有限公司重庆分公司", first16="91500105MA60XQ2K",
        street="江北城街道", building="江北嘴国际金融中心", community="江北嘴社区",
        floor="32楼", industry="金融业", size="medium", registered=dt.date(2025, 1, 6),
        capital=5000, above=True, tags=["国有"], contact=("王**", "023-67891357", "综合部经理")),
    "qixiang": dict(
        name="重庆齐祥灯饰有限公司", first16="91500105MA5U3T8P", street="大石坝街道",
        building=None, community="红原社区", road="红原路36号", industry="制造业",
        size="small", registered=dt.date(2013, 5, 18), capital=300, above=False,
        tags=["民营"], contact=("黄**", "139****2618", "总经理")),
    "hankook": dict(
        name="韩泰轮胎（重庆）有限公司", first16="915001055739728K", street="鱼嘴镇",
        building="鱼复工业园区", community="鱼嘴社区", floor="", industry="制造业",
        size="large", registered=dt.date(2011, 3, 15), capital=219000, above=True,
        tags=["外资"], contact=("金**", "023-67895566", "人力资源部负责人")),
    "haier": dict(
        name="重庆海尔制冷电器有限公司", first16="9150010520285N4W", street="寸滩街道",
        building=None, community="海尔社区", road="海尔路1号", industry="制造业",
        size="large", registered=dt.date(2007, 8, 20), capital=60000, above=True,
        tags=["数字经济"], contact=("刘**", "023-67892288", "人事经理")),
}

# The parking appeal (交通, 7-day limit): logged, dispatched to 区交巡警支队 within the
# hour, signed the same day, replied in 3 days, called back 满意, archived.
PARKING_APPEAL = dict(
    firm="securities", street="江北城街道", category="交通", unit="区交巡警支队",
    co_unit="区城市管理局", channel="phone", received=dt.datetime(2025, 3, 18, 9, 40),
    title="公司所在楼宇周边车辆乱停乱放，影响员工和客户通行",
    description="企业新入驻江北嘴国际金融中心，反映楼宇周边道路车辆乱停放严重，"
                "早晚高峰影响交通，希望街道协调解决。",
    reply="已会同区交巡警支队现场办公，梳理辖区交通突出问题，增设禁停标志并加强早晚高峰巡查，"
          "车辆乱停现象明显改观。",
    callback_note="企业表示很满意，体现了“江北城速度”和“江北城温度”。",
)

CHAMBER = "大石坝街道商会"
CHAMBERS = [  # (name, street, founded) — 大石坝's is the district's first street chamber
    (CHAMBER, "大石坝街道", dt.date(2018, 6, 28)),
    ("观音桥街道商会", "观音桥街道", dt.date(2019, 9, 10)),
    ("鱼嘴镇商会", "鱼嘴镇", dt.date(2020, 4, 22)),
    ("江北城街道商会", "江北城街道", dt.date(2021, 5, 18)),
]

# 齐祥灯饰's need: "100余万元" (about 100, flagged approximate), matched to a 渝融通 product.
QIXIANG_NEED = dict(amount=100, approx=True, purpose="补充流动资金，缓解资金周转瓶颈",
                    term=12, collateral="credit", urgency="high",
                    requested=dt.date(2025, 5, 12), approved=120, disbursed=120,
                    disbursed_on=dt.date(2025, 6, 20))
YURONGTONG_PRODUCT = ("重庆农商行", "渝融通·小微快贷")

SPRING_FAIR = dict(name="2022年“春风行动”鱼嘴镇专场招聘会", held_on=dt.date(2022, 3, 1),
                   place="鱼嘴镇鱼复工业园区人力资源服务站", street="鱼嘴镇", firms=56,
                   note="江北区2022年“春风行动”招聘会在鱼嘴拉开帷幕，海尔、韩泰轮胎等56家企业入场招聘。")
HANKOOK_FUNNEL = dict(applicants=58, intents=32, medical_checks=10, hired=9, retained_90d=8)
