"""Undoing an import batch: inserted records go, updated ones get their old values back.

Refused, with the reason, when later work depends on the batch: a later batch
touched the same records, someone changed a record since (its version moved,
e.g. an appeal was dispatched or replied), or other records now point at a
record the batch inserted (an appeal logged against an imported firm).

A link row the batch added (a firm's chamber membership: a table with no id of its
own) is recorded as inserted with its key in `previous`, and removed by that key.
Nothing points at a link and no later batch adds the same one, so links never
refuse a rollback.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import Date, DateTime, Numeric, and_, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from crm.db import Base, now
from crm.errors import Conflict, NotFound, ValidationError
from crm.models import ImportBatch, ImportRecord
from crm.services import kpi_facts


def _typed(table, column: str, value):
    if value is None:
        return None
    t = table.c[column].type
    if isinstance(t, DateTime):
        return dt.datetime.fromisoformat(value)
    if isinstance(t, Date):
        return dt.date.fromisoformat(value)
    if isinstance(t, Numeric):
        return Decimal(value)
    return value


class Record(NamedTuple):
    """What one record of a batch came from (an ImportRecord run, one record of it)."""
    batch_id: int
    entity: str
    record_id: int
    sheet: str | None
    row_number: int
    action: str
    previous: dict | None


def batch_records(session: Session, batch_id: int | None = None) -> list[Record]:
    """The records batch `batch_id` (or every batch) wrote, one each, in the order it
    wrote them: a run of inserted records (ImportRecord.span) gives each of its ids with
    its own row."""
    query = select(ImportRecord.batch_id, ImportRecord.entity, ImportRecord.record_id,
                   ImportRecord.sheet, ImportRecord.row_number, ImportRecord.action,
                   ImportRecord.previous, ImportRecord.span).order_by(ImportRecord.id)
    if batch_id is not None:
        query = query.where(ImportRecord.batch_id == batch_id)
    out: list[Record] = []
    for batch, entity, rid, sheet, row, action, previous, span in session.execute(query):
        if span == 1:
            out.append(Record(batch, entity, rid, sheet, row, action, previous))
        else:
            out.extend(Record(batch, entity, rid + k, sheet, row + k, action, previous)
                       for k in range(span))
    return out


def _links() -> list[str]:
    """Tables of link rows, with no id of their own (chamber_member)."""
    return [t.name for t in Base.metadata.sorted_tables if "id" not in t.c]


def rollback_batch(session: Session, batch_id: int) -> dict[str, int]:
    """Undo batch `batch_id` inside the caller's transaction; returns counts per action."""
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"import batch {batch_id}", key="import.batch_not_found", id=batch_id)
    if batch.status != "done":
        raise ValidationError(f"batch {batch_id} is {batch.status}", key="import.not_done",
                              id=batch_id)
    records = batch_records(session, batch_id)[::-1]  # newest first
    # A later batch that wrote one of this batch's records, found by the database over
    # every record (this batch's runs as id ranges). A later row never starts before one
    # of ours and runs into it: runs are new ids, which no other batch also inserts.
    mine, theirs = aliased(ImportRecord), aliased(ImportRecord)
    later = session.execute(
        select(theirs.batch_id)
        .join(ImportBatch, ImportBatch.id == theirs.batch_id)
        .join(mine, and_(mine.entity == theirs.entity, theirs.record_id >= mine.record_id,
                         theirs.record_id < mine.record_id + mine.span))
        .where(mine.batch_id == batch_id, theirs.batch_id > batch_id,
               ImportBatch.status == "done", mine.entity.not_in(_links()))
        .limit(1)).scalar()
    if later is not None:
        raise Conflict(f"batch {later} changed the same records later",
                       key="import.rollback_later", id=later)
    tables = Base.metadata.tables
    links = [r for r in records if "id" not in tables[r.entity].c]
    records = [r for r in records if "id" in tables[r.entity].c]
    inserted = {(r.entity, r.record_id) for r in records if r.action == "inserted"}
    _check_versions(session, tables, records, inserted)
    counts = {"deleted": 0, "restored": 0}
    # The KPI rollups follow the appeals this undoes (crm.services.kpi_facts).
    appeal_ids = [r.record_id for r in records if r.entity == "appeal"]
    kpi_before = kpi_facts.snapshot(session, appeal_ids)
    for r in links:  # first: nothing points at a link
        table = tables[r.entity]
        key = [c.name for c in table.primary_key.columns]
        if sorted(r.previous or {}) != sorted(key):
            raise RuntimeError(f"batch {batch_id}: a {r.entity} record without its key")
        session.execute(delete(table).where(*(table.c[c] == r.previous[c] for c in key)))
        counts["deleted"] += 1
    try:
        for r in records:
            if r.action == "updated" and (r.entity, r.record_id) not in inserted:
                table = tables[r.entity]
                values = {c: _typed(table, c, v) for c, v in (r.previous or {}).items()
                          if not c.startswith("_")}
                if "version" in table.c:
                    values["version"] = table.c.version + 1
                if "updated_at" in table.c:
                    values["updated_at"] = now()
                session.execute(update(table).where(table.c.id == r.record_id).values(**values))
                counts["restored"] += 1
        by_entity: list[tuple[str, list[int]]] = []
        for r in records:  # newest first: children before the parents they point at
            if r.action != "inserted":
                continue
            if not by_entity or by_entity[-1][0] != r.entity:
                by_entity.append((r.entity, []))
            by_entity[-1][1].append(r.record_id)
        for entity, ids in by_entity:
            table = tables[entity]
            for i in range(0, len(ids), 900):
                try:
                    with session.begin_nested():
                        session.execute(delete(table).where(table.c.id.in_(ids[i:i + 900])))
                except IntegrityError:
                    raise _in_use(session, entity, inserted) from None
            counts["deleted"] += len(ids)
    except IntegrityError as err:
        raise Conflict(str(err.orig), key="import.rollback_in_use", details="",
                       details_en="", entity=entity, entity_en=entity) from None
    kpi_facts.apply_changes(session, kpi_before, kpi_facts.snapshot(session, appeal_ids))
    batch.status = "rolled_back"
    batch.finished_at = now()
    session.flush()
    return counts


