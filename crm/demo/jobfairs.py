"""Job fairs (春风行动) and each firm's hiring funnel.

The 2022 鱼嘴镇 fair is the seed story: 56 firms, Hankook with 30+ candidates
of whom 10 went to the pre-employment medical check. Every funnel narrows
(applicants ≥ intents ≥ medical checks ≥ hired ≥ still employed after 90 days);
fairs younger than 90 days have no retention figure yet.
"""

from __future__ import annotations

import datetime as dt

from crm.demo import stories
from crm.demo.context import AS_OF, Demo
from crm.demo.sampling import pick_weighted
from crm.models import FairParticipation, FairPosition, JobFair

OTHER_FAIRS = [  # (name, date, place, street, firms at the default size)
    ("2023年“春风行动”观音桥街道专场招聘会", dt.date(2023, 2, 8), "观音桥步行街广场",
     "观音桥街道", 36),
    ("2024年“春风行动”寸滩街道保税港区专场招聘会", dt.date(2024, 2, 26), "寸滩街道港城社区服务中心",
     "寸滩街道", 30),
    ("2025年江北嘴金融人才专场招聘会", dt.date(2025, 3, 12), "江北嘴国际金融中心一楼大厅",
     "江北城街道", 24),
    ("2026年“春风行动”大石坝街道专场招聘会", dt.date(2026, 3, 5), "大石坝街道便民服务中心",
     "大石坝街道", 28),
    ("2026年秋季郭家沱街道高校毕业生专场招聘会", dt.date(2026, 10, 23), "郭家沱街道文化活动中心",
     "郭家沱街道", 20),
]
TITLES = {
    "制造业": (["普工", "操作工", "质检员", "叉车司机", "电工", "数控车工", "焊工", "技术员"],
            (4000, 8000)),
    "金融业": (["客户经理", "理财顾问", "综合柜员", "风控专员", "数据分析师"], (6000, 15000)),
    "信息传输、软件和信息技术服务业": (["软件工程师", "测试工程师", "产品经理", "运维工程师"],
                            (7000, 18000)),
}
OTHER_TITLES = (["销售代表", "行政专员", "客服专员", "会计", "服务员", "厨师", "司机", "仓管员"],
                (3500, 7000))
STORY_POSITIONS = {
    "hankook": [("轮胎成型工", 20, 5500, 8500), ("硫化操作工", 15, 5000, 8000),
                ("质检员", 5, 4500, 6500), ("设备维修电工", 4, 6000, 9000)],
    "haier": [("装配工", 30, 4500, 7000), ("注塑工", 10, 4800, 7200), ("质检员", 5, 4500, 6500)],
}
FAIR_COLS = ("id", "name", "held_on", "place", "street_id", "note")
PART_COLS = ("id", "fair_id", "enterprise_id", "applicants", "intents", "medical_checks",
             "hired", "retained_90d")
POSITION_COLS = ("id", "participation_id", "title", "headcount", "pay_min", "pay_max")


def add_job_fairs(demo: Demo) -> int:
    s = stories.SPRING_FAIR
    fairs = [(s["name"], s["held_on"], s["place"], s["street"], s["firms"], s["note"])]
    n = len(demo.firms)
    fairs += [(name, day, place, street, max(5, round(k * min(n, 2000) / 2000)), None)
              for name, day, place, street, k in OTHER_FAIRS]
    rows, parts, positions = [], [], []
    w = demo.writer
    fair_id = w.take_ids(JobFair.__table__, len(fairs))
    part_id = w.next_id(FairParticipation.__table__)
    pos_id = w.next_id(FairPosition.__table__)
    for name, day, place, street, k, note in fairs:
        rows.append((fair_id, name, demo.clock.date(demo.clock.day(day)), place,
                     demo.ref.street(street).id, note))
        story = name == s["name"]
        for firm in _participants(demo, day, street, k, story):
            funnel, slots = _funnel(demo, firm, day, story)
            parts.append((part_id, fair_id, demo.firms.ids[firm], *funnel))
            for title, headcount, low, high in slots:
                positions.append((pos_id, part_id, title, headcount, low, high))
                pos_id += 1
            part_id += 1
        fair_id += 1
    w.write(JobFair.__table__, FAIR_COLS, rows)
    w.take_ids(FairParticipation.__table__, len(parts))
    w.write(FairParticipation.__table__, PART_COLS, parts)
    w.take_ids(FairPosition.__table__, len(positions))
    w.write(FairPosition.__table__, POSITION_COLS, positions)
    return len(fairs)


def _participants(demo: Demo, day: dt.date, street: str, k: int, story: bool) -> list[int]:
    """Firms founded before the fair, mostly from its street and (for 鱼嘴) factories."""
    firms, clock = demo.firms, demo.clock
    home = demo.ref.street(street).index
    fixed = [firms.story[key] for key in STORY_POSITIONS if story and key in firms.story]
    pool = [p for p in range(len(firms)) if not firms.shop[p] and p not in fixed
            and firms.registered[p] < clock.day(day)]
    weights = [(4.0 if firms.street[p] == home else 1.0)
               * (3.0 if story and firms.industry[p] == "制造业" else 1.0) for p in pool]
    return fixed + pick_weighted(demo.rng, pool, weights, max(k - len(fixed), 0))


def _funnel(demo: Demo, firm: int, day: dt.date, story: bool):
    rng, firms = demo.rng, demo.firms
    key = next((k for k, p in firms.story.items() if p == firm), None)
    if story and key in STORY_POSITIONS:
        slots = STORY_POSITIONS[key]
    else:
        titles, (low, high) = TITLES.get(firms.industry[firm], OTHER_TITLES)
        slots = []
        for title in rng.sample(titles, rng.randint(1, min(4, len(titles)))):
            pay_min = round(rng.uniform(low, (low + high) / 2) / 100) * 100
            slots.append((title, rng.randint(1, 20), pay_min,
                          pay_min + round(rng.uniform(1000, 4000) / 100) * 100))
    if story and key == "hankook":
        f = stories.HANKOOK_FUNNEL
        return (f["applicants"], f["intents"], f["medical_checks"], f["hired"],
                f["retained_90d"]), slots
    headcount = sum(h for _, h, _, _ in slots)
    applicants = max(1, round(headcount * rng.uniform(0.6, 2.5)))
    intents = round(applicants * rng.uniform(0.3, 0.7))
    checks = round(intents * rng.uniform(0.3, 0.7))
    hired = round(checks * rng.uniform(0.6, 1.0))
    retained = round(hired * rng.uniform(0.7, 1.0)) if (AS_OF - day).days > 90 else None
    return (applicants, intents, checks, hired, retained), slots
