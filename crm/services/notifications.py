"""The in-app notifications of one login (通知): what escalation sent them, read or unread.

A notification belongs to its recipient only: every function reads and changes the
actor's own rows (capability `notification.read`, scope self), and a notification of
someone else is "not found", never shown or marked.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from crm.access import require
from crm.auth import Actor
from crm.db import now as _now
from crm.errors import NotFound
from crm.models import Appeal, Enterprise, Notification, Unit

LIST_LIMIT = 200


def _own(actor: Actor):
    return Notification.user_id == actor.id


def unread_count(session: Session, *, actor: Actor) -> int:
    require(actor, "notification.read")
    return session.scalar(select(func.count()).select_from(Notification)
                          .where(_own(actor), Notification.read_at.is_(None))) or 0


def list_notifications(session: Session, *, actor: Actor, unread_only: bool = False,
                       limit: int = LIST_LIMIT) -> list[dict]:
    """The actor's notifications, newest first, with the appeal they are about."""
    require(actor, "notification.read")
    stmt = (select(Notification.id, Notification.kind, Notification.created_at,
                   Notification.read_at, Appeal.code, Appeal.title, Appeal.due_date,
                   Appeal.status, Enterprise.name.label("enterprise"),
                   Unit.name.label("lead_unit"))
            .join(Appeal, Appeal.id == Notification.appeal_id)
            .join(Enterprise, Enterprise.id == Appeal.enterprise_id)
            .outerjoin(Unit, Unit.id == Appeal.lead_unit_id)
            .where(_own(actor))
            .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit))
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return [{**row._asdict(), "read": row.read_at is not None}
            for row in session.execute(stmt)]


def mark_read(session: Session, notification_ids: list[int] | int, *, actor: Actor) -> int:
    """Mark the actor's own notifications read; returns how many changed."""
    require(actor, "notification.read")
    ids = [notification_ids] if isinstance(notification_ids, int) else list(notification_ids)
    if not ids:
        return 0
    mine = set(session.scalars(select(Notification.id)
                               .where(Notification.id.in_(ids), _own(actor))))
    if len(mine) != len(set(ids)):
        raise NotFound("notification", key="notification.not_found")
    return session.execute(update(Notification)
                           .where(Notification.id.in_(ids), Notification.read_at.is_(None))
                           .values(read_at=_now())).rowcount


def mark_all_read(session: Session, *, actor: Actor) -> int:
    require(actor, "notification.read")
    return session.execute(update(Notification)
                           .where(_own(actor), Notification.read_at.is_(None))
                           .values(read_at=_now())).rowcount
