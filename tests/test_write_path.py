"""One write path: a record entered in the app and the same record imported are stored alike.

For every kind with an app service, the test enters a record through the service
into one database and the same record, as a small spreadsheet, through the importer
into a twin database set up the same way (same users, people, firms, settings, so
the same ids), then compares the stored rows column by column. Both paths take their
rules from `crm.rules`; the refusals (a handler named as cadre, an over-long note, a
broken funnel) must come from both, with the same limit.

Columns left out of the comparison, and why:
- `id` of the compared row itself: the importer reserves ids in blocks.
- `created_at` / `updated_at`: the moment of entry.
- `code` of an appeal: QF<year><id> both ways (crm.rules.appeal_code); `external_ref`:
  only an imported appeal has one (its ledger number, or the importer's derived key).
- `created_by_id` of an appeal: the importer records who imported on the batch
  (`import_batch.user_id` and each row's provenance), not on each appeal; `version`
  of an appeal: the app's first save bumps it when it sets the code.
- `fair_id`, `participation_id`, `position_id`: ids of rows compared themselves (one each
  here); `recorded_at` of a funnel update: the moment of entry.
Nothing else differs by design. The one default that differs by design, the channel
of an appeal given none (the app: `visit`, what a cadre logs after a visit; a ledger:
`import`), is asserted on its own.
"""

from __future__ import annotations

import csv
import datetime as dt
import shutil
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from crm import rules
from crm.access import SYSTEM
from crm.db import make_engine, session_factory
from crm.errors import ValidationError
from crm.i18n import error_text
from crm.models import (
    Appeal,
    Assignment,
    Bank,
    BankProduct,
    Category,
    Contact,
    Enterprise,
    FairParticipation,
    FairPosition,
    FairPositionUpdate,
    FinancingNeed,
    JobFair,
    Street,
    User,
    Visit,
)
from crm.services import appeals, assignments, financing, jobfairs, registration, visits
from crm.services.reference import set_setting
from crm.services.users import actor_of, add_user
from crm.uscc import complete
from etl.app import import_file
from tests.conftest import _sa_url

FIRM = complete("91500105MA5UW001")      # on file in both databases
NEW_FIRM = complete("91500105MA5UW002")  # registered in one, imported in the other
DAY = dt.date(2026, 3, 10)
SKIP = {"id", "created_at", "updated_at"}
APPEAL_SKIP = {"code", "external_ref", "version", "created_by_id"}


@pytest.fixture
def twin_url(request, db_url, tmp_path):
    """A second fresh database on the same backend as `db_url`."""
    if db_url.startswith("sqlite"):
        path = tmp_path / "twin.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server = request.getfixturevalue("pg_server")
    name = server.create(f"{server.prefix}_{uuid.uuid4().hex[:8]}", template=server.template)
    yield _sa_url(name)
    server.drop(name)


def _setup(engine: Engine) -> None:
    """The same people and firm in either database, made in the same order (same ids)."""
    with session_factory(engine).begin() as session:
        add_user(session, "admin1", role="admin", password="secret123", actor=SYSTEM)
        add_user(session, "wang", role="cadre", street="江北城街道", display_name="王干部",
                 password="secret123", actor=SYSTEM)
        add_user(session, "zhao", role="handler", unit="区交巡警支队", display_name="赵办事",
                 password="secret123", actor=SYSTEM)
        street = session.scalar(select(Street.id).where(Street.name == "江北城街道"))
        session.add(Enterprise(uscc=FIRM, name="重庆江北嘴数智科技有限公司",
                               name_initials="CQJBZSZKJYXGS", street_id=street))
        set_setting(session, "appeals.working_days", True)


