"""The demo generator: consistent, story-complete, deterministic, and refuses a second run.

One small demo per backend is seeded once for the module (seeding is the
slow part) and every test reads it; the determinism test seeds two more
SQLite files of its own.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import shutil
import uuid
from collections import Counter, defaultdict

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import rules, uscc
from crm.access import SYSTEM
from crm.db import make_engine
from crm.demo import DEMO_PASSWORD, seed_demo
from crm.demo.context import AS_OF
from crm.errors import ValidationError
from crm.lifecycle import need_status
from crm.models import (
    Appeal,
    AppealEvent,
    Assignment,
    Category,
    Chamber,
    Enterprise,
    Extension,
    FairParticipation,
    FairPosition,
    FairPositionUpdate,
    FinancingMatch,
    FinancingNeed,
    HiringNeed,
    JobFair,
    Street,
    Tag,
    Unit,
    User,
    chamber_member,
    enterprise_tag,
)
from crm.models.appeal import STATUSES
from crm.services import jobfair_report
from crm.services.users import authenticate
from tests.conftest import _sa_url

SMALL = dict(enterprises=300, appeals=1500, seed=7)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def seeded(request, tmp_path_factory):
    """(engine, counts) of a freshly seeded small demo, shared by the module's tests."""
    server = name = None
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("demo") / "demo.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
    else:
        server = request.getfixturevalue("pg_server")
        name = server.create(f"{server.prefix}_demo_{uuid.uuid4().hex[:6]}",
                             template=server.template)
        engine = make_engine(_sa_url(name), no_pool=True)
    counts = seed_demo(engine, **SMALL)
    yield engine, counts
    engine.dispose()
    if server:
        server.drop(name)


@pytest.fixture
def session(seeded):
    with Session(seeded[0]) as session:
        yield session


def _appeals(session):
    return session.scalars(select(Appeal).order_by(Appeal.id)).all()


def test_the_counts_returned_are_the_rows_added(seeded, session):
    from crm.db import Base

    _, counts = seeded
    assert counts["enterprise"] == SMALL["enterprises"]
    assert counts["appeal"] == SMALL["appeals"]
    for table, n in counts.items():
        t = Base.metadata.tables[table]
        assert session.scalar(select(func.count()).select_from(t)) == n, table


def test_every_firm_has_a_valid_unique_uscc_and_a_unique_name(session):
    rows = session.execute(select(Enterprise.uscc, Enterprise.name, Enterprise.name_initials,
                                  Enterprise.street_id)).all()
    assert all(uscc.validate(code) == code for code, *_ in rows)
    assert len({r.uscc for r in rows}) == len({r.name for r in rows}) == len(rows)
    assert all(r.name_initials and r.name_initials.isupper() and r.street_id for r in rows)
    shops = [r for r in rows if r.uscc.startswith("92")]
    assert shops and len(shops) < len(rows) / 4


def test_yuzui_figures_follow_the_seed_story_scaled(session):
    yz = session.scalar(select(Street.id).where(Street.name == "鱼嘴镇"))
    n = SMALL["enterprises"]

    def count(*where):
        return session.scalar(select(func.count(func.distinct(Enterprise.id)))
                              .select_from(Enterprise).outerjoin(enterprise_tag)
                              .outerjoin(Tag).where(Enterprise.street_id == yz, *where))

    assert count(Enterprise.is_above_scale) == round(75 * n / 2000)
    assert count(Tag.name == "外资") == round(49 * n / 2000)
    assert count(Enterprise.is_above_scale,
                 Tag.name.in_(["战略性新兴产业", "数字经济"])) == round(13 * n / 2000)
    assert count(Tag.name == "民营") > count(Tag.name == "外资")


def test_every_appeal_status_occurs(session):
    seen = set(session.scalars(select(Appeal.status).distinct()))
    assert seen == set(STATUSES)


