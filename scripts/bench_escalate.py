"""Benchmark: `python -m crm escalate` (催办 / 督办) and the home queues on 1,000,000 appeals.

    .venv/bin/python scripts/bench_escalate.py [--appeals 1000000] [--enterprises 20000]
    .venv/bin/python scripts/bench_escalate.py --db sqlite:////tmp/qifu-1m.db

Without --db it builds a fresh SQLite file in a temporary directory (migrate,
reference data, `seed-demo --appeals N`); with --db it migrates that database to head
and uses it (the runs below WRITE escalations and notifications there, as the cron
job would). Then, each in its own transaction, committed:

- first run    escalate as of today: every open appeal due soon or long overdue
- same day     escalate again as of today: must write nothing (idempotent)
- next day     escalate as of tomorrow: the day's new reminders and flags only

and the home page's queues (dashboard.work_queues) for a liaison, a handler and an
official, cold (new engine) and the median of 5 warm calls. Wall seconds; the machine
is shared, so the figures are an upper bound.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import build_demo_db  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from crm import migrate  # noqa: E402
from crm.access import SYSTEM  # noqa: E402
from crm.db import make_engine, session_factory, today  # noqa: E402
from crm.models import Appeal, User  # noqa: E402
from crm.services import dashboard  # noqa: E402
from crm.services.escalation import escalate  # noqa: E402
from crm.services.users import actor_of  # noqa: E402


def run(url: str, as_of: dt.date, label: str) -> dict:
    engine = make_engine(url)
    started = time.perf_counter()
    with session_factory(engine).begin() as s:
        result = escalate(s, actor=SYSTEM, as_of=as_of)
    seconds = time.perf_counter() - started
    engine.dispose()
    print(f"{label:<11}{seconds:>8.2f} s   remind {result['remind']:>7,}  "
          f"supervise {result['supervise']:>7,}  events {result['events']:>7,}  "
          f"notifications {result['notifications']:>8,}")
    return result


def queues(url: str) -> None:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        who = {}
        for role in ("liaison", "handler", "official"):
            user = s.scalar(select(User).where(User.role == role, User.active)
                            .order_by(User.id).limit(1))
            if user is not None:
                who[role] = actor_of(user)
    engine.dispose()
    for role, actor in who.items():
        engine = make_engine(url)
        with session_factory(engine)() as s:
            t = time.perf_counter()
            got = dashboard.work_queues(s, actor=actor)
            cold = time.perf_counter() - t
            warm = []
            for _ in range(5):
                t = time.perf_counter()
                dashboard.work_queues(s, actor=actor)
                warm.append(time.perf_counter() - t)
        engine.dispose()
        counts = ", ".join(f"{k} {v['count']:,}" for k, v in got.items())
        median = statistics.median(warm) * 1000
        print(f"queues {role:<9} cold {cold * 1000:>6.0f} ms  warm {median:>6.0f} ms   ({counts})")


def bench(url: str) -> None:
    engine = make_engine(url)
    with session_factory(engine)() as s:
        total = s.scalar(select(func.count()).select_from(Appeal))
        open_ = s.scalar(select(func.count()).select_from(Appeal).where(
            Appeal.status.in_(("received", "dispatched", "accepted"))))
    engine.dispose()
    print(f"{total:,} appeals, {open_:,} open")
    day = today()
    first = run(url, day, "first run")
    again = run(url, day, "same day")
    assert (again["remind"], again["supervise"], again["events"], again["notifications"]) \
        == (0, 0, 0, 0), "a second run on the same day wrote something"
    run(url, day + dt.timedelta(days=1), "next day")
    assert first["events"] == first["remind"] + first["supervise"]
    queues(url)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", help="use this database (migrated to head) instead of seeding")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--enterprises", type=int, default=20_000)
    args = parser.parse_args()
    if args.db:
        engine = make_engine(args.db)
        migrate.upgrade(engine)
        engine.dispose()
        bench(args.db)
        return
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        seconds = build_demo_db(url, enterprises=args.enterprises, appeals=args.appeals)
        print(f"seeded {args.enterprises:,} firms and {args.appeals:,} appeals in {seconds:.1f} s")
        bench(url)


if __name__ == "__main__":
    main()
