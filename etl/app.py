"""The etl layer's entry point: spreadsheet import and export, and the bulletin download,
as what the import and bulletin pages and the command line call.

etl sits above the services: it reads and writes through crm.models and
crm.services, and nothing under crm/ imports it (the command line, crm.cli, is
an entry point like pages/ and calls this module only).

An admin imports anything district-wide; a liaison imports their own street's
data (rows of other streets are rejected, firms without a street go to theirs).
The caller owns the transaction: commit and the batch lands whole.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from crm.access import ALL, condition, require
from crm.auth import Actor
from crm.errors import NotFound, ValidationError
from crm.models import HeaderMapping, ImportBatch, Street, User
from crm.models.imports import IMPORT_KINDS
from crm.services import audit
from crm.services.bulletin import bulletin
from crm.textsafety import CONTROL_RE
from etl import bulletin as bulletin_writer
from etl.engine import run
from etl.export import errors_workbook, export, export_rows, write_xlsx
from etl.export import template as blank
from etl.headers import field_label, fields_of
from etl.kinds import get_kind
from etl.readers import ReadError
from etl.rollback import rollback_batch

KINDS = IMPORT_KINDS


def _check(actor: Actor | None, kind: str | None = None,
           capability: str = "import.run") -> str:
    """Refuse a role without the capability (crm.access); no actor is the command line."""
    scope = require(actor, capability) if actor is not None else ALL
    if kind is not None and kind not in KINDS:
        raise ValidationError(f"unknown kind {kind!r}", key="import.unknown_kind", kind=kind)
    return scope


def import_file(session: Session, source: bytes | str | Path, kind: str, *,
                actor: Actor | None = None, filename: str | None = None,
                sheet: str | None = None, strict: bool = False, dry_run: bool = False,
                overrides: dict[str, str | None] | None = None, progress=None):
    """Import (or with dry_run, only check) one sheet; returns the etl Report.

    A file that cannot be read raises ValidationError(import.unreadable) with the reason.
    """
    _check(actor, kind)
    if filename:  # an upload's name is the browser's word: no NUL into the batch record
        filename = CONTROL_RE.sub("", filename)
    try:
        report = run(session, get_kind(kind), source, filename=filename, sheet=sheet,
                     strict=strict, dry_run=dry_run, actor=actor,
                     street_id=actor.street_id if actor else None, overrides=overrides,
                     progress=progress)
    except ReadError as err:
        reason = (str(err).splitlines() or ["unreadable"])[0]
        raise ValidationError(reason, key=err.key, **err.params) from None
    if report.written and report.batch_id is not None:  # one entry per batch, not per row
        audit.record(session, actor, "import.batch", "import_batch", report.batch_id,
                     kind=kind, filename=report.filename, sheet=report.sheet,
                     rows_read=report.rows_read, inserted=report.inserted,
                     updated=report.updated, unchanged=report.unchanged,
                     rejected=report.rejected)
    return report


def field_names(session: Session, kind: str, *, actor: Actor | None = None) -> list[str]:
    """The fields a column of this kind may map to (for the mapping editor)."""
    _check(actor, kind)
    return list(fields_of(kind))


def field_labels(kind: str, lang: str = "zh") -> dict[str, str]:
    """field -> its name in words, for the mapping editor (no data: no session, no actor)."""
    return {f: field_label(kind, f, lang) for f in fields_of(kind)}


def save_mapping(session: Session, kind: str, mapping: dict[str, str | None], *,
                 actor: Actor) -> int:
    """Remember header → field choices for the next file of the actor's street."""
    _check(actor, kind)
    known = set(fields_of(kind))
    street_id = actor.street_id
    count = 0
    for header, fld in mapping.items():
        header = " ".join(str(header).split())[:100]
        if not header or (fld is not None and fld not in known):
            continue
        session.execute(delete(HeaderMapping).where(
            HeaderMapping.kind == kind, HeaderMapping.source_header == header,
            HeaderMapping.street_id.is_(None) if street_id is None
            else HeaderMapping.street_id == street_id))
        session.add(HeaderMapping(kind=kind, street_id=street_id, source_header=header,
                                  field=fld))
        count += 1
    if count:
        audit.record(session, actor, "import.mapping", "header_mapping", None,
                     after={" ".join(str(h).split())[:100]: f for h, f in mapping.items()},
                     kind=kind, street_id=street_id)
    session.flush()
    return count