def test_each_timeline_is_ordered_chained_and_ends_in_the_appeal_status(session):
    events = defaultdict(list)
    for e in session.execute(select(AppealEvent.appeal_id, AppealEvent.action,
                                    AppealEvent.from_status, AppealEvent.to_status,
                                    AppealEvent.at).order_by(AppealEvent.id)):
        events[e.appeal_id].append(e)
    for a in _appeals(session):
        timeline = events[a.id]
        assert timeline[0].action == "receive" and timeline[0].at == a.received_at
        assert [e.at for e in timeline] == sorted(e.at for e in timeline), a.code
        for before, after in zip(timeline, timeline[1:], strict=False):
            assert after.from_status == before.to_status, a.code
        assert timeline[-1].to_status == a.status, a.code
        assert a.version == len(timeline)


def test_appeal_facts_match_their_status(session):
    limits = dict(session.execute(select(Category.id, Category.limit_days)).all())
    extended = Counter()
    for appeal_id, days in session.execute(select(Extension.appeal_id, Extension.days)
                                           .where(Extension.status == "approved")):
        extended[appeal_id] += days
    order = {s: i for i, s in enumerate(STATUSES)}
    by_id = {}
    for a in _appeals(session):
        by_id[a.id] = a
        rank = order[a.status]
        assert a.due_date >= a.received_at.date()
        assert a.extension_days == extended[a.id]
        if a.reopen_count == 0:
            assert a.due_date == (a.received_at.date()
                                  + dt.timedelta(days=limits[a.category_id] + a.extension_days))
        if a.status == "merged":
            target = by_id[a.merged_into_id]
            assert target.enterprise_id == a.enterprise_id and target.id < a.id
            continue
        dispatched = order["dispatched"] <= rank
        assert (a.lead_unit_id is not None) == dispatched, a.code
        assert (a.dispatched_at is not None) == dispatched, a.code
        assert (a.accepted_at is not None) == (rank >= order["accepted"]), a.code
        replied = rank >= order["replied"]
        assert (a.replied_at is not None) == replied == (a.reply_text is not None) \
            == (a.solved is not None), a.code
        called = rank >= order["callback"]
        assert (a.satisfaction is not None) == called == (a.callback_at is not None) \
            == (a.callback_solved is not None), a.code
        assert (a.archived_at is not None) == (a.status == "archived"), a.code
        stamps = [a.received_at, a.dispatched_at, a.accepted_at, a.replied_at, a.callback_at,
                  a.archived_at]
        stamps = [s for s in stamps if s is not None]
        assert stamps == sorted(stamps), a.code


def test_a_merged_appeal_is_folded_into_an_open_one_of_the_same_firm(session):
    merged = session.scalars(select(Appeal).where(Appeal.status == "merged")).all()
    assert merged
    for a in merged:
        merge = a.events[-1]
        target = session.get(Appeal, a.merged_into_id)
        absorb = [e for e in target.events if e.action == "absorb"
                  and e.data == {"merged": a.code}]
        assert merge.action == "merge" and merge.data == {"into": target.code}
        assert len(absorb) == 1 and absorb[0].at == merge.at
        assert absorb[0].from_status not in ("archived", "merged")
        assert not a.units


def test_kpis_look_like_a_real_district(session):
    appeals = _appeals(session)
    replied = [a for a in appeals if a.replied_at]
    on_time = sum(a.replied_at.date() <= a.due_date for a in replied) / len(replied)
    assert 0.8 <= on_time <= 0.97
    called = [a.satisfaction for a in appeals if a.satisfaction]
    assert 0.7 <= called.count("satisfied") / len(called) <= 0.9
    assert "basic" in called and "unsatisfied" in called
    signed = [a for a in appeals if a.accepted_at]
    fast = sum(a.accepted_at - a.dispatched_at <= dt.timedelta(days=1) for a in signed)
    assert 0.8 <= fast / len(signed) < 1
    assert any(a.reopen_count for a in appeals) and any(a.extension_days for a in appeals)
    assert any(a.visit_id for a in appeals)


def test_a_firm_has_at_most_one_active_cadre_and_most_have_one(session):
    active = Counter(session.scalars(select(Assignment.enterprise_id).where(
        Assignment.kind == "cadre_enterprise", Assignment.end_date.is_(None))))
    assert max(active.values()) == 1
    assert 0.5 <= len(active) / SMALL["enterprises"] <= 0.75
    closed = session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.end_date.is_not(None)))
    assert closed > 0


