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
