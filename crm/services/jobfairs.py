"""春风行动: fairs, the firms that sign up, their positions, and each position's funnel.

A fair is created and edited by employment staff (`jobfair.manage`); firms sign up
(a participation, crm.lifecycle.PARTICIPATION: signed up → attended, or withdrawn);
each position has a title, a headcount, a pay range or 面议, and requirements. The
funnel of a position fills in over weeks as dated updates (`record_update`): every
update is kept, one per position and day, so the funnel can be read as of any date
(`crm.services.jobfair_report`). An update is refused, naming the two stages and
their numbers, when it breaks the order applicants ≥ intents ≥ medical checks ≥ hired
≥ still employed after 90 days (`crm.rules.funnel_problem`, which the importer uses
too), and a retention figure is refused before 90 days have passed since the fair.
Stale edits of a fair or a position are refused (version columns). The caller commits.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import rules
from crm.access import condition, require
from crm.auth import Actor
from crm.db import today
from crm.errors import Conflict, NotFound, ValidationError
from crm.lifecycle import HIRING_NEED, PARTICIPATION
from crm.models import (
    Enterprise,
    FairParticipation,
    FairPosition,
    FairPositionUpdate,
    HiringNeed,
    JobFair,
    Street,
)
from crm.models.jobfair import FAIR_KINDS
from crm.services import audit
from crm.services.scope import enterprise_scope

COUNT_FIELDS = rules.FUNNEL
STAGES = rules.FUNNEL  # for the pages: applicants … retained_90d, in order
__all__ = ["FAIR_KINDS", "STAGES"]  # re-exported for the pages (they import services only)


def participation_actions(status: str) -> list[str]:
    """What may be done to a firm's sign-up in this state (attend / withdraw / rejoin);
    who may is crm.access's, checked by `move_participation`."""
    return [a.name for a in PARTICIPATION.from_state(status) if a.name != "record"]


# --- reading, within scope -----------------------------------------------------------------

def get_fair(session: Session, fair_id: int, *, actor: Actor) -> JobFair:
    """The fair if the actor may see it (a liaison: their street's, or one their firms
    went to); NotFound otherwise."""
    require(actor, "jobfair.read")
    fair = session.scalar(select(JobFair).where(JobFair.id == fair_id,
                                                condition(actor, "jobfair.read", JobFair))
                          .execution_options(populate_existing=True))
    if fair is None:
        raise NotFound(f"job fair {fair_id}", key="jobfair.not_found", id=fair_id)
    return fair


def list_fairs(session: Session, *, actor: Actor) -> list[dict]:
    """The fairs the actor may see, latest first (for choosers; totals are the report's)."""
    require(actor, "jobfair.read")
    rows = session.execute(
        select(JobFair.id, JobFair.name, JobFair.held_on, JobFair.place, JobFair.kind,
               JobFair.street_id, Street.name.label("street"), JobFair.version)
        .outerjoin(Street, Street.id == JobFair.street_id)
        .where(condition(actor, "jobfair.read", JobFair))
        .order_by(JobFair.held_on.desc(), JobFair.id.desc())).mappings().all()
    return [dict(r) for r in rows]


def _participation(session: Session, participation_id: int, actor: Actor,
                   capability: str) -> FairParticipation:
    part = session.scalar(select(FairParticipation).where(
        FairParticipation.id == participation_id,
        condition(actor, "jobfair.read", FairParticipation))
        .execution_options(populate_existing=True))
    if part is None:
        raise NotFound(f"participation {participation_id}", key="jobfair.not_found",
                       id=participation_id)
    require(actor, capability, part)
    return part


def _position(session: Session, position_id: int, actor: Actor,
              capability: str) -> FairPosition:
    pos = session.scalar(select(FairPosition).where(
        FairPosition.id == position_id, condition(actor, "jobfair.read", FairPosition))
        .execution_options(populate_existing=True))
    if pos is None:
        raise NotFound(f"position {position_id}", key="jobfair.not_found", id=position_id)
    require(actor, capability, pos)
    return pos


# --- fairs ---------------------------------------------------------------------------------

