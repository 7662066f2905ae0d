"""The Odoo sync's doors for people: settings, the last runs, "run now", a connection test.

Each takes the actor and checks the capability first (`odoo.configure` for settings,
`odoo.sync` for runs). A run opens its own transactions on the caller's database (it
commits in batches, see crm.odoo.runs), so the caller's session only reads here.
"""

from __future__ import annotations

from sqlalchemy.orm import Session, sessionmaker

from crm.access import require
from crm.auth import Actor
from crm.odoo import settings as odoo_settings
from crm.odoo.gateway import Gateway, OdooLibGateway
from crm.odoo.runs import RunResult, list_runs, run_sync
from crm.services import audit

# The settings' choices, for the page's select boxes.
PROTOCOLS = odoo_settings.PROTOCOLS
WINNERS = odoo_settings.WINNERS
APPEAL_FALLBACKS = odoo_settings.APPEAL_FALLBACKS


def odoo_settings_view(session: Session, *, actor: Actor) -> dict:
    """The settings as the sync uses them; of the password only whether it is set, and where."""
    require(actor, "odoo.configure")
    return odoo_settings.shown(session)


def save_odoo_settings(session: Session, *, actor: Actor, **changes) -> list[str]:
    require(actor, "odoo.configure")
    changed = odoo_settings.save(session, changes)
    if changed:
        audit.record(session, actor, "odoo.settings", "setting", None, changed=changed)
    return changed


def recent_runs(session: Session, *, actor: Actor, limit: int = 20) -> list[dict]:
    require(actor, "odoo.sync")
    return list_runs(session, limit)


def check_connection(session: Session, *, actor: Actor) -> dict:
    """Log in and ask the version: what the settings reach, or why not (an OdooError)."""
    require(actor, "odoo.sync")
    with OdooLibGateway(odoo_settings.config(session)) as gateway:
        uid = gateway.check_login()
        version = gateway.version()
        helpdesk = gateway.has_model("helpdesk.ticket")
    return {"uid": uid, "server_version": version.get("server_version"),
            "helpdesk": helpdesk}


def run_now(session: Session, *, actor: Actor, only: str | None = None, dry_run: bool = False,
            gateway: Gateway | None = None, progress=None) -> RunResult:
    """Sync now with the effective settings; the run is recorded and audited either way."""
    require(actor, "odoo.sync")
    own = gateway is None
    gateway = gateway or OdooLibGateway(odoo_settings.config(session))
    sessions = sessionmaker(bind=session.get_bind(), expire_on_commit=False)
    try:
        return run_sync(sessions, gateway, actor=actor, only=only, dry_run=dry_run,
                        progress=progress)
    finally:
        if own:
            gateway.close()
