"""Chambers' members, the bank-product catalogue, and financing needs matched to loans.

Matches follow the pipeline the chamber works through (recommended → contacted
→ applied → approved/rejected → disbursed), each step an event, stopping at
the as-of date, so "needed vs approved vs disbursed" and "days from need to
money" have something true to show. Which products a need is matched to, with their
scores and reasons, is the app's own engine (`crm.matching`), learning from the
outcomes of the needs before it, month by month. 齐祥灯饰's 100余万元 through
大石坝街道商会 and 渝融通 is always there.
"""

from __future__ import annotations

import json
from decimal import Decimal

from crm import matching
from crm.demo import stories
from crm.demo.context import AS_OF, Demo
from crm.models import (
    Bank,
    BankProduct,
    FinancingMatch,
    FinancingMatchEvent,
    FinancingNeed,
    chamber_member,
)

MFG, IT, SCI = "制造业", "信息传输、软件和信息技术服务业", "科学研究和技术服务业"
TRADE, FOOD, LOGI = "批发和零售业", "住宿和餐饮业", "交通运输、仓储和邮政业"
# (bank, product, amount 万元 min/max, rate min/max, term months min/max, collateral,
#  industries (empty = any), sizes (empty = any))
PRODUCTS = [
    ("重庆农商行", "渝融通·小微快贷", 10, 300, 0.0385, 0.06, 6, 36, ["credit", "guarantee"], [],
     ["medium", "small", "micro"]),
    ("重庆农商行", "商户e贷", 5, 100, 0.045, 0.075, 6, 24, ["credit"], [TRADE, FOOD],
     ["small", "micro"]),
    ("建设银行重庆分行", "云税贷", 10, 300, 0.0385, 0.0435, 12, 36, ["credit"], [],
     ["small", "micro"]),
    ("建设银行重庆分行", "抵押快贷", 50, 1000, 0.035, 0.045, 12, 120, ["mortgage"], [], []),
    ("工商银行重庆分行", "经营快贷", 10, 500, 0.0375, 0.05, 6, 36, ["credit", "mortgage"], [],
     ["medium", "small", "micro"]),
    ("工商银行重庆分行", "科创贷", 100, 3000, 0.035, 0.045, 12, 60, ["credit", "pledge"],
     [MFG, IT, SCI], ["medium", "small"]),
    ("重庆银行", "好企贷", 50, 1000, 0.04, 0.06, 12, 36, ["guarantee", "mortgage"], [],
     ["medium", "small"]),
    ("重庆银行", "知识价值信用贷", 10, 500, 0.04, 0.055, 12, 36, ["credit", "pledge"],
     [IT, SCI, MFG], []),
    ("重庆三峡银行", "渝快贷", 10, 200, 0.045, 0.07, 6, 24, ["credit", "guarantee"], [],
     ["small", "micro"]),
    ("重庆三峡银行", "制造业中长期贷款", 500, 5000, 0.038, 0.05, 36, 96, ["mortgage", "guarantee"],
     [MFG], ["large", "medium"]),
    ("邮储银行重庆分行", "小微易贷", 5, 200, 0.042, 0.065, 6, 36, ["credit"], [],
     ["small", "micro"]),
    ("邮储银行重庆分行", "极速贷", 1, 50, 0.05, 0.08, 3, 12, ["credit"], [], ["micro"]),
    ("中国银行重庆分行", "中银企E贷", 10, 500, 0.038, 0.055, 12, 36, ["credit", "mortgage"], [],
     []),
    ("农业银行重庆分行", "纳税e贷", 10, 300, 0.039, 0.05, 6, 36, ["credit"], [],
     ["small", "micro"]),
    ("兴业银行重庆分行", "供应链金融", 100, 5000, 0.04, 0.06, 6, 24, ["pledge"],
     [TRADE, MFG, LOGI], ["large", "medium"]),
]
NEED_AMOUNT = {"large": (1000, 10000), "medium": (200, 2000), "small": (30, 500),
               "micro": (5, 100)}
