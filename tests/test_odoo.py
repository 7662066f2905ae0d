"""Odoo sync against a live local Odoo stand-in (tests/odoo_server.py), over both protocols.

The gateway tests run over XML-RPC and JSON-RPC; the sync tests over both protocols and
both database backends where the database matters (first sync, re-sync, a crash half
way), over one otherwise.
"""

from __future__ import annotations

import socket
import time
import xmlrpc.client

import pytest
from sqlalchemy import func, select

from crm.access import SYSTEM
from crm.db import session_factory
from crm.models import (
    Appeal,
    AppealEvent,
    AuditLog,
    Category,
    Contact,
    Enterprise,
    OdooMapping,
    OdooRun,
    Street,
)
from crm.odoo import settings as odoo_settings
from crm.odoo.errors import (
    OdooAuthError,
    OdooError,
    OdooFault,
    OdooModelMissing,
    OdooTimeout,
    OdooUnreachable,
)
from crm.odoo.gateway import OdooConfig, OdooLibGateway, clean
from crm.odoo.runs import run_sync
from crm.services import appeals as appeal_service
from crm.uscc import complete
from tests.odoo_server import FakeOdoo, OdooTestServer
from tests.test_app_pages import (
    ROLE_USER,
    assert_healthy,
    logged_in,
    page_text,
    world,  # noqa: F401 - the app's fixture, for the page test
)

PROTOCOLS = ("xmlrpc", "jsonrpc")


@pytest.fixture
def server():
    with OdooTestServer() as srv:
        yield srv


@pytest.fixture
def odoo(server) -> FakeOdoo:
    return server.odoo


def make_gateway(server, protocol="xmlrpc", **kw) -> OdooLibGateway:
    odoo = server.odoo
    params = {"timeout": 5.0, "retries": 1, "backoff": 0.01, "page_size": 7,
              "batch_size": 3, **kw}
    password = params.pop("password", odoo.password)
    return OdooLibGateway(OdooConfig(url=server.url, db=odoo.db, user=odoo.login,
                                     password=password, protocol=protocol, **params))


def uscc(n: int) -> str:
    return complete(f"91500105MA{n:06d}")


def add_firms(engine, n: int, start: int = 1, *, street: str | None = "江北城街道") -> list[int]:
    with session_factory(engine).begin() as s:
        street_id = s.scalar(select(Street.id).where(Street.name == street)) if street else None
        firms = [Enterprise(uscc=uscc(i), name=f"重庆同步{i}有限公司", street_id=street_id,
                            address=f"建新东路{i}号") for i in range(start, start + n)]
        s.add_all(firms)
        s.flush()
        s.add(Contact(enterprise_id=firms[0].id, name="张三", phone="023-6789 1234",
                      is_primary=True))
        return [f.id for f in firms]


def partners(odoo: FakeOdoo) -> dict[str, dict]:
    return {r["vat"]: r for r in odoo.records["res.partner"].values() if r.get("vat")}


def sync(engine, gateway, **kw):
    return run_sync(session_factory(engine), gateway, actor=SYSTEM, batch_size=4, **kw)


# --- the gateway ------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_gateway_pages_reads_batches_creates_and_sends_no_none(server, protocol):
    gw = make_gateway(server, protocol)
    ids = gw.create("res.partner", [{"name": f"P{i}", "vat": None, "is_company": True,
                                     "phone": None} for i in range(10)])
    assert len(ids) == 10 and server.odoo.calls[("res.partner", "create")] == 4  # 3+3+3+1
    rows = gw.search_read("res.partner", [("name", "=like", "P%")], ["name", "vat"])
    assert [r["name"] for r in rows] == [f"P{i}" for i in range(10)]
    assert server.odoo.calls[("res.partner", "search_read")] == 2  # pages of 7
    assert rows[0]["vat"] is False  # empty reads as False, as Odoo sends it
    gw.write("res.partner", ids[:2], {"phone": None, "street": "x"})
    assert server.odoo.records["res.partner"][ids[0]]["phone"] is False
    assert gw.version()["server_version"] == "17.0"
    assert clean({"a": [None, {"b": None}]}) == {"a": [False, {"b": False}]}


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_many2one_reads_as_id_and_name_and_domains_combine(server, protocol):
    odoo = server.odoo
    gw = make_gateway(server, protocol)
    a, b, c = gw.create("res.partner", [{"name": "甲", "is_company": True, "vat": "X1"},
                                        {"name": "乙", "is_company": False},
                                        {"name": "丙", "is_company": True}])
    ticket = gw.create("helpdesk.ticket", [{"name": "t", "partner_id": a}])[0]
    row = gw.search_read("helpdesk.ticket", [("id", "=", ticket)], ["partner_id", "stage_id"])
    assert row[0]["partner_id"] == [a, "甲"] and row[0]["stage_id"][1] == "New"
    ids = lambda d: [r["id"] for r in gw.search_read("res.partner", d, ["id"])]  # noqa: E731
    assert ids(["|", ("vat", "!=", False), ("is_company", "=", False)]) == [a, b]
    assert ids(["!", ("is_company", "=", True)]) == [b]
    assert ids(["&", ("is_company", "=", True), "!", ("vat", "=", False)]) == [a]
    assert ids([("name", "in", ["甲", "丙"])]) == [a, c]
    odoo.edit("res.partner", c, {"active": False})
    assert ids([("is_company", "=", True)]) == [a]
    assert ids([("is_company", "=", True), ("active", "in", [True, False])]) == [a, c]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_wrong_password_is_an_auth_error_on_login_and_on_every_call(server, protocol):
    with pytest.raises(OdooAuthError, match="refused the login"):
        make_gateway(server, protocol, password="wrong").check_login()
    gw = make_gateway(server, protocol)
    gw.check_login()
    server.odoo.password = "changed"  # the key is revoked while we work
    with pytest.raises(OdooAuthError):
        gw.search_read("res.partner", [], ["name"])


