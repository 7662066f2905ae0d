"""Every business write leaves an audit entry: who, when, what, before and after.

The doors of tests/test_access.py are driven here once each, as a login the table
allows, and every SQL statement they send is watched: a door that inserts, updates
or deletes a business row must also insert into `audit_log`. A sweep of the source
finds the functions that could write (an ORM add/delete, an insert/update/delete
statement) and fails on any that is neither driven here nor named with the reason
it writes no entry of its own, so a new writer cannot slip past.
"""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import inspect
import pkgutil
import re
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import event, select, text, update
from sqlalchemy.exc import DBAPIError

import crm.services
from crm.access import SYSTEM
from crm.db import session_factory
from crm.errors import CrmError, Forbidden, NotFound
from crm.models import AuditLog
from crm.services import audit
from etl import app as etl_app
from etl import rollback as etl_rollback
from tests.test_access import (  # noqa: F401 - `district` is a fixture
    DOORS,
    LISTS,
    LOGINS,
    NOT_DOORS,
    district,
    expected,
)
from tests.test_app_pages import world  # noqa: F401 - a fixture

WRITE = re.compile(r'^\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?',
                   re.IGNORECASE)

# Tables a write may touch without being a business write of its own: derived data kept
# in step with the business rows (rebuilt by `crm kpi-rollups`), and the log itself.
# Tables whose writes are no business change of their own: rollups derived from the
# appeals, the audit itself, and a user's read marks on their own notifications.
DERIVED = {"kpi_day_cell", "kpi_day_street", "kpi_state", "kpi_delta", "audit_log",
           "notification"}


class Watch:
    """The tables each statement on an engine writes, while on."""

    def __init__(self, engine):
        self.tables: list[str] = []
        event.listen(engine, "before_cursor_execute", self._seen)
        self.engine = engine

    def _seen(self, conn, cursor, statement, parameters, context, executemany):
        match = WRITE.match(statement)
        if match:
            self.tables.append(match.group(1).lower())

    def close(self):
        event.remove(self.engine, "before_cursor_execute", self._seen)


def _drive(engine, facts, name):
    """Run door `name` once, as the first login (admin first) and record the table allows
    and the service accepts; the tables it wrote, or None when no call got through."""
    door = DOORS[name]
    watch = Watch(engine)
    if name in EXTRA:
        try:
            with session_factory(engine)() as session:
                EXTRA[name](session, facts.actors["admin"], facts)
                session.flush()
                written = list(watch.tables)
                session.rollback()
                return written
        finally:
            watch.close()
    try:
        for login in ("admin", *LOGINS):
            for record in door.records:
                if not all(expected(facts, login, cap, rec) for cap, rec in door.needs(record)):
                    continue
                with session_factory(engine)() as session:
                    watch.tables.clear()
                    try:
                        door.call(session, facts.actors[login], facts, record)
                        session.flush()
                    except (Forbidden, NotFound, CrmError):
                        session.rollback()
                        continue
                    written = list(watch.tables)
                    session.rollback()
                    return written
    finally:
        watch.close()
    return None


def _financing_appeal(s, f, firm):
    """An appeal of category 融资 of firm `firm` (the district's own appeals are 交通)."""
    from crm.models import Appeal, Category

    category = s.scalar(select(Category.id).where(Category.name == "融资"))
    appeal = Appeal(code=f"QF-T-fin-{firm}", enterprise_id=f.ids[firm], street_id=f.street[firm],
                    category_id=category, channel="visit", priority="normal", title="周转",
                    status="received", received_at=dt.datetime(2026, 6, 1, 10),
                    due_date=dt.date(2026, 6, 16))
    s.add(appeal)
    s.flush()
    return appeal.id


# Doors whose records in tests/test_access.py never let the call through, driven here on
# a record that does.
EXTRA = {
    "financing.need_from_appeal": lambda s, a, f: __import__(
        "crm.services.financing", fromlist=["x"]).need_from_appeal(
        s, actor=a, appeal_id=_financing_appeal(s, f, "fA1"), amount=30),
}