def street_choices(session: Session, *, actor: Actor) -> list[dict]:
    """The streets a fair may be organised by (the fair form's choices)."""
    require(actor, "jobfair.manage")
    return [{"id": sid, "name": name} for sid, name in session.execute(
        select(Street.id, Street.name).order_by(Street.id))]


def _fair_fields(session: Session, name: str, held_on: dt.date | None, place: str | None,
                 street_id: int | None, kind: str, note: str | None) -> dict:
    name = rules.checked_text(name, "job_fair", "name")
    if not name:
        raise ValidationError("the fair needs a name", key="field.needed", field="name")
    if not isinstance(held_on, dt.date):
        raise ValidationError("the fair needs a date", key="field.needed", field="held_on")
    if kind not in FAIR_KINDS:
        raise ValidationError(f"unknown fair kind {kind!r}", key="jobfair.bad_kind", kind=kind)
    if street_id is not None and session.get(Street, street_id) is None:
        raise NotFound(f"street {street_id}", key="jobfair.street_not_found")
    return {"name": name, "held_on": held_on, "place": rules.checked_text(place, "job_fair",
                                                                         "place"),
            "street_id": street_id, "kind": kind,
            "note": rules.checked_text(note, "job_fair", "note")}


def _unique_fair(session: Session, name: str, held_on: dt.date, but: int | None = None):
    stmt = select(JobFair.id).where(JobFair.name == name, JobFair.held_on == held_on)
    if but is not None:
        stmt = stmt.where(JobFair.id != but)
    if session.scalar(stmt) is not None:
        raise ValidationError("a fair of this name on this day exists",
                              key="jobfair.duplicate", name=name, day=held_on.isoformat())


def create_fair(session: Session, *, actor: Actor, name: str, held_on: dt.date,
                place: str | None = None, street_id: int | None = None,
                kind: str = rules.FAIR_KIND, note: str | None = None) -> JobFair:
    """A fair: name + date are its key (as the importer keys it)."""
    require(actor, "jobfair.manage")
    values = _fair_fields(session, name, held_on, place, street_id, kind, note)
    _unique_fair(session, values["name"], held_on)
    fair = JobFair(**values)
    session.add(fair)
    session.flush()
    audit.created(session, actor, "jobfair.create", fair)
    return fair


def edit_fair(session: Session, fair_id: int, *, actor: Actor, version: int, name: str,
              held_on: dt.date, place: str | None = None, street_id: int | None = None,
              kind: str = rules.FAIR_KIND, note: str | None = None) -> JobFair:
    """Change a fair's facts; refused when someone changed it since `version`."""
    fair = get_fair(session, fair_id, actor=actor)
    require(actor, "jobfair.manage", fair)
    if version != fair.version:
        raise Conflict(f"fair {fair_id} changed since version {version}", key="error.conflict")
    values = _fair_fields(session, name, held_on, place, street_id, kind, note)
    _unique_fair(session, values["name"], held_on, but=fair.id)
    if held_on > fair.held_on:
        _no_figures_before(session, fair.id, held_on)
    for key, value in values.items():
        setattr(fair, key, value)
    audit.changed(session, actor, "jobfair.edit", fair)
    session.flush()
    return fair


def _no_figures_before(session: Session, fair_id: int, held_on: dt.date) -> None:
    """A fair moved later may not leave results dated before it, nor retention counted
    before its 90 days (the rules an update is held to)."""
    dated = (select(FairPositionUpdate.as_of, FairPositionUpdate.retained_90d)
             .join(FairPosition, FairPosition.id == FairPositionUpdate.position_id)
             .join(FairParticipation, FairParticipation.id == FairPosition.participation_id)
             .where(FairParticipation.fair_id == fair_id))
    for as_of, retained in session.execute(dated):
        if as_of < held_on or (retained is not None and rules.retention_pending(held_on, as_of)):
            raise ValidationError("results dated before the new day", key="jobfair.moved_past",
                                  day=as_of.isoformat())


# --- firms signing up ----------------------------------------------------------------------

