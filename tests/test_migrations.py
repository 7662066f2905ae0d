"""The schema is made by Alembic, and the migrations agree with the models."""

from __future__ import annotations

import datetime as dt

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from crm import migrate
from crm.db import Base, make_engine, session_factory
from crm.models import Assignment, AuditLog, Enterprise, Person
from crm.uscc import complete


def test_the_migrated_schema_matches_the_models_exactly(engine):
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert diff == []


def test_the_database_is_at_the_head_revision(engine):
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert migrate.is_up_to_date(engine)


def test_every_model_table_exists_after_migration(engine):
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_downgrade_to_base_removes_every_table_and_upgrade_restores_them(engine):
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())


def test_a_fresh_sqlite_file_migrates_from_empty(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.is_up_to_date(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10000


def test_the_audit_log_refuses_updates_and_deletes(engine):
    factory = session_factory(engine)
    with factory.begin() as s:
        s.add(AuditLog(action="test", entity="x", entity_id=1))
    for statement in ("UPDATE audit_log SET action = 'forged'", "DELETE FROM audit_log"):
        with pytest.raises(DBAPIError, match="append-only"), factory.begin() as s:
            s.execute(text(statement))
    with factory() as s:
        assert s.scalars(select(AuditLog.action)).all() == ["test"]


def _firm(session, n: int) -> Enterprise:
    firm = Enterprise(uscc=complete(f"91500105MA{n:06d}"), name=f"测试企业{n}有限公司")
    session.add(firm)
    session.flush()
    return firm


def test_a_firm_cannot_have_two_active_cadres_but_may_have_a_history(engine):
    import datetime as dt

    factory = session_factory(engine)
    with factory.begin() as s:
        firm = _firm(s, 1)
        a, b = Person(name="甲", kind="cadre"), Person(name="乙", kind="cadre")
        s.add_all([a, b])
        s.flush()
        s.add(Assignment(kind="cadre_enterprise", person_id=a.id, enterprise_id=firm.id,
                         start_date=dt.date(2025, 1, 1), end_date=dt.date(2025, 6, 30)))
        s.add(Assignment(kind="cadre_enterprise", person_id=b.id, enterprise_id=firm.id,
                         start_date=dt.date(2025, 7, 1)))
        ids = (firm.id, a.id)
    with pytest.raises(IntegrityError), factory.begin() as s:
        s.add(Assignment(kind="cadre_enterprise", person_id=ids[1], enterprise_id=ids[0],
                         start_date=dt.date(2025, 8, 1)))


def test_an_assignment_must_name_the_target_its_kind_needs(engine):
    import datetime as dt

    factory = session_factory(engine)
    with factory.begin() as s:
        person = Person(name="丙", kind="leader")
        s.add(person)
    with pytest.raises(IntegrityError), factory.begin() as s:
        s.add(Assignment(kind="leader_building", person_id=person.id,
                         start_date=dt.date(2025, 1, 1)))


def test_foreign_keys_are_enforced(engine):
    factory = session_factory(engine)
    with pytest.raises(IntegrityError), factory.begin() as s:
        s.add(Enterprise(uscc=complete("91500105MA000002"), name="无街道企业", street_id=99999))


def test_downgrading_provenance_runs_gives_one_row_per_record_again(engine):
    """0004 → 0003: a run of three inserted records becomes three rows, each with its own
    id and sheet row; upgrading again gives every row span 1."""
    from crm.models import ImportBatch, ImportRecord

    factory = session_factory(engine)
    with factory.begin() as s:
        batch = ImportBatch(kind="appeals", filename="a.xlsx", status="done")
        s.add(batch)
        s.flush()
        s.add_all([ImportRecord(batch_id=batch.id, entity="appeal", record_id=10, sheet="台账",
                                row_number=5, action="inserted", span=3),
                   ImportRecord(batch_id=batch.id, entity="appeal", record_id=20, sheet="台账",
                                row_number=9, action="updated", previous={"title": "旧"})])
    migrate.downgrade(engine, "0003")
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT entity, record_id, sheet, row_number, action "
                                 "FROM import_record ORDER BY record_id")).all()
    assert [tuple(r) for r in rows] == [
        ("appeal", 10, "台账", 5, "inserted"), ("appeal", 11, "台账", 6, "inserted"),
        ("appeal", 12, "台账", 7, "inserted"), ("appeal", 20, "台账", 9, "updated")]
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT DISTINCT span FROM import_record")).all() == [(1,)]