# what the refusal calls the records of each table (zh, en); others go by table name
_NAMES = {"enterprise": ("企业", "firms"), "appeal": ("诉求", "appeals"),
          "visit": ("走访", "visits"), "assignment": ("包联分配", "assignments"),
          "financing_need": ("融资需求", "financing needs"),
          "fair_participation": ("招聘会参会记录", "job-fair places"),
          "job_fair": ("招聘会", "job fairs"), "fair_position": ("招聘岗位", "fair positions"),
          "fair_position_update": ("招聘结果登记", "funnel updates"),
          "hiring_need": ("用工需求", "hiring needs"),
          "contact": ("联系人", "contacts"), "enterprise_tag": ("企业标签", "firm tags"),
          "chamber_member": ("商会会员", "chamber memberships"),
          "appeal_unit": ("诉求承办单位", "appeal handling units"),
          "appeal_event": ("诉求办理记录", "appeal events"), "unit": ("单位", "units"),
          "chamber": ("商会", "chambers"), "bank": ("银行", "banks"),
          "bank_product": ("银行产品", "bank products"),
          "person": ("人员", "people"), "app_user": ("用户", "users")}


def _in_use(session: Session, entity: str, inserted: set[tuple[str, int]]) -> Conflict:
    """The refusal when records written since point at records the batch inserted (of
    `entity`): how many of each kind, e.g. "3 appeals, 1 visits … refer to the firms
    this batch imported". The batch's own records (not yet deleted) do not count."""
    ids = sorted(rid for e, rid in inserted if e == entity)
    found: list[tuple[str, int]] = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            if fk.column.table.name != entity or fk.column.name != "id":
                continue
            key = table.c.id if "id" in table.c else fk.parent
            n = 0
            for i in range(0, len(ids), 900):
                n += sum(1 for (rid,) in session.execute(
                    select(key).where(fk.parent.in_(ids[i:i + 900])))
                    if "id" not in table.c or (table.name, rid) not in inserted)
            if n:
                found.append((table.name, n))
    zh = "、".join(f"{n} 条{_NAMES.get(name, (name, name))[0]}" for name, n in found)
    en = ", ".join(f"{n} {_NAMES.get(name, (name, name))[1]}" for name, n in found)
    own = _NAMES.get(entity, (entity, entity))
    return Conflict(f"{en or 'other records'} refer to the {own[1]} this batch imported",
                    key="import.rollback_in_use", details=zh or "其他数据",
                    details_en=en or "other records", entity=own[0], entity_en=own[1])


def _check_versions(session: Session, tables, records, inserted) -> None:
    """Refuse when a versioned record the batch wrote was changed since."""
    expected: dict[tuple[str, int], int] = {}
    for r in records:
        table = tables[r.entity]
        if "version" not in table.c:
            continue
        key = (r.entity, r.record_id)
        if key in inserted:
            expected[key] = 1
        elif r.previous and "_version" in r.previous:
            expected.setdefault(key, r.previous["_version"])
    by_entity: dict[str, dict[int, int]] = {}
    for (entity, rid), version in expected.items():
        by_entity.setdefault(entity, {})[rid] = version
    for entity, wanted in by_entity.items():
        table = tables[entity]
        ids = list(wanted)
        for i in range(0, len(ids), 900):
            for rid, version in session.execute(
                    select(table.c.id, table.c.version).where(table.c.id.in_(ids[i:i + 900]))):
                if version != wanted[rid]:
                    raise Conflict(f"{entity} {rid} changed since the import",
                                   key="import.rollback_changed", entity=entity, id=rid)