PURPOSES = ["补充流动资金", "购置生产设备", "原材料采购", "扩大生产规模", "支付货款",
            "研发投入", "厂房装修改造", "偿还到期贷款"]
COLLATERAL = (("credit", 45), ("mortgage", 30), ("guarantee", 15), ("pledge", 10))
URGENCY = (("low", 20), ("normal", 60), ("high", 20))
REJECT_REASONS = ["企业征信存在逾期记录", "经营流水不足，暂不满足准入条件", "抵押物估值不足",
                  "企业成立年限不足", "负债率偏高"]
NEED_COLS = ("id", "enterprise_id", "chamber_id", "amount", "amount_approx", "purpose",
             "term_months", "collateral", "urgency", "requested_on", "note", "created_by",
             "created_at", "version")
MATCH_COLS = ("id", "need_id", "product_id", "score", "reasons", "status", "approved_amount",
              "approved_on", "rejected_reason", "disbursed_amount", "disbursed_on", "version",
              "created_at", "updated_at")
EVENT_COLS = ("id", "match_id", "from_status", "to_status", "amount", "note", "actor_id", "at")
DAY = 86400


def add_chamber_members(demo: Demo) -> dict[int, int]:
    """Each street chamber takes ~30% of its street's companies; returns position -> chamber."""
    rng, firms = demo.rng, demo.firms
    chamber_of_street = {demo.ref.street(street).index: demo.chambers[name]
                         for name, street, _ in stories.CHAMBERS}
    member: dict[int, int] = {}
    for pos, street in enumerate(firms.street):
        chamber = chamber_of_street.get(street)
        if chamber and not firms.shop[pos] and rng.random() < 0.3:
            member[pos] = chamber
    qixiang = firms.story.get("qixiang")
    if qixiang is not None:
        member[qixiang] = demo.chambers[stories.CHAMBER]
    demo.writer.write(chamber_member, ("chamber_id", "enterprise_id"),
                      [(c, firms.ids[pos]) for pos, c in sorted(member.items())])
    return member


def add_products(demo: Demo) -> list[BankProduct]:
    banks = {name: Bank(name=name) for name in dict.fromkeys(row[0] for row in PRODUCTS)}
    demo.session.add_all(banks.values())
    demo.session.flush()
    products = [BankProduct(bank_id=banks[b].id, name=n, amount_min=Decimal(a0),
                            amount_max=Decimal(a1),
                            rate_min=Decimal(str(r0)), rate_max=Decimal(str(r1)), term_min=t0,
                            term_max=t1, collateral=c, industries=ind, sizes=sz, active=True)
                for b, n, a0, a1, r0, r1, t0, t1, c, ind, sz in PRODUCTS]
    demo.session.add_all(products)
    demo.session.flush()
    return products


