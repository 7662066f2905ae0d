"""The policy list (送政策) an admin keeps: the policies a visit may say it delivered.

A policy is never deleted once visits name it; an admin retires it (inactive)
and the visit form stops offering it. Every change is audited.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm.access import require
from crm.auth import Actor
from crm.errors import NotFound, ValidationError
from crm.models import Policy
from crm.services import audit

TITLE_LIMIT = 120
ISSUER_LIMIT = 60


def _require_admin(actor: Actor | None) -> None:
    require(actor, "reference.manage")


def list_policies(session: Session, *, actor: Actor | None) -> list[dict]:
    _require_admin(actor)
    return [{"id": p.id, "title": p.title, "issuer": p.issuer or "", "active": p.active}
            for p in session.scalars(select(Policy).order_by(Policy.id))]


def _title(session: Session, title: str, policy_id: int | None = None) -> str:
    title = " ".join(str(title or "").split())
    if not title:
        raise ValidationError("the title is empty", key="policy.title_needed")
    if len(title) > TITLE_LIMIT:
        raise ValidationError("the title is too long", key="policy.too_long", limit=TITLE_LIMIT)
    clash = session.scalar(select(Policy.id).where(func.lower(Policy.title) == title.lower(),
                                                   Policy.id != (policy_id or 0)))
    if clash is not None:
        raise ValidationError(f"policy {title!r} exists", key="policy.exists", title=title)
    return title


def _issuer(issuer: str | None) -> str | None:
    issuer = " ".join(str(issuer or "").split())
    if len(issuer) > ISSUER_LIMIT:
        raise ValidationError("the issuer is too long", key="policy.too_long",
                              limit=ISSUER_LIMIT)
    return issuer or None


def add_policy(session: Session, title: str, issuer: str | None = None, *,
               actor: Actor | None) -> Policy:
    _require_admin(actor)
    policy = Policy(title=_title(session, title), issuer=_issuer(issuer), active=True)
    session.add(policy)
    session.flush()
    audit.record(session, actor, "policy.add", "policy", policy.id, title=policy.title)
    return policy


def update_policies(session: Session, changes: dict[int, dict], *, actor: Actor | None) -> int:
    """Edits from the admin's table (title, issuer, active), in one transaction."""
    _require_admin(actor)
    for policy_id, change in changes.items():
        policy = session.get(Policy, policy_id)
        if policy is None:
            raise NotFound(f"policy {policy_id}", key="policy.not_found")
        before = {"title": policy.title, "issuer": policy.issuer, "active": policy.active}
        if "title" in change:
            policy.title = _title(session, change["title"], policy.id)
        if "issuer" in change:
            policy.issuer = _issuer(change["issuer"])
        if "active" in change:
            policy.active = bool(change["active"])
        audit.record(session, actor, "policy.update", "policy", policy.id, before=before,
                     after={"title": policy.title, "issuer": policy.issuer,
                            "active": policy.active})
    session.flush()
    return len(changes)