class Twin:
    """The app's database and the importer's, each with a way in."""

    def __init__(self, app: Engine, imp: Engine, tmp: Path) -> None:
        self.app, self.imp, self.tmp = app, imp, tmp

    def actor(self, engine: Engine, username: str = "admin1"):
        with session_factory(engine)() as session:
            return actor_of(session.scalar(select(User).where(User.username == username)))

    def ids(self, username: str = "wang") -> tuple[int, int]:
        """(firm id, person id of `username`), equal in both databases."""
        out = []
        for engine in (self.app, self.imp):
            with session_factory(engine)() as session:
                person = session.scalar(select(User.person_id)
                                        .where(User.username == username))
                firm = session.scalar(select(Enterprise.id).where(Enterprise.uscc == FIRM))
                out.append((firm, person))
        assert out[0] == out[1]
        return out[0]

    def in_app(self, fn, **kw):
        """Call a service as the admin in the app's database and commit."""
        with session_factory(self.app).begin() as session:
            return fn(session, actor=self.actor(self.app), **kw)

    def imported(self, kind: str, header: list[str], *rows: list):
        """Import a CSV of these rows as the admin into the importer's database."""
        path = self.tmp / f"{kind}-{uuid.uuid4().hex[:6]}.csv"
        with path.open("w", encoding="utf-8", newline="") as f:
            csv.writer(f).writerows([header, *rows])
        with session_factory(self.imp).begin() as session:
            return import_file(session, path, kind, actor=self.actor(self.imp))

    def stored(self, model, skip=frozenset(), where=None, bank: bool = False
               ) -> tuple[list[dict], list[dict]]:
        """The rows of `model` in both databases, without the columns in SKIP and `skip`;
        `bank`: with the name of the bank the row points at (ids may differ)."""
        out = []
        for engine in (self.app, self.imp):
            cols = [c for c in model.__table__.columns if c.name not in SKIP | set(skip)]
            query = select(*cols).order_by(*cols[:3])
            if bank:
                query = query.add_columns(Bank.name.label("bank")).join(
                    Bank, Bank.id == model.__table__.c.bank_id)
            if where is not None:
                query = query.where(where)
            with engine.connect() as conn:
                out.append([dict(r._mapping) for r in conn.execute(query)])
        return out[0], out[1]


@pytest.fixture
def twin(engine, twin_url, tmp_path):
    imp = make_engine(twin_url, no_pool=True) if twin_url.startswith("postgresql") \
        else make_engine(twin_url)
    for e in (engine, imp):
        _setup(e)
    yield Twin(engine, imp, tmp_path)
    imp.dispose()


def diff(app: list[dict], imp: list[dict]) -> list:
    """The columns whose values differ, row by row: (row, column, app value, import value)."""
    assert len(app) == len(imp), (app, imp)
    return [(i, k, a[k], b.get(k)) for i, (a, b) in enumerate(zip(app, imp, strict=True))
            for k in a if a[k] != b.get(k)]


def refused(report) -> list[tuple[str, str, dict]]:
    return [(e.column, e.key, e.params) for e in report.errors]


# --- enterprises ---------------------------------------------------------------------------

def test_a_firm_registered_in_the_app_is_stored_as_the_same_firm_imported(twin):
    twin.in_app(registration.register_enterprise, uscc=NEW_FIRM, name="重庆齐祥灯饰有限公司",
                street="大石坝街道", address="江北区大石坝街道石马河路1号", industry="制造业",
                contact_name="刘经理", contact_phone="(023)6789 1234")
    report = twin.imported("enterprises", ["统一社会信用代码", "企业名称", "所属镇街", "地址",
                                           "所属行业", "联系人", "联系电话"],
                           [NEW_FIRM, "重庆齐祥灯饰有限公司", "大石坝街道",
                            "江北区大石坝街道石马河路1号", "制造业", "刘经理", "(023)6789 1234"])
    assert report.inserted == 1 and not report.errors, refused(report)
    app, imp = twin.stored(Enterprise)
    assert len(app) == 2 and diff(app, imp) == []
    app, imp = twin.stored(Contact)
    assert len(app) == 1 and diff(app, imp) == []
    assert app[0]["phone"] == "023-67891234"  # crm.rules.phone, both ways


