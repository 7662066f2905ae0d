"""Odoo sync: which remote record a local record is, and each run of the sync.

The mapping row remembers the remote id (so a sync updates, never duplicates),
`synced_hash` (a hash of the mapped fields as both sides last agreed: a side whose
current values hash differently has changed since), the remote `write_date` then,
and `remote_seen` (for appeals: the stage and the last Odoo message already put on
the timeline).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, now
from crm.models._types import choice, intpk

RUN_STATUSES = ("running", "ok", "partial", "failed")


class OdooMapping(Base):
    __tablename__ = "odoo_mapping"
    __table_args__ = (UniqueConstraint("entity", "local_id", "remote_model"),
                      UniqueConstraint("remote_model", "remote_id"))
    id: Mapped[intpk]
    entity: Mapped[str] = mapped_column(String(40))  # local table, e.g. "enterprise"
    local_id: Mapped[int]
    remote_model: Mapped[str] = mapped_column(String(60))  # e.g. "res.partner"
    remote_id: Mapped[int]
    remote_write_date: Mapped[str | None] = mapped_column(String(30))
    synced_at: Mapped[dt.datetime] = mapped_column(default=now)
    synced_hash: Mapped[str | None] = mapped_column(String(64))
    remote_seen: Mapped[dict | None] = mapped_column(JSON)


class OdooRun(Base):
    """One `odoo sync` (command line or the page's "run now"), with what it did."""

    __tablename__ = "odoo_run"
    id: Mapped[intpk]
    started_at: Mapped[dt.datetime] = mapped_column(default=now, index=True)
    finished_at: Mapped[dt.datetime | None]
    scope: Mapped[str] = mapped_column(String(20))  # all, firms, appeals
    dry_run: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(choice(*RUN_STATUSES, name="odoo_run_status"),
                                        default="running")
    counts: Mapped[dict | None] = mapped_column(JSON)
    errors: Mapped[list | None] = mapped_column(JSON)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor: Mapped[str] = mapped_column(String(60))  # login, or "system" at the command line
