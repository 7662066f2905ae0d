"""Benchmark: the coverage page's numbers on 100,000 firms.

    .venv/bin/python scripts/bench_coverage.py [--enterprises 100000] [--appeals 10000]
    .venv/bin/python scripts/bench_coverage.py --db sqlite:///data/qifu.db

Without --db it builds a fresh SQLite file in a temporary directory (migrate,
reference data, demo data); with --db it migrates the given database to head
and uses the data in it. It then times, as the official (district) and as a
street liaison:

- summary      coverage.summary, the KPI overview's call
- overview     coverage.overview: the page's headline and street × building matrix
- per cadre    coverage.visits_by_cadre over 3 months, the page's default (every cadre)
- per cadre12  the same over 12 months, the longest period the page offers
- page         overview + per cadre: every number the coverage page shows when opened
- drill-down   coverage.firm_list("not_visited"): the first 500 firms behind a number

"cold" is the first call on a new engine (an empty SQLite page cache; the
operating system's file cache is whatever it is), "warm" the median of the
next --rounds calls, "warm cpu" the median CPU time of this process for
another --rounds calls (on SQLite the query runs in-process, so on a busy,
shared machine this is the honest figure). Milliseconds, one line per measure.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import build_demo_db  # noqa: E402
from sqlalchemy import select  # noqa: E402

from crm import migrate  # noqa: E402
from crm.db import make_engine, session_factory  # noqa: E402
from crm.models import User  # noqa: E402
from crm.services import coverage  # noqa: E402
from crm.services.users import actor_of  # noqa: E402


def prepare(url: str, enterprises: int, appeals: int) -> None:
    seconds = build_demo_db(url, enterprises=enterprises, appeals=appeals)
    print(f"seeded {enterprises} firms and {appeals} appeals in {seconds:.1f} s")


PAGE_MONTHS = 3  # the page's default period: a quarter, like the 90-day visit rule


def page(session, *, actor, street_id=None) -> None:
    coverage.overview(session, actor=actor, street_id=street_id)
    coverage.visits_by_cadre(session, actor=actor, months=PAGE_MONTHS, street_id=street_id)


MEASURES: dict[str, Callable] = {
    "summary": lambda s, a: coverage.summary(s, actor=a),
    "overview": lambda s, a: coverage.overview(s, actor=a),
    "per cadre": lambda s, a: coverage.visits_by_cadre(s, actor=a, months=PAGE_MONTHS),
    "per cadre12": lambda s, a: coverage.visits_by_cadre(s, actor=a, months=12),
    "page": lambda s, a: page(s, actor=a),
    "drill-down": lambda s, a: coverage.firm_list(s, actor=a, measure="not_visited"),
}


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return (time.perf_counter() - t) * 1000


def cpu_timed(fn: Callable[[], object]) -> float:
    """CPU time of this process: SQLite runs in-process, so this is the work itself,
    whatever else the machine is doing (wall time on a shared machine is not)."""
    t = time.process_time()
    fn()
    return (time.process_time() - t) * 1000


def bench(url: str, rounds: int) -> None:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        users = {u.username: actor_of(u) for u in s.scalars(
            select(User).where(User.username.in_(("official", "liaison_jbc"))))}
        numbers = coverage.summary(s, actor=users["official"])
    engine.dispose()
    print("district:", ", ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                                 for k, v in numbers.items()))
    print(f"{'who':<12}{'measure':<12}{'cold ms':>10}{'warm ms':>10}{'warm cpu ms':>13}")
    for who in ("official", "liaison_jbc"):
        actor = users[who]
        for name, fn in MEASURES.items():
            engine = make_engine(url)  # a new engine: nothing cached in this process
            with session_factory(engine)() as s:
                cold = timed(lambda: fn(s, actor))  # noqa: B023
                warm = statistics.median(timed(lambda: fn(s, actor))  # noqa: B023
                                         for _ in range(rounds))
                cpu = statistics.median(cpu_timed(lambda: fn(s, actor))  # noqa: B023
                                        for _ in range(rounds))
            engine.dispose()
            print(f"{who:<12}{name:<12}{cold:>10.0f}{warm:>10.0f}{cpu:>13.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="use this database (migrated to head) instead of seeding")
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--appeals", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if args.db:
        engine = make_engine(args.db)
        migrate.upgrade(engine)
        engine.dispose()
        bench(args.db, args.rounds)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        prepare(url, args.enterprises, args.appeals)
        bench(url, args.rounds)


if __name__ == "__main__":
    main()