def test_the_api_key_works_in_place_of_the_password(server):
    gw = make_gateway(server, password=server.odoo.api_key)
    assert gw.check_login() == server.odoo.uid


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_faults_become_clear_errors(server, protocol):
    gw = make_gateway(server, protocol)
    with pytest.raises(OdooFault, match="Invalid field 'nope'"):
        gw.create("res.partner", [{"name": "x", "nope": 1}])
    server.odoo.set_enterprise(False)
    with pytest.raises(OdooModelMissing, match="helpdesk.ticket"):
        gw.search_read("helpdesk.ticket", [], ["name"])
    assert gw.has_model("helpdesk.ticket") is False and gw.has_model("crm.lead") is True
    server.odoo.fail_on("res.partner", "search_read", message="boom in the server")
    with pytest.raises(OdooFault, match="boom in the server"):
        gw.search_read("res.partner", [], ["name"])


def test_string_and_int_fault_codes_both_translate():
    from crm.odoo.gateway import translate

    string = translate(xmlrpc.client.Fault("warning -- UserError\n\nNo way", ""), url="u",
                       what="x.create")
    assert isinstance(string, OdooFault) and string.message.endswith("No way")
    assert isinstance(translate(xmlrpc.client.Fault("AccessDenied", "Access Denied"), url="u",
                                what="x"), OdooAuthError)
    assert isinstance(translate(xmlrpc.client.Fault(3, "Access Denied"), url="u", what="x"),
                      OdooAuthError)
    two = translate(xmlrpc.client.Fault(2, "Object crm.lead doesn't exist"), url="u", what="x")
    assert isinstance(two, OdooModelMissing)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_slow_server_times_out_and_is_retried_with_backoff(server, protocol):
    waits = []
    gw = OdooLibGateway(OdooConfig(url=server.url, db=server.odoo.db, user=server.odoo.login,
                                   password=server.odoo.password, protocol=protocol,
                                   timeout=0.3, retries=2, backoff=0.01),
                        sleep=waits.append)
    server.odoo.delay = 1.0
    started = time.perf_counter()
    with pytest.raises(OdooTimeout, match="did not answer"):
        gw.version()
    assert waits == [0.01, 0.02]  # two retries, the second after twice the wait
    assert time.perf_counter() - started < 3


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_nothing_listening_is_unreachable(protocol):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gw = OdooLibGateway(OdooConfig(url=f"http://127.0.0.1:{port}", db="d", user="u",
                                   password="p", protocol=protocol, retries=0))
    with pytest.raises(OdooUnreachable, match="cannot reach Odoo"):
        gw.check_login()


def test_the_password_is_never_in_the_config_repr_or_an_error(server):
    config = OdooConfig(url=server.url, db="qifu_test", user="admin", password="s3cret-pw")
    assert "s3cret-pw" not in repr(config)
    with pytest.raises(OdooError) as err:
        OdooLibGateway(config).check_login()
    assert "s3cret-pw" not in str(err.value) and "s3cret-pw" not in repr(err.value.params)


