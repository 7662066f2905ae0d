"""Hostile import files at full size, each through `python -m crm import appeals FILE --json`.

    .venv/bin/python scripts/bench_hostile.py [--dir /tmp/qifu-hostile] [--skip-pg]
        [--skip-control]

Builds in --dir (a few hundred MB of disk, nothing inflated in memory):

  bomb-5gb.xlsx       a ledger whose sheet XML inflates to 5 GB (ZIP64, ~25 MB)
  bomb-ratio56.xlsx   ~7 MB that inflates to ~400 MB at a believable ratio (56): it
                      passes the zip directory checks and is stopped by the streamed
                      row count
  dimension.xlsx      a two-row ledger whose sheet declares A1:XFD1048576
                      (1,048,576 × 16,384 cells)
  cell-10mb.csv       one 10 MB cell (the csv module's "field larger than field limit")
  nul.csv             NUL and other control characters in a firm name and a title
  ledger-100k.xlsx    (control, unless --skip-control) a real 100,000-row × 14-column
                      appeal ledger, which must import

and runs each import as its own process into a fresh migrated SQLite file (and a
fresh PostgreSQL database for nul.csv, unless --skip-pg), printing: file, size,
exit code, seconds, the child's peak memory (wait4's ru_maxrss), the first line of
its message, and the appeals in the database afterwards. The machine is shared: the
seconds are indicative.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from crm import migrate  # noqa: E402
from crm.db import make_engine, session_factory  # noqa: E402
from crm.models import Appeal  # noqa: E402
from crm.services.reference import init_reference_data  # noqa: E402
from tests.etl import hostile_files as hf  # noqa: E402

GB = 1024 ** 3
MB = 1024 ** 2
PG_ADMIN = os.environ.get("CRM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def build(folder: Path, control: bool) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    files = []

    def make(name: str, fn) -> None:
        path = folder / name
        if not path.exists():
            started = time.perf_counter()
            fn(path)
            print(f"built {name}: {path.stat().st_size / MB:,.1f} MB "
                  f"in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        files.append(path)

    make("bomb-5gb.xlsx", lambda p: hf.zip_bomb(p, 5 * GB, zip64=True, filler=1))
    make("bomb-ratio56.xlsx", lambda p: hf.zip_bomb(p, 400 * MB, noise=1))
    make("dimension.xlsx", lambda p: p.write_bytes(
        hf.xlsx_bytes(hf.ledger_rows(2), dimension="A1:XFD1048576")))
    make("cell-10mb.csv", lambda p: hf.big_cell_csv(p, 10_000_000))
    make("nul.csv", lambda p: p.write_bytes(hf.csv_bytes(hf.nul_rows())))
    if control:
        def ledger(p: Path) -> None:
            import bench_import

            rng = random.Random(1)
            bench_import.write_appeals(p, 100_000, bench_import.make_firms(5000, rng), rng)
        sys.path.insert(0, str(ROOT / "scripts"))
        make("ledger-100k.xlsx", ledger)
    return files


def fresh_sqlite(folder: Path) -> str:
    path = folder / f"bench-{uuid.uuid4().hex[:8]}.db"
    url = f"sqlite:///{path}"
    _prepare(url)
    return url


def _prepare(url: str) -> None:
    engine = make_engine(url, no_pool=True) if url.startswith("postgresql") else make_engine(url)
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        init_reference_data(session)
    engine.dispose()


def fresh_pg() -> tuple[str, str]:
    name = f"qifu_hostile_{uuid.uuid4().hex[:8]}"
    admin = make_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"),
                        no_pool=True)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = PG_ADMIN.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] \
        + f"/{name}"
    _prepare(url)
    return url, name


def drop_pg(name: str) -> None:
    admin = make_engine(PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"),
                        no_pool=True)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def appeals_in(url: str) -> int:
    engine = make_engine(url, no_pool=True) if url.startswith("postgresql") else make_engine(url)
    with session_factory(engine)() as session:
        count = session.scalar(select(func.count()).select_from(Appeal))
    engine.dispose()
    return count


def run_import_wait4(url: str, path: Path) -> dict:
    """The import as a child process, reaped with os.wait4 for its own peak memory."""
    started = time.perf_counter()
    out_path, err_path = path.with_suffix(".out"), path.with_suffix(".err")
    with open(out_path, "w") as out, open(err_path, "w") as err:
        child = subprocess.Popen([sys.executable, "-m", "crm", "import", "appeals",
                                  str(path), "--json"], cwd=ROOT, stdout=out, stderr=err,
                                 env={**os.environ, "CRM_DATABASE_URL": url})
        _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    message = (err_path.read_text(encoding="utf-8").strip().splitlines() or [""])[-1]
    out_text = out_path.read_text(encoding="utf-8").strip()
    return {"exit": child.returncode, "seconds": seconds, "peak_mb": usage.ru_maxrss / 1024,
            "message": message if child.returncode else out_text[:60]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp/qifu-hostile")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-control", action="store_true")
    args = parser.parse_args()
    folder = Path(args.dir)
    files = build(folder, control=not args.skip_control)
    rows = []
    for path in files:
        backends = ["sqlite"] + (["postgresql"] if path.name == "nul.csv"
                                 and not args.skip_pg else [])
        for backend in backends:
            pg_name = None
            if backend == "sqlite":
                url = fresh_sqlite(folder)
            else:
                url, pg_name = fresh_pg()
            try:
                result = run_import_wait4(url, path)
                result["written"] = appeals_in(url)
            finally:
                if pg_name:
                    drop_pg(pg_name)
                elif url.startswith("sqlite:///"):
                    for suffix in ("", "-wal", "-shm"):
                        Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
            rows.append((path.name, path.stat().st_size / MB, backend, result))
            print(f"done {path.name} on {backend}: exit {result['exit']}", file=sys.stderr)
    print(f"\n{'file':<19} {'size MB':>8} {'backend':<10} {'exit':>4} {'seconds':>8} "
          f"{'peak MB':>8} {'written':>8}  message")
    for name, size, backend, r in rows:
        print(f"{name:<19} {size:>8,.1f} {backend:<10} {r['exit']:>4} {r['seconds']:>8.1f} "
              f"{r['peak_mb']:>8,.0f} {r['written']:>8,}  {r['message'][:110]}")


if __name__ == "__main__":
    main()
