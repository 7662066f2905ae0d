"""Appeals: logging, the 12345-style closed loop, co-handling, extensions, merging.

Every action loads the appeal within the actor's scope, checks the version the
actor saw, then the lifecycle (crm.lifecycle.APPEAL: the state, the guards, and
through crm.access who may act on which appeals), then changes the row and
writes one timeline event. The caller commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value

from crm import rules
from crm.access import allows, require
from crm.auth import Actor
from crm.db import insert_loaded
from crm.db import now as _now
from crm.errors import Conflict, InvalidTransition, NotFound, ValidationError
from crm.lifecycle import APPEAL, FINAL_STATUSES
from crm.models import Appeal, AppealEvent, AppealUnit, Category, Enterprise, Extension, Unit, Visit
from crm.models.appeal import CHANNELS, PRIORITIES, SATISFACTION
from crm.services import audit, kpi_facts
from crm.services.calendar import WorkCalendar
from crm.services.reference import get_setting
from crm.services.scope import appeal_scope
from crm.textsafety import CONTROL_RE


def _text(value: str | None, *, field: str, limit: int | None = None,
          required_key: str | None = None) -> str:
    """Trimmed text; refused with a message when required and empty, or too long.

    Nothing is cut silently: an over-long value is a user's words we would lose.
    """
    # NUL and other control characters are never meant; PostgreSQL refuses NUL outright
    text = CONTROL_RE.sub("", value or "").strip()
    if required_key and not text:
        raise ValidationError(f"{field} is empty", key=required_key)
    if limit is not None and len(text) > limit:
        raise ValidationError(f"{field} is longer than {limit} characters",
                              key="appeal.too_long", field=field, limit=limit)
    return text


def get_appeal(session: Session, appeal_id: int, actor: Actor) -> Appeal:
    """The appeal if the actor may see it; NotFound otherwise (existence is not leaked)."""
    # populate_existing: always judge the version against the row as stored, never a copy
    # this session cached earlier.
    appeal = session.scalar(select(Appeal).where(Appeal.id == appeal_id, appeal_scope(actor))
                            .execution_options(populate_existing=True))
    if appeal is None:
        raise NotFound(f"appeal {appeal_id}", key="appeal.not_found", id=appeal_id)
    return appeal


def _due_date(session: Session, category: Category, start: dt.date, days: int) -> dt.date:
    setting = get_setting(session, "appeals.working_days", False)
    working = rules.counts_working_days(category.working_days, setting)
    calendar = WorkCalendar.load(session) if working else WorkCalendar()
    return rules.due_date(calendar, start, days, category_working=category.working_days,
                          district_setting=setting)


_NEXT_APPEAL_ID = select(func.nextval(func.pg_get_serial_sequence("appeal", "id")))


def _new_appeal_id(session: Session) -> int | None:
    """The next appeal id where the database hands ids out before an INSERT (PostgreSQL's
    sequence), so a new appeal is written with its QF number at once; None elsewhere
    (SQLite numbers the row in its INSERT, and the number follows in an UPDATE). Under
    load the UPDATE was a second write of every new row (issue 18.6)."""
    if session.get_bind().dialect.name != "postgresql":
        return None
    return session.scalar(_NEXT_APPEAL_ID)



def _event(appeal: Appeal, action: str, actor: Actor | None, *, from_status: str | None,
           note: str | None = None, unit_id: int | None = None, data: dict | None = None,
           at: dt.datetime | None = None) -> AppealEvent:
    old, new = audit.pending_changes(appeal)  # before appending autoflushes them away
    event = AppealEvent(action=action, from_status=from_status, to_status=appeal.status,
                        actor_id=actor.id if actor else None, unit_id=unit_id, note=note,
                        data=data, at=at or _now())
    appeal.events.append(event)
    session = object_session(appeal)
    if session is not None:  # every appeal write passes here: one audit entry each
        if action == "receive":
            audit.created(session, actor, "appeal.receive", appeal)
        else:
            audit.changed(session, actor, f"appeal.{action}", appeal,
                          before={"status": from_status, **old},
                          after={"status": appeal.status, **new},
                          note=note, unit_id=unit_id, **(data or {}))
    return event


def _check(session: Session, appeal: Appeal, action_name: str, actor: Actor,
           version: int | None) -> None:
    if version is not None and version != appeal.version:
        raise Conflict(f"appeal {appeal.code} changed since version {version}",
                       key="error.conflict")
    APPEAL.check(appeal, action_name, actor, _context(session, appeal, action_name))


def _context(session: Session, appeal: Appeal, action_name: str | None = None) -> dict:
    """What the appeal's guards look at besides the row: a pending extension request."""
    if action_name is not None and action_name not in ("request_extension",
                                                       "decide_extension"):
        return {}
    return {"pending_extension": pending_extension(session, appeal.id) is not None}