# --- firms ------------------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_first_sync_creates_partners_and_a_rerun_writes_nothing_on_either_side(
        engine, server, protocol):
    odoo = server.odoo
    ids = add_firms(engine, 9)
    result = sync(engine, make_gateway(server, protocol), only="firms")
    assert result.status == "ok"
    assert result.summary == {"created": 9, "updated": 0, "unchanged": 0, "conflicts": 0,
                              "errors": 0}
    by_vat = partners(odoo)
    assert set(by_vat) == {uscc(i) for i in range(1, 10)}
    first = by_vat[uscc(1)]
    assert (first["name"], first["is_company"], first["phone"], first["street"],
            first["street2"], first["city"]) == ("重庆同步1有限公司", True, "023-67891234",
                                                 "建新东路1号", "江北城街道", "江北区")
    assert by_vat[uscc(2)]["phone"] is False  # no contact: nothing, not None, was sent
    # local batches of 4 firms (4, 4, 1), each sent in creates of at most 3: 3+1, 3+1, 1
    assert odoo.calls[("res.partner", "create")] == 5
    with session_factory(engine)() as s:
        maps = s.execute(select(Enterprise.id, Enterprise.uscc, OdooMapping.remote_id)
                         .join(OdooMapping, OdooMapping.local_id == Enterprise.id)).all()
        assert {m[0] for m in maps} == set(ids)
        assert all(odoo.records["res.partner"][rid]["vat"] == code for _, code, rid in maps)
    writes = odoo.writes()
    with session_factory(engine)() as s:
        before = s.scalar(select(func.count()).select_from(OdooMapping)), \
            s.scalar(select(func.max(Enterprise.version)))
    again = sync(engine, make_gateway(server, protocol), only="firms")
    assert again.summary == {"created": 0, "updated": 0, "unchanged": 9, "conflicts": 0,
                             "errors": 0}
    assert odoo.writes() == writes  # nothing written to Odoo
    with session_factory(engine)() as s:
        after = s.scalar(select(func.count()).select_from(OdooMapping)), \
            s.scalar(select(func.max(Enterprise.version)))
        assert after == before
        runs = s.scalars(select(OdooRun).order_by(OdooRun.id)).all()
        assert [(r.status, r.scope, r.counts["created"]) for r in runs] == \
            [("ok", "firms", 9), ("ok", "firms", 0)]
        assert s.scalar(select(func.count()).select_from(AuditLog)
                        .where(AuditLog.action == "odoo.sync")) == 2


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_changes_go_each_way_and_partners_qifu_lacks_are_registered(engine, server, protocol):
    odoo = server.odoo
    ids = add_firms(engine, 3)
    sync(engine, make_gateway(server, protocol), only="firms")
    by_vat = partners(odoo)
    # Odoo: a new company with a valid USCC, one with an invalid one, a person; an edit
    odoo.add("res.partner", {"name": "重庆奥都新公司", "vat": uscc(77).lower(), "is_company": True,
                             "phone": "138 1234 5678", "street": "北滨路1号",
                             "street2": "大石坝街道"})
    odoo.add("res.partner", {"name": "坏代码公司", "vat": "91500105MA0000000X",
                             "is_company": True})
    odoo.add("res.partner", {"name": "张三", "vat": uscc(78), "is_company": False})
    odoo.edit("res.partner", by_vat[uscc(2)]["id"], {"phone": "13900000000",
                                                      "street": "观音桥步行街2号"})
    # Qifu: a firm renamed
    with session_factory(engine).begin() as s:
        s.get(Enterprise, ids[0]).name = "重庆同步一号有限公司"
    result = sync(engine, make_gateway(server, protocol), only="firms")
    assert result.detail["enterprise"]["updated_odoo"] == 1
    assert result.detail["enterprise"]["updated_qifu"] == 1
    assert result.detail["enterprise"]["created_qifu"] == 1
    assert result.summary["conflicts"] == 0 and result.status == "ok"
    assert odoo.records["res.partner"][by_vat[uscc(1)]["id"]]["name"] == "重庆同步一号有限公司"
    with session_factory(engine)() as s:
        two = s.get(Enterprise, ids[1])
        assert two.address == "观音桥步行街2号" and two.version == 2
        assert s.scalar(select(Contact.phone).where(Contact.enterprise_id == two.id)) == \
            "13900000000"
        new = s.scalar(select(Enterprise).where(Enterprise.uscc == uscc(77)))
        assert new.name == "重庆奥都新公司" and new.address == "北滨路1号"
        assert new.street.name == "大石坝街道"
        assert s.scalar(select(Contact.phone).where(Contact.enterprise_id == new.id)) == \
            "13812345678"
        assert s.scalar(select(func.count()).select_from(Enterprise)
                        .where(Enterprise.name == "坏代码公司")) == 0
    writes = odoo.writes()
    again = sync(engine, make_gateway(server, protocol), only="firms")
    assert again.summary["created"] == again.summary["updated"] == 0
    assert again.summary["unchanged"] == 4 and odoo.writes() == writes


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_conflict_is_reported_and_by_default_neither_side_is_written(engine, server,
                                                                       protocol):
    odoo = server.odoo
    ids = add_firms(engine, 2)
    sync(engine, make_gateway(server, protocol), only="firms")
    rid = partners(odoo)[uscc(1)]["id"]
    odoo.edit("res.partner", rid, {"name": "奥都改的名字"})
    with session_factory(engine).begin() as s:
        s.get(Enterprise, ids[0]).name = "企服改的名字"
    writes = odoo.writes()
    result = sync(engine, make_gateway(server, protocol), only="firms")
    assert result.summary["conflicts"] == 1 and result.status == "ok"
    [issue] = [i for i in result.issues if i["kind"] == "conflict"]
    assert issue["local_id"] == ids[0] and issue["remote_id"] == rid
    assert "name" in issue["message"] and "kept both" in issue["message"]
    assert odoo.writes() == writes
    with session_factory(engine)() as s:
        assert s.get(Enterprise, ids[0]).name == "企服改的名字"
        odoo_settings.save(s, {"conflict_winner": "odoo"})
        s.commit()
    result = sync(engine, make_gateway(server), only="firms")
    assert result.summary["conflicts"] == 1 and "odoo wins" in result.issues[0]["message"]
    with session_factory(engine)() as s:
        assert s.get(Enterprise, ids[0]).name == "奥都改的名字"
    assert sync(engine, make_gateway(server), only="firms").summary["conflicts"] == 0


def test_qifu_wins_when_the_setting_says_so(engine, server):
    odoo = server.odoo
    ids = add_firms(engine, 1)
    sync(engine, make_gateway(server), only="firms")
    rid = partners(odoo)[uscc(1)]["id"]
    odoo.edit("res.partner", rid, {"street": "奥都地址"})
    with session_factory(engine).begin() as s:
        s.get(Enterprise, ids[0]).address = "企服地址"
        odoo_settings.save(s, {"conflict_winner": "qifu"})
    result = sync(engine, make_gateway(server), only="firms")
    assert result.summary["conflicts"] == 1
    assert odoo.records["res.partner"][rid]["street"] == "企服地址"


