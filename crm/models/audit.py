"""The append-only audit log. Triggers in the migrations refuse UPDATE and DELETE (and, on
PostgreSQL, TRUNCATE).

One row per business write: who (`user_id`, and `actor_label`: the login, or `os:<name>`
for the command line's operator), when, what (`action` on `entity` `entity_id`), the
record's `before` and `after` (changed fields, as JSON) and any further `detail`.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, now
from crm.models._types import intpk


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),
                      Index("ix_audit_log_at", "at"))
    id: Mapped[intpk]
    at: Mapped[dt.datetime] = mapped_column(default=now)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str | None] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None]
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    detail: Mapped[dict | None] = mapped_column(JSON)