def _move(session: Session, appeal_id: int, action_name: str, actor: Actor,
          version: int | None, **event_kw) -> tuple[Appeal, str]:
    appeal = get_appeal(session, appeal_id, actor)
    _check(session, appeal, action_name, actor, version)
    before = appeal.status
    target = APPEAL.action(action_name).target
    if target:
        appeal.status = target
    return appeal, before


# --- logging ---------------------------------------------------------------------------------

def log_appeal(session: Session, *, actor: Actor, enterprise_id: int, category_id: int,
               title: str, description: str = "", channel: str = rules.APP_CHANNEL,
               priority: str = rules.DEFAULT_PRIORITY, contact_name: str | None = None,
               contact_phone: str | None = None, received_at: dt.datetime | None = None,
               visit_id: int | None = None) -> Appeal:
    """受理: record a firm's appeal; the due date follows from the category's limit."""
    require(actor, "appeal.log")
    title = _text(title, field="title", limit=rules.limit("appeal", "title"),
                  required_key="appeal.title_needed")
    description = _text(description, field="description",
                        limit=rules.limit("appeal", "description"))
    contact_name = _text(contact_name, field="contact", limit=rules.limit("appeal", "contact_name"))
    contact_phone = _text(contact_phone, field="phone",
                          limit=rules.limit("appeal", "contact_phone"))
    contact_phone = rules.phone(contact_phone)[0] if contact_phone else ""
    if channel not in CHANNELS:
        raise ValidationError(f"unknown channel {channel!r}", key="appeal.bad_channel")
    if priority not in PRIORITIES:
        raise ValidationError(f"unknown priority {priority!r}", key="appeal.bad_priority")
    firm = session.get(Enterprise, enterprise_id)
    if firm is None or not allows(actor, "firm.read", firm):  # one outside it is not there
        raise NotFound(f"enterprise {enterprise_id}", key="appeal.firm_not_found")
    require(actor, "appeal.log", firm)
    category = session.get(Category, category_id)
    if category is None or not category.active:
        raise NotFound(f"category {category_id}", key="appeal.category_not_found")
    if visit_id is not None:
        visit = session.get(Visit, visit_id)
        if visit is None or visit.enterprise_id != firm.id:
            raise ValidationError("the visit is not of this firm", key="appeal.bad_visit")
    received_at = received_at or _now()
    street_id = firm.street_id or actor.street_id
    appeal_id = _new_appeal_id(session)
    values = dict(
        code=rules.appeal_code(received_at, appeal_id) if appeal_id else
        f"tmp-{uuid.uuid4().hex}", enterprise_id=firm.id, street_id=street_id,
        category_id=category.id, channel=channel, priority=priority, title=title,
        description=description, contact_name=contact_name or None,
        contact_phone=contact_phone or None, status=rules.NEW_APPEAL_STATUS,
        received_at=received_at,
        due_date=_due_date(session, category, received_at.date(), category.limit_days),
        visit_id=visit_id, created_by_id=actor.id)
    if appeal_id is not None:
        values["id"] = appeal_id
    # Three INSERTs, each written at once (`insert_loaded`), instead of a unit-of-work
    # flush: the busiest write of a district at half the client's CPU (issue 18.6). The
    # KPI rollups are told below, as the flush hooks would have told them.
    appeal = insert_loaded(session, Appeal, values)
    if appeal_id is None:  # numbered by its INSERT: named after it
        code = rules.appeal_code(received_at, appeal.id)
        session.execute(update(Appeal.__table__).where(Appeal.__table__.c.id == appeal.id)
                        .values(code=code))
        set_committed_value(appeal, "code", code)
    event = insert_loaded(session, AppealEvent, dict(
        appeal_id=appeal.id, action="receive", from_status=None, to_status=appeal.status,
        actor_id=actor.id, unit_id=None, note=None, data=None, at=received_at))
    set_committed_value(appeal, "events", [event])
    audit.record(session, actor, "appeal.receive", "appeal", appeal.id,
                 after=audit.snapshot(appeal), at_once=True)
    kpi_facts.added(session, [appeal])
    return appeal