def test_an_existing_partner_is_linked_by_uscc_not_duplicated(engine, server):
    odoo = server.odoo
    rid = odoo.add("res.partner", {"name": "重庆同步1有限公司", "vat": uscc(1), "is_company": True,
                                   "phone": False, "street": False})
    add_firms(engine, 1)
    result = sync(engine, make_gateway(server), only="firms")
    assert len(odoo.records["res.partner"]) == 1 and result.summary["created"] == 0
    # Odoo lacked phone and street: filled from Qifu, no conflict
    assert odoo.records["res.partner"][rid]["street"] == "建新东路1号"
    assert result.summary["conflicts"] == 0 and result.summary["updated"] == 1


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_server_fault_half_way_leaves_qifu_consistent_and_a_rerun_finishes(
        engine, server, protocol):
    odoo = server.odoo
    add_firms(engine, 10)
    odoo.fail_on("res.partner", "create", after=2)  # the third batch of creates fails
    with pytest.raises(OdooFault, match="concurrent update"):
        sync(engine, make_gateway(server, protocol, batch_size=100), only="firms")
    created = len(odoo.records["res.partner"])
    assert created == 8  # batches of 4 firms: two went through
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(OdooMapping)) == 8
        run = s.scalar(select(OdooRun))
        assert run.status == "failed" and "concurrent update" in run.errors[0]["message"]
    result = sync(engine, make_gateway(server, protocol), only="firms")
    assert result.summary == {"created": 2, "updated": 0, "unchanged": 8, "conflicts": 0,
                              "errors": 0}
    assert len(odoo.records["res.partner"]) == 10


def test_partners_created_by_a_run_that_died_before_recording_them_are_found(engine, server):
    """The remote create succeeded, the local commit did not: the USCC finds them again."""
    odoo = server.odoo
    add_firms(engine, 3)
    sync(engine, make_gateway(server), only="firms")
    with session_factory(engine).begin() as s:
        s.execute(OdooMapping.__table__.delete())
    writes = odoo.writes()
    result = sync(engine, make_gateway(server), only="firms")
    assert result.summary["unchanged"] == 3 and odoo.writes() == writes
    assert len(odoo.records["res.partner"]) == 3


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_wrong_password_fails_the_run_before_anything_is_written(engine, server, protocol):
    add_firms(engine, 2)
    with pytest.raises(OdooAuthError):
        sync(engine, make_gateway(server, protocol, password="nope"))
    assert server.odoo.writes() == 0
    with session_factory(engine)() as s:
        run = s.scalar(select(OdooRun))
        assert run.status == "failed" and run.finished_at is not None
        assert "nope" not in str(run.errors)


def test_a_dry_run_counts_and_writes_nothing(engine, server):
    add_firms(engine, 3)
    result = sync(engine, make_gateway(server), dry_run=True)
    assert result.summary["created"] == 3 and server.odoo.writes() == 0
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(OdooMapping)) == 0
        assert s.scalar(select(OdooRun.dry_run)) is True


# --- appeals ----------------------------------------------------------------------------------

def add_appeal(engine, firm_id: int, title: str = "停车乱象") -> int:
    with session_factory(engine).begin() as s:
        category = s.scalar(select(Category.id).where(Category.name == "交通"))
        return appeal_service.log_appeal(s, actor=SYSTEM, enterprise_id=firm_id,
                                         category_id=category, title=title,
                                         description="楼下车辆乱停<b>严重</b>").id


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_appeals_become_helpdesk_tickets_and_odoo_stage_and_replies_come_back(
        engine, server, protocol):
    odoo = server.odoo
    firms = add_firms(engine, 2)
    appeal_id = add_appeal(engine, firms[0])
    result = sync(engine, make_gateway(server, protocol))
    assert result.detail["appeal"]["created_odoo"] == 1
    [ticket] = odoo.records["helpdesk.ticket"].values()
    with session_factory(engine)() as s:
        appeal = s.get(Appeal, appeal_id)
        assert ticket["name"] == f"[{appeal.code}] 停车乱象"
        assert ticket["partner_id"] == partners(odoo)[uscc(1)]["id"]
        status, version = appeal.status, appeal.version
    writes = odoo.writes()
    assert sync(engine, make_gateway(server, protocol)).summary["updated"] == 0
    assert odoo.writes() == writes
    odoo.edit("helpdesk.ticket", ticket["id"],
              {"stage_id": odoo.stage_id("helpdesk.ticket", "Solved")})
    odoo.post_message("helpdesk.ticket", ticket["id"], "<p>已协调交巡警现场处置</p>")
    result = sync(engine, make_gateway(server, protocol))
    assert result.detail["appeal"]["updated_qifu"] == 1
    with session_factory(engine)() as s:
        appeal = s.get(Appeal, appeal_id)
        notes = [e.note for e in appeal.events if e.action == "odoo"]
        assert notes == ["Odoo：阶段 New → Solved", "Odoo 回复：已协调交巡警现场处置"]
        assert (appeal.status, appeal.version) == (status, version)  # no state forced
    again = sync(engine, make_gateway(server, protocol))
    assert again.summary["updated"] == 0
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(AppealEvent)
                        .where(AppealEvent.action == "odoo")) == 2


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_on_community_appeals_go_to_the_fallback_model(engine, server, protocol):
    odoo = server.odoo
    odoo.set_enterprise(False)
    firms = add_firms(engine, 1)
    add_appeal(engine, firms[0])
    sync(engine, make_gateway(server, protocol))
    assert len(odoo.records["crm.lead"]) == 1 and not odoo.records["helpdesk.ticket"]
    with session_factory(engine).begin() as s:
        odoo_settings.save(s, {"appeal_fallback": "project.task"})
    add_appeal(engine, firms[0], "第二件")
    sync(engine, make_gateway(server, protocol), only="appeals")
    assert len(odoo.records["project.task"]) == 2  # its own mapping per model


