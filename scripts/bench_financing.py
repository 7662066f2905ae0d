"""Benchmark: matching 10,000 open financing needs against 500 bank products.

    .venv/bin/python scripts/bench_financing.py --build      # make the database, then time
    .venv/bin/python scripts/bench_financing.py              # time an existing one

The database (SQLite, --db) holds the demo's firms, a catalogue of --products products
of 40 banks with varied ranges, collateral, industries and sizes, --needs open needs of
those firms, and 1,000 earlier needs whose 1,500 decided matches the engine learns from.

It times, each over --repeat runs (median and best):

- process: the whole `python -m crm financing match --top 5 --json` (start-up, imports,
  reading the needs and the catalogue, matching, the JSON on stdout);
- load: reading the open needs, the catalogue and the outcomes in-process;
- match: the engine itself (`Catalogue.match`, top 5, reasons included);
- plain: the same rule one pair at a time (`crm.matching.match_plain`), the naive way.

It checks that the process printed one entry per open need, and that the engine and
the plain rule agree on every need; it exits non-zero if not.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import build_demo_db  # noqa: E402
from sqlalchemy import delete, func, insert, select  # noqa: E402

from crm import matching  # noqa: E402
from crm.access import SYSTEM  # noqa: E402
from crm.db import make_engine, now, session_factory  # noqa: E402
from crm.lifecycle import OPEN_NEED_STATUSES  # noqa: E402
from crm.models import (  # noqa: E402
    Bank,
    BankProduct,
    Enterprise,
    FinancingMatch,
    FinancingMatchEvent,
    FinancingNeed,
)
from crm.services import financing  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
INDUSTRIES = ["制造业", "批发和零售业", "信息传输、软件和信息技术服务业", "建筑业",
              "科学研究和技术服务业", "住宿和餐饮业", "交通运输、仓储和邮政业", "租赁和商务服务业"]
SIZES = ["large", "medium", "small", "micro"]
COLLATERAL = ["credit", "mortgage", "guarantee", "pledge"]


def build(url: str, n_needs: int, n_products: int) -> None:
    build_demo_db(url, enterprises=2000, appeals=0)
    rng = random.Random(7)
    engine = make_engine(url)
    with session_factory(engine).begin() as s:
        # the demo's own financing goes: exactly --needs open needs and --products products
        for model in (FinancingMatchEvent, FinancingMatch, FinancingNeed, BankProduct, Bank):
            s.execute(delete(model))
        banks = [Bank(name=f"测试银行{i:02d}") for i in range(40)]
        s.add_all(banks)
        s.flush()
        rows = []
        for i in range(n_products):
            low = rng.choice([None, 1, 5, 10, 50, 100])
            high = rng.choice([None, 100, 300, 500, 1000, 5000])
            rows.append(dict(
                bank_id=banks[i % 40].id, name=f"产品{i:03d}",
                amount_min=low, amount_max=high if low is None or high is None or high > low
                else None,
                rate_min=rng.choice([None, 0.035, 0.0385, 0.04, 0.045, 0.05, 0.06]),
                term_min=rng.choice([None, 3, 6, 12]), term_max=rng.choice([None, 24, 36, 60]),
                collateral=rng.sample(COLLATERAL, rng.randint(0, 3)) or None,
                industries=rng.sample(INDUSTRIES, rng.choice([0, 0, 0, 1, 2, 3])) or None,
                sizes=rng.sample(SIZES, rng.choice([0, 0, 2, 3])) or None,
                active=rng.random() < 0.9, version=1))
        s.execute(insert(BankProduct), rows)
        firms = s.scalars(select(Enterprise.id)).all()
        s.execute(Enterprise.__table__.update().values(industry=None).where(
            Enterprise.industry.is_(None)))
        product_ids = s.scalars(select(BankProduct.id)).all()
        base = now().date()
        needs = [dict(enterprise_id=rng.choice(firms), amount=rng.choice(
            [5, 10, 20, 30, 50, 80, 100, 200, 300, 500, 800, 1500]),
            amount_approx=False, purpose=f"用途{i}", term_months=rng.choice([None, 6, 12, 24, 36]),
            collateral=rng.choice([None, *COLLATERAL]), urgency="normal",
            requested_on=base, version=1, created_at=now())
            for i in range(n_needs + 1000)]
        s.execute(insert(FinancingNeed), needs)
        need_ids = s.scalars(select(FinancingNeed.id).order_by(FinancingNeed.id)).all()
        matches = []
        for nid in need_ids[n_needs:]:  # the last 1,000: funded, after a rejection or two
            tried = rng.sample(product_ids, 2)
            matches.append(dict(need_id=nid, product_id=tried[0], status="disbursed",
                                approved_amount=50, disbursed_amount=50, version=1,
                                created_at=now(), updated_at=now()))
            if rng.random() < 0.5:
                matches.append(dict(need_id=nid, product_id=tried[1], status="rejected",
                                    version=1, created_at=now(), updated_at=now()))
        s.execute(insert(FinancingMatch), matches)
    engine.dispose()


def _stats(times: list[float]) -> str:
    return f"median {statistics.median(times):6.3f} s   best {min(times):6.3f} s"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default="/tmp/qifu_bench_financing.db")
    parser.add_argument("--build", action="store_true", help="(re)create the database first")
    parser.add_argument("--needs", type=int, default=10_000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--top", type=int, default=5)
    args = parser.parse_args()
    url = f"sqlite:///{args.db}"
    if args.build:
        for suffix in ("", "-wal", "-shm"):
            Path(args.db + suffix).unlink(missing_ok=True)
        started = time.perf_counter()
        build(url, args.needs, args.products)
        print(f"built {args.db} in {time.perf_counter() - started:.1f} s")

    engine = make_engine(url)
    with session_factory(engine)() as s:
        n_open = s.scalar(select(func.count()).select_from(FinancingNeed).where(
            financing.need_status_sql().in_(OPEN_NEED_STATUSES)))
        n_products = s.scalar(select(func.count()).select_from(BankProduct))
    print(f"{n_open} open needs, {n_products} products")

    env = {**os.environ, "CRM_DATABASE_URL": url}
    command = [sys.executable, "-m", "crm", "financing", "match", "--top", str(args.top),
               "--json"]
    process, out = [], b""
    for _ in range(args.repeat):
        started = time.perf_counter()
        out = subprocess.run(command, cwd=ROOT, env=env, check=True,
                             stdout=subprocess.PIPE).stdout
        process.append(time.perf_counter() - started)
    printed = json.loads(out)["needs"]
    ok = len(printed) == n_open and all(len(n["matches"]) <= args.top for n in printed)

    load, match, plain = [], [], []
    for _ in range(args.repeat):
        with session_factory(engine)() as s:
            started = time.perf_counter()
            rows = s.execute(financing._need_rows(SYSTEM).where(
                financing.need_status_sql().in_(OPEN_NEED_STATUSES))).all()
            needs = [financing._need_fact(r) for r in rows]
            catalogue = financing.catalogue(s)
            load.append(time.perf_counter() - started)
        started = time.perf_counter()
        fast = catalogue.match(needs, args.top)
        match.append(time.perf_counter() - started)
    started = time.perf_counter()
    slow = matching.match_plain(needs, catalogue.products, catalogue.rates.history, args.top)
    plain.append(time.perf_counter() - started)
    ok = ok and fast == slow
    proposals = sum(len(v) for v in fast.values())
    print(f"{proposals} proposals ({proposals / max(1, len(needs)):.1f} per need)")
    print(f"process  {_stats(process)}   (python -m crm financing match --top {args.top} --json)")
    print(f"load     {_stats(load)}")
    print(f"match    {_stats(match)}   (the engine, NumPy)")
    print(f"plain    {_stats(plain)}   (the same rule pair by pair; {plain[0] / min(match):.1f}x"
          " the engine)")
    print("checks   " + ("ok: one entry per open need; engine == plain rule" if ok
                         else "FAILED"))
    engine.dispose()
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
