"""Buildings, firms, their tags and contacts.

Firms are spread over the streets by fixed shares, so the proportions hold
at any size; the seed story's 鱼嘴镇 figures (75 四上 firms, 13 of them in
strategic emerging industries or the digital economy, 49 foreign-invested,
400+ private) are exact at the default 2,000 firms and scale with the count.
"""

from __future__ import annotations

from crm import uscc
from crm.demo import stories, words
from crm.demo.context import AS_OF, Demo
from crm.demo.names import CompanyNamer, UsccMaker, initials, masked_name, phone
from crm.demo.sampling import apportion, log_uniform, pick_weighted
from crm.models import Building, Contact, Enterprise, enterprise_tag

DEFAULT_FIRMS = 2000
YUZUI = "鱼嘴镇"
INDUSTRIES = list(words.INDUSTRY_WORDS)
SIZE_WEIGHTS = {"large": 2, "medium": 9, "small": 34, "micro": 55}
CAPITAL = {"large": (5000, 100000), "medium": (500, 5000), "small": (50, 1000),
           "micro": (3, 100)}
ABOVE_WEIGHT = {"large": 40.0, "medium": 15.0, "small": 2.0, "micro": 0.3}
IN_BUILDING = {"江北城街道": 0.75, "观音桥街道": 0.4}  # share of firms in a tower
SHOP_SHARE = {"观音桥街道": 0.15, "华新街街道": 0.15, "五里店街道": 0.12}
ENTERPRISE_COLS = ("id", "uscc", "name", "name_initials", "street_id", "community_id",
                   "building_id", "address", "industry", "size", "registered_on",
                   "registered_capital", "legal_rep", "business_scope", "is_above_scale",
                   "active", "version", "created_at", "updated_at")
CONTACT_COLS = ("id", "enterprise_id", "name", "phone", "title", "is_primary")


def scaled(n_firms: int, at_default: int) -> int:
    """A seed-story count at the default size, scaled to n firms."""
    return round(at_default * n_firms / DEFAULT_FIRMS)


def add_buildings(demo: Demo) -> int:
    streets = {s.name: s for s in demo.ref.streets}
    rows = []
    for street, name, community, road in words.BUILDINGS:
        st = streets[street]
        comm = next((cid for cid, cname in st.communities if cname == community), None)
        rows.append((Building(street_id=st.id, community_id=comm, name=name, address=road),
                     st.index, road))
    demo.session.add_all([b for b, _, _ in rows])
    demo.session.flush()
    demo.buildings = [(b.id, idx, b.name, road, b.community_id) for b, idx, road in rows]
    return len(rows)


class _Plan:
    """One firm before it is written: decided step by step, then turned into a row."""

    __slots__ = ("street", "shop", "industry", "size", "above", "tags", "name", "initials",
                 "story", "building", "community", "address", "registered", "capital",
                 "contact", "kind")

    def __init__(self, street: int) -> None:
        self.street = street
        self.shop = False
        self.above = False
        self.tags: list[str] = []
        self.story: str | None = None
        self.building = self.community = None
        self.contact = None
        self.kind = "1"


def add_enterprises(demo: Demo, n: int) -> int:
    rng, ref = demo.rng, demo.ref
    n = max(n, len(stories.FIRMS))
    demo.progress("企业", 0, n)
    plans = _story_plans(demo)
    weights = [words.STREET_WEIGHTS.get(s.name, 1) for s in ref.streets]
    quota = apportion(n, weights)
    for p in plans:
        quota[p.street] -= 1
    randoms = [_random_plan(demo, street) for street, count in enumerate(quota)
               for _ in range(max(count, 0))]
    demo.rng.shuffle(randoms)  # ids interleave streets, as imports over time would
    plans.extend(randoms)
    _mark_above_scale(demo, plans, n)
    _tag(demo, plans, n)
    namer = CompanyNamer(rng, {p.name for p in plans if p.story})
    for p in randoms:
        if p.shop:
            p.name, p.initials, p.industry = namer.shop()
        else:
            p.name, p.initials = namer.company(p.industry)
        _place(demo, p)
    story_codes = {p.name: uscc.complete(stories.FIRMS[p.story]["first16"]) for p in plans
                   if p.story}
    # Story codes are reserved first so a random code can never take one.
    return _write(demo, plans, UsccMaker(rng, set(story_codes.values())), story_codes)