def test_an_over_long_firm_name_is_refused_by_both_at_the_same_limit(twin):
    name = "重" * (rules.limit("enterprise", "name") + 1)
    with pytest.raises(ValidationError) as err:
        twin.in_app(registration.register_enterprise, uscc=NEW_FIRM, name=name,
                    street="大石坝街道")
    report = twin.imported("enterprises", ["统一社会信用代码", "企业名称"], [NEW_FIRM, name])
    assert refused(report) == [("企业名称", "etl.too_long",
                                {"limit": err.value.params["limit"], "length": len(name)})]


# --- appeals -------------------------------------------------------------------------------

def test_an_appeal_logged_in_the_app_is_stored_as_the_same_row_imported(twin):
    """With the district's working-day switch on, a 融资 appeal (15 days) received on
    2026-04-30 is due on 2026-05-25 both ways (劳动节 1–5 May, 调休 Saturday 9 May)."""
    firm, _ = twin.ids()
    with session_factory(twin.app)() as session:
        category = session.scalar(select(Category).where(Category.name == "融资"))
        assert (category.limit_days, category.working_days) == (15, False)
    received = dt.datetime(2026, 4, 30, 10, 30)
    twin.in_app(appeals.log_appeal, enterprise_id=firm, category_id=category.id,
                title="流动资金周转困难", description="订单增加，需短期贷款\n约100万元",
                channel="phone", priority="urgent", contact_name="刘经理",
                contact_phone="138 1234 5678", received_at=received)
    report = twin.imported("appeals", ["统一社会信用代码", "诉求类别", "诉求来源", "紧急程度",
                                       "诉求标题", "诉求内容", "联系人", "联系电话", "受理时间"],
                           [FIRM, "融资", "电话", "紧急", "流动资金周转困难",
                            "订单增加，需短期贷款\n约100万元", "刘经理", "138 1234 5678",
                            "2026-04-30 10:30"])
    assert report.inserted == 1 and not report.errors, refused(report)
    app, imp = twin.stored(Appeal, skip=APPEAL_SKIP)
    assert diff(app, imp) == []
    assert app[0]["due_date"] == dt.date(2026, 5, 25)
    assert app[0]["status"] == rules.NEW_APPEAL_STATUS


def test_the_channel_an_appeal_gets_when_none_is_given_differs_by_design(twin):
    firm, _ = twin.ids()
    with session_factory(twin.app)() as session:
        other = session.scalar(select(Category.id).where(Category.name == "其他"))
    twin.in_app(appeals.log_appeal, enterprise_id=firm, category_id=other, title="咨询",
                received_at=dt.datetime(2026, 3, 2, 9))
    twin.imported("appeals", ["统一社会信用代码", "诉求类别", "诉求标题", "受理时间"],
                  [FIRM, "其他", "咨询", "2026-03-02 09:00"])
    app, imp = twin.stored(Appeal, skip=APPEAL_SKIP)
    assert (app[0].pop("channel"), imp[0].pop("channel")) == (rules.APP_CHANNEL,
                                                               rules.IMPORT_CHANNEL)
    assert diff(app, imp) == []


def test_an_over_long_appeal_title_is_refused_by_both_at_the_same_limit(twin):
    firm, _ = twin.ids()
    title = "停" * (rules.limit("appeal", "title") + 1)
    with session_factory(twin.app)() as session:
        traffic = session.scalar(select(Category.id).where(Category.name == "交通"))
    with pytest.raises(ValidationError) as err:
        twin.in_app(appeals.log_appeal, enterprise_id=firm, category_id=traffic, title=title)
    report = twin.imported("appeals", ["统一社会信用代码", "诉求类别", "诉求标题", "受理时间"],
                           [FIRM, "交通", title, "2026-03-02 09:00"])
    assert refused(report) == [("诉求标题", "etl.too_long",
                                {"limit": err.value.params["limit"], "length": len(title)})]


# --- visits --------------------------------------------------------------------------------

VISIT_HEADER = ["统一社会信用代码", "走访干部", "走访日期", "走访方式", "走访情况"]