def _check_clauses(engine) -> list[str]:
    import re

    with engine.connect() as conn:
        sqls = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' "
                                    "AND sql IS NOT NULL").scalars().all()
    # the clause only (a rebuilt table may list its CHECKs in another order)
    return [c for sql in sqls for c in re.findall(r"CHECK \(.*?\)(?=, |\n|$)", sql)]


def _bad_status_refused(engine) -> None:
    with pytest.raises(IntegrityError, match="CHECK"), engine.begin() as conn:
        conn.exec_driver_sql("UPDATE appeal SET status = 'lost'")


def test_sqlite_enum_checks_are_comparisons_and_old_databases_are_rewritten(tmp_path):
    """SQLite: every enum CHECK is written as comparisons (no IN list, which SQLite
    searches as a lookup table per row written). 0005's downgrade puts IN lists back and
    its upgrade rewrites them in place: rows kept, the rules still refuse a bad value."""
    from crm.models import Appeal, Category, Enterprise

    engine = make_engine(f"sqlite:///{tmp_path / 'checks.db'}")
    try:
        migrate.upgrade(engine)
        checks = _check_clauses(engine)
        assert len(checks) > 20 and not [c for c in checks if " IN (" in c]
        assert any("status = 'received' OR status = 'dispatched'" in c for c in checks)
        assert any("collateral = 'credit' OR" in c for c in checks)  # kept by 0007's copy
        with session_factory(engine).begin() as s:
            firm = Enterprise(uscc=complete("91500105MA5UC001"), name="检查")
            category = Category(name="检查类别", limit_days=5)
            s.add_all([firm, category])
            s.flush()
            s.add(Appeal(code="CK-1", enterprise_id=firm.id, category_id=category.id,
                         channel="phone", status="received",
                         title="t", description="d", received_at=dt.datetime(2024, 1, 2),
                         due_date=dt.date(2024, 1, 9)))
        _bad_status_refused(engine)

        migrate.downgrade(engine, "0004")
        old = _check_clauses(engine)
        # at 0004: one more, financing_need.status (0007 derives it from the matches);
        # one fewer, odoo_run.status (0008); two fewer, the escalation and notification
        # kinds (0012)
        assert len(old) == len(checks) + 1 - 1 - 2 and any(
            "status IN ('received', 'dispatched'" in c for c in old)
        _bad_status_refused(engine)
        migrate.upgrade(engine)
        assert sorted(_check_clauses(engine)) == sorted(checks)
        _bad_status_refused(engine)
        with engine.connect() as conn:
            # a code that is no QF number is a ledger's: 0010 keeps it as external_ref
            assert conn.exec_driver_sql("SELECT external_ref, status FROM appeal").all() == [
                ("CK-1", "received")]
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        engine.dispose()


def test_0006_firms_on_file_stay_confirmed_and_downgrade_drops_what_it_added(engine):
    """0006 adds enterprise.confirmed (true for every firm already on file) and the
    category_word table; its downgrade removes both and keeps the firms."""
    migrate.downgrade(engine, "0005")
    with engine.begin() as conn:
        assert "confirmed" not in {c["name"] for c in inspect(conn).get_columns("enterprise")}
        assert "category_word" not in inspect(conn).get_table_names()
        conn.execute(text("INSERT INTO enterprise (uscc, name, is_above_scale, active, version,"
                          " created_at, updated_at) VALUES (:u, '旧企业', false, true, 1,"
                          " :t, :t)"), {"u": complete("91500105MA000006"),
                                       "t": dt.datetime(2024, 1, 1)})
    migrate.upgrade(engine)
    with session_factory(engine)() as s:
        assert s.scalar(select(Enterprise.confirmed).where(Enterprise.name == "旧企业")) is True
    migrate.downgrade(engine, "0005")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name FROM enterprise")).scalars().all() == ["旧企业"]
    migrate.upgrade(engine)