def add_financing(demo: Demo, members: dict[int, int], products: list[BankProduct]) -> int:
    rng, firms, clock = demo.rng, demo.firms, demo.clock
    n_needs = max(1, round(0.15 * len(firms)))
    today = clock.day(AS_OF)
    qixiang = firms.story.get("qixiang")
    member_firms = [p for p in sorted(members) if p != qixiang]  # its one need is the story's
    others = [p for p in range(len(firms)) if p not in members and not firms.shop[p]]
    chamber_user = demo.users.get("chamber_dsb", (None,))[0]
    finance_clerk = demo.users.get("handler_jr", (None,))[0]
    dsb_chamber = demo.chambers.get(stories.CHAMBER)
    needs, matches, events = [], [], []
    w = demo.writer
    need_id = w.next_id(FinancingNeed.__table__)
    match_id = w.next_id(FinancingMatch.__table__)
    event_id = w.next_id(FinancingMatchEvent.__table__)
    plans = []
    for _ in range(n_needs - (qixiang is not None)):
        pool = member_firms if member_firms and (rng.random() < 0.7 or not others) else others
        pos = rng.choice(pool)
        plans.append((today - 730 + rng.randrange(727), pos))
    if qixiang is not None:
        plans.append((clock.day(stories.QIXIANG_NEED["requested"]), qixiang))
    plans.sort()
    engine = _Engine(products)
    for day, pos in plans:
        chamber = members.get(pos)
        actor = chamber_user if chamber == dsb_chamber else finance_clerk
        if pos == qixiang:
            need, matched = _qixiang_need(demo, engine, day)
        else:
            need, matched = _random_need(demo, engine, pos, day)
        for rank, (product, score, reasons) in enumerate(matched):
            steps = need["story_steps"] if "story_steps" in need else \
                _pipeline(demo, day, need["amount"], rank, engine.approval[product.bank_id])
            state = _match_row(match_id, need_id, product.id, score, reasons, steps, clock)
            matches.append(state)
            prev = None
            for to, at, amount, note in steps:
                events.append((event_id, match_id, prev, to, amount, note, actor,
                               demo.ts(at)))
                event_id += 1
                prev = to
                if to in ("approved", "rejected"):
                    engine.decided.append((at // DAY, product.bank_id, firms.industry[pos],
                                           firms.size[pos], int(to == "approved")))
            match_id += 1
        needs.append((need_id, firms.ids[pos], chamber, need["amount"], int(need["approx"]),
                      need["purpose"], need["term"], need["collateral"], need["urgency"],
                      clock.date(day), need.get("note"), actor,
                      demo.ts(day * DAY + 10 * 3600), 1))
        need_id += 1
    for table, cols, rows in ((FinancingNeed.__table__, NEED_COLS, needs),
                              (FinancingMatch.__table__, MATCH_COLS, matches),
                              (FinancingMatchEvent.__table__, EVENT_COLS, events)):
        w.take_ids(table, len(rows))
        w.write(table, cols, rows)
    return len(needs)


class _Engine:
    """The app's matching engine over the demo catalogue, re-learnt each month from the
    outcomes decided before it (as a chamber running the app would see them)."""

    def __init__(self, products: list[BankProduct]) -> None:
        names = {}
        for bank, name, *_ in PRODUCTS:
            names[name] = bank
        self.products = products
        self.facts = [matching.Product(
            p.id, p.bank_id, names[p.name], p.name, float(p.amount_min), float(p.amount_max),
            float(p.rate_min), float(p.rate_max), p.term_min, p.term_max,
            tuple(p.collateral or ()), tuple(p.industries or ()), tuple(p.sizes or ()),
            bool(p.active)) for p in products]
        banks = sorted({p.bank_id for p in products})
        # each bank's own appetite: what the engine has to learn
        self.approval = {b: 0.55 + 0.35 * ((b * 7919) % 11) / 10 for b in banks}
        self.decided: list[tuple[int, int, str | None, str | None, int]] = []
        self._month: int | None = None
        self._catalogue: matching.Catalogue | None = None

    def propose(self, day: int, need: matching.Need, top: int) -> list:
        month = day // 30
        if month != self._month:
            rows = [(b, i, s, a, 1) for d, b, i, s, a in self.decided if d < day]
            self._catalogue = matching.Catalogue(self.facts, matching.History.from_rows(rows))
            self._month = month
        by_id = {p.id: p for p in self.products}
        return [(by_id[x.product_id], x.score, [r.as_dict() for r in x.reasons])
                for x in self._catalogue.match([need], top)[need.need_id]]


def _random_need(demo: Demo, engine: _Engine, pos: int, day: int):
    rng, firms = demo.rng, demo.firms
    lo, hi = NEED_AMOUNT[firms.size[pos]]
    amount = round(lo * (hi / lo) ** rng.random() / 5) * 5 or 5
    approx = rng.random() < 0.1
    need = dict(amount=float(amount), approx=approx, purpose=rng.choice(PURPOSES),
                term=rng.choice((6, 12, 12, 24, 36)),
                collateral=rng.choices([c for c, _ in COLLATERAL], [w for _, w in COLLATERAL])[0],
                urgency=rng.choices([u for u, _ in URGENCY], [w for _, w in URGENCY])[0],
                note=f"{amount}余万元" if approx else None)
    fact = matching.Need(0, need["amount"], need["term"], need["collateral"],
                         firms.industry[pos], firms.size[pos])
    matched = engine.propose(day, fact, rng.choice((1, 1, 2, 3)))
    return need, matched