def test_visits_recorded_in_the_app_are_stored_as_the_same_visits_imported(twin):
    """Two ways the same day are two visits, both ways (the key is firm+day+cadre+way)."""
    firm, cadre = twin.ids()
    for way, notes in (("phone", "了解用工需求"), ("onsite", "现场查看停车")):
        twin.in_app(visits.record_visit, enterprise_id=firm, way=way, visited_on=DAY,
                    notes=notes, person_id=cadre)
    report = twin.imported("visits", VISIT_HEADER,
                           [FIRM, "王干部", DAY.isoformat(), "电话", "了解用工需求"],
                           [FIRM, "王干部", DAY.isoformat(), "实地走访", "现场查看停车"])
    assert report.inserted == 2 and not report.errors, refused(report)
    app, imp = twin.stored(Visit)
    assert len(app) == 2 and diff(app, imp) == []
    again = twin.imported("visits", VISIT_HEADER,
                          [FIRM, "王干部", DAY.isoformat(), "电话", "了解用工需求"])
    assert (again.inserted, again.unchanged) == (0, 1)
    with pytest.raises(ValidationError) as err:  # the same key again: one visit, both ways
        twin.in_app(visits.record_visit, enterprise_id=firm, way="phone", visited_on=DAY,
                    person_id=cadre)
    assert err.value.key == "visit.exists"
    app, imp = twin.stored(Visit)
    assert len(app) == 2 and diff(app, imp) == []


def test_a_handler_named_as_the_visiting_cadre_is_refused_by_both(twin):
    firm, handler = twin.ids("zhao")
    with pytest.raises(ValidationError) as err:
        twin.in_app(visits.record_visit, enterprise_id=firm, way="phone", visited_on=DAY,
                    person_id=handler)
    report = twin.imported("visits", VISIT_HEADER, [FIRM, "赵办事", DAY.isoformat(), "电话", ""])
    assert err.value.key == "rules.not_serving"
    assert refused(report) == [("走访干部", "rules.not_serving", {"name": "赵办事"})]
    assert twin.stored(Visit) == ([], [])


def test_over_long_visit_notes_are_refused_by_both_at_the_same_limit(twin):
    firm, cadre = twin.ids()
    notes = "记" * (rules.limit("visit", "notes") + 1)
    with pytest.raises(ValidationError) as err:
        twin.in_app(visits.record_visit, enterprise_id=firm, way="phone", visited_on=DAY,
                    notes=notes, person_id=cadre)
    report = twin.imported("visits", VISIT_HEADER,
                           [FIRM, "王干部", DAY.isoformat(), "电话", notes])
    assert err.value.params["limit"] == rules.LONG_TEXT
    assert refused(report) == [("走访情况", "etl.too_long",
                                {"limit": rules.LONG_TEXT, "length": len(notes)})]
    # one under the limit is stored by both
    twin.in_app(visits.record_visit, enterprise_id=firm, way="phone", visited_on=DAY,
                notes=notes[1:], person_id=cadre)
    twin.imported("visits", VISIT_HEADER, [FIRM, "王干部", DAY.isoformat(), "电话", notes[1:]])
    app, imp = twin.stored(Visit)
    assert len(app) == 1 and diff(app, imp) == []


def test_a_visit_dated_before_2000_is_refused_by_both(twin):
    firm, cadre = twin.ids()
    early = rules.EARLIEST_VISIT - dt.timedelta(days=1)
    with pytest.raises(ValidationError):
        twin.in_app(visits.record_visit, enterprise_id=firm, way="phone", visited_on=early,
                    person_id=cadre)
    report = twin.imported("visits", VISIT_HEADER, [FIRM, "王干部", early.isoformat(), "电话", ""])
    assert refused(report) == [("走访日期", "etl.too_early",
                                {"earliest": rules.EARLIEST_VISIT.isoformat()})]
    assert twin.stored(Visit) == ([], [])


# --- assignments ---------------------------------------------------------------------------

ASSIGN_HEADER = ["统一社会信用代码", "包联干部", "开始日期", "备注"]


