"""Benchmark: every page as every role, with Streamlit's AppTest, on the demo data and on
a million appeals; prints the seconds per script run.

    .venv/bin/python scripts/bench_pages.py                    # demo + 1,000,000 appeals
    .venv/bin/python scripts/bench_pages.py --sizes 10000 --runs 5 --roles admin liaison
    .venv/bin/python scripts/bench_pages.py --pages kpi home --json /tmp/pages.json

The databases are SQLite files built like `init-db` + `seed-demo --appeals N` and kept
under --cache-dir (default /tmp/qifu_bench/appeals_N.db), so only the first run pays for
the build (about two minutes for a million appeals). Per database, role and page:

- cold: the first script run of the page for that role after the app's caches were
  cleared (what the first visitor after a write pays);
- warm: the median of --runs further reruns (a sidebar switch back to a page, a click).

Targets (issue 16): warm < 0.3 s on the demo data, < 1 s on a million appeals; rows over
target are marked with `!`. AppTest runs the script in-process without a browser, so
these are server-side times; the machine may be shared, which shows as noise.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from benchlib import build_demo_db  # noqa: E402

# One demo login per role (crm/demo/people.py).
ROLE_USER = {"admin": "admin", "official": "official", "liaison": "liaison_jbc",
             "handler": "handler_jj", "cadre": "cadre_jbc", "chamber": "chamber_dsb",
             "employment": "employment"}
TARGETS = {10_000: 0.3, 1_000_000: 1.0}


def database(cache_dir: Path, appeals: int, enterprises: int) -> str:
    """The cached database file of that size, built on first use."""
    path = cache_dir / f"appeals_{appeals}.db"
    if not path.exists():
        cache_dir.mkdir(parents=True, exist_ok=True)
        part = path.with_suffix(".part")
        for stale in cache_dir.glob(f"{part.name}*"):
            stale.unlink()
        print(f"building {path} ({appeals:,} appeals) …", file=sys.stderr, flush=True)
        seconds = build_demo_db(f"sqlite:///{part}", enterprises=enterprises, appeals=appeals)
        import sqlite3

        with sqlite3.connect(part) as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        part.rename(path)
        print(f"  built in {seconds:.0f} s", file=sys.stderr, flush=True)
    return f"sqlite:///{path}"


def _router_only() -> None:
    """Every AppTest rerun goes through the router, as on a live server (see
    tests/test_app_pages.py::_navigation_only)."""
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    PagesManager.__init__ = init


def bench_database(url: str, *, roles: list[str], pages: list[str] | None, runs: int,
                   progress) -> list[dict]:
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from crm import access
    from crm.db import make_engine, session_factory
    from crm.services import users

    os.environ["CRM_DATABASE_URL"] = url
    os.environ.pop("CRM_DEMO_MODE", None)
    engine = make_engine(url)
    with session_factory(engine)() as session:
        actors = {role: users.actor_of(users.get_user(session, ROLE_USER[role]))
                  for role in roles}
    engine.dispose()
    st.cache_resource.clear()
    st.cache_data.clear()
    app = str(ROOT / "streamlit_app.py")
    out = []
    for role in roles:
        at = AppTest.from_file(app, default_timeout=120)
        at.session_state["actor"] = actors[role]
        at.run()
        for page in access.ROLE_PAGES[role]:
            if pages and page not in pages:
                continue
            st.cache_data.clear()
            at.switch_page(f"pages/{page}.py")
            started = time.perf_counter()
            at.run()
            cold = time.perf_counter() - started
            warm = []
            for _ in range(runs):
                started = time.perf_counter()
                at.run()
                warm.append(time.perf_counter() - started)
            failed = [str(e.value)[:80] for e in at.exception]
            out.append({"page": page, "role": role, "cold": cold,
                        "warm": statistics.median(warm), "error": failed[0] if failed else ""})
            progress(out[-1])
    return out


def table(results: dict[int, list[dict]]) -> str:
    sizes = sorted(results)
    head = ["page", "role"] + [f"{kind} {n:,}" for n in sizes for kind in ("cold", "warm")]
    lines = [" | ".join(head), " | ".join("---" for _ in head)]
    keyed = {n: {(r["page"], r["role"]): r for r in rows} for n, rows in results.items()}
    order = list(dict.fromkeys((r["page"], r["role"]) for n in sizes for r in results[n]))
    for page, role in sorted(order):
        cells = [page, role]
        for n in sizes:
            r = keyed[n].get((page, role))
            if r is None:
                cells += ["", ""]
                continue
            limit = TARGETS.get(n)
            mark = "!" if limit is not None and r["warm"] > limit else ""
            cells += [f"{r['cold']:.2f}", f"{r['warm']:.2f}{mark}"
                      + (f" ERROR {r['error']}" if r["error"] else "")]
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from crm import access

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000],
                        metavar="APPEALS", help="appeal counts (default: 10000 1000000)")
    parser.add_argument("--enterprises", type=int, default=2000,
                        help="firms in a database built here (seed-demo's default, 2000)")
    parser.add_argument("--runs", type=int, default=5, help="warm reruns per page (median)")
    parser.add_argument("--roles", nargs="+", default=sorted(access.ROLE_PAGES),
                        choices=sorted(access.ROLE_PAGES))
    parser.add_argument("--pages", nargs="+", help="only these pages (file stems)")
    parser.add_argument("--cache-dir", type=Path, default=Path("/tmp/qifu_bench"))
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    _router_only()
    import logging

    logging.disable(logging.WARNING)

    results: dict[int, list[dict]] = {}
    for n in args.sizes:
        url = database(args.cache_dir, n, args.enterprises)

        def progress(r, n=n):
            print(f"  {n:>9,}  {r['role']:<10} {r['page']:<14} cold {r['cold']:6.2f} s  "
                  f"warm {r['warm']:6.2f} s {r['error']}", file=sys.stderr, flush=True)

        results[n] = bench_database(url, roles=args.roles, pages=args.pages, runs=args.runs,
                                    progress=progress)
    print(table(results))
    for n, rows in results.items():
        limit = TARGETS.get(n)
        if limit is not None:
            over = sum(r["warm"] > limit for r in rows)
            print(f"{n:,} appeals: {over} of {len(rows)} page runs over {limit} s (warm median)")
    if args.json:
        args.json.write_text(json.dumps({str(n): rows for n, rows in results.items()},
                                        indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