def _story_plans(demo: Demo) -> list[_Plan]:
    out = []
    for key, f in stories.FIRMS.items():
        st = demo.ref.street(f["street"])
        p = _Plan(st.index)
        p.story, p.name, p.initials = key, f["name"], initials(f["name"])
        p.industry, p.size, p.above, p.tags = f["industry"], f["size"], f["above"], list(f["tags"])
        p.registered = demo.clock.day(f["registered"])
        p.capital = float(f["capital"])
        p.community = next(cid for cid, c in st.communities if c == f["community"])
        if f["building"]:
            bid, _, bname, road, _ = next(b for b in demo.buildings if b[2] == f["building"])
            p.building = bid
            p.address = f"重庆市江北区{road}{bname}{f['floor']}"
        else:
            p.address = f"重庆市江北区{f['road']}"
        p.contact = f["contact"]
        out.append(p)
    return out


def _random_plan(demo: Demo, street: int) -> _Plan:
    rng = demo.rng
    name = demo.ref.streets[street].name
    p = _Plan(street)
    if rng.random() < SHOP_SHARE.get(name, 0.08):
        p.shop, p.kind, p.size = True, "2", "micro"
        p.industry = ""  # from the shop word
    else:
        p.industry = rng.choices(INDUSTRIES, words.INDUSTRY_MIX[name])[0]
        p.size = rng.choices(list(SIZE_WEIGHTS), list(SIZE_WEIGHTS.values()))[0]
    age = int(28 * rng.random() ** 1.7 * 365)  # more young firms than old ones
    p.registered = demo.clock.day(AS_OF) - 27 - age
    low, high = CAPITAL[p.size] if not p.shop else (1, 50)
    p.capital = round(log_uniform(rng, low, high), 2 if rng.random() < 0.3 else 0)
    return p


def _mark_above_scale(demo: Demo, plans: list[_Plan], n: int) -> None:
    """四上 firms: ~8% of the district, exactly the story's 75 (scaled) in 鱼嘴镇."""
    yz = demo.ref.street(YUZUI).index
    total = max(round(0.08 * n), scaled(n, 75))
    targets = {yz: scaled(n, 75)}
    others = [s.index for s in demo.ref.streets if s.index != yz]
    counts = [sum(1 for p in plans if p.street == s) for s in others]
    for s, k in zip(others, apportion(total - targets[yz], counts), strict=True):
        targets[s] = k
    for street, k in targets.items():
        fixed = [p for p in plans if p.street == street and p.story and p.above]
        pool = [p for p in plans if p.street == street and not p.story and not p.shop]
        for p in pick_weighted(demo.rng, pool, [ABOVE_WEIGHT[p.size] for p in pool],
                               max(k - len(fixed), 0)):
            p.above = True


def _tag(demo: Demo, plans: list[_Plan], n: int) -> None:
    rng = demo.rng
    yz = demo.ref.street(YUZUI).index
    jbc = demo.ref.street("江北城街道").index
    # 鱼嘴镇: exactly 49 foreign firms and 13 strategic/digital 四上 firms (scaled).
    yz_plans = [p for p in plans if p.street == yz and not p.story]
    n_foreign = scaled(n, 49) - sum(1 for p in plans if p.street == yz and "外资" in p.tags)
    firms = [p for p in yz_plans if not p.shop]
    foreign = set(map(id, pick_weighted(rng, firms, [3.0 if p.above else 1.0 for p in firms],
                                        max(n_foreign, 0))))
    above = [p for p in yz_plans if p.above]
    strategic = pick_weighted(rng, above, [1.0] * len(above), scaled(n, 13))
    for p in strategic:
        r = rng.random()
        p.tags += ["战略性新兴产业"] if r < 0.6 else ["数字经济"] if r < 0.85 else \
            ["战略性新兴产业", "数字经济"]
    for p in plans:
        if p.story:
            continue
        if p.street == yz:
            own = "外资" if id(p) in foreign else "国有" if rng.random() < 0.015 else "民营"
        elif p.shop:
            own = "民营"
        else:
            r = rng.random()
            state, abroad = (0.08, 0.06) if p.street == jbc else (0.025, 0.03)
            own = "国有" if r < state else "外资" if r < state + abroad else "民营"
        p.tags.insert(0, own)
        if p.shop:
            continue
        tech = p.industry in ("制造业", "信息传输、软件和信息技术服务业", "科学研究和技术服务业")
        if rng.random() < (0.06 if tech else 0.01):
            p.tags.append("专精特新")
        if rng.random() < (0.10 if tech else 0.01):
            p.tags.append("高新技术企业")
        if p.street != yz:  # 鱼嘴's strategic/digital firms are exactly the story's 13
            if rng.random() < (0.08 if tech else 0.015):
                p.tags.append("战略性新兴产业")
            if rng.random() < (0.3 if p.industry.startswith("信息") else 0.03):
                p.tags.append("数字经济")


