"""The append-only audit log: writing one entry per business write, and searching it.

Every service that changes business rows calls `record` in the same transaction, so
the entry lands with the change or not at all. An entry names who (the login, or
`os:<name>` for the command line's operator), what (action, entity, id), and the
record's fields before and after (only those that changed, via `changes`). A bulk
import writes one entry per batch with its counts and batch id: `import_record`
already holds every row's detail, and one entry per row would double the import's
writes for nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
from dataclasses import dataclass

from sqlalchemy import func, insert, inspect, or_, select
from sqlalchemy.orm import Session

from crm.access import require
from crm.auth import Actor
from crm.errors import ValidationError
from crm.models import Appeal, AuditLog, Enterprise, User
from crm.uscc import normalize

PAGE_SIZE = 50
_INSERT = insert(AuditLog.__table__)


def actor_label(actor: Actor | None) -> str | None:
    """The login's name; for the command line's actor (no id), the name it carries
    (`os:<OS user>`, see crm.cli), so a CLI write names the person at the keyboard."""
    if actor is None:
        return None
    return actor.username if actor.id is not None else actor.display_name


def _plain(value):
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def snapshot(record, fields: tuple[str, ...] | None = None) -> dict:
    """A record's column values as JSON-ready data (dates as ISO strings)."""
    columns = fields or tuple(c.key for c in inspect(record).mapper.column_attrs)
    return {name: _plain(getattr(record, name)) for name in columns}


def changes(before: dict | None, after: dict | None) -> tuple[dict | None, dict | None]:
    """Only the fields that differ, on each side (None for a side that did not exist)."""
    if before is None or after is None:
        return before, after
    keys = [k for k in after if before.get(k) != after.get(k)] + \
        [k for k in before if k not in after]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def record(session: Session, actor: Actor | None, action: str, entity: str,
           entity_id: int | None = None, *, before=None, after=None, at_once: bool = False,
           **detail) -> None:
    """Add one audit entry (the caller's transaction commits it with the change);
    `at_once` INSERTs it now instead of at the next flush, for a write that makes no
    flush of its own (`log_appeal`)."""
    values = dict(user_id=actor.id if actor else None, actor_label=actor_label(actor),
                  action=action, entity=entity, entity_id=entity_id,
                  before=_plain(before), after=_plain(after),
                  detail=_plain({k: v for k, v in detail.items() if v is not None}) or None)
    if at_once:
        session.execute(_INSERT, values)
    else:
        session.add(AuditLog(**values))


# --- searching ---------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditQuery:
    """What the audit page asks: a record (entity + id, or a QF code / USCC), a user
    (login name, or `os:<name>`), a date range (inclusive, the district's dates)."""

    entity: str | None = None
    entity_id: int | None = None
    code: str | None = None
    user: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None


def _resolve_code(session: Session, code: str) -> tuple[str, int]:
    """A QF appeal code or a firm's USCC as (entity, id)."""
    raw = code.strip()
    found = session.scalar(select(Appeal.id).where(Appeal.code.in_({raw, raw.upper()})))
    if found is not None:  # QF… numbers, and a ledger's own numbers as imported
        return "appeal", found
    uscc = normalize(raw)
    found = session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc))
    if found is not None:
        return "enterprise", found
    raise ValidationError(f"no appeal code or USCC {raw!r}", key="audit.code_unknown",
                          code=raw)


def search(session: Session, query: AuditQuery, *, actor: Actor, page: int = 0,
           page_size: int = PAGE_SIZE) -> dict:
    """One page of matching entries, newest first, and the total count."""
    require(actor, "audit.read")
    conditions = []
    entity, entity_id = query.entity, query.entity_id
    if query.code:
        entity, entity_id = _resolve_code(session, query.code)
    if entity:
        conditions.append(AuditLog.entity == entity)
    if entity_id is not None:
        conditions.append(AuditLog.entity_id == entity_id)
    if query.user:
        name = query.user.strip()
        conditions.append(or_(AuditLog.actor_label == name, AuditLog.user_id.in_(
            select(User.id).where(User.username == name))))
    if query.date_from:
        conditions.append(AuditLog.at >= dt.datetime.combine(query.date_from, dt.time()))
    if query.date_to:
        conditions.append(AuditLog.at < dt.datetime.combine(
            query.date_to + dt.timedelta(days=1), dt.time()))
    total = session.scalar(select(func.count()).select_from(AuditLog).where(*conditions))
    rows = session.execute(
        select(AuditLog, User.username).outerjoin(User, User.id == AuditLog.user_id)
        .where(*conditions).order_by(AuditLog.id.desc())
        .limit(page_size).offset(max(page, 0) * page_size)).all()
    return {"total": total, "page": page, "page_size": page_size,
            "rows": [{"id": log.id, "at": log.at, "user": username or log.actor_label,
                      "action": log.action, "entity": log.entity, "entity_id": log.entity_id,
                      "before": log.before, "after": log.after, "detail": log.detail}
                     for log, username in rows]}


