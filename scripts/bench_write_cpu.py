"""Benchmark: what one `log_appeal` costs the writer itself (issue 18.6).

    .venv/bin/python scripts/bench_write_cpu.py [--backend postgresql|sqlite] [--writes 300]
                                                [--callgrind]

Seeds a fresh database (migrate + reference data + 1,000 demo firms), warms up with 20
writes, then logs `--writes` appeals one transaction each, as one liaison, through the
service (as bench_writers.py does, in one process). Prints the writer's CPU and wall
time per write and the SQL statements per write (counted at the cursor, BEGIN/COMMIT not
included). On a shared machine CPU seconds move with the neighbours; `--callgrind` runs
the write loop twice under valgrind's callgrind (0 writes, then `--writes`) and prints
the client's instructions per write, which do not.

A benchmark, not a test: it measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import build_demo_db  # noqa: E402
from sqlalchemy import event, select  # noqa: E402

from crm.db import make_engine, session_factory  # noqa: E402
from crm.models import Category, Enterprise, User  # noqa: E402
from crm.services import appeals  # noqa: E402
from crm.services.users import actor_of  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def write_loop(url: str, writes: int, count_statements: bool = True) -> dict:
    engine = make_engine(url)
    factory = session_factory(engine)
    with factory() as s:
        user = s.scalars(select(User).where(User.role == "liaison", User.active)
                         .order_by(User.id)).first()
        actor = actor_of(user)
        firms = s.scalars(select(Enterprise.id).where(
            Enterprise.street_id == actor.street_id)).all()
        categories = s.scalars(select(Category.id).where(Category.active)).all()
    rng = random.Random(1)

    def log(i: int) -> None:
        with factory.begin() as s:
            appeals.log_appeal(s, actor=actor, enterprise_id=rng.choice(firms),
                               category_id=rng.choice(categories), title=f"cpu #{i}",
                               description="楼宇周边车辆乱停乱放，影响企业员工通行",
                               channel="visit", contact_phone="13812345678")

    for i in range(20):
        log(i)
    statements = 0

    def count(*_args) -> None:
        nonlocal statements
        statements += 1

    if count_statements:  # not under callgrind: the counter's own cost is not the write's
        event.listen(engine, "before_cursor_execute", count)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(writes):
        log(i)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    engine.dispose()
    n = max(writes, 1)
    return {"cpu_ms": 1000 * cpu / n, "wall_ms": 1000 * wall / n, "statements": statements / n}


def instructions(url: str, writes: int) -> int:
    """The client's instructions for the whole run (callgrind's 'Collected')."""
    run = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
                          sys.executable, __file__, "--url", url, "--writes", str(writes)],
                         capture_output=True, text=True, check=True)
    return int(re.search(r"Collected : (\d+)", run.stderr).group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["postgresql", "sqlite"], default="postgresql")
    parser.add_argument("--writes", type=int, default=300)
    parser.add_argument("--callgrind", action="store_true",
                        help="count the client's instructions per write under valgrind")
    parser.add_argument("--url", help=argparse.SUPPRESS)  # the callgrind child: seeded
    args = parser.parse_args()
    if args.url:
        write_loop(args.url, args.writes, count_statements=False)
        return
    admin = name = None
    if args.backend == "sqlite":
        url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'cpu.db'}"
    else:
        import psycopg

        name = f"qifu_cpu_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        build_demo_db(url, enterprises=1000, appeals=2000, seed=11)
        r = write_loop(url, args.writes)
        print(f"{args.backend}: {args.writes} writes, {r['cpu_ms']:.2f} ms writer CPU and "
              f"{r['wall_ms']:.2f} ms wall per write, {r['statements']:.1f} statements per "
              f"write", flush=True)
        if args.callgrind:
            base, loaded = instructions(url, 0), instructions(url, args.writes)
            print(f"{args.backend}: {(loaded - base) / args.writes / 1e6:.2f} million "
                  f"instructions per write (callgrind, client only)")
    finally:
        if admin is not None:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
