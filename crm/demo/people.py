"""Demo logins, staff, and 包联送: who owns which building or firm, and their visits.

江北城街道's method is the model: 班子包楼宇 (each street leader owns buildings),
科室包企业 (the street's 经发办 owns firms), 干部一对一服务到人 (each cadre serves
a handful of firms). Assignments are dated; some firms changed cadre, so the
closed assignment stays as history and the new one starts the day after.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import cache

from crm.access import SYSTEM
from crm.auth import hash_password
from crm.demo import stories
from crm.demo.context import AS_OF, Demo
from crm.demo.names import initials, staff_name
from crm.demo.words import VISIT_NOTES
from crm.models import Assignment, Chamber, Person, Visit, visit_policy
from crm.services.users import add_user

DEMO_USERS = [  # (username, role, display name, scope)
    ("admin", "admin", "系统管理员", {}),
    ("official", "official", "刘主任", {}),
    ("handler_jj", "handler", "赵警官", {"unit": "区交巡警支队"}),
    ("handler_rs", "handler", "孙科长", {"unit": "区人力社保局"}),
    ("handler_jr", "handler", "钱科长", {"unit": "区金融办"}),
    ("cadre_jbc", "cadre", "吴干部", {"street": "江北城街道"}),
    ("chamber_dsb", "chamber", "郑秘书长", {"chamber": stories.CHAMBER}),
    ("employment", "employment", "冯老师", {}),
]
LIAISON_SURNAMES = "周陈黄林何罗梁宋唐许邓曹彭"
LEADER_TITLES = {"street": ("党工委书记", "办事处主任", "党工委副书记", "办事处副主任"),
                 "town": ("镇党委书记", "镇长", "镇党委副书记", "副镇长")}
FIRMS_PER_CADRE = 12
PERSON_COLS = ("id", "name", "kind", "title", "phone", "street_id", "unit_id", "active")
ASSIGNMENT_COLS = ("id", "kind", "person_id", "unit_id", "building_id", "enterprise_id",
                   "start_date", "end_date", "note", "created_by_id", "created_at")
VISIT_COLS = ("id", "enterprise_id", "person_id", "recorded_by_id", "visited_on", "way",
              "notes", "created_at")
VISIT_WAYS = (("onsite", 60), ("phone", 25), ("meeting", 15))
VISIT_COUNTS = (0, 1, 2, 3, 4)
VISIT_COUNT_WEIGHTS = (20, 35, 25, 12, 8)  # mean ≈ 1.5 per covered firm
VISIT_MONTHS = 18
APPEAL_FROM_VISIT = 0.3


def add_chambers(demo: Demo) -> None:
    for name, street, founded in stories.CHAMBERS:
        chamber = Chamber(name=name, street_id=demo.ref.street(street).id, founded_on=founded)
        demo.session.add(chamber)
        demo.session.flush()
        demo.chambers[name] = chamber.id


def liaison_username(short_name: str) -> str:
    return "liaison_" + initials(short_name).lower()


@cache
def demo_hash(username: str, password: str) -> str:
    """Each demo login's own argon2 hash (its own salt: equal hashes would show that the
    accounts share a password). argon2 takes 0.1–0.4 s a hash, so a process that seeds
    several databases (the test suite) hashes each login once."""
    return hash_password(password)


def add_users(demo: Demo, password: str) -> int:
    """The logins a demo walks through, one per role (and one liaison per street)."""
    specs = list(DEMO_USERS)
    for i, st in enumerate(demo.ref.streets):
        specs.append((liaison_username(st.short_name), "liaison",
                      LIAISON_SURNAMES[i % len(LIAISON_SURNAMES)] + "专员", {"street": st.name}))
    for username, role, display, scope in specs:
        user = add_user(demo.session, username, role=role, display_name=display,
                        actor=SYSTEM, **scope)
        user.password_hash = demo_hash(username, password)
        demo.users[username] = (user.id, user.person_id)
        if role == "liaison":
            demo.liaison_of_street[demo.ref.street(scope["street"]).index] = user.id
        if role == "handler":
            demo.handler_of_unit[user.unit_id] = user.id
    demo.session.flush()
    return len(specs)


def add_staff(demo: Demo) -> None:
    """Street leaders, cadres (enough for ~12 firms each) and unit clerks, as people."""
    rng, w, ref = demo.rng, demo.writer, demo.ref
    rows = []
    pid = w.next_id(Person.__table__)
    covered = _covered_counts(demo)
    leaders: dict[int, list[int]] = {}
    for st in ref.streets:
        for title in LEADER_TITLES[st.kind]:
            rows.append((pid, staff_name(rng), "leader", title, None, st.id, None, 1))
            leaders.setdefault(st.index, []).append(pid)
            pid += 1
        cadres = demo.cadres_of_street.setdefault(st.index, [])
        for _ in range(max(3, math.ceil(covered[st.index] / FIRMS_PER_CADRE))):
            rows.append((pid, staff_name(rng), "cadre", "企业服务专干", None, st.id, None, 1))
            cadres.append(pid)
            pid += 1
    for name, unit_id in sorted(ref.units.items(), key=lambda kv: kv[1]):
        office = any(name.startswith(st.name) for st in ref.streets)
        for _ in range(1 if office else 2):
            rows.append((pid, staff_name(rng), "handler", "科员", None, None, unit_id, 1))
            pid += 1
    w.take_ids(Person.__table__, len(rows))
    w.write(Person.__table__, PERSON_COLS, rows)
    demo.leaders_of_street = leaders


def _covered_counts(demo: Demo) -> list[int]:
    """Decide which firms get a cadre (四上 firms almost all, others ~58%)."""
    rng, firms = demo.rng, demo.firms
    demo.covered = [rng.random() < (0.92 if above else 0.58) for above in firms.above]
    if "securities" in firms.story:
        demo.covered[firms.story["securities"]] = True
    counts = [0] * len(demo.ref.streets)
    for pos, c in enumerate(demo.covered):
        if c:
            counts[firms.street[pos]] += 1
    return counts


def add_assignments(demo: Demo) -> None:
    rng, w, clock, firms = demo.rng, demo.writer, demo.clock, demo.firms
    table = Assignment.__table__
    aid = w.next_id(table)
    admin = demo.users["admin"][0]
    rows = []
    created = demo.ts(clock.at(AS_OF, 9) - 690 * 86400)
    earliest = clock.day(dt.date(2021, 6, 1))
    for bid, street, _, _, _ in demo.buildings:
        leader = rng.choice(demo.leaders_of_street[street])
        rows.append((aid, "leader_building", leader, None, bid, None,
                     clock.date(earliest + rng.randrange(400)), None, None, admin, created))
        aid += 1
    switch_lo, switch_hi = clock.day(dt.date(2025, 1, 1)), clock.day(dt.date(2026, 9, 30))
    own_cadre = demo.users["cadre_jbc"][1]
    jbc = demo.ref.street("江北城街道").index
    demo.cadre_of_firm = {}  # position -> [(person, start day, end day or None)]
    for pos, eid in enumerate(firms.ids):
        street = firms.street[pos]
        # never after the as-of date: the app refuses an assignment starting in the future
        start = min(max(earliest, firms.registered[pos]) + rng.randrange(300),
                    clock.day(AS_OF))
        if firms.above[pos] or rng.random() < 0.68:
            rows.append((aid, "office_enterprise", None, demo.ref.streets[street].office_id,
                         None, eid, clock.date(start), None, "科室包企业", admin, created))
            aid += 1
        if not demo.covered[pos]:
            continue
        cadres = demo.cadres_of_street[street]
        cadre = rng.choice(cadres)
        if street == jbc and (pos == firms.story.get("securities") or rng.random() < 0.12):
            cadre = own_cadre  # the demo cadre login has firms of its own
        history = []
        if rng.random() < 0.12 and start < switch_lo:
            old = rng.choice(cadres)
            switch = rng.randrange(switch_lo, switch_hi)
            rows.append((aid, "cadre_enterprise", old, None, None, eid, clock.date(start),
                         clock.date(switch), "干部调整，移交新包联干部", admin, created))
            aid += 1
            history.append((old, start, switch))
            start = switch + 1
        rows.append((aid, "cadre_enterprise", cadre, None, None, eid, clock.date(start), None,
                     "干部一对一服务", admin, created))
        aid += 1
        history.append((cadre, start, None))
        demo.cadre_of_firm[pos] = history
    w.take_ids(table, len(rows))
    w.write(table, ASSIGNMENT_COLS, rows)


def _serving(history: list[tuple[int, int, int | None]], day: int) -> int:
    """The cadre assigned to the firm on `day`."""
    for person, start, end in history:
        if start <= day and (end is None or day <= end):
            return person
    return history[-1][0]


def add_visits(demo: Demo) -> int:
    """~1.5 visits per covered firm over 18 months, by whoever served it that day."""
    rng, w, clock, firms = demo.rng, demo.writer, demo.clock, demo.firms
    last = clock.day(AS_OF) - 1
    first = last - VISIT_MONTHS * 30
    recorder_of = {person: uid for uid, person in demo.users.values() if person}
    plans = []
    for pos, history in demo.cadre_of_firm.items():
        n = rng.choices(VISIT_COUNTS, VISIT_COUNT_WEIGHTS)[0]
        lo = max(first, history[0][1], firms.registered[pos])
        if lo >= last:
            continue
        for day in sorted(rng.randint(lo, last) for _ in range(n)):
            plans.append((day, pos, _serving(history, day)))
    plans.sort()
    vid = w.take_ids(Visit.__table__, len(plans))
    rows, links = [], []
    ways = [x for x, _ in VISIT_WAYS]
    way_weights = [x for _, x in VISIT_WAYS]
    policies = [pid for pid, _ in demo.ref.policies]
    for day, pos, person in plans:
        way = rng.choices(ways, way_weights)[0]
        recorder = recorder_of.get(person) or demo.liaison_of_street.get(firms.street[pos])
        rows.append((vid, firms.ids[pos], person, recorder, clock.date(day), way,
                     rng.choice(VISIT_NOTES[way]), demo.ts(day * 86400 + 17 * 3600)))
        if policies and rng.random() < 0.25:
            for policy in rng.sample(policies, min(len(policies), rng.choice((1, 1, 2)))):
                links.append((vid, policy))
        if rng.random() < APPEAL_FROM_VISIT:
            demo.visits_for_appeals.setdefault(day, []).append((vid, pos))
        vid += 1
    w.write(Visit.__table__, VISIT_COLS, rows)
    w.write(visit_policy, ("visit_id", "policy_id"), links)
    return len(rows)
