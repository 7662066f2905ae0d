"""Benchmark: firm search and saving an appeal, on 100,000 firms, SQLite and PostgreSQL.

    .venv/bin/python scripts/bench_appeals.py [--enterprises 100000] [--backend both]

Builds a fresh database per backend (migrate + reference data + demo data),
then times `search_firms` for a mix of real queries (name fragments, USCC
prefixes, pinyin initials, a forgiving subsequence) and `log_appeal` +
commit, and prints the median and p90 of each in milliseconds.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import build_demo_db  # noqa: E402
from sqlalchemy import select  # noqa: E402

from crm.db import make_engine, session_factory  # noqa: E402
from crm.models import Category, Enterprise, User  # noqa: E402
from crm.services import appeals  # noqa: E402
from crm.services.firm_search import search_firms  # noqa: E402
from crm.services.users import actor_of  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def prepare(url: str, enterprises: int) -> None:
    seconds = build_demo_db(url, enterprises=enterprises, appeals=enterprises // 10, seed=7)
    print(f"  seeded {enterprises} firms in {seconds:.1f} s")


def run(url: str, label: str, rounds: int) -> dict[str, float]:
    engine = make_engine(url)
    factory = session_factory(engine)
    rng = random.Random(1)
    with factory() as s:
        official = actor_of(s.scalar(select(User).where(User.role == "official")))
        liaison = actor_of(s.scalar(select(User).where(User.username == "liaison_jbc")))
        names = s.scalars(select(Enterprise.name).order_by(Enterprise.id)).all()
        codes = s.scalars(select(Enterprise.uscc).order_by(Enterprise.id)).all()
        inits = [i for i in s.scalars(select(Enterprise.name_initials)) if i]
        firm_ids = s.scalars(select(Enterprise.id).where(
            Enterprise.street_id == liaison.street_id)).all()
        category = s.scalar(select(Category.id).where(Category.name == "交通"))
    queries = []
    for _ in range(rounds):
        name = rng.choice(names)
        core = name.removeprefix("重庆").removesuffix("有限公司")
        queries += [core[:3], rng.choice(codes)[:10], rng.choice(inits)[2:6],
                    core[0] + core[-1]]
    search_ms = []
    with factory() as s:
        search_firms(s, "重庆", actor=official)  # warm
        for q in queries:
            t = time.perf_counter()
            search_firms(s, q, actor=official)
            search_ms.append((time.perf_counter() - t) * 1000)
    save_ms = []
    for i in range(rounds):
        t = time.perf_counter()
        with factory.begin() as s:
            appeals.log_appeal(s, actor=liaison, enterprise_id=rng.choice(firm_ids),
                               category_id=category, title=f"基准测试诉求 {i}",
                               description="楼宇周边车辆乱停乱放", channel="visit")
        save_ms.append((time.perf_counter() - t) * 1000)
    engine.dispose()
    result = {"search_median_ms": statistics.median(search_ms),
              "search_p90_ms": pct(search_ms, 0.9),
              "save_median_ms": statistics.median(save_ms), "save_p90_ms": pct(save_ms, 0.9)}
    print(f"  {label}: firm search median {result['search_median_ms']:.1f} ms "
          f"(p90 {result['search_p90_ms']:.1f}) over {len(queries)} queries; save appeal "
          f"median {result['save_median_ms']:.1f} ms (p90 {result['save_p90_ms']:.1f}) "
          f"over {rounds} saves")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        path = Path(tempfile.mkdtemp()) / "bench.db"
        url = f"sqlite:///{path}"
        print(f"SQLite ({path})")
        prepare(url, args.enterprises)
        run(url, "SQLite", args.rounds)
    if args.backend in ("postgresql", "both"):
        import psycopg

        name = f"qifu_bench_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
            print(f"PostgreSQL ({name})")
            prepare(url, args.enterprises)
            run(url, "PostgreSQL", args.rounds)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
