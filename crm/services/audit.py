"""Writing to the append-only audit log."""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.auth import Actor
from crm.models import AuditLog


def record(session: Session, actor: Actor | None, action: str, entity: str,
           entity_id: int | None = None, **detail) -> None:
    session.add(AuditLog(user_id=actor.id if actor else None, action=action, entity=entity,
                         entity_id=entity_id, detail=detail or None))