def test_an_assignment_made_in_the_app_is_stored_as_the_same_assignment_imported(twin):
    firm, cadre = twin.ids()
    twin.in_app(assignments.assign_cadre, enterprise_id=firm, person_id=cadre, start_date=DAY,
                note="一对一服务")
    report = twin.imported("assignments", ASSIGN_HEADER,
                           [FIRM, "王干部", DAY.isoformat(), "一对一服务"])
    assert report.inserted == 1 and not report.errors, refused(report)
    app, imp = twin.stored(Assignment)
    assert len(app) == 1 and diff(app, imp) == []


def test_the_firms_own_cadre_named_again_from_another_day_leaves_it_as_it_is_both_ways(twin):
    firm, cadre = twin.ids()
    later = DAY + dt.timedelta(days=20)
    twin.in_app(assignments.assign_cadre, enterprise_id=firm, person_id=cadre, start_date=DAY)
    twin.in_app(assignments.assign_cadre, enterprise_id=firm, person_id=cadre,
                start_date=later)
    first = twin.imported("assignments", ASSIGN_HEADER, [FIRM, "王干部", DAY.isoformat(), ""])
    again = twin.imported("assignments", ASSIGN_HEADER, [FIRM, "王干部", later.isoformat(), ""])
    assert first.inserted == 1 and not again.errors, refused(again)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)
    app, imp = twin.stored(Assignment)
    assert len(app) == 1 and app[0]["start_date"] == DAY and diff(app, imp) == []


def test_a_handler_named_as_a_firms_cadre_is_refused_by_both(twin):
    firm, handler = twin.ids("zhao")
    with pytest.raises(ValidationError) as err:
        twin.in_app(assignments.assign_cadre, enterprise_id=firm, person_id=handler,
                    start_date=DAY)
    report = twin.imported("assignments", ASSIGN_HEADER, [FIRM, "赵办事", DAY.isoformat(), ""])
    assert err.value.key == "rules.not_serving"
    assert refused(report) == [("包联干部", "rules.not_serving", {"name": "赵办事"})]
    assert twin.stored(Assignment) == ([], [])


def test_an_over_long_assignment_note_is_refused_by_both_at_the_same_limit(twin):
    firm, cadre = twin.ids()
    note = "备" * (rules.limit("assignment", "note") + 1)
    with pytest.raises(ValidationError):
        twin.in_app(assignments.assign_cadre, enterprise_id=firm, person_id=cadre,
                    start_date=DAY, note=note)
    report = twin.imported("assignments", ASSIGN_HEADER, [FIRM, "王干部", DAY.isoformat(), note])
    assert refused(report) == [("备注", "etl.too_long",
                                {"limit": rules.limit("assignment", "note"),
                                 "length": len(note)})]


# --- financing needs and bank products -----------------------------------------------------

def test_a_financing_need_entered_in_the_app_is_stored_as_the_same_need_imported(twin):
    firm, _ = twin.ids()
    twin.in_app(financing.add_financing_need, enterprise_id=firm, amount=Decimal("100"),
                requested_on=DAY, purpose="购置设备", term_months=12, collateral="mortgage",
                urgency="high", note="订单增长")
    report = twin.imported("financing-needs", ["统一社会信用代码", "融资需求（万元）", "资金用途",
                                               "融资期限（月）", "担保方式", "紧急程度",
                                               "需求日期", "备注"],
                           [FIRM, "100", "购置设备", "12", "抵押", "紧急", DAY.isoformat(),
                            "订单增长"])
    assert report.inserted == 1 and not report.errors, refused(report)
    app, imp = twin.stored(FinancingNeed)
    assert len(app) == 1 and diff(app, imp) == []
    assert app[0]["created_by"] is not None  # who put it on file: the admin, both ways
    for engine in (twin.app, twin.imp):  # no status stored: it follows from the matches
        with engine.connect() as conn:
            assert conn.scalar(select(financing.need_status_sql())) == "open"


