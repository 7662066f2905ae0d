"""The appeal table's enum CHECK constraints on SQLite: IN lists against comparisons.

Creates the appeal table twice in a scratch SQLite file, once as our models write it
(`c = 'a' OR c = 'b'`, crm.db._sqlite_check) and once with the IN lists migration 0005
rewrites away, then inserts the same N appeals into each, by `INSERT … SELECT` from a
staging table and by the importer's bulk insert (crm.bulk.sqlite_insert_columns), best
of --repeat runs each, rolled back after each run.

    python scripts/bench_sqlite_checks.py [--rows 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy.dialects import sqlite  # noqa: E402
from sqlalchemy.schema import CreateTable  # noqa: E402

from crm.bulk import sqlite_insert_columns  # noqa: E402
from crm.models import Appeal  # noqa: E402


def _in_lists():
    path = ROOT / "crm/migrations/versions/0005_sqlite_checks_as_comparisons.py"
    spec = importlib.util.spec_from_file_location("m0005", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._as_in_lists


def _rows(n: int) -> list[list]:
    rng = random.Random(7)
    start = dt.datetime(2023, 1, 1, 9)
    rows = []
    for i in range(n):
        received = start + dt.timedelta(minutes=7 * i)
        rows.append([i + 1, f"SQ{i:08d}", rng.randrange(1, 5000), rng.randrange(1, 13),
                     rng.randrange(1, 10), rng.choice(["visit", "phone", "hotline", "import"]),
                     "normal", f"标题{i % 10}", f"第{i}号诉求的内容", None, f"138{i:08d}",
                     rng.choice(["received", "dispatched", "replied", "callback"]),
                     received.isoformat(sep=" ") + ".000000",
                     (received.date() + dt.timedelta(days=15)).isoformat(), 0,
                     rng.randrange(1, 11), None, None, None, None, None, None,
                     rng.choice([None, "satisfied", "basic", "unsatisfied"]), None, None, 0,
                     None, None, None, 1, "2026-12-01 00:00:00.000000",
                     "2026-12-01 00:00:00.000000"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ours = str(CreateTable(Appeal.__table__).compile(dialect=sqlite.dialect()))
    forms = {"comparisons (ours)": ours, "IN lists (before 0005)": _in_lists()(ours)}
    assert forms["IN lists (before 0005)"].count(" IN (") == 4 and " IN (" not in ours
    names = [c.name for c in Appeal.__table__.columns]
    rows = _rows(args.rows)
    columns = [list(c) for c in zip(*rows, strict=True)]
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "checks.db", isolation_level=None)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute(f"CREATE TABLE staging ({', '.join(names)})")
        con.executemany(f"INSERT INTO staging VALUES ({', '.join('?' * len(names))})", rows)
        print(f"{args.rows:,} appeals, best of {args.repeat}")
        for label, ddl in forms.items():
            table = "appeal_" + label.split()[0].lower()
            con.execute(ddl.replace("CREATE TABLE appeal (", f"CREATE TABLE {table} (", 1))
            for how in ("INSERT … SELECT", "bulk insert from Python"):
                runs = []
                for _ in range(args.repeat):
                    con.execute("BEGIN")
                    started = time.perf_counter()
                    if how == "INSERT … SELECT":
                        con.execute(f"INSERT INTO {table} SELECT * FROM staging")
                    else:
                        sqlite_insert_columns(con, table, names, columns)
                    runs.append(time.perf_counter() - started)
                    con.execute("ROLLBACK")
                print(f"  {label:<24} {how:<24} {min(runs):6.2f} s")
        con.close()


if __name__ == "__main__":
    main()
