"""A fair's funnel as of a date: totals, drop-off per stage, fill rate, per firm and position.

One computation for the fair's board, the comparison across fairs, the firm page, the
CLI (`python -m crm jobfair report`) and the xlsx report (etl/jobfair_report.py).
A position's funnel as of a day is its latest update on or before that day. Counts
run over the fair's stored positions (of firms that did not withdraw) within the
actor's scope: a liaison's numbers are their street's firms'. Retention (在岗90天)
is None — "pending" — until 90 days have passed since the fair, never 0; after that
it is the sum of the figures counted (None when none was).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from crm import rules
from crm.access import condition, require
from crm.auth import Actor
from crm.db import today
from crm.errors import ValidationError
from crm.models import (
    Enterprise,
    FairParticipation,
    FairPosition,
    FairPositionUpdate,
    JobFair,
    Street,
)
from crm.services.jobfairs import get_fair

STAGES = rules.FUNNEL  # applicants … retained_90d
REPORT_KEYS = ("fair", "held_on", "street", "firms", "positions", "headcount", "applicants",
               "intents", "medical_checks", "hired", "retained_90d", "fill_rate")
MEASURES = ("firms", "positions", "headcount", *STAGES)


def _latest(as_of: dt.date):
    """Each position's latest update on or before `as_of`, as a subquery."""
    last = (select(FairPositionUpdate.position_id,
                   func.max(FairPositionUpdate.as_of).label("as_of"))
            .where(FairPositionUpdate.as_of <= as_of)
            .group_by(FairPositionUpdate.position_id).subquery())
    return (select(FairPositionUpdate)
            .join(last, and_(last.c.position_id == FairPositionUpdate.position_id,
                             last.c.as_of == FairPositionUpdate.as_of)).subquery())


def position_rows(session: Session, fair_ids: list[int], *, actor: Actor,
                  as_of: dt.date) -> list[dict]:
    """Every position of these fairs within scope, with its funnel as of the day; a
    participation without positions gives one row with no position."""
    require(actor, "jobfair.read")
    u = _latest(as_of)
    stmt = (select(FairParticipation.fair_id, FairParticipation.id.label("participation_id"),
                   FairParticipation.status, FairParticipation.enterprise_id,
                   Enterprise.name.label("firm"), Enterprise.uscc,
                   FairPosition.id.label("position_id"), FairPosition.title,
                   FairPosition.headcount, FairPosition.pay_min, FairPosition.pay_max,
                   FairPosition.pay_negotiable, FairPosition.requirements,
                   FairPosition.version, u.c.as_of.label("updated_on"),
                   *[u.c[s] for s in STAGES])
            .join(Enterprise, Enterprise.id == FairParticipation.enterprise_id)
            .outerjoin(FairPosition, FairPosition.participation_id == FairParticipation.id)
            .outerjoin(u, u.c.position_id == FairPosition.id)
            .where(FairParticipation.fair_id.in_(fair_ids),
                   condition(actor, "jobfair.read", FairParticipation))
            .order_by(FairParticipation.fair_id, Enterprise.name, FairPosition.id))
    return [dict(r) for r in session.execute(stmt).mappings()]


def _totals(rows: list[dict], held_on: dt.date, as_of: dt.date) -> dict:
    """Totals over rows of one fair (withdrawn firms left out)."""
    live = [r for r in rows if r["status"] != "withdrawn"]
    positions = [r for r in live if r["position_id"] is not None]
    out = {"firms": len({r["participation_id"] for r in live}), "positions": len(positions),
           "headcount": sum(r["headcount"] or 0 for r in positions)}
    for stage in STAGES[:-1]:
        out[stage] = sum(r[stage] or 0 for r in positions)
    retained = [r["retained_90d"] for r in positions if r["retained_90d"] is not None]
    out["retained_90d"] = None if rules.retention_pending(held_on, as_of) or not retained \
        else sum(retained)
    out["retention_pending"] = rules.retention_pending(held_on, as_of)
    out["fill_rate"] = rules.fill_rate(out["hired"], out["headcount"])
    return out


def drop_off(totals: dict) -> list[dict]:
    """Per stage after the first: how many the stage kept from the one before, how many it
    lost, and the share kept (None when the earlier stage is 0 or retention pending)."""
    out = []
    for before, after in zip(STAGES, STAGES[1:], strict=False):
        a, b = totals[before], totals[after]
        out.append({"from": before, "to": after, "from_count": a, "to_count": b,
                    "lost": None if a is None or b is None else a - b,
                    "kept": None if not a or b is None else b / a})
    return out


def _check_as_of(as_of: dt.date | None) -> dt.date:
    if as_of is None:
        return today()
    if not isinstance(as_of, dt.date):
        raise ValidationError("as_of", key="field.needed", field="as_of")
    return as_of