def test_a_changed_appeal_title_is_written_to_odoo(engine, server):
    odoo = server.odoo
    firms = add_firms(engine, 1)
    appeal_id = add_appeal(engine, firms[0])
    sync(engine, make_gateway(server))
    with session_factory(engine).begin() as s:
        s.get(Appeal, appeal_id).title = "停车乱象（已补充）"
    result = sync(engine, make_gateway(server), only="appeals")
    assert result.detail["appeal"]["updated_odoo"] == 1
    [ticket] = odoo.records["helpdesk.ticket"].values()
    assert ticket["name"].endswith("停车乱象（已补充）")


# --- the command line -------------------------------------------------------------------------

def _cli(*args, url: str, env: dict):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    return subprocess.run([sys.executable, "-m", "crm", "odoo", "sync", "--quiet", *args],
                          cwd=root, env={**os.environ, "CRM_DATABASE_URL": url, **env},
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_command_syncs_then_finds_nothing_to_do_and_fails_in_one_line(
        sqlite_template, tmp_path, server, protocol):
    import shutil

    path = tmp_path / "cli.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    from crm.db import make_engine

    engine = make_engine(url)
    add_firms(engine, 3)
    engine.dispose()
    odoo = server.odoo
    env = {"CRM_ODOO_URL": server.url, "CRM_ODOO_DB": odoo.db, "CRM_ODOO_USER": odoo.login,
           "CRM_ODOO_PASSWORD": odoo.password, "CRM_ODOO_PROTOCOL": protocol}
    first = _cli(url=url, env=env)
    assert first.returncode == 0, first.stderr
    assert "ok: created 3, updated 0, unchanged 0, conflicts 0, errors 0" in first.stdout
    dry = _cli("--dry-run", "--only", "firms", url=url, env=env)
    assert "(dry run: nothing written): created 0, updated 0, unchanged 3" in dry.stdout
    again = _cli(url=url, env=env)
    assert "created 0, updated 0, unchanged 3, conflicts 0, errors 0" in again.stdout
    wrong = _cli(url=url, env={**env, "CRM_ODOO_PASSWORD": "wrong-pw"})
    assert wrong.returncode == 2 and wrong.stdout == ""
    assert wrong.stderr.startswith("error: Odoo refused the login")
    assert len(wrong.stderr.strip().splitlines()) == 1 and "wrong-pw" not in wrong.stderr
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = _cli(url=url, env={**env, "CRM_ODOO_URL": f"http://127.0.0.1:{port}"})
    assert down.returncode == 2 and down.stderr.startswith("error: cannot reach Odoo")
    assert len(down.stderr.strip().splitlines()) == 1


# --- the page ---------------------------------------------------------------------------------

def test_the_admin_page_saves_settings_runs_now_and_never_shows_the_password(
        world, server):  # noqa: F811 - world is the fixture imported above
    odoo = server.odoo
    add_firms(world, 2)
    at = logged_in(world, ROLE_USER["admin"])
    at.switch_page("pages/odoo.py").run()
    assert_healthy(at)
    at.text_input(key="odoo_url").set_value(server.url)
    at.text_input(key="odoo_db").set_value(odoo.db)
    at.text_input(key="odoo_user").set_value(odoo.login)
    at.text_input(key="odoo_password_0").set_value(odoo.password)
    at.selectbox(key="odoo_protocol").set_value("jsonrpc")
    submit = [b for b in at.button if b.label == "保存设置"][0]
    submit.click().run()
    assert_healthy(at)
    assert "已保存 5 项设置。" in page_text(at)
    assert at.text_input(key="odoo_password_1").value == ""  # never shown back
    assert odoo.password not in page_text(at)
    with session_factory(world)() as s:
        shown = odoo_settings.shown(s)
        assert shown["password_source"] == "page" and "password" not in shown
        assert s.scalar(select(func.count()).select_from(AuditLog)
                        .where(AuditLog.action == "odoo.settings")) == 1
    [b for b in at.button if b.label == "立即同步"][0].click().run()
    assert_healthy(at)
    text = page_text(at)
    assert "同步结束（成功）" in text and "出错 0" in text, text
    assert {uscc(1), uscc(2)} <= set(partners(odoo))  # and the world's own firms
    assert at.dataframe[0].value.iloc[0].tolist()[-6:-5] == ["admin"]


# --- what goes wrong --------------------------------------------------------------------------

@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_slow_server_stops_the_run_with_a_timeout_and_it_is_recorded(engine, server,
                                                                       protocol):
    add_firms(engine, 2)
    gateway = make_gateway(server, protocol, timeout=0.3, retries=0)
    gateway.check_login()
    server.odoo.delay = 1.0
    with pytest.raises(OdooTimeout):
        sync(engine, gateway, only="firms")
    with session_factory(engine)() as s:
        run = s.scalar(select(OdooRun))
        assert run.status == "failed" and "did not answer" in run.errors[0]["message"]
        assert s.scalar(select(func.count()).select_from(OdooMapping)) == 0


def test_without_helpdesk_nor_the_fallback_the_appeal_step_says_which_model_is_missing(
        engine, server):
    odoo = server.odoo
    odoo.set_enterprise(False)
    odoo.uninstall("crm.lead")
    firms = add_firms(engine, 1)
    add_appeal(engine, firms[0])
    with pytest.raises(OdooModelMissing, match="neither helpdesk.ticket nor crm.lead"):
        sync(engine, make_gateway(server))
    with session_factory(engine)() as s:
        run = s.scalar(select(OdooRun))
        assert run.status == "failed" and run.counts["created"] == 1  # the firm went through
        assert s.scalar(select(func.count()).select_from(OdooMapping)) == 1


def test_a_record_odoo_refuses_is_listed_and_the_rest_goes_on(engine, server):
    odoo = server.odoo
    ids = add_firms(engine, 3)
    sync(engine, make_gateway(server), only="firms")
    with session_factory(engine).begin() as s:
        for fid in ids:
            s.get(Enterprise, fid).address = "新地址"
    odoo.fail_on("res.partner", "write", after=1, message="bad partner")
    result = sync(engine, make_gateway(server, retries=0), only="firms")
    assert result.status == "partial" and result.summary["errors"] == 1
    assert result.summary["updated"] == 2
    [issue] = [i for i in result.issues if i["kind"] == "error"]
    assert "bad partner" in issue["message"] and issue["local_id"] == ids[1]
    again = sync(engine, make_gateway(server), only="firms")  # the refused one goes now
    assert again.summary["updated"] == 1 and again.status == "ok"


def test_a_partner_deleted_in_odoo_is_reported_not_recreated(engine, server):
    odoo = server.odoo
    add_firms(engine, 2)
    sync(engine, make_gateway(server), only="firms")
    rid = partners(odoo)[uscc(1)]["id"]
    del odoo.records["res.partner"][rid]
    result = sync(engine, make_gateway(server), only="firms")
    assert result.summary["errors"] == 1 and "is gone" in result.issues[0]["message"]
    assert len(odoo.records["res.partner"]) == 1


def test_two_partners_with_one_uscc_link_the_first_and_warn(engine, server):
    odoo = server.odoo
    first = odoo.add("res.partner", {"name": "重庆同步1有限公司", "vat": uscc(1),
                                     "is_company": True, "street": "建新东路1号",
                                     "street2": "江北城街道", "phone": "023-67891234"})
    odoo.add("res.partner", {"name": "重庆同步1有限公司（重复）", "vat": uscc(1),
                             "is_company": True})
    add_firms(engine, 1)
    result = sync(engine, make_gateway(server), only="firms")
    assert any(i["kind"] == "warning" and "share the USCC" in i["message"]
               for i in result.issues)
    with session_factory(engine)() as s:
        assert s.scalar(select(OdooMapping.remote_id)) == first
    assert result.summary["unchanged"] == 1 and result.summary["created"] == 0


def test_a_pulled_name_another_firm_has_is_refused_with_the_reason(engine, server):
    odoo = server.odoo
    add_firms(engine, 2)
    sync(engine, make_gateway(server), only="firms")
    odoo.edit("res.partner", partners(odoo)[uscc(1)]["id"], {"name": "重庆同步2有限公司"})
    result = sync(engine, make_gateway(server), only="firms")
    assert result.status == "partial"
    assert "another firm is already named 重庆同步2有限公司" in result.issues[0]["message"]


def test_an_appeal_edited_on_both_sides_is_a_reported_conflict(engine, server):
    odoo = server.odoo
    firms = add_firms(engine, 1)
    appeal_id = add_appeal(engine, firms[0])
    sync(engine, make_gateway(server))
    [ticket] = odoo.records["helpdesk.ticket"].values()
    odoo.edit("helpdesk.ticket", ticket["id"], {"description": "<p>奥都里改的</p>"})
    with session_factory(engine).begin() as s:
        s.get(Appeal, appeal_id).description = "企服里改的"
    result = sync(engine, make_gateway(server), only="appeals")
    assert result.summary["conflicts"] == 1 and odoo.records["helpdesk.ticket"][
        ticket["id"]]["description"] == "<p>奥都里改的</p>"
    # Odoo's own edit alone is left alone (Qifu owns the appeal's text)
    with session_factory(engine).begin() as s:
        s.get(Appeal, appeal_id).description = "楼下车辆乱停<b>严重</b>"
    result = sync(engine, make_gateway(server), only="appeals")
    assert result.summary["conflicts"] == 0 and result.summary["updated"] == 0


def test_appeals_of_firms_not_in_odoo_wait_and_say_so(engine, server):
    firms = add_firms(engine, 1)
    add_appeal(engine, firms[0])
    result = sync(engine, make_gateway(server), only="appeals")
    assert result.detail["appeal"]["skipped"] == 1 and "not in Odoo yet" in \
        result.issues[0]["message"]
    assert not server.odoo.records["helpdesk.ticket"]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_stand_in_answers_the_documented_calls(server, protocol):
    gw = make_gateway(server, protocol)
    a, b = gw.create("res.partner", [{"name": "甲", "is_company": True},
                                     {"name": "乙", "is_company": True}])
    assert gw.execute("res.partner", "search", [("is_company", "=", True)], limit=1) == [a]
    assert gw.execute("res.partner", "search_count", [("name", "ilike", "乙")]) == 1
    assert gw.execute("res.partner", "read", [b], ["name"]) == [{"id": b, "name": "乙"}]
    fields = gw.execute("helpdesk.ticket", "fields_get", ["partner_id"], attributes=["type"])
    assert fields["partner_id"]["type"] == "many2one"
    assert fields["partner_id"]["relation"] == "res.partner"
    assert gw.execute("res.partner", "unlink", [b]) is True
    with pytest.raises(OdooFault, match="does not exist or has been deleted"):
        gw.execute("res.partner", "read", [b], ["name"])


def test_the_int_code_endpoint_faults_as_odoo_does(server):
    odoo = server.odoo
    proxy = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/object")
    from crm.odoo.gateway import translate

    with pytest.raises(xmlrpc.client.Fault) as denied:
        proxy.execute_kw(odoo.db, odoo.uid, "wrong", "res.partner", "search", [[]])
    assert denied.value.faultCode == 3
    assert isinstance(translate(denied.value, url="u", what="x"), OdooAuthError)
    with pytest.raises(xmlrpc.client.Fault) as missing:
        proxy.execute_kw(odoo.db, odoo.uid, odoo.password, "nope.model", "search", [[]])
    assert missing.value.faultCode == 2
    assert isinstance(translate(missing.value, url="u", what="x"), OdooModelMissing)
    common = xmlrpc.client.ServerProxy(f"{server.url}/xmlrpc/2/common")
    assert common.authenticate(odoo.db, odoo.login, odoo.password, {}) == odoo.uid
    assert common.authenticate(odoo.db, odoo.login, "wrong", {}) is False


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_the_password_never_reaches_a_log_even_at_debug(engine, server, protocol, caplog):
    import logging

    odoo = server.odoo
    odoo.password = "pw-Δ-never-logged"
    add_firms(engine, 2)
    with caplog.at_level(logging.DEBUG):
        # the capture sees what odoo-client-lib's own Service proxy logs: the password
        gw = make_gateway(server, protocol)
        gw._conn.get_service("common").login(odoo.db, odoo.login, odoo.password)
        assert "pw-Δ-never-logged" in caplog.text
        caplog.clear()
        sync(engine, make_gateway(server, protocol))
        with pytest.raises(OdooAuthError):
            sync(engine, make_gateway(server, protocol, password="wrong-Δ-pw"))
    assert "pw-Δ-never-logged" not in caplog.text and "wrong-Δ-pw" not in caplog.text


def test_an_odoo_value_qifu_cannot_hold_is_reported_and_never_overwritten(engine, server):
    odoo = server.odoo
    long_street = "很长的地址" * 50  # 250 characters; Qifu keeps 200
    rid = odoo.add("res.partner", {"name": "重庆同步1有限公司", "vat": uscc(1),
                                   "is_company": True, "street": long_street})
    with session_factory(engine).begin() as s:
        s.add(Enterprise(uscc=uscc(1), name="重庆同步1有限公司"))
    for _ in range(2):
        result = sync(engine, make_gateway(server), only="firms")
        assert any("longer than 200" in i["message"] or i["kind"] == "conflict"
                   for i in result.issues), result.issues
        assert odoo.records["res.partner"][rid]["street"] == long_street
    with session_factory(engine)() as s:
        assert s.scalar(select(Enterprise.address)) is None


def test_0008_downgrade_keeps_the_links_and_drops_what_it_added(engine):
    from sqlalchemy import inspect, text

    from crm import migrate

    with session_factory(engine).begin() as s:
        s.add(OdooMapping(entity="enterprise", local_id=1, remote_model="res.partner",
                          remote_id=7, synced_hash="ab" * 32, remote_seen={"stage": "New"}))
        s.add(OdooRun(scope="all", actor="system", status="ok"))
    migrate.downgrade(engine, "0007")
    with engine.connect() as conn:
        assert "odoo_run" not in inspect(conn).get_table_names()
        assert {"synced_hash", "remote_seen"}.isdisjoint(
            c["name"] for c in inspect(conn).get_columns("odoo_mapping"))
        assert conn.execute(text("SELECT remote_id FROM odoo_mapping")).scalar() == 7
    migrate.upgrade(engine)
    with session_factory(engine)() as s:
        mapping = s.scalar(select(OdooMapping))
        assert (mapping.remote_id, mapping.synced_hash) == (7, None)


def test_one_run_at_a_time_unless_the_other_died_long_ago(engine, server):
    import datetime as dt

    from crm.db import now
    from crm.odoo.errors import OdooBusy

    add_firms(engine, 1)
    with session_factory(engine).begin() as s:
        s.add(OdooRun(scope="all", actor="admin", status="running",
                      started_at=now() - dt.timedelta(minutes=5)))
    with pytest.raises(OdooBusy, match="run 1, by admin"):
        sync(engine, make_gateway(server))
    assert server.odoo.writes() == 0
    with session_factory(engine).begin() as s:
        s.get(OdooRun, 1).started_at = now() - dt.timedelta(hours=3)
    assert sync(engine, make_gateway(server)).status == "ok"


def test_tickets_a_crashed_run_made_are_linked_again_with_their_replies_once(engine, server):
    odoo = server.odoo
    firms = add_firms(engine, 1)
    appeal_id = add_appeal(engine, firms[0])
    sync(engine, make_gateway(server))
    [ticket] = odoo.records["helpdesk.ticket"].values()
    odoo.post_message("helpdesk.ticket", ticket["id"], "第一条回复")
    sync(engine, make_gateway(server))  # the reply reaches the timeline; the cursor moves on
    with session_factory(engine).begin() as s:  # as if that run had never recorded the link
        s.execute(OdooMapping.__table__.delete().where(OdooMapping.entity == "appeal"))
    result = sync(engine, make_gateway(server), only="appeals")
    assert result.detail["appeal"]["created_odoo"] == 0 and len(
        odoo.records["helpdesk.ticket"]) == 1
    odoo.post_message("helpdesk.ticket", ticket["id"], "第二条回复")
    sync(engine, make_gateway(server), only="appeals")
    with session_factory(engine)() as s:
        notes = [e.note for e in s.get(Appeal, appeal_id).events if e.action == "odoo"]
    # relinked: the reply already on the timeline is not repeated; the new one comes
    assert notes == ["Odoo 回复：第一条回复", "Odoo 回复：第二条回复"], notes


def test_a_ticket_named_by_a_ledger_number_before_migration_0010_is_linked_and_renamed(
        engine, server):
    """A run that crashed before recording its ticket named it by the imported appeal's
    old code (its ledger number); once the appeal is named by its QF number, the next
    run finds the ticket by the ledger number (external_ref) and renames it."""
    odoo = server.odoo
    firms = add_firms(engine, 1)
    appeal_id = add_appeal(engine, firms[0])
    with session_factory(engine).begin() as s:  # the appeal as it was before 0010
        qf = s.get(Appeal, appeal_id).code
        s.get(Appeal, appeal_id).code = "GD-2024-001"
    sync(engine, make_gateway(server), only="firms")
    sync(engine, make_gateway(server), only="appeals")
    with session_factory(engine).begin() as s:  # crashed before the link; then migrated
        s.execute(OdooMapping.__table__.delete().where(OdooMapping.entity == "appeal"))
        appeal = s.get(Appeal, appeal_id)
        appeal.code, appeal.external_ref = qf, "GD-2024-001"
    result = sync(engine, make_gateway(server), only="appeals")
    assert result.detail["appeal"]["created_odoo"] == 0
    [ticket] = odoo.records["helpdesk.ticket"].values()
    assert ticket["name"] == f"[{qf}] 停车乱象"


def test_odoo_moves_a_firm_to_another_street_but_never_to_none(engine, server):
    odoo = server.odoo
    ids = add_firms(engine, 2)
    sync(engine, make_gateway(server), only="firms")
    by_vat = partners(odoo)
    odoo.edit("res.partner", by_vat[uscc(1)]["id"], {"street2": "大石坝街道",
                                                      "name": "重庆搬家有限公司"})
    odoo.edit("res.partner", by_vat[uscc(2)]["id"], {"street2": "江北区"})
    result = sync(engine, make_gateway(server), only="firms")
    assert result.status == "ok"
    assert any("written back" in i["message"] for i in result.issues)
    with session_factory(engine)() as s:
        one, two = s.get(Enterprise, ids[0]), s.get(Enterprise, ids[1])
        assert one.street.name == "大石坝街道" and one.name_initials == "CQBJYXGS"
        assert two.street.name == "江北城街道"
    assert odoo.records["res.partner"][by_vat[uscc(2)]["id"]]["street2"] == "江北城街道"
    writes = odoo.writes()
    again = sync(engine, make_gateway(server), only="firms")
    assert again.summary["unchanged"] == 2 and odoo.writes() == writes


def test_what_happened_in_odoo_shows_on_the_appeal_timeline_page(world, server):  # noqa: F811
    """The world's appeals go to Odoo; a stage move and a reply there come back as
    "Odoo 动态" steps on the appeal's page, the appeal's own state untouched."""
    odoo = server.odoo
    sync(world, make_gateway(server, "jsonrpc"))
    with session_factory(world)() as s:
        appeal = s.scalar(select(Appeal).where(Appeal.status == "received").limit(1))
        appeal_id, status = appeal.id, appeal.status
        rid = s.scalar(select(OdooMapping.remote_id).where(OdooMapping.entity == "appeal",
                                                           OdooMapping.local_id == appeal_id))
    odoo.edit("helpdesk.ticket", rid,
              {"stage_id": odoo.stage_id("helpdesk.ticket", "In Progress")})
    odoo.post_message("helpdesk.ticket", rid, "<p>已派员<b>现场</b>查看</p>")
    sync(world, make_gateway(server, "jsonrpc"), only="appeals")
    at = logged_in(world, ROLE_USER["admin"])
    at.session_state["appeal_id"] = appeal_id
    at.switch_page("pages/appeal.py").run()
    assert_healthy(at)
    timeline = page_text(at)
    assert "Odoo 动态" in timeline and "Odoo：阶段 New → In Progress" in timeline
    assert "Odoo 回复：已派员现场查看" in timeline  # inline tags leave no gap
    with session_factory(world)() as s:
        assert s.get(Appeal, appeal_id).status == status


def test_a_refused_write_while_linking_leaves_no_half_link(engine, server):
    odoo = server.odoo
    rid = odoo.add("res.partner", {"name": "重庆同步1有限公司", "vat": uscc(1), "is_company": True})
    add_firms(engine, 1)
    odoo.fail_on("res.partner", "write", message="locked record")
    result = sync(engine, make_gateway(server, retries=0), only="firms")
    assert result.status == "partial" and "locked record" in result.issues[0]["message"]
    with session_factory(engine)() as s:
        assert s.scalar(select(func.count()).select_from(OdooMapping)) == 0
    result = sync(engine, make_gateway(server), only="firms")
    assert (result.status, result.summary["conflicts"], result.summary["updated"]) == \
        ("ok", 0, 1)
    assert odoo.records["res.partner"][rid]["street"] == "建新东路1号"