def test_0007_banks_become_records_and_a_needs_status_is_derived_both_ways(engine):
    """0007 on a database with financing in it: each bank named by a product becomes a
    record the product points at, a need loses its stored status (derived from its
    matches now) and a match gains its approval date from its events; the foreign keys
    hold. Its downgrade puts the bank names and the statuses back."""
    from crm.lifecycle import need_status
    from crm.models import Bank, BankProduct, FinancingMatch, FinancingNeed

    migrate.downgrade(engine, "0006")
    t = dt.datetime(2025, 5, 12, 10)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO enterprise (id, uscc, name, is_above_scale, active,"
                          " confirmed, version, created_at, updated_at) VALUES (1, :u, '齐祥',"
                          " false, true, true, 1, :t, :t)"),
                     {"u": complete("91500105MA000007"), "t": t})
        for pid, bank, name in ((1, "重庆农商行", "渝融通"), (2, "重庆农商行", "商户e贷"),
                                (3, "重庆银行", "好企贷")):
            conn.execute(text("INSERT INTO bank_product (id, bank, name, active) VALUES"
                              " (:i, :b, :n, true)"), {"i": pid, "b": bank, "n": name})
        conn.execute(text("INSERT INTO financing_need (id, enterprise_id, amount, amount_approx,"
                          " urgency, requested_on, status, created_at) VALUES (1, 1, 100, true,"
                          " 'high', :d, 'funded', :t)"), {"d": t.date(), "t": t})
        conn.execute(text("INSERT INTO financing_match (id, need_id, product_id, score, status,"
                          " approved_amount, disbursed_amount, version, created_at, updated_at)"
                          " VALUES (1, 1, 1, 0.9, 'disbursed', 120, 120, 5, :t, :t)"), {"t": t})
        for i, (to, at) in enumerate((("recommended", t), ("applied", t),
                                      ("approved", dt.datetime(2025, 6, 11, 9)),
                                      ("disbursed", dt.datetime(2025, 6, 20, 15))), start=1):
            conn.execute(text("INSERT INTO financing_match_event (id, match_id, to_status, at)"
                              " VALUES (:i, 1, :s, :a)"), {"i": i, "s": to, "a": at})
    migrate.upgrade(engine)
    with session_factory(engine)() as s:
        assert [b.name for b in s.scalars(select(Bank).order_by(Bank.name))] == [
            "重庆农商行", "重庆银行"]
        products = s.scalars(select(BankProduct).order_by(BankProduct.id)).all()
        assert [(p.bank.name, p.name, p.version) for p in products] == [
            ("重庆农商行", "渝融通", 1), ("重庆农商行", "商户e贷", 1), ("重庆银行", "好企贷", 1)]
        need = s.get(FinancingNeed, 1)
        assert not hasattr(FinancingNeed, "status") and need.version == 1
        assert need.urgency == "high" and need.amount_approx
        assert need_status(False, [m.status for m in need.matches]) == "funded"
        assert s.get(FinancingMatch, 1).approved_on == dt.date(2025, 6, 11)
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with pytest.raises(IntegrityError):  # the rebuilt need table keeps its CHECKs
        with engine.begin() as conn:
            conn.execute(text("UPDATE financing_need SET urgency = 'panic'"))
    migrate.downgrade(engine, "0006")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT bank, name FROM bank_product ORDER BY id")).all() == [
            ("重庆农商行", "渝融通"), ("重庆农商行", "商户e贷"), ("重庆银行", "好企贷")]
        assert conn.execute(text("SELECT status FROM financing_need")).scalar() == "funded"
        assert "bank" not in inspect(conn).get_table_names()