def test_the_securities_firms_parking_appeal_was_solved_fast(session):
    a = session.scalar(select(Appeal).join(Enterprise).where(
        Enterprise.name.like("%证券%"), Appeal.title.like("%车辆乱停%")))
    assert a.street.name == "江北城街道" and a.lead_unit.name == "区交巡警支队"
    assert a.enterprise.building.name == "江北嘴国际金融中心"
    assert a.status == "archived" and a.satisfaction == "satisfied" and a.callback_solved
    assert a.replied_at - a.received_at < dt.timedelta(days=3)


def test_qixiang_got_over_a_million_through_the_dashiba_chamber(session):
    need = session.scalar(select(FinancingNeed).join(Enterprise).where(
        Enterprise.name == "重庆齐祥灯饰有限公司"))
    chamber = session.get(Chamber, need.chamber_id)
    assert chamber.name == "大石坝街道商会"
    assert need.amount == 100 and need.amount_approx
    assert need_status(need.withdrawn_on is not None, [m.status for m in need.matches]) \
        == "funded"
    match = session.scalar(select(FinancingMatch).where(FinancingMatch.need_id == need.id))
    assert match.status == "disbursed" and match.disbursed_amount > 100
    assert "渝融通" in match.product.name and match.approved_on is not None
    assert match.reasons[0] == "通过“渝融通”平台对接"  # the story's words, then the engine's
    assert {r["key"] for r in match.reasons[1:]} >= {"match.reason.amount", "match.reason.term"}
    assert [e.to_status for e in match.events] == ["recommended", "contacted", "applied",
                                                   "approved", "disbursed"]
    member = session.execute(select(chamber_member).where(
        chamber_member.c.enterprise_id == need.enterprise_id)).first()
    assert member is not None


def test_the_2022_spring_fair_had_56_firms_and_hankook_sent_10_to_checks(session):
    fair = session.scalar(select(JobFair).where(JobFair.held_on == dt.date(2022, 3, 1)))
    assert "春风行动" in fair.name and fair.place and len(fair.participations) == 56
    firms = {p.enterprise.name: p for p in fair.participations}
    assert "重庆海尔制冷电器有限公司" in firms
    on_the_day = jobfair_report.fair_report(session, fair.id, actor=SYSTEM,
                                            as_of=dt.date(2022, 3, 1))
    hankook = next(f for f in on_the_day["firms"] if f["firm"] == "韩泰轮胎（重庆）有限公司")
    assert hankook["intents"] >= 30 and hankook["medical_checks"] == 10
    assert hankook["retained_90d"] is None  # pending on the day
    # outcomes filled in to 90 days: hired and still employed, for every firm
    later = jobfair_report.fair_report(session, fair.id, actor=SYSTEM,
                                       as_of=dt.date(2022, 6, 1))
    hankook = next(f for f in later["firms"] if f["firm"] == "韩泰轮胎（重庆）有限公司")
    assert (hankook["hired"], hankook["retained_90d"]) == (9, 8)
    t = later["totals"]
    assert t["firms"] == 56 and t["retained_90d"] is not None
    assert 0 < t["fill_rate"] <= 1 and t["hired"] >= t["retained_90d"]


def test_every_demo_funnel_update_keeps_the_order_and_young_fairs_have_no_retention(session):
    held = dict(session.execute(select(FairPosition.id, JobFair.held_on)
                                .join(FairParticipation,
                                      FairParticipation.id == FairPosition.participation_id)
                                .join(JobFair, JobFair.id == FairParticipation.fair_id)).all())
    updates = session.scalars(select(FairPositionUpdate)).all()
    assert updates
    for u in updates:
        counts = {s: getattr(u, s) for s in rules.FUNNEL}
        assert rules.funnel_problem(counts) is None, counts
        if u.retained_90d is not None:
            assert u.as_of >= rules.retention_due(held[u.position_id])
    rows = {r["fair"]: r for r in jobfair_report.report(session, actor=SYSTEM,
                                                        as_of=AS_OF)}
    young = [r for r in rows.values() if (AS_OF - r["held_on"]).days < 90]
    assert young and all(r["retained_90d"] is None for r in young)
    coming = [r for r in rows.values() if r["held_on"] > AS_OF]
    assert coming and all(r["applicants"] == 0 and r["firms"] > 0 for r in coming)
    needs = session.scalars(select(HiringNeed)).all()
    assert any(n.appeal_id for n in needs) and any(n.status == "open" for n in needs)


