"""Job fairs (春风行动), each position's funnel as dated updates, and hiring needs.

The 2022 鱼嘴镇 fair is the seed story: 56 firms, Hankook with 30+ candidates with
intent of whom 10 went to the pre-employment medical check (the figures of the
fair's day), then hired and, 90 days on, still employed. Every funnel narrows
(applicants ≥ intents ≥ medical checks ≥ hired ≥ still employed after 90 days) and
fills in over weeks: the fair's day (résumés, intents), one to two weeks later
(medical checks), three to six weeks later (hired), and 90 days after the fair
(still employed) — only the updates dated on or before the demo's as-of day exist,
so a fair younger than 90 days has no retention figure yet. A coming fair has
sign-ups and positions but no results. Hiring needs (用工需求) come from some of the
用工 appeals and a few calls, and the firms asking are invited to the coming fair.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from crm import rules
from crm.demo import stories
from crm.demo.context import AS_OF, Demo
from crm.demo.sampling import pick_weighted
from crm.models import (
    Appeal,
    Category,
    FairParticipation,
    FairPosition,
    FairPositionUpdate,
    HiringNeed,
    JobFair,
)

OTHER_FAIRS = [  # (name, date, place, street, kind, firms at the default size)
    ("2023年“春风行动”观音桥街道专场招聘会", dt.date(2023, 2, 8), "观音桥步行街广场",
     "观音桥街道", "special", 36),
    ("2024年“春风行动”寸滩街道保税港区专场招聘会", dt.date(2024, 2, 26), "寸滩街道港城社区服务中心",
     "寸滩街道", "special", 30),
    ("2025年江北嘴金融人才专场招聘会", dt.date(2025, 3, 12), "江北嘴国际金融中心一楼大厅",
     "江北城街道", "special", 24),
    ("2025年江北区“就业援助月”网络招聘会", dt.date(2025, 12, 16), "“江北就业”微信小程序",
     None, "online", 22),
    ("2026年“春风行动”大石坝街道专场招聘会", dt.date(2026, 3, 5), "大石坝街道便民服务中心",
     "大石坝街道", "special", 28),
    ("2026年秋季郭家沱街道高校毕业生专场招聘会", dt.date(2026, 10, 23), "郭家沱街道文化活动中心",
     "郭家沱街道", "onsite", 20),
]
COMING_FAIR = ("2026年冬季鱼嘴镇现场招聘会", dt.date(2026, 12, 18),
               "鱼嘴镇鱼复工业园区人力资源服务站", "鱼嘴镇", "onsite", 12)
TITLES = {
    "制造业": (["普工", "操作工", "质检员", "叉车司机", "电工", "数控车工", "焊工", "技术员"],
            (4000, 8000)),
    "金融业": (["客户经理", "理财顾问", "综合柜员", "风控专员", "数据分析师"], (6000, 15000)),
    "信息传输、软件和信息技术服务业": (["软件工程师", "测试工程师", "产品经理", "运维工程师"],
                            (7000, 18000)),
}
OTHER_TITLES = (["销售代表", "行政专员", "客服专员", "会计", "服务员", "厨师", "司机", "仓管员"],
                (3500, 7000))
REQUIREMENTS = ("初中及以上学历，身体健康，能适应倒班", "高中或中专以上，有相关工作经验者优先",
                "大专及以上学历，吃苦耐劳", "持相关上岗证，两年以上经验",
                "本科及以上学历，专业对口", None)
# (title, headcount, pay min, pay max, requirements, funnel on the fair's day and after:
#  applicants, intents, medical checks, hired, still employed after 90 days)
STORY_POSITIONS = {
    "hankook": [("轮胎成型工", 20, 5500, 8500, "18-45岁，能适应倒班", (26, 15, 5, 4, 4)),
                ("硫化操作工", 15, 5000, 8000, "18-45岁，能适应倒班", (20, 11, 3, 3, 2)),
                ("质检员", 5, 4500, 6500, "高中及以上学历", (8, 4, 1, 1, 1)),
                ("设备维修电工", 4, 6000, 9000, "持电工证", (4, 2, 1, 1, 1))],
    "haier": [("装配工", 30, 4500, 7000, "初中及以上学历", None),
              ("注塑工", 10, 4800, 7200, None, None),
              ("质检员", 5, None, None, "高中及以上学历", None)],  # 面议
}
FAIR_COLS = ("id", "name", "held_on", "place", "street_id", "kind", "note", "version")
PART_COLS = ("id", "fair_id", "enterprise_id", "status", "signed_up_on")
POSITION_COLS = ("id", "participation_id", "title", "headcount", "pay_min", "pay_max",
                 "pay_negotiable", "requirements", "version")
UPDATE_COLS = ("position_id", "as_of", "applicants", "intents", "medical_checks", "hired",
               "retained_90d", "actor_id", "recorded_at")
NEED_COLS = ("enterprise_id", "headcount", "positions", "requested_on", "appeal_id", "status",
             "fair_id", "note", "created_by_id", "created_at", "version")


def add_job_fairs(demo: Demo) -> int:
    s = stories.SPRING_FAIR
    fairs = [(s["name"], s["held_on"], s["place"], s["street"], "special", s["firms"],
              s["note"])]
    n = len(demo.firms)
    scale = min(n, 2000) / 2000
    fairs += [(name, day, place, street, kind, max(5, round(k * scale)), None)
              for name, day, place, street, kind, k in (*OTHER_FAIRS, COMING_FAIR)]
    employment = demo.users.get("employment", (None, None))[0]
    rows, parts, positions, updates = [], [], [], []
    w = demo.writer
    fair_id = w.take_ids(JobFair.__table__, len(fairs))
    part_id = w.next_id(FairParticipation.__table__)
    pos_id = w.next_id(FairPosition.__table__)
    fair_of_name = {}
    for name, day, place, street, kind, k, note in fairs:
        street_id = demo.ref.street(street).id if street else None
        rows.append((fair_id, name, day.isoformat(), place, street_id, kind, note, 1))
        fair_of_name[name] = fair_id
        story = name == s["name"]
        coming = day > AS_OF
        for firm in _participants(demo, day, street, k, story):
            signed = day - dt.timedelta(days=demo.rng.randint(3, 20))
            parts.append((part_id, fair_id, demo.firms.ids[firm],
                          "signed_up" if coming else "attended", signed.isoformat()))
            for title, headcount, low, high, need, funnel in _positions(demo, firm, story):
                positions.append((pos_id, part_id, title, headcount, low, high,
                                  low is None and high is None, need, 1))
                if not coming:
                    updates += _updates(demo, pos_id, day, headcount, funnel, employment)
                pos_id += 1
            part_id += 1
        fair_id += 1
    w.write(JobFair.__table__, FAIR_COLS, rows)
    w.take_ids(FairParticipation.__table__, len(parts))
    w.write(FairParticipation.__table__, PART_COLS, parts)
    w.take_ids(FairPosition.__table__, len(positions))
    w.write(FairPosition.__table__, POSITION_COLS, positions)
    w.write(FairPositionUpdate.__table__, UPDATE_COLS, updates)
    _hiring_needs(demo, fair_of_name[COMING_FAIR[0]], {p[2] for p in parts
                                                       if p[1] == fair_of_name[COMING_FAIR[0]]},
                  employment)
    return len(fairs)


def _participants(demo: Demo, day: dt.date, street: str | None, k: int,
                  story: bool) -> list[int]:
    """Firms founded before the fair, mostly from its street and (for 鱼嘴) factories."""
    firms, clock = demo.firms, demo.clock
    home = demo.ref.street(street).index if street else None
    fixed = [firms.story[key] for key in STORY_POSITIONS if story and key in firms.story]
    pool = [p for p in range(len(firms)) if not firms.shop[p] and p not in fixed
            and firms.registered[p] < clock.day(min(day, AS_OF))]
    weights = [(4.0 if firms.street[p] == home else 1.0)
               * (3.0 if story and firms.industry[p] == "制造业" else 1.0) for p in pool]
    return fixed + pick_weighted(demo.rng, pool, weights, max(k - len(fixed), 0))


def _positions(demo: Demo, firm: int, story: bool) -> list[tuple]:
    rng, firms = demo.rng, demo.firms
    key = next((k for k, p in firms.story.items() if p == firm), None)
    if story and key in STORY_POSITIONS:
        return STORY_POSITIONS[key]
    titles, (low, high) = TITLES.get(firms.industry[firm], OTHER_TITLES)
    out = []
    for title in rng.sample(titles, rng.randint(1, min(4, len(titles)))):
        if rng.random() < 0.12:  # 面议
            pay_min = pay_max = None
        else:
            pay_min = round(rng.uniform(low, (low + high) / 2) / 100) * 100
            pay_max = pay_min + round(rng.uniform(1000, 4000) / 100) * 100
        out.append((title, rng.randint(1, 20), pay_min, pay_max, rng.choice(REQUIREMENTS),
                    None))
    return out


def _updates(demo: Demo, position: int, day: dt.date, headcount: int,
             funnel: tuple | None, actor: int | None) -> list[tuple]:
    """The position's funnel filling in: the fair's day, the checks, the hires, 90 days."""
    rng = demo.rng
    if funnel is None:
        applicants = max(1, round(headcount * rng.uniform(0.6, 2.5)))
        intents = round(applicants * rng.uniform(0.3, 0.7))
        checks = round(intents * rng.uniform(0.3, 0.7))
        hired = round(checks * rng.uniform(0.6, 1.0))
        retained = round(hired * rng.uniform(0.7, 1.0))
        first = (applicants, intents, 0)
    else:
        applicants, intents, checks, hired, retained = funnel
        first = (applicants, intents, checks)  # the seed: 10 at the check on the first day
    steps = [(day, (*first, 0, None)),
             (day + dt.timedelta(days=rng.randint(7, 14)), (applicants, intents, checks, 0,
                                                             None)),
             (day + dt.timedelta(days=rng.randint(21, 45)), (applicants, intents, checks,
                                                              hired, None)),
             (rules.retention_due(day), (applicants, intents, checks, hired, retained))]
    out = []
    for when, counts in steps:
        if when > AS_OF:
            break
        stamp = f"{min(when, AS_OF).isoformat()} 17:30:00"
        out.append((position, when.isoformat(), *counts, actor, stamp))
    return out


def _hiring_needs(demo: Demo, coming_fair: int, signed: set[int], actor: int | None) -> None:
    """Needs from the latest 用工 appeals (about half of them) and a few calls; the firms
    signed up to the coming fair have theirs marked invited."""
    w, rng = demo.writer, demo.rng
    w.drain()
    found = w.conn.execute(
        select(Appeal.id, Appeal.enterprise_id, Appeal.received_at, Appeal.title)
        .join(Category, Category.id == Appeal.category_id)
        .where(Category.name == "用工",
               Appeal.received_at >= dt.datetime.combine(AS_OF - dt.timedelta(days=240),
                                                         dt.time()))
        .order_by(Appeal.received_at.desc(), Appeal.id.desc()).limit(80)).all()
    rows = []
    for appeal_id, firm, received, title in found:
        if rng.random() < 0.5:
            continue
        day = received.date() if isinstance(received, dt.datetime) else \
            dt.date.fromisoformat(str(received)[:10])
        status = "invited" if firm in signed else rng.choice(
            ("open", "open", "open", "met", "closed"))
        rows.append((firm, rng.randint(2, 30), title, day.isoformat(), appeal_id, status,
                     coming_fair if status == "invited" else None, title, actor,
                     f"{day.isoformat()} 16:00:00", 1))
    firms = demo.firms
    factories = [p for p in range(len(firms)) if firms.industry[p] == "制造业"
                 and not firms.shop[p]]
    for p in rng.sample(factories, min(6, len(factories))):
        fid = firms.ids[p]
        day = AS_OF - dt.timedelta(days=rng.randint(5, 60))
        titles, _ = TITLES["制造业"]
        rows.append((fid, rng.randint(5, 40), "、".join(rng.sample(titles, 2)), day.isoformat(),
                     None, "invited" if fid in signed else "open",
                     coming_fair if fid in signed else None, "电话告知春节后用工缺口", actor,
                     f"{day.isoformat()} 10:00:00", 1))
    w.write(HiringNeed.__table__, NEED_COLS, rows)
