"""春风行动: a firm's participation in a job fair and its hiring funnel, entered one at a time.

The fair is found or created by name + date, the participation by fair + firm,
a position by participation + title (the importer's keys); the limits and the
funnel order (applicants ≥ intents ≥ medical checks ≥ hired) are `crm.rules`,
which the importer (`etl/kinds/others.py`) uses too. Counts out of that order are
kept, with a note: the importer notes the row, and a form shows
`rules.funnel_break(counts)` as a warning (walk-ins may state an intent without
handing in a résumé). The caller commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm import rules
from crm.access import require
from crm.auth import Actor
from crm.errors import NotFound, ValidationError
from crm.models import Enterprise, FairParticipation, FairPosition, JobFair
from crm.services.scope import enterprise_scope


def record_fair_participation(session: Session, *, actor: Actor, fair_name: str,
                              held_on: dt.date, enterprise_id: int, place: str | None = None,
                              street_id: int | None = None, applicants: int | None = None,
                              intents: int | None = None, medical_checks: int | None = None,
                              hired: int | None = None, retained_90d: int | None = None,
                              positions: Sequence[dict] = ()) -> FairParticipation:
    """A firm at a fair: its funnel counts (a count not given stays as it is, 0 when new)
    and its positions (dicts of `title`, optional `headcount`, `pay_min`, `pay_max`)."""
    require(actor, "jobfair.manage")
    fair_name = rules.checked_text(fair_name, "job_fair", "name")
    if not fair_name:
        raise ValidationError("the fair needs a name", key="field.needed", field="fair")
    place = rules.checked_text(place, "job_fair", "place")
    firm = session.scalar(select(Enterprise).where(Enterprise.id == enterprise_id,
                                                   enterprise_scope(actor)))
    if firm is None:
        raise NotFound(f"enterprise {enterprise_id}", key="appeal.firm_not_found")
    counts = {"applicants": applicants, "intents": intents, "medical_checks": medical_checks,
              "hired": hired, "retained_90d": retained_90d}
    for stage, value in counts.items():
        if value is not None and value < 0:
            raise ValidationError(f"{stage} is negative", key="financing.bad_value", field=stage)
    titles = [rules.checked_text(p.get("title"), "fair_position", "title") for p in positions]
    if not all(titles):
        raise ValidationError("a position needs a title", key="field.needed", field="position")
    fair = session.scalar(select(JobFair).where(JobFair.name == fair_name,
                                                JobFair.held_on == held_on))
    if fair is None:
        fair = JobFair(name=fair_name, held_on=held_on)
        session.add(fair)
    if place is not None:
        fair.place = place
    if street_id is not None:
        fair.street_id = street_id
    session.flush()
    part = session.scalar(select(FairParticipation).where(
        FairParticipation.fair_id == fair.id, FairParticipation.enterprise_id == firm.id))
    if part is None:
        part = FairParticipation(fair_id=fair.id, enterprise_id=firm.id)
        session.add(part)
    for stage, value in counts.items():
        if value is not None:
            setattr(part, stage, value)
    session.flush()
    for title, spec in zip(titles, positions, strict=True):
        pos = session.scalar(select(FairPosition).where(
            FairPosition.participation_id == part.id, FairPosition.title == title))
        if pos is None:
            pos = FairPosition(participation_id=part.id, title=title)
            session.add(pos)
        for fld in ("headcount", "pay_min", "pay_max"):
            if spec.get(fld) is not None:
                setattr(pos, fld, spec[fld])
        if pos.pay_min is not None and pos.pay_max is not None and pos.pay_min > pos.pay_max:
            raise ValidationError("pay: low above high", key="financing.bad_range", field="pay")
    session.flush()
    return part