def test_demo_logins_exist_for_every_role(session):
    users = {u.username: u for u in session.scalars(select(User))}
    for name in ("admin", "official", "liaison_jbc", "liaison_dsb", "handler_jj", "handler_rs",
                 "handler_jr", "cadre_jbc", "chamber_dsb", "employment"):
        assert name in users, name
    assert session.get(Unit, users["handler_jj"].unit_id).name == "区交巡警支队"
    assert sum(u.role == "liaison" for u in users.values()) == 12
    assert authenticate(session, "liaison_jbc", DEMO_PASSWORD).street_id
    session.rollback()
    cadre_firms = session.scalar(select(func.count()).select_from(Assignment).where(
        Assignment.person_id == users["cadre_jbc"].person_id, Assignment.end_date.is_(None)))
    assert cadre_firms > 0


def test_every_demo_login_has_its_own_salt(session):
    hashes = session.scalars(select(User.password_hash)).all()
    assert len(hashes) == len(set(hashes)) > 10
    assert all(h.startswith("$argon2id$") for h in hashes)
    session.rollback()


def test_seeding_again_is_refused(seeded):
    with pytest.raises(ValidationError, match="already loaded"):
        seed_demo(seeded[0], **SMALL)


def _fingerprint(engine) -> str:
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in (Appeal.__table__, AppealEvent.__table__, Enterprise.__table__):
            for row in conn.execute(select(table).order_by(table.c.id)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def test_the_same_seed_gives_the_same_data(sqlite_template, tmp_path):
    prints = []
    for i in range(2):
        path = tmp_path / f"copy{i}.db"
        shutil.copy(sqlite_template, path)
        engine = make_engine(f"sqlite:///{path}")
        seed_demo(engine, enterprises=120, appeals=600, seed=11)
        prints.append(_fingerprint(engine))
        engine.dispose()
    assert prints[0] == prints[1]


def test_a_failed_seed_leaves_nothing_behind(engine, monkeypatch):
    from crm.demo import appeals

    def indexes():
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                sql = "SELECT name FROM sqlite_master WHERE type = 'index'"
            else:
                sql = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'"
            return sorted(conn.exec_driver_sql(sql).scalars())

    before = indexes()

    def broken(demo, total):
        raise RuntimeError("disk full")

    monkeypatch.setattr(appeals, "add_appeals", broken)
    with pytest.raises(RuntimeError, match="disk full"):
        seed_demo(engine, enterprises=50, appeals=100)
    with Session(engine) as session:
        assert session.scalar(select(func.count()).select_from(Enterprise)) == 0
        assert session.scalar(select(func.count()).select_from(User)) == 0
    assert indexes() == before


@pytest.mark.parametrize("kind", ["enterprises", "appeals", "visits", "assignments",
                                  "financing-needs", "bank-products", "job-fair"])
def test_the_demo_exports_and_imports_back_unchanged(seeded, tmp_path, kind):
    """The demo speaks like real lists (masked names and phones, GB/T 4754 industries with
    a 、 in them): exported and imported again (a dry run), every row is unchanged."""
    from etl.app import import_file
    from etl.export import export

    engine = seeded[0]
    target = tmp_path / f"{kind}.xlsx"
    with Session(engine) as s:
        written = export(s, kind, target)
    with Session(engine) as s:
        report = import_file(s, target, kind, dry_run=True)
        s.rollback()
    assert written > 0 and report.errors == [] and report.rows_read == written
    assert report.unchanged == written, (report.inserted, report.updated, report.unchanged)