# --- dispatching and co-handling ----------------------------------------------------------

def _active_unit(session: Session, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None or not unit.active or unit.merged_into_id:
        raise NotFound(f"unit {unit_id}", key="appeal.unit_not_found")
    return unit


def _set_units(session: Session, appeal: Appeal, lead_unit_id: int,
               co_unit_ids: Iterable[int]) -> list[int]:
    lead = _active_unit(session, lead_unit_id)
    co = sorted({u for u in co_unit_ids if u != lead.id})
    for unit_id in co:
        _active_unit(session, unit_id)
    wanted = {lead.id: "lead", **{u: "co" for u in co}}
    existing = {au.unit_id: au for au in appeal.units}
    for unit_id, au in existing.items():
        au.active = unit_id in wanted
        if unit_id in wanted:
            au.role = wanted[unit_id]
    for unit_id, role in wanted.items():
        if unit_id not in existing:
            appeal.units.append(AppealUnit(unit_id=unit_id, role=role))
    appeal.lead_unit_id = lead.id
    return co


def dispatch(session: Session, appeal_id: int, *, actor: Actor, lead_unit_id: int,
             co_unit_ids: Iterable[int] = (), note: str | None = None,
             version: int | None = None) -> Appeal:
    """派单 (or 改派 after a return): one lead unit, any number of co-handling units."""
    return _dispatch(session, appeal_id, "dispatch", actor, lead_unit_id, co_unit_ids, note,
                     version)


def reassign(session: Session, appeal_id: int, *, actor: Actor, lead_unit_id: int,
             co_unit_ids: Iterable[int] = (), note: str | None = None,
             version: int | None = None) -> Appeal:
    """改派 before the unit signed: change the lead or the co-handling units."""
    return _dispatch(session, appeal_id, "reassign", actor, lead_unit_id, co_unit_ids, note,
                     version)


def _dispatch(session, appeal_id, action, actor, lead_unit_id, co_unit_ids, note, version):
    appeal, before = _move(session, appeal_id, action, actor, version)
    co = _set_units(session, appeal, lead_unit_id, co_unit_ids)
    appeal.dispatched_at = _now()
    appeal.accepted_at = None
    _event(appeal, action, actor, from_status=before, note=note, unit_id=lead_unit_id,
           data={"lead_unit_id": lead_unit_id, "co_unit_ids": co})
    session.flush()
    return appeal


def accept(session: Session, appeal_id: int, *, actor: Actor, version: int | None = None,
           note: str | None = None) -> Appeal:
    """签收: the lead unit signs for the appeal (响应率 counts how fast)."""
    appeal, before = _move(session, appeal_id, "accept", actor, version)
    appeal.accepted_at = _now()
    _event(appeal, "accept", actor, from_status=before, note=note, unit_id=appeal.lead_unit_id)
    session.flush()
    return appeal


def return_appeal(session: Session, appeal_id: int, *, actor: Actor, reason: str,
                  version: int | None = None) -> Appeal:
    """退单: a wrongly dispatched appeal goes back to the street with the reason."""
    reason = _text(reason, field="reason", required_key="appeal.reason_needed")
    appeal, before = _move(session, appeal_id, "return", actor, version)
    unit_id = appeal.lead_unit_id
    for au in appeal.units:
        au.active = False
    appeal.lead_unit_id = None
    appeal.accepted_at = None
    _event(appeal, "return", actor, from_status=before, note=reason, unit_id=unit_id)
    session.flush()
    return appeal


def reply(session: Session, appeal_id: int, *, actor: Actor, reply_text: str, solved: bool,
          version: int | None = None) -> Appeal:
    """答复/办结: the lead unit replies and says whether the problem is actually solved."""
    reply_text = _text(reply_text, field="reply", limit=rules.limit("appeal", "reply_text"),
                       required_key="appeal.reply_needed")
    appeal, before = _move(session, appeal_id, "reply", actor, version)
    appeal.replied_at = _now()
    appeal.reply_text = reply_text
    appeal.solved = bool(solved)
    _event(appeal, "reply", actor, from_status=before, note=appeal.reply_text,
           unit_id=appeal.lead_unit_id, data={"solved": bool(solved)})
    session.flush()
    return appeal


# --- extensions ---------------------------------------------------------------------------

def request_extension(session: Session, appeal_id: int, *, actor: Actor, days: int,
                      reason: str, version: int | None = None) -> Extension:
    """延期申请 by the lead unit; the due date moves only when approved."""
    if not isinstance(days, int) or days < 1 or days > 90:
        raise ValidationError("an extension is 1 to 90 days", key="appeal.bad_extension")
    reason = _text(reason, field="reason", required_key="appeal.reason_needed")
    appeal, before = _move(session, appeal_id, "request_extension", actor, version)
    ext = Extension(appeal_id=appeal.id, unit_id=appeal.lead_unit_id, days=days,
                    reason=reason, requested_by_id=actor.id)
    session.add(ext)
    appeal.updated_at = _now()  # bumps the version: others see something changed
    _event(appeal, "request_extension", actor, from_status=before, note=reason,
           unit_id=appeal.lead_unit_id, data={"days": days})
    session.flush()
    return ext


def pending_extension(session: Session, appeal_id: int) -> Extension | None:
    return session.scalar(select(Extension).where(Extension.appeal_id == appeal_id,
                                                  Extension.status == "pending"))


def decide_extension(session: Session, appeal_id: int, *, actor: Actor, approve: bool,
                     note: str | None = None, version: int | None = None) -> Appeal:
    """延期审批: approving moves the due date by the requested days."""
    appeal, before = _move(session, appeal_id, "decide_extension", actor, version)
    ext = pending_extension(session, appeal.id)
    ext.status = "approved" if approve else "rejected"
    ext.decided_by_id = actor.id
    ext.decided_at = _now()
    data = {"days": ext.days, "approved": bool(approve)}
    if approve:
        old_due = appeal.due_date
        appeal.due_date = _due_date(session, appeal.category, old_due, ext.days)
        appeal.extension_days += ext.days
        data.update(old_due=old_due.isoformat(), new_due=appeal.due_date.isoformat())
    else:
        appeal.updated_at = _now()
    _event(appeal, "approve_extension" if approve else "reject_extension", actor,
           from_status=before, note=note, data=data)
    session.flush()
    return appeal


# --- callback, reopen, archive, merge, notes ----------------------------------------------

def callback(session: Session, appeal_id: int, *, actor: Actor, satisfaction: str,
             solved: bool, note: str | None = None, version: int | None = None) -> Appeal:
    """回访: the liaison asks the firm; 不满意 or unsolved makes reopening possible."""
    if satisfaction not in SATISFACTION:
        raise ValidationError(f"unknown satisfaction {satisfaction!r}",
                              key="appeal.bad_satisfaction")
    appeal, before = _move(session, appeal_id, "callback", actor, version)
    appeal.callback_at = _now()
    appeal.satisfaction = satisfaction
    appeal.callback_solved = bool(solved)
    _event(appeal, "callback", actor, from_status=before, note=note,
           data={"satisfaction": satisfaction, "solved": bool(solved)})
    session.flush()
    return appeal


def reopen(session: Session, appeal_id: int, *, actor: Actor, note: str | None = None,
           version: int | None = None) -> Appeal:
    """重办: back to the lead unit with a fresh time limit; the last reply stays in the timeline."""
    appeal = get_appeal(session, appeal_id, actor)
    _check(session, appeal, "reopen", actor, version)
    before = appeal.status
    appeal.status = "dispatched"
    appeal.reopen_count += 1
    start = _now()
    appeal.dispatched_at = start
    appeal.due_date = max(_due_date(session, appeal.category, start.date(),
                                    appeal.category.limit_days), appeal.received_at.date())
    for attr in ("accepted_at", "replied_at", "reply_text", "solved", "callback_at",
                 "satisfaction", "callback_solved"):
        setattr(appeal, attr, None)
    _event(appeal, "reopen", actor, from_status=before, note=note,
           unit_id=appeal.lead_unit_id, data={"reopen_count": appeal.reopen_count})
    session.flush()
    return appeal


def archive(session: Session, appeal_id: int, *, actor: Actor, note: str | None = None,
            version: int | None = None) -> Appeal:
    """归档: final."""
    appeal, before = _move(session, appeal_id, "archive", actor, version)
    appeal.archived_at = _now()
    _event(appeal, "archive", actor, from_status=before, note=note)
    session.flush()
    return appeal


def merge(session: Session, appeal_id: int, *, actor: Actor, into_id: int | None = None,
          into_code: str | None = None, note: str | None = None,
          version: int | None = None) -> Appeal:
    """并单: a duplicate of the same firm's appeal is folded into it (named by id, or by
    its QF number as people type it)."""
    if into_id is None:
        from crm.services.appeal_queries import appeal_id_by_code

        if not (into_code or "").strip():
            raise ValidationError("no target appeal", key="appeal.merge_target_needed")
        into_id = appeal_id_by_code(session, into_code, actor=actor)
    if into_id == appeal_id:
        raise ValidationError("an appeal cannot be merged into itself", key="appeal.merge_self")
    target = get_appeal(session, into_id, actor)
    appeal = get_appeal(session, appeal_id, actor)
    _check(session, appeal, "merge", actor, version)
    if target.status in FINAL_STATUSES:
        raise InvalidTransition(f"the target appeal is {target.status}",
                                key="appeal.merge_target_final")
    if target.enterprise_id != appeal.enterprise_id:
        raise ValidationError("only appeals of the same firm can be merged",
                              key="appeal.merge_other_firm")
    before = appeal.status
    appeal.status = "merged"
    appeal.merged_into_id = target.id
    for au in appeal.units:
        au.active = False
    _event(appeal, "merge", actor, from_status=before, note=note, data={"into": target.code})
    _event(target, "absorb", actor, from_status=target.status, note=note,
           data={"merged": appeal.code})
    session.flush()
    return appeal


def add_note(session: Session, appeal_id: int, *, actor: Actor, note: str,
             version: int | None = None) -> Appeal:
    """A progress note: the lead or any co-handling unit, or the liaison."""
    note = _text(note, field="note", required_key="appeal.note_needed")
    appeal, before = _move(session, appeal_id, "note", actor, version)
    _event(appeal, "note", actor, from_status=before, note=note, unit_id=actor.unit_id)
    session.flush()
    return appeal


def actions_for(session: Session, appeal: Appeal, actor: Actor) -> list[str]:
    """What the actor may do now: the lifecycle's actions the actor may take on this appeal."""
    return APPEAL.allowed(appeal, actor, _context(session, appeal))
