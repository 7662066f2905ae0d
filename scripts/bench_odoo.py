"""Benchmark: syncing 10,000 firms with Odoo, first run and re-run.

    .venv/bin/python scripts/bench_odoo.py [--firms 10000] [--protocol xmlrpc|jsonrpc|both]
                                           [--backend sqlite|postgresql]

Odoo is the local stand-in of the tests (tests/odoo_server.py: a real HTTP server in a
thread of this process, speaking Odoo's XML-RPC or JSON-RPC), empty at the start. Qifu is
a fresh database (schema + reference data) holding --firms confirmed firms with address,
street and, for one in three, a phone. It times, through `crm.odoo.runs.run_sync` with the
default gateway settings (pages of 1,000, creates of 200, local batches of 500):

- first run: every firm read, matched by USCC (none found), created in Odoo in batches,
  its mapping committed;
- re-run: every partner read back in pages and compared; nothing to write (checked:
  no create or write reaches Odoo, no mapping changes).

`--from-odoo` times the other direction: the stand-in holds the firms as company partners
with valid USCCs and Qifu none; the first run registers each as a firm (through
`registration.register_enterprise`, the app's own door: checks, contact, audit).

It exits non-zero when the re-run wrote anything or a count is off.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from crm import migrate  # noqa: E402
from crm.access import SYSTEM  # noqa: E402
from crm.db import make_engine, session_factory  # noqa: E402
from crm.models import Contact, Enterprise, OdooMapping, Street  # noqa: E402
from crm.odoo.gateway import OdooConfig, OdooLibGateway  # noqa: E402
from crm.odoo.runs import run_sync  # noqa: E402
from crm.services.reference import init_reference_data  # noqa: E402
from crm.uscc import complete  # noqa: E402
from tests.odoo_server import OdooTestServer  # noqa: E402


def build(url: str, firms: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_factory(engine).begin() as s:
        init_reference_data(s)
        streets = list(s.scalars(select(Street.id).order_by(Street.id)))
        if firms:
            _firms(s, streets, firms)
    engine.dispose()


def _firms(s, streets: list[int], firms: int) -> None:
    s.execute(insert(Enterprise), [
        {"uscc": complete(f"91500105MA{i:06d}"), "name": f"重庆基准{i}有限公司",
         "name_initials": "CQJZ", "street_id": streets[i % len(streets)],
         "address": f"建新东路{i}号", "confirmed": True, "active": True,
         "is_above_scale": False, "version": 1} for i in range(1, firms + 1)])
    ids = list(s.scalars(select(Enterprise.id).order_by(Enterprise.id)))
    s.execute(insert(Contact), [
        {"enterprise_id": fid, "name": "联系人", "phone": f"138{fid:08d}",
         "is_primary": True} for fid in ids[::3]])


def bench(url: str, protocol: str, firms: int, *, from_odoo: bool = False) -> dict:
    engine = make_engine(url)
    sessions = session_factory(engine)
    out = {}
    with OdooTestServer() as server:
        odoo = server.odoo
        if from_odoo:  # the agency's Odoo has the firms, Qifu none
            streets = ["江北城街道", "大石坝街道", "观音桥街道"]
            for i in range(1, firms + 1):
                odoo.add("res.partner", {"name": f"重庆奥都{i}有限公司", "is_company": True,
                                         "vat": complete(f"91500105MB{i:06d}"),
                                         "street": f"北滨路{i}号", "street2": streets[i % 3],
                                         "phone": f"139{i:08d}" if i % 3 == 0 else False})
        config = OdooConfig(url=server.url, db=odoo.db, user=odoo.login,
                            password=odoo.password, protocol=protocol)
        for label in ("first run", "re-run"):
            writes_before = odoo.writes()
            started = time.perf_counter()
            with OdooLibGateway(config) as gateway:
                result = run_sync(sessions, gateway, actor=SYSTEM, only="firms")
                calls = gateway.calls
            seconds = time.perf_counter() - started
            out[label] = (seconds, result.summary, calls, odoo.writes() - writes_before)
            print(f"  {protocol:<8} {label:<10} {seconds:7.2f} s  {calls:>4} calls, "
                  f"{odoo.writes() - writes_before:>3} writes to Odoo; {result.summary}",
                  flush=True)
    with sessions() as s:
        mapped = s.scalar(select(func.count()).select_from(OdooMapping))
    engine.dispose()
    first, again = out["first run"], out["re-run"]
    ok = (first[1]["created"] == firms and again[1]["unchanged"] == firms
          and first[3] == (0 if from_odoo else first[3])
          and again[1]["created"] == again[1]["updated"] == 0 and again[3] == 0
          and mapped == firms)
    if not ok:
        print("  FAILED: the counts are off or the re-run wrote", file=sys.stderr)
    return {"ok": ok, **out}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=10_000)
    parser.add_argument("--protocol", choices=("xmlrpc", "jsonrpc", "both"), default="both")
    parser.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--from-odoo", action="store_true",
                        help="the other way: Odoo holds the firms, Qifu none (all pulled, "
                             "each registered through the app's service)")
    args = parser.parse_args()
    protocols = ("xmlrpc", "jsonrpc") if args.protocol == "both" else (args.protocol,)
    print(f"{args.firms:,} firms, " + ("all in the Odoo stand-in, none in Qifu"
                                       if args.from_odoo else "empty Odoo stand-in")
          + f", {args.backend}")
    ok = True
    for protocol in protocols:
        if args.backend == "sqlite":
            folder = tempfile.mkdtemp(prefix="bench_odoo_")
            url = f"sqlite:///{os.path.join(folder, 'bench.db')}"
            build(url, 0 if args.from_odoo else args.firms)
            ok &= bench(url, protocol, args.firms, from_odoo=args.from_odoo)["ok"]
        else:
            import psycopg

            admin = os.environ.get("CRM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
            name = f"qifu_bench_odoo_{uuid.uuid4().hex[:6]}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            base = admin.rsplit("/", 1)[0].split("://", 1)[1]
            url = f"postgresql+psycopg://{base}/{name}"
            try:
                build(url, 0 if args.from_odoo else args.firms)
                ok &= bench(url, protocol, args.firms, from_odoo=args.from_odoo)["ok"]
            finally:
                with psycopg.connect(admin, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