def test_a_financing_need_with_no_urgency_gets_the_same_default_both_ways(twin):
    firm, _ = twin.ids()
    twin.in_app(financing.add_financing_need, enterprise_id=firm, amount=50, requested_on=DAY)
    twin.imported("financing-needs", ["统一社会信用代码", "融资需求（万元）", "需求日期"],
                  [FIRM, "50", DAY.isoformat()])
    app, imp = twin.stored(FinancingNeed)
    assert len(app) == 1 and diff(app, imp) == []
    assert app[0]["urgency"] == rules.DEFAULT_URGENCY


def test_a_bank_product_saved_in_the_app_is_stored_as_the_same_product_imported(twin):
    """The bank is a record, compared by its name. The one difference by design: a bank
    first named in the app's catalogue form is created confirmed (a person chose it
    there), one first named by a sheet unconfirmed, with a note on its row, for an
    administrator to confirm or merge (crm.services.financing_admin)."""
    twin.in_app(financing.save_bank_product, bank="重庆农商行", name="渝快贷",
                amount_min=50, amount_max=500, rate_min=Decimal("0.0385"),
                rate_max=Decimal("0.06"), term_min=12, term_max=36,
                collateral=["credit", "mortgage"], industries=["制造业", "批发和零售业"],
                sizes=["small", "micro"])
    report = twin.imported("bank-products", ["银行", "产品名称", "额度（万元）", "年利率",
                                             "期限（月）", "担保方式", "适用行业", "适用规模"],
                           ["重庆农商行", "渝快贷", "50-500", "3.85%-6%", "12-36", "信用、抵押",
                            "制造业、批发和零售业", "小型、微型"])
    assert report.inserted == 1 and not report.errors, refused(report)
    assert [(w.row, w.column, w.key, w.params) for w in report.warnings] == [
        (2, "银行", "etl.new_bank", {"name": "重庆农商行"})]
    app, imp = twin.stored(BankProduct, skip={"bank_id"}, bank=True)
    assert len(app) == 1 and diff(app, imp) == []
    assert app[0]["bank"] == "重庆农商行" and app[0]["active"] is rules.PRODUCT_ACTIVE
    assert [b["confirmed"] for b in twin.stored(Bank)[0]] == [True]
    assert [b["confirmed"] for b in twin.stored(Bank)[1]] == [False]


def test_a_product_of_a_known_bank_is_stored_alike_with_no_note(twin):
    for engine in (twin.app, twin.imp):
        with session_factory(engine).begin() as session:
            session.add(Bank(name="中国银行"))
    twin.in_app(financing.save_bank_product, bank="中国银行", name="科创贷", amount_min=10,
                amount_max=1000)
    report = twin.imported("bank-products", ["银行", "产品名称", "额度（万元）"],
                           ["中国银行", "科创贷", "10-1000"])
    assert report.inserted == 1 and not report.errors and not report.warnings
    app, imp = twin.stored(BankProduct, skip={"bank_id"}, bank=True)
    assert len(app) == 1 and diff(app, imp) == []


def test_an_over_long_product_name_is_refused_by_both_at_the_same_limit(twin):
    name = "贷" * (rules.limit("bank_product", "name") + 1)
    with pytest.raises(ValidationError) as err:
        twin.in_app(financing.save_bank_product, bank="重庆农商行", name=name)
    report = twin.imported("bank-products", ["银行", "产品名称"], ["重庆农商行", name])
    assert refused(report) == [("产品名称", "etl.too_long",
                                {"limit": err.value.params["limit"], "length": len(name)})]


# --- job fairs -----------------------------------------------------------------------------

FAIR_HEADER = ["招聘会名称", "举办日期", "举办地点", "组织镇街", "统一社会信用代码", "岗位名称",
               "招聘人数", "薪资（元/月）", "投递简历数", "达成意向人数", "体检人数", "入职人数"]
FAIR_DAY = dt.date(2026, 3, 1)


