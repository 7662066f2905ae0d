"""Benchmark: many processes logging appeals at once through the real service (issue 18.6).

    .venv/bin/python scripts/bench_writers.py [--backend both] [--writers 1,4,16,64]
                                              [--seconds 20] [--enterprises 2000]

Builds a fresh database per backend (migrate + reference data + demo data), then
for each writer count starts that many processes (forked; each makes its own
engine, as a server process would). Each writer is a liaison of one of the
district's streets (writer i the liaison of street i mod 12) and, for the fixed
time, logs appeals for its street's firms with `crm.services.appeals.log_appeal`,
one transaction each (`session_factory(engine).begin()`), exactly as the app's
form does. Printed per backend and writer count: writes/s, p50/p99 latency of one
acknowledged write (the service call and its commit, any retry inside included),
the writers' own CPU per write (process time over the timed writes),
errors by kind (what a user would have been shown), acknowledged vs present (the
commits the writers saw succeed against the rows of this run in `appeal`
afterwards: they must be equal), and whether the KPI rollups still equal the
plain count (`kpi_facts.differences`, what `python -m crm kpi-rollups --check`
runs). The machine's load average is printed with each line: on a shared machine
the figures move with it.

A benchmark, not a test: it measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
import traceback
import uuid
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchlib import build_demo_db  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from crm.db import make_engine, session_factory  # noqa: E402
from crm.models import Appeal, Category, Enterprise, User  # noqa: E402
from crm.services import appeals, kpi_facts  # noqa: E402
from crm.services.users import actor_of  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def error_kind(exc: BaseException) -> str:
    """What a user would have been shown, short: the exception type and its first line."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:80] if text else ''}"


def writer(url: str, index: int, tag: str, ready, start, seconds: float, out) -> None:
    """One writer process: a liaison logging appeals until the time is up."""
    try:
        engine = make_engine(url)
        factory = session_factory(engine)
        with factory() as s:
            liaisons = s.scalars(select(User).where(User.role == "liaison", User.active)
                                 .order_by(User.id)).all()
            user = liaisons[index % len(liaisons)]
            actor = actor_of(user)
            firms = s.scalars(select(Enterprise.id).where(
                Enterprise.street_id == actor.street_id).order_by(Enterprise.id)).all()
            categories = s.scalars(select(Category.id).where(Category.active)).all()
        rng = random.Random(index)

        def log(i: int) -> None:
            with factory.begin() as s:
                appeals.log_appeal(s, actor=actor, enterprise_id=rng.choice(firms),
                                   category_id=rng.choice(categories),
                                   title=f"{tag} w{index} #{i}",
                                   description="楼宇周边车辆乱停乱放，影响企业员工通行",
                                   channel="visit", contact_phone="13812345678")

    except Exception:  # noqa: BLE001 - reported by the parent
        out.put({"index": index, "fatal": traceback.format_exc()})
        ready.release()
        return
    # Warm up (a server process is warm after its first write: lazy imports, statement
    # caches): acknowledged, not timed; its errors count with the others.
    errors, acked, i = Counter(), 0, 0
    for _ in range(20):
        try:
            log(0)
        except Exception as exc:  # noqa: BLE001 - counted by kind: what a user would see
            errors[error_kind(exc)] += 1
            continue
        acked = 1
        break
    ready.release()
    start.wait()
    latencies = []
    cpu_began = time.process_time()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        i += 1
        began = time.perf_counter()
        try:
            log(i)
        except Exception as exc:  # noqa: BLE001 - counted by kind: what a user would see
            errors[error_kind(exc)] += 1
            continue
        latencies.append(time.perf_counter() - began)
        acked += 1
    cpu = time.process_time() - cpu_began
    engine.dispose()
    out.put({"index": index, "latencies": latencies, "errors": dict(errors), "acked": acked,
             "cpu": cpu})


def run_round(url: str, writers: int, seconds: float) -> dict:
    tag = f"bench-{uuid.uuid4().hex[:8]}"
    ctx = mp.get_context("fork")
    ready, start, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=writer, args=(url, i, tag, ready, start, seconds, out))
             for i in range(writers)]
    for p in procs:
        p.start()
    for _ in procs:
        ready.acquire()
    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    start.set()
    results = [out.get() for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    fatal = [r["fatal"] for r in results if "fatal" in r]
    if fatal:
        raise SystemExit(f"a writer could not start:\n{fatal[0]}")
    latencies = [x for r in results for x in r["latencies"]]
    errors = Counter()
    for r in results:
        errors.update(r["errors"])
    acked = sum(r["acked"] for r in results)  # the warm-up writes included
    timed = sum(len(r["latencies"]) for r in results)
    engine = make_engine(url)
    with session_factory(engine)() as s:
        present = s.scalar(select(func.count()).select_from(Appeal)
                           .where(Appeal.title.like(f"{tag} %")))
        problems = kpi_facts.differences(s)
    engine.dispose()
    return {"writers": writers, "writes_s": timed / min(elapsed, seconds),
            "p50": pct(latencies, 0.5), "p99": pct(latencies, 0.99), "errors": dict(errors),
            "acked": acked, "present": present,
            "cpu_ms": 1000 * sum(r["cpu"] for r in results) / max(timed, 1),
            "rollups_exact": not problems,
            "load": (load_before, os.getloadavg()[0])}


def report(label: str, r: dict) -> None:
    errors = ", ".join(f"{n}× {k}" for k, n in sorted(r["errors"].items())) or "none"
    print(f"  {label:10} {r['writers']:3d} writers: {r['writes_s']:7.1f} writes/s  "
          f"p50 {r['p50'] * 1000:7.1f} ms  p99 {r['p99'] * 1000:7.1f} ms  "
          f"writer CPU {r['cpu_ms']:4.1f} ms/write  "
          f"acknowledged {r['acked']} present {r['present']}"
          f"{'' if r['acked'] == r['present'] else '  MISMATCH'}  "
          f"rollups {'exact' if r['rollups_exact'] else 'DIFFER'}  "
          f"load {r['load'][0]:.1f}→{r['load'][1]:.1f}  errors: {errors}", flush=True)


def bench(url: str, label: str, counts: list[int], seconds: float, enterprises: int) -> None:
    took = build_demo_db(url, enterprises=enterprises, appeals=enterprises * 2, seed=11)
    print(f"{label}: seeded {enterprises} firms in {took:.1f} s", flush=True)
    for n in counts:
        report(label, run_round(url, n, seconds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--writers", default="1,4,16,64",
                        help="comma-separated writer process counts (default 1,4,16,64)")
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="how long each round writes (default 20)")
    parser.add_argument("--enterprises", type=int, default=2000)
    args = parser.parse_args()
    counts = [int(x) for x in args.writers.split(",") if x.strip()]
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at the start; "
          f"{args.seconds:g} s per round", flush=True)
    if args.backend in ("sqlite", "both"):
        path = Path(tempfile.mkdtemp()) / "bench.db"
        try:
            bench(f"sqlite:///{path}", "SQLite", counts, args.seconds, args.enterprises)
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    if args.backend in ("postgresql", "both"):
        import psycopg

        name = f"qifu_bench_{uuid.uuid4().hex[:8]}"
        admin = psycopg.connect(PG_ADMIN, autocommit=True)
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            bench(f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", "PostgreSQL",
                  counts, args.seconds, args.enterprises)
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