def sign_up(session: Session, fair_id: int, enterprise_id: int, *, actor: Actor,
            signed_up_on: dt.date | None = None) -> FairParticipation:
    """A firm signs up to a fair (again: nothing changes). Its open hiring needs count as
    invited to this fair (crm.lifecycle.HIRING_NEED)."""
    require(actor, "jobfair.manage")
    fair = get_fair(session, fair_id, actor=actor)
    firm = session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id,
                                                   enterprise_scope(actor)))
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="appeal.firm_not_found")
    part = session.scalar(select(FairParticipation).where(
        FairParticipation.fair_id == fair.id, FairParticipation.enterprise_id == firm.id))
    if part is not None:
        return part
    part = FairParticipation(fair_id=fair.id, enterprise_id=firm.id,
                             status=PARTICIPATION.initial,
                             signed_up_on=signed_up_on or today())
    session.add(part)
    for need in session.scalars(select(HiringNeed).where(
            HiringNeed.enterprise_id == firm.id, HiringNeed.status == "open")):
        if "invite" in HIRING_NEED.allowed(need, actor):
            need.status = HIRING_NEED.action("invite").target
            need.fair_id = fair.id
            audit.changed(session, actor, "hiring.invite", need)
    audit.created(session, actor, "jobfair.sign_up", part)
    return part


def move_participation(session: Session, participation_id: int, action: str, *,
                       actor: Actor) -> FairParticipation:
    """attend / withdraw / rejoin (crm.lifecycle.PARTICIPATION)."""
    part = _participation(session, participation_id, actor, "jobfair.manage")
    if action not in PARTICIPATION.actions or action == "record":
        raise ValidationError(f"unknown action {action!r}", key="jobfair.bad_action")
    PARTICIPATION.check(part, action, actor)
    part.status = PARTICIPATION.action(action).target
    audit.changed(session, actor, f"jobfair.{action}", part)
    session.flush()
    return part


# --- positions -----------------------------------------------------------------------------

def position_fields(title: str | None, headcount: int | None, pay_min: int | None,
                    pay_max: int | None, pay_negotiable: bool,
                    requirements: str | None) -> dict:
    """A position's checked values (the importer stores the same): a title; a headcount
    of 0 or more; a pay range low ≤ high, or none with 面议."""
    title = rules.checked_text(title, "fair_position", "title")
    if not title:
        raise ValidationError("a position needs a title", key="field.needed", field="title")
    if headcount is None or headcount < 0:
        raise ValidationError("headcount", key="jobfair.bad_headcount", field="headcount")
    if pay_negotiable:
        pay_min = pay_max = None
    for value in (pay_min, pay_max):
        if value is not None and value < 0:
            raise ValidationError("pay", key="financing.bad_range", field="pay")
    if pay_min is not None and pay_max is not None and pay_min > pay_max:
        raise ValidationError("pay: low above high", key="financing.bad_range", field="pay")
    return {"title": title, "headcount": int(headcount), "pay_min": pay_min,
            "pay_max": pay_max, "pay_negotiable": bool(pay_negotiable),
            "requirements": rules.checked_text(requirements, "fair_position", "requirements")}


def save_position(session: Session, participation_id: int, *, actor: Actor, title: str,
                  headcount: int = 1, pay_min: int | None = None, pay_max: int | None = None,
                  pay_negotiable: bool = False, requirements: str | None = None,
                  position_id: int | None = None, version: int | None = None) -> FairPosition:
    """Add a position to a firm's participation, or edit one (`position_id` + the
    `version` the user saw). One title per firm per fair."""
    part = _participation(session, participation_id, actor, "jobfair.manage")
    values = position_fields(title, headcount, pay_min, pay_max, pay_negotiable, requirements)
    same = session.scalar(select(FairPosition.id).where(
        FairPosition.participation_id == part.id, FairPosition.title == values["title"]))
    if same is not None and same != position_id:
        raise ValidationError("the firm offers this position already",
                              key="jobfair.position_exists", title=values["title"])
    if position_id is None:
        pos = FairPosition(participation_id=part.id, **values)
        session.add(pos)
    else:
        pos = _position(session, position_id, actor, "jobfair.manage")
        if pos.participation_id != part.id:
            raise NotFound(f"position {position_id}", key="jobfair.not_found", id=position_id)
        if version is not None and version != pos.version:
            raise Conflict(f"position {position_id} changed since version {version}",
                           key="error.conflict")
        for key, value in values.items():
            setattr(pos, key, value)
    audit.saved(session, actor, "jobfair.position", pos)
    session.flush()
    return pos