def list_batches(session: Session, *, actor: Actor, limit: int = 50) -> list[dict]:
    scope = _check(actor)
    stmt = (select(ImportBatch, Street.name, User.display_name)
            .outerjoin(Street, Street.id == ImportBatch.street_id)
            .outerjoin(User, User.id == ImportBatch.user_id)
            .order_by(ImportBatch.id.desc()).limit(limit))
    if scope != ALL:
        stmt = stmt.where(condition(actor, "import.run", ImportBatch))
    return [{"id": b.id, "kind": b.kind, "filename": b.filename, "sheet": b.sheet,
             "street": street, "user": user, "status": b.status, "started_at": b.started_at,
             "rows_read": b.rows_read, "inserted": b.inserted, "updated": b.updated,
             "unchanged": b.unchanged, "rejected": b.rejected}
            for b, street, user in session.execute(stmt)]


def rollback(session: Session, batch_id: int, *, actor: Actor) -> dict[str, int]:
    """Undo a batch (admin, or the liaison whose street it was)."""
    _check(actor)
    batch = session.get(ImportBatch, batch_id)
    if batch is None:
        raise NotFound(f"import batch {batch_id}", key="import.batch_not_found", id=batch_id)
    require(actor, "import.run", batch)  # a liaison: their own street's batches
    counts = rollback_batch(session, batch_id)
    audit.record(session, actor, "import.rollback", "import_batch", batch_id, **counts)
    return counts


def template(kind: str) -> bytes:
    _check(None, kind)
    return blank(kind)


def export_bytes(session: Session, kind: str, *, actor: Actor | None = None) -> bytes:
    _check(actor, kind, "import.export")
    header, rows = export_rows(session, kind)
    buffer = io.BytesIO()
    write_xlsx(header, rows, buffer, sheet=kind)
    return buffer.getvalue()


def errors_bytes(report, lang: str = "zh") -> bytes:
    buffer = io.BytesIO()
    errors_workbook(report, buffer, lang)
    return buffer.getvalue()


def export_file(session: Session, kind: str, target: str | Path) -> int:
    """Every record of `kind` to an .xlsx or .csv file (by its name); the row count."""
    _check(None, kind)
    return export(session, kind, target)


def bulletin_xlsx(session: Session, *, actor: Actor | None = None, month: str,
                  as_of: dt.date | None = None, lang: str = "zh") -> bytes:
    """The month's bulletin (crm.services.bulletin) as a formatted workbook."""
    return bulletin_writer.to_xlsx(
        bulletin(session, actor=actor, month=month, as_of=as_of, lang=lang), lang)


def bulletin_csv(session: Session, *, actor: Actor | None = None, month: str,
                 as_of: dt.date | None = None, lang: str = "zh") -> bytes:
    """The month's bulletin as CSV."""
    return bulletin_writer.to_csv(
        bulletin(session, actor=actor, month=month, as_of=as_of, lang=lang), lang)


def jobfair_xlsx(session: Session, fair_id: int, *, actor: Actor | None = None,
                 as_of: dt.date | None = None, lang: str = "zh") -> bytes:
    """A fair's report (crm.services.jobfair_report) as a formatted workbook."""
    from crm.access import SYSTEM
    from crm.services.jobfair_report import fair_report
    from etl import jobfair_report

    board = fair_report(session, fair_id, actor=actor or SYSTEM, as_of=as_of)
    return jobfair_report.to_xlsx(board, lang)