def fair_report(session: Session, fair_id: int, *, actor: Actor,
                as_of: dt.date | None = None) -> dict:
    """A fair's board: its facts, totals, drop-off, and per firm and per position."""
    require(actor, "jobfair.read")
    as_of = _check_as_of(as_of)
    fair = get_fair(session, fair_id, actor=actor)
    street = session.get(Street, fair.street_id) if fair.street_id else None
    rows = position_rows(session, [fair.id], actor=actor, as_of=as_of)
    totals = _totals(rows, fair.held_on, as_of)
    firms: dict[int, dict] = {}
    for r in rows:
        f = firms.setdefault(r["participation_id"], {
            "participation_id": r["participation_id"], "enterprise_id": r["enterprise_id"],
            "firm": r["firm"], "status": r["status"], "rows": []})
        f["rows"].append(r)
    firm_rows = []
    for f in firms.values():
        t = _totals([{**r, "status": "attended"} for r in f.pop("rows")], fair.held_on, as_of)
        firm_rows.append({**f, **{k: t[k] for k in ("positions", "headcount", *STAGES,
                                                     "fill_rate")}})
    pending = rules.retention_pending(fair.held_on, as_of)
    positions = [{**r, "retained_90d": None if pending else r["retained_90d"],
                  "fill_rate": rules.fill_rate(r["hired"], r["headcount"])}
                 for r in rows if r["position_id"] is not None]
    return {"fair": {"id": fair.id, "name": fair.name, "held_on": fair.held_on,
                     "place": fair.place, "street": street.name if street else None,
                     "street_id": fair.street_id, "kind": fair.kind, "note": fair.note,
                     "version": fair.version},
            "as_of": as_of, "retention_due": rules.retention_due(fair.held_on),
            "totals": totals, "drop_off": drop_off(totals), "firms": firm_rows,
            "positions": positions}


def report(session: Session, *, actor: Actor, fair_name: str | None = None,
           as_of: dt.date | None = None) -> list[dict]:
    """One row per fair the actor may see (all fairs of `fair_name` when given), oldest
    first, with the keys of REPORT_KEYS (the CLI's JSON, the comparison page)."""
    require(actor, "jobfair.read")
    as_of = _check_as_of(as_of)
    stmt = (select(JobFair.id, JobFair.name, JobFair.held_on, Street.name.label("street"))
            .outerjoin(Street, Street.id == JobFair.street_id)
            .where(condition(actor, "jobfair.read", JobFair))
            .order_by(JobFair.held_on, JobFair.id))
    if fair_name is not None:
        stmt = stmt.where(JobFair.name == fair_name.strip())
    fairs = session.execute(stmt).all()
    rows = position_rows(session, [f.id for f in fairs], actor=actor, as_of=as_of)
    by_fair: dict[int, list[dict]] = {}
    for r in rows:
        by_fair.setdefault(r["fair_id"], []).append(r)
    out = []
    for f in fairs:
        t = _totals(by_fair.get(f.id, []), f.held_on, as_of)
        out.append({"id": f.id, "fair": f.name, "held_on": f.held_on, "street": f.street,
                    **{k: t[k] for k in REPORT_KEYS[4:]}, "firms": t["firms"],
                    "retention_pending": t["retention_pending"]})
    return out


def drill(session: Session, fair_id: int, measure: str, *, actor: Actor,
          as_of: dt.date | None = None) -> list[dict]:
    """The records behind one number of a fair's board: the firms (firms), the positions
    (positions, headcount), or the positions with their figure at a stage, largest
    first (applicants … retained_90d)."""
    if measure not in MEASURES:
        raise ValidationError(f"unknown measure {measure!r}", key="jobfair.bad_measure")
    board = fair_report(session, fair_id, actor=actor, as_of=as_of)
    if measure == "firms":
        return [{k: f[k] for k in ("firm", "status", "positions", "headcount", "applicants",
                                   "hired", "fill_rate", "enterprise_id")}
                for f in board["firms"] if f["status"] != "withdrawn"]
    live = [p for p in board["positions"] if p["status"] != "withdrawn"]
    key = "headcount" if measure in ("positions", "headcount") else measure
    rows = [{"firm": p["firm"], "title": p["title"], "headcount": p["headcount"],
             "count": p[key], "updated_on": p["updated_on"], "position_id": p["position_id"],
             "enterprise_id": p["enterprise_id"]} for p in live]
    if key != "headcount":
        rows = [r for r in rows if r["count"]]
    return sorted(rows, key=lambda r: (-(r["count"] or 0), r["firm"], r["title"]))


def firm_history(session: Session, enterprise_id: int, *, actor: Actor,
                 as_of: dt.date | None = None) -> list[dict]:
    """A firm's fairs, latest first: each position with its funnel as of the day and the
    fill rate (the firm page's hiring history)."""
    require(actor, "jobfair.read")
    as_of = _check_as_of(as_of)
    fair_ids = list(session.scalars(select(FairParticipation.fair_id).where(
        FairParticipation.enterprise_id == enterprise_id)))
    if not fair_ids:
        return []
    fairs = {f.id: f for f in session.scalars(select(JobFair).where(JobFair.id.in_(fair_ids)))}
    rows = [r for r in position_rows(session, fair_ids, actor=actor, as_of=as_of)
            if r["enterprise_id"] == enterprise_id]
    out = []
    for r in rows:
        fair = fairs[r["fair_id"]]
        pending = rules.retention_pending(fair.held_on, as_of)
        out.append({"fair_id": fair.id, "fair": fair.name, "held_on": fair.held_on,
                    "status": r["status"], "title": r["title"], "headcount": r["headcount"],
                    **{s: r[s] for s in STAGES},
                    "retained_90d": None if pending else r["retained_90d"],
                    "fill_rate": rules.fill_rate(r["hired"], r["headcount"])
                    if r["position_id"] else None})
    return sorted(out, key=lambda r: (r["held_on"], r["fair_id"]), reverse=True)
