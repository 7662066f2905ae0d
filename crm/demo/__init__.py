"""Demo data: a realistic Jiangbei district, from a handful of firms to 100,000.

`seed_demo` fills a migrated database that holds the reference data with
logins for every role, buildings, firms, cadre assignments and visits,
appeals with their full timelines, chamber financing and job fairs — the
seed story's cases included (see crm.demo.stories). It is deterministic for
a seed: the random source is `random.Random(seed)` and the data is anchored
on a fixed as-of date (crm.demo.context.AS_OF), never on the clock.

Everything happens in one transaction on one connection: the small, linked
things through the ORM session, the big tables as prebuilt tuples through
the driver's bulk path (crm.bulk.loader). It either all lands or none of it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from crm.bulk.loader import BulkLoader
from crm.demo import appeals, enterprises, financing, jobfairs, people
from crm.demo.context import Demo, Ref
from crm.errors import ValidationError
from crm.models import (
    Appeal,
    AppealEvent,
    AppealUnit,
    Assignment,
    Contact,
    Enterprise,
    Visit,
    chamber_member,
    enterprise_tag,
    visit_policy,
)
from crm.services import kpi_facts
from crm.services.reference import get_setting, set_setting

DEMO_PASSWORD = "demo1234"
SEEDED_KEY = "demo.seeded"
# Loaded without their secondary indexes (and PG foreign keys), rebuilt at the end.
BULK_TABLES = [Appeal.__table__, AppealEvent.__table__, AppealUnit.__table__,
               Enterprise.__table__, Contact.__table__, enterprise_tag, Assignment.__table__,
               Visit.__table__, visit_policy, chamber_member]

__all__ = ["DEMO_PASSWORD", "SEEDED_KEY", "seed_demo"]


def seed_demo(engine: Engine, *, enterprises: int = 2000, appeals: int = 10000, seed: int = 42,
              progress: Callable[[str, int, int], None] | None = None) -> dict[str, int]:
    """Add the demo data; returns rows added per table. Refuses a database seeded before."""
    if enterprises < 1 or appeals < 0:
        raise ValidationError("enterprises must be at least 1 and appeals not negative")
    report = progress or (lambda stage, done, total: None)
    with engine.begin() as conn, Session(bind=conn, autoflush=False) as session:
        if get_setting(session, SEEDED_KEY) is not None:
            raise ValidationError("demo data is already loaded; use a fresh database",
                                  key="demo.already_seeded")
        ref = Ref.load(session)
        if not ref.streets or not ref.categories:
            raise ValidationError("reference data is missing; run init-db first",
                                  key="demo.no_reference")
        with _big_cache(conn), BulkLoader(conn) as writer:
            for table in BULK_TABLES:
                writer.defer_indexes(table)
            demo = Demo(rng=random.Random(seed), session=session, writer=writer, ref=ref,
                        progress=report)
            counts = _fill(demo, enterprises, appeals)
            writer.finish(report)
        report("KPI 汇总", 0, 1)
        kpi_facts.rebuild(session)
        report("KPI 汇总", 1, 1)
        set_setting(session, SEEDED_KEY,
                    {"seed": seed, "enterprises": enterprises, "appeals": appeals})
        session.flush()
        report("提交", 0, 1)
    report("提交", 1, 1)
    return counts


def _fill(demo: Demo, n_firms: int, n_appeals: int) -> dict[str, int]:
    """The steps in dependency order: ORM for the few linked rows, then bulk."""
    step = demo.progress
    orm: dict[str, int] = {}
    step("机构与用户", 0, 4)
    orm["building"] = enterprises.add_buildings(demo)
    people.add_chambers(demo)
    orm["chamber"] = len(demo.chambers)
    step("机构与用户", 2, 4)
    products = financing.add_products(demo)
    orm["bank_product"] = len(products)
    orm["app_user"] = orm["audit_log"] = people.add_users(demo, DEMO_PASSWORD)
    orm["person"] = sum(1 for _, person in demo.users.values() if person)
    demo.session.flush()
    step("机构与用户", 4, 4)
    enterprises.add_enterprises(demo, n_firms)  # reports per chunk
    step("包联与走访", 0, 4)
    people.add_staff(demo)
    step("包联与走访", 1, 4)
    people.add_assignments(demo)
    step("包联与走访", 2, 4)
    people.add_visits(demo)
    step("包联与走访", 3, 4)
    members = financing.add_chamber_members(demo)
    step("包联与走访", 4, 4)
    appeals.add_appeals(demo, n_appeals)  # reports per chunk
    step("融资与招聘", 0, 2)
    financing.add_financing(demo, members, products)
    step("融资与招聘", 1, 2)
    jobfairs.add_job_fairs(demo)
    step("融资与招聘", 2, 2)
    counts = dict(demo.writer.counts)
    for table, n in orm.items():
        counts[table] = counts.get(table, 0) + n
    return dict(sorted(counts.items()))


@contextmanager
def _big_cache(conn: Connection) -> Iterator[None]:
    """A ~1 GB SQLite page cache while seeding, so index upkeep on a million rows stays
    in memory instead of spilling; restored after, as the connection goes back to the pool."""
    if conn.dialect.name != "sqlite":
        yield
        return
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql("PRAGMA cache_size=-1000000")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size={int(before)}")
