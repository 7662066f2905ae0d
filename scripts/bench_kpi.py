"""Benchmark: the KPI overview on a million appeals, SQLite and PostgreSQL, against pandas.

    .venv/bin/python scripts/bench_kpi.py --sqlite sqlite:////tmp/big.db \\
        --pg postgresql://postgres@127.0.0.1:5432/qifu_bench
    .venv/bin/python scripts/bench_kpi.py --build --appeals 1000000 --enterprises 100000

With --build it creates the databases first (migrate, reference data, demo data:
about two minutes per backend for a million appeals). Then, per backend and per
period (last month, the page's default, and the whole two years):

- cold: the first `kpi.overview` on a new engine (as after the app starts), and
  for SQLite with the database file evicted from the OS page cache
  (posix_fadvise DONTNEED), so it is read from disk. PostgreSQL's own shared
  buffers cannot be emptied without restarting the server: its "cold" is a new
  connection only.
- warm: the median of 7 further calls on that engine, each in a new session (what
  the app pays on a cache miss; a cache hit costs nothing).
- appeals: the same numbers counted straight from the `appeal` table (the
  rollups' reference, and what handler/cadre scopes use).
- naive: pandas reads the appeal columns the KPIs need (`read_sql`) and computes
  the district numbers and the street ranking in memory.

It checks that the rollups, the appeal table and pandas give identical numbers,
and exits non-zero if they do not.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402
from benchlib import build_demo_db  # noqa: E402
from sqlalchemy import select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from crm.db import make_engine, session_factory  # noqa: E402
from crm.lifecycle import OPEN_STATUSES  # noqa: E402
from crm.models import Street  # noqa: E402
from crm.services import kpi  # noqa: E402
from crm.services.reference import get_setting  # noqa: E402

WARM_RUNS = 7


def build(url: str, appeals: int, enterprises: int) -> None:
    seconds = build_demo_db(url, enterprises=enterprises, appeals=appeals)
    print(f"  built {url}: {appeals:,} appeals in {seconds:.0f} s")


def evict(url: str) -> None:
    """Drop a SQLite file (and its WAL) from the OS page cache."""
    database = make_url(url).database
    for suffix in ("", "-wal", "-shm"):
        path = f"{database}{suffix}"
        if os.path.exists(path):
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def overview(engine, window: dict) -> tuple[float, dict]:
    """One page load: a new session on the app's long-lived engine."""
    with session_factory(engine)() as s:
        t = time.perf_counter()
        result = kpi.overview(s, **window)
        return time.perf_counter() - t, result


# --- the naive way -----------------------------------------------------------------------

COLUMNS = ("street_id", "status", "received_at", "due_date", "dispatched_at", "accepted_at",
           "replied_at", "satisfaction", "callback_solved")


def naive(url: str, window: dict) -> tuple[float, float, dict]:
    """(read seconds, compute seconds, {"district": KPIs, "by_street": {name: KPIs}})."""
    engine = make_engine(url)
    t = time.perf_counter()
    with engine.connect() as c:
        frame = pd.read_sql(text(f"SELECT {', '.join(COLUMNS)} FROM appeal"), c)
        streets = dict(c.execute(select(Street.id, Street.name)).all())
        with session_factory(engine)() as s:
            weight = float(get_setting(s, "kpi.basic_satisfied_weight", 0.9))
            weights = {**kpi.DEFAULT_WEIGHTS, **(get_setting(s, "kpi.weights", None) or {})}
            sign_days = float(get_setting(s, "kpi.sign_limit_days", 1))
    engine.dispose()
    read = time.perf_counter() - t
    t = time.perf_counter()
    for col in ("received_at", "dispatched_at", "accepted_at", "replied_at"):
        frame[col] = pd.to_datetime(frame[col])
    frame["due_date"] = pd.to_datetime(frame["due_date"])
    start = pd.Timestamp(window["date_from"])
    end = pd.Timestamp(window["date_to"]) + pd.Timedelta(days=1)
    df = frame[(frame.status != "merged") & (frame.received_at >= start)
               & (frame.received_at < end)]
    as_of = pd.Timestamp(window["as_of"])

    def numbers(d: pd.DataFrame) -> dict:
        replied = d.replied_at.notna()
        valid = d.satisfaction.notna()
        dispatched = d.dispatched_at.notna()
        is_open = d.status.isin(OPEN_STATUSES)
        n_replied = int(replied.sum())
        n_valid = int(valid.sum())
        n_disp = int(dispatched.sum())
        on_time = int((replied & (d.replied_at.dt.normalize() <= d.due_date)).sum())
        satisfied = int((d.satisfaction == "satisfied").sum())
        basic = int((d.satisfaction == "basic").sum())
        solved = int((valid & (d.callback_solved == True)).sum())  # noqa: E712
        responded = int((dispatched & d.accepted_at.notna() & (
            d.accepted_at <= d.dispatched_at + pd.Timedelta(days=sign_days))).sum())
        days = (d.replied_at[replied].dt.normalize()
                - d.received_at[replied].dt.normalize()).dt.days.sort_values().to_numpy()

        def rank(q):
            if not len(days):
                return None
            return int(days[max(1, math.ceil(q * len(days))) - 1])

        def rate(a, b):
            return None if not b else round(a / b, 4)

        response, resolution = (responded / n_disp if n_disp else None,
                                solved / n_valid if n_valid else None)
        satisfaction = (satisfied + weight * basic) / n_valid if n_valid else None
        parts = (response, resolution, satisfaction)
        composite = None if None in parts else round(
            weights["response"] * response + weights["resolution"] * resolution
            + weights["satisfaction"] * satisfaction, 4)
        return {"appeals_total": len(d), "appeals_replied": n_replied,
                "appeals_open": int(is_open.sum()),
                "closed_on_time_rate": rate(on_time, n_replied),
                "satisfaction_rate": None if satisfaction is None else round(satisfaction, 4),
                "resolution_rate": rate(solved, n_valid), "response_rate": rate(responded, n_disp),
                "composite_score": composite,
                "overdue_open": int((is_open & (d.due_date < as_of)).sum()),
                "median_days_to_reply": rank(0.5), "p90_days_to_reply": rank(0.9)}

    result = {"district": numbers(df),
              "by_street": {streets[k]: numbers(g) for k, g in df.groupby("street_id")}}
    return read, time.perf_counter() - t, result


