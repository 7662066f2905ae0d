"""Benchmark migration 0010 (appeals named by QF number, ledger numbers to external_ref).

    .venv/bin/python scripts/bench_migration_0010.py --appeals 1000000 --backend sqlite
    .venv/bin/python scripts/bench_migration_0010.py --appeals 1000000 --backend postgresql

A fresh database at revision 0009 gets N appeals made in SQL (one firm, one category;
every other appeal carries a ledger number, the rest already a QF number), then the
upgrade to 0010 is timed, and the result checked: every appeal named by
crm.rules.appeal_code, the ledger numbers in external_ref. Prints seconds and rows/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from crm import migrate  # noqa: E402
from crm.db import make_engine  # noqa: E402
from crm.rules import appeal_code_sql  # noqa: E402

FILL = """
INSERT INTO appeal (id, code, enterprise_id, category_id, channel, priority, title, description,
                    status, received_at, due_date, extension_days, reopen_count, version,
                    created_at, updated_at)
SELECT n, CASE WHEN n % 2 = 0 THEN 'GD-' || CAST(n AS text) ELSE {code} END, :firm, :cat,
       'import', 'normal', '标题', '', 'received', :at, :day, 0, 0, 1, :at, :at
FROM {series}
"""


def run(url: str, n: int) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine, "0009")
    dialect = engine.dialect.name
    series = (f"(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n})"
              " SELECT n FROM s) AS s" if dialect == "sqlite"
              else f"generate_series(1, {n}) AS s(n)")
    import datetime as dt
    at = dt.datetime(2024, 5, 6, 9, 0)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO category (name, limit_days, working_days, sort_order, "
                          "active) VALUES ('测试', 7, false, 1, true)"))
        cat = conn.execute(text("SELECT id FROM category")).scalar()
        conn.execute(text("INSERT INTO enterprise (uscc, name, is_above_scale, active, version,"
                          " confirmed, created_at, updated_at) VALUES ('91500105MA5UBENCH0',"
                          " '基准企业', false, true, 1, true, :t, :t)"), {"t": at})
        firm = conn.execute(text("SELECT id FROM enterprise")).scalar()
        started = time.perf_counter()
        conn.execute(text(FILL.format(code=appeal_code_sql(dialect, "n", ":at"),
                                      series=series)),
                     {"firm": firm, "cat": cat, "at": at, "day": at.date()})
        print(f"{dialect}: {n:,} appeals made in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    migrate.upgrade(engine)
    took = time.perf_counter() - started
    with engine.connect() as conn:
        wrong = conn.execute(text(f"SELECT count(*) FROM appeal WHERE code <> "
                                  f"{appeal_code_sql(dialect)}")).scalar()
        refs = conn.execute(text("SELECT count(*) FROM appeal WHERE external_ref LIKE 'GD-%'")
                            ).scalar()
    assert wrong == 0 and refs == n // 2, (wrong, refs)
    print(f"{dialect}: upgrade 0009 → 0010 on {n:,} appeals: {took:.1f} s "
          f"({n / took:,.0f} rows/s); {refs:,} ledger numbers moved to external_ref")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--pg-url",
                        default="postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            run(f"sqlite:///{Path(tmp) / 'bench.db'}", args.appeals)
    if args.backend in ("postgresql", "both"):
        name = f"qifu_bench_{uuid.uuid4().hex[:8]}"
        admin = create_engine(args.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            run(args.pg_url.rsplit("/", 1)[0] + f"/{name}", args.appeals)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
