"""Benchmark: how long a login takes for a real username and for an unknown one.

    .venv/bin/python scripts/bench_login.py [-n 25] [--url sqlite:////tmp/x.db]
                                            [--pg postgresql://postgres@127.0.0.1:5432/x]

An attacker who gets "wrong username or password" faster for names that do not
exist can list the real ones. Here each attempt is what the login form does:
`users.authenticate` in its own transaction, committed whether it failed or
not. Each attempt comes from its own client address and the recorded misses
are cleared between attempts (untimed), so no throttle answers instead of the
password check. Prints the median and p90 of N attempts per case, and the ratio
unknown ÷ known of the medians, which should be close to 1. Without --url a
fresh SQLite file in a temporary directory is used.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm import migrate  # noqa: E402
from crm.access import SYSTEM  # noqa: E402
from crm.db import make_engine, session_factory  # noqa: E402
from crm.errors import AuthError  # noqa: E402
from crm.services import sessions, users  # noqa: E402
from crm.services.reference import init_reference_data  # noqa: E402

PASSWORD = "bench-pass1"
CASES = (("known, wrong password", "bench_user", "wrong-pass1"),
         ("unknown, wrong password", "no_such_user", "wrong-pass1"),
         ("known, right password", "bench_user", PASSWORD))


def _prepare(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    with session_factory(engine).begin() as s:
        init_reference_data(s)
        try:
            users.get_user(s, "bench_user")
        except Exception:  # noqa: BLE001 - not there yet
            users.add_user(s, "bench_user", role="official", password=PASSWORD, actor=SYSTEM)
    engine.dispose()


def _attempt(factory, username: str, password: str, address: str) -> float:
    with factory() as s:
        started = time.perf_counter()
        try:
            users.authenticate(s, username, password, address=address)
        except AuthError:
            pass
        s.commit()
        elapsed = time.perf_counter() - started
    with factory.begin() as s:  # untimed: no lock may answer the next attempt
        sessions.clear_failures(s, username)
    return elapsed


def bench(url: str, n: int) -> dict[str, list[float]]:
    _prepare(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    times: dict[str, list[float]] = {label: [] for label, _, _ in CASES}
    for _, username, password in CASES:  # warm up: the dummy hash, connections
        _attempt(factory, username, password, "192.0.2.250")
    for i in range(n):
        for label, username, password in CASES:  # interleaved: load drifts hit all cases
            times[label].append(_attempt(factory, username, password, f"198.51.{i // 250}."
                                                                      f"{i % 250}"))
        print(f"\r  {i + 1}/{n}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    engine.dispose()
    return times


def _report(name: str, times: dict[str, list[float]]) -> None:
    print(f"{name}: median / p90 of {len(next(iter(times.values())))} attempts (ms)")
    medians = {}
    for label, values in times.items():
        values = sorted(values)
        medians[label] = statistics.median(values)
        p90 = values[min(len(values) - 1, int(0.9 * len(values)))]
        print(f"  {label:<26} {medians[label] * 1000:8.1f} {p90 * 1000:8.1f}")
    ratio = medians["unknown, wrong password"] / medians["known, wrong password"]
    print(f"  unknown ÷ known (medians): {ratio:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=25, help="attempts per case (default 25)")
    parser.add_argument("--url", help="SQLite or PostgreSQL URL (default: a temporary SQLite)")
    parser.add_argument("--pg", help="also run on this PostgreSQL database URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.url or f"sqlite:///{Path(tmp) / 'bench_login.db'}"
        _report(url.split(":")[0], bench(url, args.n))
        if args.pg:
            url = args.pg.replace("postgresql://", "postgresql+psycopg://", 1)
            _report("postgresql", bench(url, args.n))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
