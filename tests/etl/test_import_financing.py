"""Chambers and banks named by sheets: a needs sheet's 所属商会, a roster's 所属商会 (several
per cell), the catalogue's 银行. Unknown ones are created unconfirmed with a note on the row;
memberships are added, never removed; a rollback takes back what the batch added."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm.access import SYSTEM
from crm.db import session_factory
from crm.models import Bank, BankProduct, Chamber, Enterprise, FinancingNeed, chamber_member
from crm.services.users import actor_of, add_user
from crm.uscc import complete
from etl.app import rollback
from etl.export import export
from tests.etl.conftest import A, B, C, counts, errors, run_import, xlsx

E = complete("91500105MA5UE005")
F = complete("91500105MA5UF006")


@pytest.fixture
def admin(engine):
    with session_factory(engine).begin() as s:
        return actor_of(add_user(s, "boss", role="admin", password=None, actor=SYSTEM))


def memberships(engine) -> set[tuple[str, str]]:
    """(chamber, firm USCC) of every membership."""
    with session_factory(engine)() as s:
        return set(s.execute(select(Chamber.name, Enterprise.uscc)
                             .join(chamber_member, chamber_member.c.chamber_id == Chamber.id)
                             .join(Enterprise,
                                   Enterprise.id == chamber_member.c.enterprise_id)).all())


def chambers(engine) -> dict[str, bool]:
    with session_factory(engine)() as s:
        return dict(s.execute(select(Chamber.name, Chamber.confirmed)).all())


def notes(report) -> list[tuple[int, str, str]]:
    return [(w.row, w.column, w.message()) for w in report.warnings]


# --- financing needs ---------------------------------------------------------------------------

NEEDS = [["统一社会信用代码", "融资需求（万元）", "资金用途", "需求日期", "所属商会"],
         [A, "100", "采购原材料", "2026-03-01", "江北区青年企业家商会"],
         [B, "200", "购置设备", "2026-03-02", "江北区青年企业家商会"],
         [C, "50", "周转", "2026-03-03", "大石坝街道商会"]]


def test_a_needs_sheet_naming_an_unknown_chamber_creates_it_and_makes_firms_members(
        engine, firms, people, admin, tmp_path):
    report = run_import(engine, "financing-needs", xlsx(tmp_path / "needs.xlsx", NEEDS),
                        actor=admin)
    assert counts(report) == (3, 3, 0, 0, 0)
    assert notes(report) == [
        (2, "所属商会", "新商会“江北区青年企业家商会”已创建（未确认），待管理员确认或合并")]
    assert chambers(engine) == {"大石坝街道商会": True, "江北区青年企业家商会": False}
    assert memberships(engine) == {("江北区青年企业家商会", A), ("江北区青年企业家商会", B),
                                   ("大石坝街道商会", C)}
    with session_factory(engine)() as s:
        need = s.scalar(select(FinancingNeed).where(FinancingNeed.purpose == "购置设备"))
        assert s.get(Chamber, need.chamber_id).name == "江北区青年企业家商会"
        assert need.created_by == admin.id
    again = run_import(engine, "financing-needs", xlsx(tmp_path / "again.xlsx", NEEDS))
    assert counts(again) == (3, 0, 0, 3, 0) and again.warnings == []
    assert len(memberships(engine)) == 3


def test_a_member_already_is_not_added_again_and_the_row_is_unchanged(engine, firms, people,
                                                                     tmp_path):
    rows = [NEEDS[0], NEEDS[3]]
    run_import(engine, "financing-needs", xlsx(tmp_path / "one.xlsx", rows))
    with session_factory(engine).begin() as s:  # the app takes the firm off the roll
        s.execute(chamber_member.delete())
    report = run_import(engine, "financing-needs", xlsx(tmp_path / "two.xlsx", rows))
    assert counts(report) == (1, 0, 1, 0, 0)  # the need is as it was; the membership is back
    assert memberships(engine) == {("大石坝街道商会", C)}


def test_rolling_back_a_needs_batch_removes_its_needs_chambers_and_memberships(
        engine, firms, people, admin, tmp_path):
    with session_factory(engine).begin() as s:  # C is a member already: that stays
        chamber = s.scalar(select(Chamber.id).where(Chamber.name == "大石坝街道商会"))
        firm = s.scalar(select(Enterprise.id).where(Enterprise.uscc == C))
        s.execute(chamber_member.insert().values(chamber_id=chamber, enterprise_id=firm))
    report = run_import(engine, "financing-needs", xlsx(tmp_path / "needs.xlsx", NEEDS))
    assert len(memberships(engine)) == 3
    with session_factory(engine).begin() as s:
        assert rollback(s, report.batch_id, actor=admin) == {"deleted": 6, "restored": 0}
    assert memberships(engine) == {("大石坝街道商会", C)}
    assert chambers(engine) == {"大石坝街道商会": True}
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(FinancingNeed)) == 0


def test_a_later_batch_adding_another_membership_of_the_same_firm_does_not_block_rollback(
        engine, firms, people, admin, tmp_path):
    with session_factory(engine).begin() as s:
        s.add(Chamber(name="江北区女企业家商会"))
    first = run_import(engine, "financing-needs", xlsx(tmp_path / "a.xlsx", [
        NEEDS[0], [A, "100", "采购原材料", "2026-03-01", "大石坝街道商会"]]))
    second = run_import(engine, "financing-needs", xlsx(tmp_path / "b.xlsx", [
        NEEDS[0], [A, "80", "研发", "2026-04-01", "江北区女企业家商会"]]))
    assert counts(second) == (1, 1, 0, 0, 0)
    with session_factory(engine).begin() as s:
        assert rollback(s, first.batch_id, actor=admin) == {"deleted": 2, "restored": 0}
    assert memberships(engine) == {("江北区女企业家商会", A)}


# --- the roster's 所属商会 -----------------------------------------------------------------------

ROSTER = [["统一社会信用代码", "企业名称", "所属商会"],
          [E, "重庆新来的灯饰有限公司", "大石坝街道商会、江北区青年企业家商会"],
          [F, "重庆新来的科技有限公司", "江北区青年企业家商会"],
          [A, "重庆齐祥灯饰有限公司", "大石坝街道商会，江北区女企业家商会"],
          [B, "中信证券重庆江北嘴营业部", None]]


def test_a_roster_names_chambers_several_in_one_cell(engine, firms, people, admin, tmp_path):
    report = run_import(engine, "enterprises", xlsx(tmp_path / "roster.xlsx", ROSTER),
                        actor=admin)
    assert counts(report) == (4, 2, 1, 1, 0)  # A: unchanged but for its memberships
    new = "新商会“{}”已创建（未确认），待管理员确认或合并"
    assert [n for n in notes(report) if n[1] == "所属商会"] == [
        (2, "所属商会", new.format("江北区青年企业家商会")),
        (4, "所属商会", new.format("江北区女企业家商会"))]
    assert chambers(engine) == {"大石坝街道商会": True, "江北区青年企业家商会": False,
                                "江北区女企业家商会": False}
    assert memberships(engine) == {
        ("大石坝街道商会", E), ("江北区青年企业家商会", E), ("江北区青年企业家商会", F),
        ("大石坝街道商会", A), ("江北区女企业家商会", A)}
    # A roster never takes a firm off a chamber's roll; naming one more adds it.
    again = run_import(engine, "enterprises", xlsx(tmp_path / "again.xlsx", [
        ROSTER[0], [A, "重庆齐祥灯饰有限公司", "江北区青年企业家商会"],
        [E, "重庆新来的灯饰有限公司", None]]))
    assert counts(again) == (2, 0, 1, 1, 0)
    assert [n for n in notes(again) if n[1] == "所属商会"] == []
    assert ("江北区青年企业家商会", A) in memberships(engine)
    assert len(memberships(engine)) == 6


def test_an_unknown_chamber_first_named_by_a_stored_firm_is_created_once(engine, firms,
                                                                         people, tmp_path):
    """The first row naming it goes to the row planner (a stored firm); the new firms after
    it, planned column-wise, find it there."""
    rows = [ROSTER[0], [A, "重庆齐祥灯饰有限公司", "江北区青年企业家商会"],
            [E, "重庆新来的灯饰有限公司", "江北区青年企业家商会"],
            [F, "重庆新来的科技有限公司", "江北区青年企业家商会；大石坝街道商会"]]
    report = run_import(engine, "enterprises", xlsx(tmp_path / "roster.xlsx", rows))
    assert counts(report) == (3, 2, 1, 0, 0)
    assert [(n[0], n[1]) for n in notes(report) if n[1] == "所属商会"] == [(2, "所属商会")]
    assert memberships(engine) == {("江北区青年企业家商会", A), ("江北区青年企业家商会", E),
                                   ("江北区青年企业家商会", F), ("大石坝街道商会", F)}


def test_an_over_long_chamber_name_refuses_the_row(engine, people, tmp_path):
    name = "商" * 61
    report = run_import(engine, "enterprises", xlsx(tmp_path / "roster.xlsx", [
        ROSTER[0], [E, "重庆新来的灯饰有限公司", f"大石坝街道商会、{name}"]]))
    assert errors(report) == [(2, "所属商会", "内容过长：最多 60 字，实际 61 字")]
    assert memberships(engine) == set()


def test_rolling_back_a_roster_removes_the_memberships_and_chambers_it_added(
        engine, firms, people, admin, tmp_path):
    report = run_import(engine, "enterprises", xlsx(tmp_path / "roster.xlsx", ROSTER))
    with session_factory(engine).begin() as s:
        rollback(s, report.batch_id, actor=admin)
    assert memberships(engine) == set()
    assert chambers(engine) == {"大石坝街道商会": True}
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(Enterprise)) == 4


def test_a_roster_with_chambers_exports_and_imports_back_unchanged(engine, firms, people,
                                                                   tmp_path):
    run_import(engine, "enterprises", xlsx(tmp_path / "roster.xlsx", ROSTER))
    target = tmp_path / "export.xlsx"
    with session_factory(engine)() as s:
        written = export(s, "enterprises", target)
    report = run_import(engine, "enterprises", target)
    assert report.errors == [] and report.unchanged == written == 6


# --- the product catalogue ---------------------------------------------------------------------

PRODUCTS = [["银行", "产品名称", "额度（万元）", "年利率", "期限（月）"],
            ["重庆农村商业银行", "渝快贷", "10-300", "3.85%-6%", "12-36"],
            ["重庆农商行", "科技贷", "50-500", "4%", "12"],
            ["某村镇银行", "坏产品", "10-300", "高", None]]


@pytest.fixture
def bank(engine):
    with session_factory(engine).begin() as s:
        s.add(Bank(name="重庆农村商业银行"))


def banks(engine) -> dict[str, bool]:
    with session_factory(engine)() as s:
        return dict(s.execute(select(Bank.name, Bank.confirmed)).all())


def test_a_strict_catalogue_import_with_a_bad_row_writes_nothing(engine, bank, tmp_path):
    report = run_import(engine, "bank-products", xlsx(tmp_path / "p.xlsx", PRODUCTS),
                        strict=True)
    assert counts(report) == (3, 0, 0, 0, 1) and not report.written
    assert errors(report) == [(4, "年利率", "无法识别的区间（如 50-500）")]
    assert banks(engine) == {"重庆农村商业银行": True}
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(BankProduct)) == 0


def test_a_catalogue_naming_an_unknown_bank_creates_it_unconfirmed(engine, bank, tmp_path):
    report = run_import(engine, "bank-products", xlsx(tmp_path / "p.xlsx", PRODUCTS))
    assert counts(report) == (3, 2, 0, 0, 1)
    assert notes(report) == [
        (3, "银行", "新银行“重庆农商行”已创建（未确认），待确认或合并到已有银行")]
    assert banks(engine) == {"重庆农村商业银行": True, "重庆农商行": False}  # not 某村镇银行
    with session_factory(engine)() as s:
        assert dict(s.execute(select(BankProduct.name, Bank.name).join(Bank)).all()) == {
            "渝快贷": "重庆农村商业银行", "科技贷": "重庆农商行"}
    again = run_import(engine, "bank-products", xlsx(tmp_path / "again.xlsx", PRODUCTS[:3]))
    assert counts(again) == (2, 0, 0, 2, 0) and again.warnings == []


def test_the_catalogue_exports_and_imports_back_unchanged(engine, bank, tmp_path):
    run_import(engine, "bank-products", xlsx(tmp_path / "p.xlsx", PRODUCTS))
    for suffix in (".xlsx", ".csv"):
        target = tmp_path / f"export{suffix}"
        with session_factory(engine)() as s:
            written = export(s, "bank-products", target)
        report = run_import(engine, "bank-products", target)
        assert report.errors == [] and report.unchanged == written == 2


def test_rolling_back_a_catalogue_removes_the_bank_it_created(engine, bank, admin, tmp_path):
    report = run_import(engine, "bank-products", xlsx(tmp_path / "p.xlsx", PRODUCTS))
    with session_factory(engine).begin() as s:
        assert rollback(s, report.batch_id, actor=admin) == {"deleted": 3, "restored": 0}
    assert banks(engine) == {"重庆农村商业银行": True}


def test_one_sided_ranges_keep_the_other_end_open_and_survive_the_round_trip(
        engine, bank, tmp_path):
    """'最高1000' is up to 1000 (no lower bound), '50以上' from 50 (no upper), '3.85%起' a
    rate from 3.85 %: stored as the catalogue form stores them, and exported in words the
    importer reads back unchanged (an export of '1000' alone would come back as 1000–1000)."""
    from decimal import Decimal

    from crm.services import financing

    sheet = [["银行", "产品名称", "额度（万元）", "年利率", "期限（月）"],
             ["重庆农村商业银行", "单边贷", "最高1000", "3.85%起", "12以上"],
             ["重庆农村商业银行", "起点贷", "50以上", "最高6%", "不超过36"]]
    report = run_import(engine, "bank-products", xlsx(tmp_path / "one.xlsx", sheet))
    assert report.errors == []
    cols = (BankProduct.amount_min, BankProduct.amount_max, BankProduct.rate_min,
            BankProduct.rate_max, BankProduct.term_min, BankProduct.term_max)
    with session_factory(engine).begin() as s:
        stored = {r[0]: tuple(r[1:]) for r in s.execute(select(BankProduct.name, *cols))}
        app = financing.save_bank_product(s, actor=SYSTEM, bank="重庆农村商业银行",
                                          name="表单贷", amount_max=1000, rate_min="0.0385",
                                          term_min=12)
        s.flush()
        assert tuple(getattr(app, c.key) for c in cols) == stored["单边贷"]
    assert stored == {"单边贷": (None, Decimal("1000.00"), Decimal("0.0385"), None, 12, None),
                      "起点贷": (Decimal("50.00"), None, None, Decimal("0.0600"), None, 36)}
    for suffix in (".xlsx", ".csv"):
        target = tmp_path / f"export{suffix}"
        with session_factory(engine)() as s:
            written = export(s, "bank-products", target)
        again = run_import(engine, "bank-products", target)
        assert again.errors == [] and again.unchanged == written == 3
