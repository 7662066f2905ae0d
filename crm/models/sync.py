"""Odoo id mapping: which remote record a local record is, so sync can update, not duplicate."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, now
from crm.models._types import intpk


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