def _pipeline(demo: Demo, day: int, amount: float, rank: int, approval: float) -> list[tuple]:
    """The steps one match went through by the as-of date: (status, at, amount, note)."""
    rng = demo.rng
    end = demo.as_of_t
    t = day * DAY + 10 * 3600 + rng.randrange(3 * DAY)
    steps = [("recommended", t, None, "按额度、期限、担保方式、行业和规模匹配推荐")]
    chain = [("contacted", 0.8 if rank == 0 else 0.35, (1, 7), "商会组织银企对接"),
             ("applied", 0.75 if rank == 0 else 0.3, (3, 14), "企业提交贷款申请")]
    for status, p, (lo, hi), note in chain:
        t += rng.randint(lo, hi) * DAY
        if t > end or rng.random() >= p:
            return steps
        steps.append((status, t, None, note))
    t += rng.randint(7, 30) * DAY
    if t > end:
        return steps
    if rng.random() >= approval:
        steps.append(("rejected", t, None, rng.choice(REJECT_REASONS)))
        return steps
    approved = float(max(5, round(amount * rng.uniform(0.6, 1.2) / 5) * 5))
    steps.append(("approved", t, approved, "银行审批通过"))
    t += rng.randint(3, 15) * DAY
    if t > end or rng.random() >= 0.9:
        return steps
    steps.append(("disbursed", t, approved, "贷款已发放"))
    return steps


def _match_row(mid, need_id, product_id, score, reasons, steps, clock) -> tuple:
    status, last_at = steps[-1][0], steps[-1][1]
    approved = next(((a, at) for s, at, a, _ in steps if s == "approved"), None)
    rejected = next((n for s, _, _, n in steps if s == "rejected"), None)
    disbursed = next(((a, at) for s, at, a, _ in steps if s == "disbursed"), None)
    return (mid, need_id, product_id, score, json.dumps(reasons, ensure_ascii=False), status,
            approved and approved[0], approved and clock.date(approved[1] // DAY),
            rejected, disbursed and disbursed[0],
            disbursed and clock.date(disbursed[1] // DAY), len(steps), clock.ts(steps[0][1]),
            clock.ts(last_at))


def _qixiang_need(demo: Demo, engine: _Engine, day: int):
    s, clock = stories.QIXIANG_NEED, demo.clock
    _bank, name = stories.YURONGTONG_PRODUCT
    at = day * DAY + 10 * 3600
    paid = clock.day(s["disbursed_on"]) * DAY + 15 * 3600
    steps = [("recommended", at + 3600, None, "商会推荐“渝融通”银企融资对接服务平台产品"),
             ("contacted", at + 2 * DAY, None,
              "大石坝街道商会组织银企沟通会，银行客户经理上门对接"),
             ("applied", at + 6 * DAY, None, "企业通过渝融通平台提交贷款申请"),
             ("approved", paid - 9 * DAY, float(s["approved"]), "银行审批通过"),
             ("disbursed", paid, float(s["disbursed"]), "贷款已发放，缓解企业燃眉之急")]
    need = dict(amount=float(s["amount"]), approx=s["approx"], purpose=s["purpose"],
                term=s["term"], collateral=s["collateral"], urgency=s["urgency"],
                note="100余万元；经商会联系“渝融通”平台对接", story_steps=steps)
    firms = demo.firms
    pos = firms.story["qixiang"]
    fact = matching.Need(0, need["amount"], need["term"], need["collateral"],
                         firms.industry[pos], firms.size[pos])
    # the platform's product, as the engine scores it (it passes every filter)
    product, score, reasons = next(m for m in engine.propose(day, fact, None)
                                   if m[0].name == name)
    return need, [(product, score, ["通过“渝融通”平台对接", *reasons])]



