"""One sync run: recorded before it starts, finished (or failed) on the record, audited.

The run row is written in its own transaction first, so a run that dies (a killed
process, a lost database) still shows on the admin page as `running` since then. The
firm and appeal syncs commit their own batches; whatever stops the run, the committed
batches are consistent and the next run carries on (see crm.odoo.firms).

Only one run at a time: two at once would both create in Odoo what neither has seen yet.
A run still marked `running` keeps others out for two hours (then it is taken for dead).

Status: `ok`; `partial` when some records were refused (listed in `errors`); `failed`
when the run stopped (wrong password, server unreachable or timing out, a batch refused),
its message first in `errors`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from crm.auth import Actor
from crm.config import get_settings
from crm.db import now
from crm.models import OdooRun
from crm.odoo import settings as odoo_settings
from crm.odoo.appeals import sync_appeals
from crm.odoo.errors import OdooBusy, OdooError
from crm.odoo.firms import sync_firms
from crm.odoo.gateway import Gateway
from crm.odoo.tally import Context
from crm.services import audit

SCOPES = ("firms", "appeals")
# A run still `running` after this long died without finishing (a killed process): it no
# longer keeps the next one out.
STALE_AFTER = dt.timedelta(hours=2)


@dataclass
class RunResult:
    run_id: int
    status: str
    dry_run: bool
    summary: dict      # created, updated, unchanged, conflicts, errors
    detail: dict       # per entity: created_odoo, created_qifu, … skipped
    issues: list[dict]


def run_sync(sessions: sessionmaker, gateway: Gateway, *, actor: Actor,
             only: str | None = None, dry_run: bool = False, progress=None,
             batch_size: int = 500) -> RunResult:
    """Sync firms, then appeals (or `only` one); raise the OdooError that stopped it."""
    if only not in (None, *SCOPES):
        raise ValueError(f"only must be one of {SCOPES}")
    with sessions.begin() as s:
        busy = s.scalar(select(OdooRun).where(OdooRun.status == "running",
                                              OdooRun.started_at > now() - STALE_AFTER)
                        .order_by(OdooRun.id.desc()).limit(1))
        if busy is not None:
            raise OdooBusy(f"another Odoo sync (run {busy.id}, by {busy.actor}) is running "
                           f"since {busy.started_at:%Y-%m-%d %H:%M}", key="odoo.error.busy",
                           run=busy.id, actor=busy.actor,
                           since=f"{busy.started_at:%Y-%m-%d %H:%M}")
        values = odoo_settings.effective(s)
        run = OdooRun(scope=only or "all", dry_run=dry_run, status="running",
                      user_id=actor.id, actor=actor.username)
        s.add(run)
        s.flush()
        run_id = run.id
    ctx = Context(actor=actor, dry_run=dry_run, winner=values["conflict_winner"],
                  appeal_fallback=values["appeal_fallback"],
                  district=get_settings().district_name, batch_size=batch_size,
                  progress=progress)
    failure: OdooError | None = None
    try:
        gateway.check_login()
        if only in (None, "firms"):
            sync_firms(sessions, gateway, ctx)
        if only in (None, "appeals"):
            sync_appeals(sessions, gateway, ctx)
    except OdooError as err:
        failure = err
    summary = ctx.summary()
    status = "failed" if failure else "partial" if summary["errors"] else "ok"
    issues = ([{"entity": None, "kind": "failure", "local_id": None, "remote_id": None,
                "message": failure.message or str(failure)}] if failure else []) + ctx.issues
    detail = {entity: t.detail() for entity, t in ctx.tallies.items()}
    with sessions.begin() as s:
        run = s.get(OdooRun, run_id)
        run.finished_at, run.status = now(), status
        run.counts = {**summary, **detail}
        run.errors = issues
        audit.record(s, actor, "odoo.sync", "odoo_run", run_id, status=status,
                     dry_run=dry_run, scope=only or "all", **summary)
    if failure:
        raise failure
    return RunResult(run_id, status, dry_run, summary, detail, issues)


def list_runs(session, limit: int = 20) -> list[dict]:
    rows = session.scalars(select(OdooRun).order_by(OdooRun.id.desc()).limit(limit))
    return [{"id": r.id, "started_at": r.started_at, "finished_at": r.finished_at,
             "scope": r.scope, "dry_run": r.dry_run, "status": r.status, "actor": r.actor,
             **{k: (r.counts or {}).get(k, 0)
                for k in ("created", "updated", "unchanged", "conflicts", "errors")},
             "issues": r.errors or []} for r in rows]