# --- the run -----------------------------------------------------------------------------

def bench(label: str, url: str, windows: dict[str, dict]) -> bool:
    ok = True
    print(f"\n{label}  ({url})")
    print(f"  {'period':<22}{'cold s':>9}{'warm s':>9}{'appeals s':>11}"
          f"{'naive read s':>14}{'naive calc s':>14}  same answer")
    for name, window in windows.items():
        if url.startswith("sqlite"):
            evict(url)
        engine = make_engine(url)  # the app's engine is made once per process
        cold, result = overview(engine, window)
        warm = statistics.median(overview(engine, window)[0] for _ in range(WARM_RUNS))
        with session_factory(engine)() as s:
            t = time.perf_counter()
            direct = kpi.compute(s, source="appeals", **window)
            direct_streets = kpi.grouped(s, "street", source="appeals", **window)
            appeals_s = time.perf_counter() - t
        engine.dispose()
        read_s, calc_s, pandas_result = naive(url, window)
        ours = {r["street"]: {k: r[k] for k in kpi.KEYS} for r in result["by_street"]
                if r["appeals_total"]}
        same = (result["current"] == direct == pandas_result["district"]
                and ours == pandas_result["by_street"]
                and ours == {r["street"]: {k: r[k] for k in kpi.KEYS} for r in direct_streets
                             if r["appeals_total"]})
        ok &= same
        print(f"  {name:<22}{cold:>9.3f}{warm:>9.3f}{appeals_s:>11.2f}{read_s:>14.1f}"
              f"{calc_s:>14.2f}  {'yes' if same else 'NO'}")
        if not same:
            print("    rollups:", result["current"])
            print("    appeals:", direct)
            print("    pandas: ", pandas_result["district"])
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite", default="sqlite:////tmp/qifu_bench_kpi.db")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/qifu_bench")
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--build", action="store_true", help="create and seed the databases")
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--enterprises", type=int, default=100_000)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=None)
    args = parser.parse_args()
    urls = {"SQLite": args.sqlite, "PostgreSQL": args.pg}
    if args.backend != "both":
        urls = {k: v for k, v in urls.items() if k.lower() == args.backend}
    if args.build:
        for url in urls.values():
            if url.startswith("postgresql"):
                name = make_url(url).database
                admin = make_engine(str(make_url(url).set(database="postgres")),
                                    no_pool=True).execution_options(isolation_level="AUTOCOMMIT")
                with admin.connect() as c:
                    c.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                    c.execute(text(f'CREATE DATABASE "{name}"'))
                admin.dispose()
            else:
                Path(make_url(url).database).unlink(missing_ok=True)
            build(url, args.appeals, args.enterprises)
    ok = True
    for label, url in urls.items():
        engine = make_engine(url)
        with session_factory(engine)() as s:
            s.execute(text("SELECT 1"))
            kpi.compute(s, date_from=dt.date(2000, 1, 1), date_to=dt.date(2000, 1, 1))
            last = s.execute(text("SELECT max(received_at) FROM appeal")).scalar()
            s.commit()
        engine.dispose()
        last = last if isinstance(last, dt.datetime) else dt.datetime.fromisoformat(str(last))
        as_of = args.as_of or (last.date() + dt.timedelta(days=2))
        month_start = as_of.replace(day=1)
        last_month = ((month_start - dt.timedelta(days=1)).replace(day=1),
                      month_start - dt.timedelta(days=1))
        windows = {
            f"last month {last_month[0]:%Y-%m}": dict(date_from=last_month[0],
                                                      date_to=last_month[1], as_of=as_of),
            "all (two years)": dict(date_from=dt.date(2000, 1, 1), date_to=as_of, as_of=as_of),
        }
        ok &= bench(label, url, windows)
    print("\nall answers identical" if ok else "\nANSWERS DIFFER")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
