"""Benchmark the demo generator on fresh SQLite and PostgreSQL databases.

    .venv/bin/python scripts/bench_seed.py --appeals 1000000 --enterprises 100000 --backend both

Each run gets a new database (a file under /tmp, or a new PostgreSQL database
on the server of --pg-url, dropped afterwards), migrates it, loads the
reference data, seeds the demo, and prints wall time per stage, the total,
and rows per second. Stage times come from seed_demo's progress reports.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm import migrate  # noqa: E402
from crm.db import make_engine, session_factory  # noqa: E402
from crm.demo import seed_demo  # noqa: E402
from crm.services.reference import init_reference_data  # noqa: E402


class StageClock:
    """Turns progress(stage, done, total) calls into seconds per stage."""

    def __init__(self, echo: bool) -> None:
        self.started = time.perf_counter()
        self.marks: list[tuple[str, float]] = []
        self.echo = echo

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        if not self.marks or self.marks[-1][0] != stage:
            self.marks.append((stage, now))
        if self.echo:
            print(f"\r  {now - self.started:7.1f}s  {stage} {done:,}/{total:,}   ", end="",
                  file=sys.stderr, flush=True)

    def stages(self, end: float) -> list[tuple[str, float]]:
        out = []
        for i, (stage, at) in enumerate(self.marks):
            until = self.marks[i + 1][1] if i + 1 < len(self.marks) else end
            out.append((stage, until - at))
        return out


def run(url: str, args) -> dict:
    engine = make_engine(url, no_pool=True) if url.startswith("postgresql") else make_engine(url)
    try:
        timings = []
        t0 = time.perf_counter()
        migrate.upgrade(engine)
        timings.append(("migrate", time.perf_counter() - t0))
        t0 = time.perf_counter()
        with session_factory(engine).begin() as session:
            init_reference_data(session)
        timings.append(("reference data", time.perf_counter() - t0))
        clock = StageClock(echo=not args.quiet)
        t0 = clock.started = time.perf_counter()
        counts = seed_demo(engine, enterprises=args.enterprises, appeals=args.appeals,
                           seed=args.seed, progress=clock)
        end = time.perf_counter()
        if not args.quiet:
            print(file=sys.stderr)
        seed_s = end - t0
        timings += [(f"  {stage}", s) for stage, s in clock.stages(end)]
        timings.append(("seed_demo", seed_s))
        return {"timings": timings, "counts": counts, "seed_s": seed_s,
                "total_s": sum(s for name, s in timings if not name.startswith("  "))}
    finally:
        engine.dispose()


def bench_sqlite(args) -> dict:
    with tempfile.TemporaryDirectory(prefix="qifu-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        result = run(f"sqlite:///{path}", args)
        result["size_mb"] = path.stat().st_size / 2**20
        return result


def bench_postgresql(args) -> dict:
    import psycopg

    admin = psycopg.connect(args.pg_url, autocommit=True)
    name = f"qifu_bench_{uuid.uuid4().hex[:8]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        base = args.pg_url.rsplit("/", 1)[0].split("://", 1)[1]
        result = run(f"postgresql+psycopg://{base}/{name}", args)
        size = admin.execute("SELECT pg_database_size(%s)", (name,)).fetchone()[0]
        result["size_mb"] = size / 2**20
        return result
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def report(backend: str, result: dict) -> None:
    rows = sum(result["counts"].values())
    print(f"\n== {backend}: {result['counts'].get('appeal', 0):,} appeals, "
          f"{result['counts'].get('enterprise', 0):,} enterprises, {rows:,} rows, "
          f"{result['size_mb']:,.0f} MiB")
    for name, seconds in result["timings"]:
        print(f"  {name:<22} {seconds:8.1f} s")
    print(f"  {'total':<22} {result['total_s']:8.1f} s")
    print(f"  rows/s (seed_demo)     {rows / result['seed_s']:10,.0f}")
    print(f"  appeals/s (seed_demo)  {result['counts'].get('appeal', 0) / result['seed_s']:10,.0f}")
    big = sorted(result["counts"].items(), key=lambda kv: -kv[1])[:6]
    print("  largest tables: " + ", ".join(f"{k} {v:,}" for k, v in big))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="an admin connection; a fresh database is created next to it")
    parser.add_argument("--quiet", action="store_true", help="no live progress line")
    args = parser.parse_args(argv)
    backends = ["sqlite", "postgresql"] if args.backend == "both" else [args.backend]
    for backend in backends:
        result = bench_sqlite(args) if backend == "sqlite" else bench_postgresql(args)
        report(backend, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
