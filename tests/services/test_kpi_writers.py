"""Concurrent writers and the KPI rollups (issue 18.6).

A write appends its change to `kpi_delta` instead of updating the rollup row of its
day and street (and the one `kpi_state` row), so writers of one street and day do
not queue behind each other; readers fold the pending deltas in. The rollups plus
the pending deltas equal the plain count over `appeal` at every moment, and
`kpi-rollups --check` says so.
"""

from __future__ import annotations

import threading

from sqlalchemy import delete, func, select, text

from crm.db import session_factory
from crm.models import Appeal
from crm.models.kpi import kpi_day_cell, kpi_day_street, kpi_delta
from crm.services import appeals as svc
from crm.services import kpi, kpi_facts


def _log(session, w, title: str) -> Appeal:
    return svc.log_appeal(session, actor=w.liaison, enterprise_id=w.firm.id,
                          category_id=w.traffic.id, title=title)


def _pending(session) -> int:
    return session.scalar(select(func.count()).select_from(kpi_delta))


def test_a_write_appends_a_delta_and_a_reader_folds_it_in(session, world):
    _log(session, world, "停车")
    session.commit()
    assert _pending(session) == 1
    assert kpi_facts.differences(session) == []  # rollups + pending = the appeals
    before = session.scalar(select(func.coalesce(func.sum(kpi_day_street.c.n_total), 0)))
    revision = kpi_facts.revision(session)  # a reader: folds first
    assert _pending(session) == 0
    assert session.scalar(select(func.sum(kpi_day_street.c.n_total))) == before + 1
    assert session.scalar(select(func.sum(kpi_day_cell.c.n_total))) == before + 1
    assert kpi_facts.differences(session) == []
    assert kpi_facts.revision(session) == revision  # nothing new: the cache key stays


def test_the_check_sees_a_lost_delta(session, world):
    _log(session, world, "停车")
    session.commit()
    session.execute(delete(kpi_delta))
    session.commit()
    assert kpi_facts.differences(session) != []


def test_a_change_that_moves_no_kpi_appends_nothing(session, world):
    appeal = _log(session, world, "停车")
    session.commit()
    kpi_facts.fold(session)
    session.commit()
    svc.add_note(session, appeal.id, actor=world.liaison, note="催办")
    session.commit()
    assert _pending(session) == 0


def test_writers_of_one_street_and_day_do_not_wait_for_each_other(engine, session, world):
    """The first writer has not committed; the second (same street, day, unit, category)
    must not block on anything the first holds. Before, it waited for the first's
    rollup row and kpi_state row until the first committed."""
    factory = session_factory(engine)
    first = factory()
    _log(first, world, "第一")  # flushed, not committed
    try:
        with factory.begin() as second:
            if engine.dialect.name == "postgresql":
                second.execute(text("SET LOCAL lock_timeout = '2s'"))
                _log(second, world, "第二")
            else:
                # SQLite has one writer at a time by design: the second waits for the first
                first.commit()
                _log(second, world, "第二")
        first.commit()
    finally:
        first.close()
    assert session.scalar(select(func.count()).select_from(Appeal)
                          .where(Appeal.title.in_(["第一", "第二"]))) == 2
    assert kpi_facts.differences(session) == []


def test_concurrent_writers_and_folding_readers_keep_the_rollups_exact(engine, session, world):
    factory = session_factory(engine)
    errors: list[BaseException] = []

    def write(n: int) -> None:
        try:
            for i in range(15):
                with factory.begin() as s:
                    _log(s, world, f"w{n}-{i}")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    def read() -> None:
        try:
            for _ in range(10):
                with factory() as s:
                    kpi.compute(s)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    threads.append(threading.Thread(target=read))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert kpi_facts.differences(session) == []
    session.commit()
    kpi_facts.fold(session)
    session.commit()
    assert _pending(session) == 0
    assert kpi_facts.differences(session) == []
    total = session.scalar(select(func.count()).select_from(Appeal)
                           .where(Appeal.status != "merged"))
    assert kpi.compute(session)["appeals_total"] == total