def entities(session: Session, *, actor: Actor) -> list[str]:
    """The kinds of record the log holds (the page's choices)."""
    require(actor, "audit.read")
    return list(session.scalars(select(AuditLog.entity).distinct().order_by(AuditLog.entity)))


def _text(value) -> str:
    if value is None:
        return "∅"
    if isinstance(value, (dict, list)):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


def describe_change(before, after) -> str:
    """Before and after as lines a person reads: `field: old → new` (pure, for the page)."""
    if before is None and after is None:
        return ""
    if not isinstance(before, dict) or not isinstance(after, dict):
        if isinstance(after, dict) and before is None:
            return "; ".join(f"{k}: {_text(v)}" for k, v in after.items())
        if isinstance(before, dict) and after is None:
            return "; ".join(f"{k}: {_text(v)} → ∅" for k, v in before.items())
        return f"{_text(before)} → {_text(after)}"
    keys = list(dict.fromkeys([*before, *after]))
    return "; ".join(f"{k}: {_text(before.get(k))} → {_text(after.get(k))}" for k in keys)


def describe_detail(detail) -> str:
    if not detail:
        return ""
    if not isinstance(detail, dict):
        return _text(detail)
    return "; ".join(f"{k}={_text(v)}" for k, v in detail.items())


# --- one record's change, from the ORM's own bookkeeping -----------------------------------

def pending_changes(record) -> tuple[dict, dict]:
    """The column values changed on `record` since it was loaded or last flushed:
    (before, after). Cheap: SQLAlchemy keeps this history anyway; call before the flush."""
    state = inspect(record)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        history = state.attrs[attr.key].history
        if history.added or history.deleted:
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old != new:
                before[attr.key], after[attr.key] = _plain(old), _plain(new)
    return before, after


def created(session: Session, actor: Actor | None, action: str, obj, **detail) -> None:
    """A new record: its values as `after` (flushed first when it has no id yet)."""
    if inspect(obj).identity is None:
        session.flush()
    _add(session, actor, action, obj, None, snapshot(obj), detail)


def changed(session: Session, actor: Actor | None, action: str, obj, *,
            before: dict | None = None, after: dict | None = None, **detail) -> None:
    """A changed record: the fields changed since its last flush, before and after (call
    before the flush), over `before` / `after` given by a caller that knows more (a
    query in between autoflushes and resets the ORM's history)."""
    old, new = pending_changes(obj)
    old, new = {**(before or {}), **old}, {**(after or {}), **new}
    _add(session, actor, action, obj, old or None, new or None, detail)


def _add(session, actor, action, obj, before, after, detail) -> None:
    record(session, actor, action, obj.__tablename__, getattr(obj, "id", None),
           before=before, after=after, **detail)


def saved(session: Session, actor: Actor | None, action: str, obj, **detail) -> None:
    """`created` for a record not yet in the database, else `changed`."""
    if inspect(obj).persistent:
        changed(session, actor, action, obj, **detail)
    else:
        created(session, actor, action, obj, **detail)


def command_line_actor(session: Session | None, as_user: str | None) -> Actor:
    """Who the command line acts as: the login named by `--as` (with that login's rights),
    else the operator (crm.access.SYSTEM) labelled with the OS user, `os:<name>`, so the
    audit log names the person at the keyboard either way."""
    import dataclasses
    import getpass

    from crm.access import SYSTEM
    from crm.services.users import actor_of

    if not as_user:
        return dataclasses.replace(SYSTEM, display_name=f"os:{getpass.getuser()}")
    user = session.scalar(select(User).where(User.username == as_user.strip()))
    if user is None or not user.active:
        raise ValidationError(f"--as {as_user}: no such active login", key="audit.no_login",
                              name=as_user)
    return actor_of(user)


def resolve_command_line_actor(as_user: str | None) -> Actor:
    """`command_line_actor` on the configured database (the command line's global `--as`);
    a database without logins yet is one clear message, not a traceback."""
    if not as_user:
        return command_line_actor(None, None)
    from sqlalchemy.exc import SQLAlchemyError

    from crm.db import make_engine, session_factory
    from crm.errors import CrmError

    try:
        with session_factory(make_engine())() as session:
            return command_line_actor(session, as_user)
    except SQLAlchemyError:
        raise CrmError(f"--as {as_user}: the database has no logins yet (run init-db "
                       "without --as)") from None