def test_0009_moves_each_firms_funnel_counts_to_dated_position_updates(engine):
    """Existing databases keep their numbers: a participation's counts go to its only
    position, or to a position 未分岗位 (headcount 0) when it has none or several,
    dated the fair's day (retention 90 days later); the downgrade sums them back."""
    from crm.access import SYSTEM
    from crm.services import jobfair_report

    migrate.downgrade(engine, "0008")
    with engine.begin() as conn:
        for n in (1, 2, 3):
            conn.execute(text("INSERT INTO enterprise (uscc, name, is_above_scale, active, "
                              "version, confirmed, created_at, updated_at) VALUES (:u, :n, "
                              "false, true, 1, true, :t, :t)"),
                         {"u": complete(f"91500105MA00007{n}"), "n": f"老企业{n}",
                          "t": dt.datetime(2022, 1, 1)})
        firms = conn.execute(text("SELECT id FROM enterprise ORDER BY id")).scalars().all()
        conn.execute(text("INSERT INTO job_fair (name, held_on) VALUES ('老招聘会', :d)"),
                     {"d": dt.date(2022, 3, 1)})
        fair = conn.execute(text("SELECT id FROM job_fair")).scalar()
        for firm, counts in zip(firms, ((50, 30, 10, 9, 8), (20, 10, 5, 4, None),
                                        (0, 0, 0, 0, None)), strict=True):
            conn.execute(text(
                "INSERT INTO fair_participation (fair_id, enterprise_id, applicants, intents,"
                " medical_checks, hired, retained_90d) VALUES (:f, :e, :a, :i, :m, :h, :r)"),
                {"f": fair, "e": firm, "a": counts[0], "i": counts[1], "m": counts[2],
                 "h": counts[3], "r": counts[4]})
        parts = conn.execute(text("SELECT id FROM fair_participation ORDER BY id")).scalars()
        p1, p2, p3 = parts.all()
        for part, title, headcount in ((p1, "成型工", 20), (p2, "装配工", 10),
                                       (p2, "质检员", 2), (p3, "普工", 3)):
            conn.execute(text("INSERT INTO fair_position (participation_id, title, headcount)"
                              " VALUES (:p, :t, :h)"), {"p": part, "t": title, "h": headcount})
    migrate.upgrade(engine)
    with session_factory(engine)() as s:
        rows = s.execute(text(
            "SELECT p.title, p.headcount, u.as_of, u.applicants, u.hired, u.retained_90d "
            "FROM fair_position_update u JOIN fair_position p ON p.id = u.position_id "
            "ORDER BY p.id, u.as_of")).all()
        assert [(r[0], r[1], str(r[2])[:10], r[3], r[4], r[5]) for r in rows] == [
            ("成型工", 20, "2022-03-01", 50, 9, None),
            ("成型工", 20, "2022-05-30", 50, 9, 8),
            ("未分岗位", 0, "2022-03-01", 20, 4, None)]
        t = jobfair_report.report(s, actor=SYSTEM, as_of=dt.date(2022, 6, 1))[0]
        assert (t["firms"], t["positions"], t["headcount"], t["applicants"], t["hired"],
                t["retained_90d"]) == (3, 5, 35, 70, 13, 8)
    migrate.downgrade(engine, "0008")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT applicants, intents, medical_checks, hired, "
                                 "retained_90d FROM fair_participation ORDER BY id")).all()
        assert [tuple(r) for r in back] == [(50, 30, 10, 9, 8), (20, 10, 5, 4, None),
                                            (0, 0, 0, 0, None)]
        assert conn.execute(text("SELECT count(*) FROM fair_position")).scalar() == 4
    migrate.upgrade(engine)


def test_0010_gives_imported_appeals_qf_codes_and_keeps_their_ledger_numbers(engine):
    """A ledger number (or a derived DR-… key) moves to external_ref and the appeal gets
    the QF number the app's generator gives it; an appeal already named so keeps it, and
    a ledger number equal to another row's QF number does not trip the unique constraint.
    The downgrade puts the ledger numbers back."""
    from crm.rules import appeal_code

    migrate.downgrade(engine, "0009")
    received = dt.datetime(2024, 5, 6, 9, 0)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO enterprise (uscc, name, is_above_scale, active, "
                          "version, confirmed, created_at, updated_at) VALUES (:u, '老企业', "
                          "false, true, 1, true, :t, :t)"),
                     {"u": complete("91500105MA000701"), "t": received})
        firm = conn.execute(text("SELECT id FROM enterprise")).scalar()
        cat = conn.execute(text("SELECT id FROM category WHERE name = '交通'")).scalar()
        codes = {}
        for n, code in ((1, "GD-1"), (5, None), (2, "GD-2024-001"), (3, "DR-ABCDEF0123456789"),
                        (4, appeal_code(received, 1))):  # someone's export: row 1's name
            codes[n] = code or appeal_code(received, n)
            conn.execute(text(
                "INSERT INTO appeal (id, code, enterprise_id, category_id, channel, priority,"
                " title, description, status, received_at, due_date, extension_days,"
                " reopen_count, version, created_at, updated_at) VALUES (:i, :c, :e, :k,"
                " 'import', 'normal', '标题', '', 'received', :r, :d, 0, 0, 1, :r, :r)"),
                {"i": n, "c": codes[n], "e": firm, "k": cat, "r": received,
                 "d": received.date()})
    migrate.upgrade(engine)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, code, external_ref FROM appeal ORDER BY id")).all()
    assert [tuple(r) for r in rows] == [
        (1, "QF20240000001", "GD-1"), (2, "QF20240000002", "GD-2024-001"),
        (3, "QF20240000003", "DR-ABCDEF0123456789"), (4, "QF20240000004", "QF20240000001"),
        (5, "QF20240000005", None)]
    migrate.downgrade(engine, "0009")
    with engine.connect() as conn:
        back = conn.execute(text("SELECT code FROM appeal ORDER BY id")).scalars().all()
    assert back == [codes[n] for n in (1, 2, 3, 4, 5)]
    migrate.upgrade(engine)
