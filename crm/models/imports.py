"""Import batches and row provenance: every imported record knows its file, sheet and row."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base, now
from crm.models._types import choice, intpk

IMPORT_KINDS = ("enterprises", "appeals", "visits", "assignments", "financing-needs",
                "bank-products", "job-fair")
BATCH_STATUSES = ("running", "done", "failed", "rolled_back", "dry_run")


class ImportBatch(Base):
    __tablename__ = "import_batch"
    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(choice(*IMPORT_KINDS, name="import_kind"))
    filename: Mapped[str] = mapped_column(String(255))
    sheet: Mapped[str | None] = mapped_column(String(100))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    strict: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(choice(*BATCH_STATUSES, name="batch_status"),
                                        default="running")
    started_at: Mapped[dt.datetime] = mapped_column(default=now)
    finished_at: Mapped[dt.datetime | None]
    rows_read: Mapped[int] = mapped_column(default=0)
    inserted: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    unchanged: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    errors: Mapped[list | None] = mapped_column(JSON)


class ImportRecord(Base):
    """Which row of which batch wrote which record (and whether it inserted or updated).

    One row may stand for a run of inserted records: ids record_id … record_id + span - 1
    from the sheet's rows row_number … row_number + span - 1 (a column-wise block of
    new appeals; 100,000 of them take a few hundred rows here instead of 100,000).
    `etl.rollback.batch_records` gives them back one record each.
    """

    __tablename__ = "import_record"
    __table_args__ = (Index("ix_import_record_entity", "entity", "record_id"),)
    id: Mapped[intpk]
    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batch.id", ondelete="CASCADE"),
                                          index=True)
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int]
    sheet: Mapped[str | None] = mapped_column(String(100))
    row_number: Mapped[int]
    action: Mapped[str] = mapped_column(choice("inserted", "updated", name="import_action"))
    previous: Mapped[dict | None] = mapped_column(JSON)  # values before an update, for rollback
    span: Mapped[int] = mapped_column(default=1, server_default="1")


class HeaderMapping(Base):
    """A column mapping a user fixed by hand, remembered for the next file of that street."""

    __tablename__ = "header_mapping"
    __table_args__ = (UniqueConstraint("kind", "street_id", "source_header"),)
    id: Mapped[intpk]
    kind: Mapped[str] = mapped_column(String(24))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    source_header: Mapped[str] = mapped_column(String(100))
    field: Mapped[str | None] = mapped_column(String(40))  # None = ignore this column


class CategoryWord(Base):
    """A category word an appeal ledger used that is no category's name: how often imports
    met it, and the category an administrator mapped it to (None: not yet, filed under
    其他 with a warning). A mapped word is read as its category, silently."""

    __tablename__ = "category_word"
    id: Mapped[intpk]
    word: Mapped[str] = mapped_column(String(60), unique=True)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("category.id"))
    seen: Mapped[int] = mapped_column(default=0, server_default="0")