# Doors no call gets through in this small district, each with the reason.
UNREACHABLE = {
    "odoo_admin.check_connection": "no Odoo is configured here: refused before any write",
    "odoo_admin.run_now": "no Odoo is configured here: refused before any write",
}


@pytest.mark.parametrize("name", sorted(DOORS))
def test_a_door_that_writes_business_rows_writes_an_audit_entry(engine, district, name):
    written = _drive(engine, district, name)
    if written is None:
        assert name in UNREACHABLE, f"{name}: no allowed call succeeded; fix the door"
        return
    business = sorted(set(written) - DERIVED)
    if business:
        assert "audit_log" in written, f"{name} wrote {business} and no audit entry"


@pytest.mark.parametrize("name", sorted(n for n, v in LISTS.items() if v[0]))
def test_a_list_writes_nothing(engine, district, name):
    watch = Watch(engine)
    try:
        with session_factory(engine)() as session:
            LISTS[name][0](session, district.actors["admin"])
            session.flush()
            session.rollback()
    finally:
        watch.close()
    assert set(watch.tables) - DERIVED == set(), name


# --- the sweep: every function that could write is driven or says why not ----------------

SESSION_WRITES = {"add", "add_all", "delete", "merge", "bulk_save_objects",
                  "bulk_insert_mappings", "bulk_update_mappings"}
STATEMENTS = {"insert", "update", "delete"}  # sqlalchemy's constructors, called bare

# Functions that write without an audit entry of their own, each with the reason.
NOT_AUDITED_HERE = {
    "audit.record": "writes the audit entry itself",
    "category_words.map_word": "one row of map_words, which audits each word it maps",
    "reference.init_reference_data": "init-db's reference rows (streets, categories, "
                                     "settings), identical on every install",
    "kpi_facts.rebuild": "derived KPI rollups, rebuilt from the appeals",
    "rollback.rollback_batch": "audited by its only door, etl.app.rollback",
    "category_words.record_seen": "counts the words an import met, inside the import's "
                                  "batch (audited as import.batch)",
    "reference.set_setting": "the settings store: each caller audits its own setting",
    "sessions.start": "called by users.authenticate, which audits the login",
    "sessions.record_failure": "called by users.authenticate, which audits the failed login",
    "sessions.clear_failures": "called by a successful login and users.unlock_user, "
                               "both audited",
    "sessions.revoke_all": "called by users.deactivate_user, set_password and set_role, "
                           "each audited",
    "sessions.end": "a logout or an expired session: the user_session row itself keeps "
                    "when it ended (no business record changes)",
}


def _modules():
    mods = [importlib.import_module(f"crm.services.{info.name}")
            for info in pkgutil.iter_modules(crm.services.__path__)]
    return [*mods, etl_app, etl_rollback]