def _place(demo: Demo, p: _Plan) -> None:
    """Community, building and address for a random firm."""
    rng = demo.rng
    st = demo.ref.streets[p.street]
    towers = [b for b in demo.buildings if b[1] == p.street]
    share = IN_BUILDING.get(st.name, 0.15)
    if p.street == demo.ref.street(YUZUI).index and p.industry == "制造业":
        share = 0.5
    if towers and not p.shop and rng.random() < share:
        bid, _, bname, road, p.community = rng.choice(towers)
        p.building = bid
        floor = rng.randint(2, 45)
        p.address = f"重庆市江北区{road}{bname}{floor}楼{floor:d}{rng.randint(1, 20):02d}"
        return
    cid, cname = rng.choice(st.communities)
    p.community = cid
    if cname.endswith("村"):
        p.address = f"重庆市江北区{st.name}{cname}{rng.randint(1, 12)}社"
    else:
        p.address = f"重庆市江北区{rng.choice(words.ROADS[st.name])}{rng.randint(1, 300)}号"
        if rng.random() < 0.4:
            p.address += f"附{rng.randint(1, 30)}号"


def _write(demo: Demo, plans: list[_Plan], usccs: UsccMaker, story_codes: dict) -> int:
    rng, clock, writer, firms = demo.rng, demo.clock, demo.writer, demo.firms
    tag_ids = demo.ref.tags
    table = Enterprise.__table__
    first = writer.take_ids(table, len(plans))
    contact_id = writer.next_id(Contact.__table__)
    created = demo.ts(clock.at(AS_OF, 9) - 700 * 86400)
    rows, tag_rows, contacts = [], [], []
    for i, p in enumerate(plans):
        eid = first + i
        code = story_codes[p.name] if p.story else usccs.make(p.kind)
        scope = words.BUSINESS_SCOPE.get(p.industry)
        rows.append((eid, code, p.name, p.initials, demo.ref.streets[p.street].id, p.community,
                     p.building, p.address, p.industry, p.size, clock.date(p.registered),
                     p.capital, masked_name(rng), scope, int(p.above), 1, 1, created, created))
        for tag in dict.fromkeys(p.tags):
            tag_rows.append((eid, tag_ids[tag]))
        name, tel, title = p.contact or (masked_name(rng), phone(rng),
                                         rng.choice(words.CONTACT_TITLES))
        contacts.append((contact_id, eid, name, tel, title, 1))
        contact_id += 1
        if not p.shop and rng.random() < 0.4:
            contacts.append((contact_id, eid, masked_name(rng), phone(rng),
                             rng.choice(words.CONTACT_TITLES), 0))
            contact_id += 1
        firms.ids.append(eid)
        firms.street.append(p.street)
        firms.industry.append(p.industry)
        firms.size.append(p.size)
        firms.above.append(p.above)
        firms.shop.append(p.shop)
        firms.registered.append(p.registered)
        firms.contact.append((name, tel))
        if p.story:
            firms.story[p.story] = i
    total = len(rows)
    chunk = 20000
    for start in range(0, total, chunk):
        writer.write(table, ENTERPRISE_COLS, rows[start:start + chunk])
        demo.progress("企业", min(start + chunk, total), total)
    writer.write(enterprise_tag, ("enterprise_id", "tag_id"), tag_rows)
    writer.take_ids(Contact.__table__, len(contacts))
    writer.write(Contact.__table__, CONTACT_COLS, contacts)
    return total
