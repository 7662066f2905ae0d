"""Fixtures: a fresh, migrated database per test, on SQLite and on PostgreSQL.

Each run migrates one template per backend (schema + reference data, as
`init-db` leaves it) and each test gets its own copy: a file copy on SQLite,
`CREATE DATABASE … TEMPLATE` on PostgreSQL. The PostgreSQL databases are
created and dropped by the suite. Without a PostgreSQL server the PG variants
skip with the reason, except under CI=true, where nothing may skip.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

import crm.db
from crm import migrate
from crm.db import make_engine, session_factory
from crm.services.reference import init_reference_data

PG_ADMIN_URL = os.environ.get("CRM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"
SHARED = Path(__file__).resolve().parents[2] / "shared"

# The district's date when the run started. Tests that build dates relative to
# "today" pin the services' clock to it (`district_clock`): a 20-minute run that
# crosses midnight in Beijing (16:00 UTC) would otherwise see two different days.
RUN_TODAY = crm.db.today()


def skip_or_fail(reason: str) -> None:
    """Skip on a developer's laptop; under CI=true a missing part is a failure."""
    if IN_CI:
        pytest.fail(f"required under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _sa_url(dbname: str) -> str:
    base = PG_ADMIN_URL.rsplit("/", 1)[0].split("://", 1)[1]
    return f"postgresql+psycopg://{base}/{dbname}"


class PgServer:
    def __init__(self) -> None:
        import psycopg

        self.conn = psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=3)
        self.prefix = f"qifu_t{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.template = f"{self.prefix}_tmpl"
        self.created: list[str] = []

    def create(self, name: str, template: str | None = None) -> str:
        tmpl = f" TEMPLATE {template}" if template else ""
        self.conn.execute(f'CREATE DATABASE "{name}"{tmpl}')
        self.created.append(name)
        return name

    def drop(self, name: str) -> None:
        self.conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def close(self) -> None:
        for name in list(reversed(self.created)):
            self.drop(name)
        self.conn.close()


def _prepare(engine: Engine) -> None:
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        init_reference_data(session)


@pytest.fixture
def district_clock(monkeypatch) -> dt.date:
    """Pin `crm.db.now` (and so `crm.db.today`, which every service calls) to noon of RUN_TODAY."""
    monkeypatch.setattr(crm.db, "now", lambda: dt.datetime.combine(RUN_TODAY, dt.time(12)))
    return RUN_TODAY


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    try:
        server = PgServer()
    except Exception as exc:  # noqa: BLE001 - any connection problem means "no server"
        skip_or_fail(f"no PostgreSQL at {PG_ADMIN_URL}: {exc}".splitlines()[0])
    server.create(server.template)
    engine = make_engine(_sa_url(server.template), no_pool=True)
    _prepare(engine)
    engine.dispose()
    yield server
    server.close()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    engine = make_engine(f"sqlite:///{path}")
    _prepare(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> Iterator[str]:
    """The URL of a fresh database holding the schema and the reference data."""
    if request.param == "sqlite":
        path = tmp_path / "qifu.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = server.create(f"{server.prefix}_{uuid.uuid4().hex[:8]}", template=server.template)
    yield _sa_url(name)
    server.drop(name)


@pytest.fixture
def engine(db_url) -> Iterator[Engine]:
    engine = make_engine(db_url, no_pool=True) if db_url.startswith("postgresql") \
        else make_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine) -> Iterator[Session]:
    """A session the test commits itself (services never commit)."""
    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def empty_db_url(request, tmp_path) -> Iterator[str]:
    """A database with nothing in it, for migration tests (SQLite only; PG has its own)."""
    yield f"sqlite:///{tmp_path / 'empty.db'}"


def pytest_sessionfinish(session, exitstatus):
    """Under CI=true a skipped test is a failure: a skip must never pass as green."""
    if not IN_CI:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped and exitstatus == 0:
        print(f"\nCI=true: {skipped} test(s) skipped; nothing may skip in CI")
        session.exitstatus = 1
