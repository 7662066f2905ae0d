"""What the benchmark scripts share: a database built like `init-db` + `seed-demo`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm import migrate  # noqa: E402
from crm.db import make_engine, session_factory  # noqa: E402
from crm.demo import seed_demo  # noqa: E402
from crm.services.reference import init_reference_data  # noqa: E402


def build_demo_db(url: str, *, enterprises: int, appeals: int, seed: int = 42) -> float:
    """Migrate, load reference data and seed the demo data; returns the seed's seconds."""
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        with session_factory(engine).begin() as s:
            init_reference_data(s)
        started = time.perf_counter()
        seed_demo(engine, enterprises=enterprises, appeals=appeals, seed=seed)
        return time.perf_counter() - started
    finally:
        engine.dispose()