def _writes(fn) -> bool:
    """Whether a function's own body adds or deletes through a session, or builds an
    insert/update/delete statement."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        if isinstance(f, ast.Name) and f.id in STATEMENTS:
            return True
        if isinstance(f, ast.Attribute) and f.attr in SESSION_WRITES \
                and ast.unparse(f.value).split(".")[-1] in {"session", "s"}:
            return True
    return False


def _public_functions():
    for module in _modules():
        short = module.__name__.rsplit(".", 1)[-1]
        for name, fn in inspect.getmembers(module, inspect.isfunction):
            if fn.__module__ == module.__name__ and not name.startswith("_"):
                yield f"{short}.{name}", fn


def test_every_function_that_could_write_is_driven_or_says_why_not():
    driven = {name.split("(")[0] for name in DOORS}
    loose = sorted(name for name, fn in _public_functions()
                   if _writes(fn) and name not in driven and name not in NOT_AUDITED_HERE)
    assert not loose, (f"these write but are not driven by a door in tests/test_access.py "
                       f"nor listed in NOT_AUDITED_HERE: {loose}")
    stale = sorted(set(NOT_AUDITED_HERE) - {name for name, _ in _public_functions()})
    assert not stale, f"no such functions any more: {stale}"


def test_the_sweep_sees_a_writer_and_not_a_reader():
    def writer(session, firm):
        session.add(firm)

    def statement(session):
        session.execute(update(AuditLog).values(action="x"))

    def reader(session, base):
        base.update(open_only=True)
        return session.scalars(select(AuditLog))

    assert _writes(writer) and _writes(statement)
    assert not _writes(reader)


# --- what an entry says -------------------------------------------------------------------

def test_the_audit_log_refuses_truncate_too(engine):
    with session_factory(engine).begin() as s:
        s.add(AuditLog(action="test", entity="x"))
    # PostgreSQL: a statement-level trigger; SQLite has no TRUNCATE, its "truncate
    # optimisation" is a DELETE without WHERE, which the row trigger refuses
    statement = "TRUNCATE audit_log" if engine.dialect.name == "postgresql" \
        else "DELETE FROM audit_log"
    with pytest.raises(DBAPIError, match="append-only"), engine.begin() as conn:
        conn.execute(text(statement))
    with session_factory(engine)() as s:
        assert s.scalars(select(AuditLog.action)).all() == ["test"]


def test_a_hand_over_records_the_end_and_the_new_assignment_with_before_and_after(
        engine, district):
    from crm.services import assignments

    admin = district.actors["admin"]
    with session_factory(engine).begin() as s:
        new = assignments.assign_cadre(s, actor=admin, enterprise_id=district.ids["fA1"],
                                       person_id=district.ids["person:cadre_b"], replace=True,
                                       start_date=dt.date(2026, 6, 1))
        new_id = new.id
    with session_factory(engine)() as s:
        rows = {r.action: r for r in s.scalars(select(AuditLog).where(
            AuditLog.action.like("assignment.%")))}
    end = rows["assignment.handover_end"]
    assert end.entity_id == district.ids["asg:fA1"] and end.user_id == admin.id
    assert end.actor_label == "admin"
    assert end.before == {"end_date": None} and end.after == {"end_date": "2026-05-31"}
    made = rows["assignment.cadre"]
    assert made.entity_id == new_id and made.before is None
    assert made.after["person_id"] == district.ids["person:cadre_b"]


def test_an_appeal_action_records_the_fields_it_changed(engine, district):
    from crm.services import appeals

    with session_factory(engine).begin() as s:
        appeals.dispatch(s, district.ids["a3"], actor=district.actors["li_a"],
                         lead_unit_id=district.ids["office"])
    with session_factory(engine)() as s:
        row = s.scalars(select(AuditLog).where(AuditLog.action == "appeal.dispatch")).one()
    assert row.entity == "appeal" and row.entity_id == district.ids["a3"]
    assert row.before["status"] == "received" and row.after["status"] == "dispatched"
    assert row.after["dispatched_at"] and row.detail["lead_unit_id"] == district.ids["office"]
    assert "status: received → dispatched" in audit.describe_change(row.before, row.after)


def _roster(tmp_path, n: int) -> Path:
    from openpyxl import Workbook

    from crm.uscc import complete

    book = Workbook()
    sheet = book.active
    sheet.append(["统一社会信用代码", "企业名称"])
    for i in range(n):
        sheet.append([complete(f"91500105MA7{i:05d}"), f"重庆审计测试{i}有限公司"])
    path = tmp_path / "roster.xlsx"
    book.save(path)
    return path


def test_the_command_line_names_the_os_user_or_the_login_given_with_as(
        engine, db_url, tmp_path, monkeypatch):
    import getpass

    from crm import cli
    from crm.services.users import add_user

    with session_factory(engine).begin() as s:
        admin_id = add_user(s, "boss", role="admin", actor=SYSTEM).id
    monkeypatch.setenv("CRM_DATABASE_URL", db_url)
    path = _roster(tmp_path, 30)
    assert cli.main(["import", "enterprises", str(path)]) == 0
    assert cli.main(["--as", "boss", "users", "add", "li9", "--role", "liaison",
                     "--street", "大石坝", "--password", "Str0ng-pass-9"]) == 0
    assert cli.main(["--as", "nobody", "users", "list"]) == 2
    with session_factory(engine)() as s:
        rows = s.scalars(select(AuditLog).order_by(AuditLog.id)).all()
    batch = [r for r in rows if r.action == "import.batch"]
    # one entry for the whole batch (import_record holds the rows), with its counts
    assert len(batch) == 1 and batch[0].entity == "import_batch"
    assert batch[0].detail["inserted"] == 30 and batch[0].detail["rows_read"] == 30
    assert batch[0].user_id is None and batch[0].actor_label == f"os:{getpass.getuser()}"
    added = [r for r in rows if r.action == "user.add"][-1]
    assert added.user_id == admin_id and added.actor_label == "boss"


def test_the_audit_search_finds_by_record_code_user_and_date_and_pages(engine, district):
    from crm.services import appeals

    admin = district.actors["admin"]
    with session_factory(engine).begin() as s:
        for note in ("一", "二", "三"):
            appeals.add_note(s, district.ids["a1"], actor=district.actors["li_a"], note=note)
        code = s.get(__import__("crm.models", fromlist=["Appeal"]).Appeal,
                     district.ids["a1"]).code
        s.execute(update(__import__("crm.models", fromlist=["Appeal"]).Appeal)
                  .where(text("1=0")).values(title="x"))  # a no-op: nothing audited
    with session_factory(engine)() as s:
        by_id = audit.search(s, audit.AuditQuery(entity="appeal", entity_id=district.ids["a1"]),
                             actor=admin)
        assert by_id["total"] == 3
        assert [r["detail"]["note"] for r in by_id["rows"]] == ["三", "二", "一"]
        assert audit.search(s, audit.AuditQuery(code=code), actor=admin)["total"] == 3
        assert audit.search(s, audit.AuditQuery(user="li_a"), actor=admin)["total"] == 3
        assert audit.search(s, audit.AuditQuery(user="li_b"), actor=admin)["total"] == 0
        page = audit.search(s, audit.AuditQuery(user="li_a"), actor=admin, page=1, page_size=2)
        assert len(page["rows"]) == 1 and page["total"] == 3
        far = dt.date(2000, 1, 1)
        assert audit.search(s, audit.AuditQuery(date_to=far), actor=admin)["total"] == 0
        with pytest.raises(CrmError):
            audit.search(s, audit.AuditQuery(code="QF0000"), actor=admin)
        with pytest.raises(Forbidden):
            audit.search(s, audit.AuditQuery(), actor=district.actors["official"])


def test_the_audit_page_finds_an_appeal_by_its_code_and_shows_before_and_after(world):
    from crm.models import Appeal
    from crm.services import appeals
    from tests.test_app_pages import actor, logged_in, page_text

    with session_factory(world)() as s:
        appeal = s.scalars(select(Appeal).order_by(Appeal.id)).first()
        code, appeal_id = appeal.code, appeal.id
    with session_factory(world).begin() as s:
        appeals.add_note(s, appeal_id, actor=actor(world, "admin"), note="页面可见的进展")
    at = logged_in(world, "admin")
    at.switch_page("pages/audit.py").run()
    at.text_input(key="audit_code").input(code)
    at.button(key="audit_go").click().run()
    assert not at.exception
    text_ = page_text(at)
    assert "appeal.note" in text_ and "页面可见的进展" in text_ and "admin" in text_
    assert f"appeal #{appeal_id}" in text_
    at.text_input(key="audit_code").input("QF0000000000")
    at.button(key="audit_go").click().run()
    assert any("找不到诉求编号" in str(e.value) for e in at.error), page_text(at)
    liaison = logged_in(world, "liaison_jbc")
    with pytest.raises(ValueError, match="navigation page"):
        liaison.switch_page("pages/audit.py")