def _fair_in_app(session, *, actor, firm, street=None, place=None, counts=None):
    fair = jobfairs.create_fair(session, actor=actor, name="春风行动专场招聘会", held_on=FAIR_DAY,
                                place=place, street_id=street)
    part = jobfairs.sign_up(session, fair.id, firm, actor=actor)
    pos = jobfairs.save_position(session, part.id, actor=actor, title="操作工", headcount=20,
                                 pay_min=4000, pay_max=6000)
    if counts:
        jobfairs.record_update(session, pos.id, actor=actor, as_of=FAIR_DAY, **counts)
    return pos


def test_a_fair_position_and_its_funnel_entered_in_the_app_are_stored_as_imported(twin):
    firm, _ = twin.ids()
    with session_factory(twin.app)() as session:
        street = session.scalar(select(Street.id).where(Street.name == "鱼嘴镇"))
    twin.in_app(_fair_in_app, firm=firm, street=street, place="鱼嘴镇文化广场",
                counts={"applicants": 40, "intents": 30, "medical_checks": 10, "hired": 8})
    report = twin.imported("job-fair", FAIR_HEADER,
                           ["春风行动专场招聘会", FAIR_DAY.isoformat(), "鱼嘴镇文化广场", "鱼嘴镇",
                            FIRM, "操作工", "20", "4000-6000", "40", "30", "10", "8"])
    assert not report.errors, refused(report)
    for model, skip in ((JobFair, set()), (FairParticipation, {"fair_id"}),
                        (FairPosition, {"participation_id"}),
                        (FairPositionUpdate, {"position_id", "recorded_at"})):
        app, imp = twin.stored(model, skip)
        assert len(app) == 1 and diff(app, imp) == [], model


def test_a_funnel_out_of_order_is_refused_by_both_with_the_same_message(twin):
    """12 résumés, 20 intents: the service refuses the update and the importer the row,
    both naming the two stages and their numbers; neither stores a funnel."""
    firm, _ = twin.ids()
    counts = {"applicants": 12, "intents": 20, "medical_checks": 1, "hired": 0}
    with pytest.raises(ValidationError) as err:
        twin.in_app(_fair_in_app, firm=firm, counts=counts)
    report = twin.imported("job-fair", FAIR_HEADER[:2] + ["统一社会信用代码", "岗位名称",
                                                          "招聘人数", "薪资（元/月）",
                                                          "投递简历数", "达成意向人数",
                                                          "体检人数", "入职人数"],
                           ["春风行动专场招聘会", FAIR_DAY.isoformat(), FIRM, "操作工", "20",
                            "4000-6000", "12", "20", "1", "0"])
    assert [(e.row, e.column, e.key) for e in report.errors] == [
        (2, "达成意向人数", "jobfair.funnel_order")]
    assert report.errors[0].message() == error_text(err.value)
    assert "“达成意向”20 人多于“投递简历”12 人" in error_text(err.value)
    for model in (JobFair, FairPositionUpdate):
        app, imp = twin.stored(model)
        assert app == imp == [], model


# --- the rules themselves ------------------------------------------------------------------

def test_the_due_date_rule_reads_the_category_or_the_district_switch():
    from crm.services.calendar import WorkCalendar

    may_day = WorkCalendar({**{dt.date(2026, 5, d): False for d in range(1, 6)},
                            dt.date(2026, 5, 9): True})
    start = dt.date(2026, 4, 30)
    due = {(cat, dist): rules.due_date(may_day, start, 15, category_working=cat,
                                       district_setting=dist)
           for cat in (False, True) for dist in (False, True)}
    assert due == {(False, False): dt.date(2026, 5, 15), (True, False): dt.date(2026, 5, 25),
                   (False, True): dt.date(2026, 5, 25), (True, True): dt.date(2026, 5, 25)}


def test_the_funnel_rule_names_the_first_pair_out_of_order():
    assert rules.funnel_break({"applicants": 50, "intents": 30, "medical_checks": 10,
                               "hired": 8}) is None
    assert rules.funnel_break({"applicants": 12, "hired": 20}) == ("applicants", 12, "hired", 20)
    assert rules.funnel_break({"intents": 5, "medical_checks": 6, "hired": 9}) == \
        ("intents", 5, "medical_checks", 6)
    assert rules.funnel_break({}) is None