# --- the funnel ----------------------------------------------------------------------------

def latest_update(session: Session, position_id: int,
                  on_or_before: dt.date | None = None) -> FairPositionUpdate | None:
    stmt = select(FairPositionUpdate).where(FairPositionUpdate.position_id == position_id)
    if on_or_before is not None:
        stmt = stmt.where(FairPositionUpdate.as_of <= on_or_before)
    return session.scalar(stmt.order_by(FairPositionUpdate.as_of.desc()).limit(1))


def update_problem(held_on: dt.date, as_of: dt.date, counts: dict[str, int | None],
                   today_: dt.date) -> tuple[str, str | None, dict] | None:
    """Why a funnel update dated `as_of` is refused, else None: (message key, the field to
    point at, params). Shared by the service and the importer (etl/kinds/jobfairs.py)."""
    if as_of < held_on:
        return ("jobfair.update_before_fair", "as_of", {"day": held_on.isoformat()})
    if as_of > today_:
        return ("jobfair.update_in_future", "as_of", {"day": as_of.isoformat()})
    if counts.get("retained_90d") is not None and rules.retention_pending(held_on, as_of):
        return ("jobfair.retention_too_early", "retained_90d",
                {"day": rules.retention_due(held_on).isoformat()})
    return rules.funnel_problem(counts)


def merged_counts(previous: FairPositionUpdate | dict | None,
                  given: dict[str, int | None]) -> dict[str, int | None]:
    """The whole funnel an update leaves: what it gives, else the figure on record (a
    stage no one counted yet is 0; retention stays None)."""
    def before(stage):
        if previous is None:
            return None
        return previous.get(stage) if isinstance(previous, dict) else getattr(previous, stage)

    out = {}
    for stage in COUNT_FIELDS:
        value = given.get(stage)
        out[stage] = value if value is not None else before(stage)
        if out[stage] is None and stage != "retained_90d":
            out[stage] = 0
    return out


def record_update(session: Session, position_id: int, *, actor: Actor, as_of: dt.date,
                  applicants: int | None = None, intents: int | None = None,
                  medical_checks: int | None = None, hired: int | None = None,
                  retained_90d: int | None = None) -> FairPositionUpdate:
    """A position's funnel as it stands on `as_of`. A stage not given keeps the latest
    figure on or before that day. Refused, and nothing changes, when the stages break
    their order (the message names both stages and numbers), when dated before the
    fair or in the future, or when it counts retention before 90 days have passed.
    A second update the same day replaces that day's figures."""
    pos = _position(session, position_id, actor, "jobfair.manage")
    part = pos.participation
    PARTICIPATION.check(part, "record", actor)
    fair = part.fair
    given = {"applicants": applicants, "intents": intents, "medical_checks": medical_checks,
             "hired": hired, "retained_90d": retained_90d}
    counts = merged_counts(latest_update(session, pos.id, as_of), given)
    problem = update_problem(fair.held_on, as_of, counts, today())
    if problem is not None:
        key, fld, params = problem
        raise ValidationError(f"{key}: {params}", key=key, field=fld, **params)
    update = session.scalar(select(FairPositionUpdate).where(
        FairPositionUpdate.position_id == pos.id, FairPositionUpdate.as_of == as_of))
    if update is None:
        update = FairPositionUpdate(position_id=pos.id, as_of=as_of)
        session.add(update)
    for stage, value in counts.items():
        setattr(update, stage, value)
    update.actor_id = actor.id
    if part.status == "signed_up" and counts["applicants"]:
        part.status = PARTICIPATION.action("attend").target  # figures: the firm came
    audit.saved(session, actor, "jobfair.update", update, position_id=pos.id)
    session.flush()
    return update


def position_history(session: Session, position_id: int, *, actor: Actor) -> list[dict]:
    """Every update of a position, oldest first (the drill-down under a funnel number)."""
    require(actor, "jobfair.read")
    pos = _position(session, position_id, actor, "jobfair.read")
    return [{"as_of": u.as_of, **{s: getattr(u, s) for s in COUNT_FIELDS},
             "recorded_at": u.recorded_at} for u in pos.updates]
