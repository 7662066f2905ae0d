"""Users: creating logins with a role and scope, passwords, and logging in."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import auth
from crm.access import SYSTEM, require
from crm.auth import Actor
from crm.db import now as _now
from crm.errors import AuthError, Forbidden, NotFound, ValidationError
from crm.models import Chamber, Person, Street, Unit, User
from crm.models.people import ROLES
from crm.services import audit
from crm.services.lookup import find_street

# Which scope each role needs: a liaison acts in a street, a handler for a unit.
REQUIRED_SCOPE = {"liaison": "street", "cadre": "street", "handler": "unit",
                  "chamber": "chamber"}


def actor_of(user: User) -> Actor:
    return Actor(id=user.id, username=user.username, display_name=user.display_name,
                 role=user.role, street_id=user.street_id, unit_id=user.unit_id,
                 chamber_id=user.chamber_id, person_id=user.person_id, language=user.language)


def add_user(session: Session, username: str, *, role: str, display_name: str | None = None,
             street: str | None = None, unit: str | None = None, chamber: str | None = None,
             password: str | None = None, check_strength: bool = True,
             actor: Actor) -> User:
    """A new login; only a holder of "user.manage" (an admin, or the command line) adds one."""
    require(actor, "user.manage")
    username = username.strip()
    if not username:
        raise ValidationError("username is empty", key="users.empty_name")
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; one of {', '.join(ROLES)}",
                              key="users.bad_role", role=role)
    if session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise ValidationError(f"user {username!r} exists", key="users.exists", name=username)
    street_row = find_street(session, street) if street else None
    unit_row = _find_by_name(session, Unit, unit) if unit else None
    chamber_row = _find_by_name(session, Chamber, chamber) if chamber else None
    needed = REQUIRED_SCOPE.get(role)
    if needed and {"street": street_row, "unit": unit_row, "chamber": chamber_row}[needed] is None:
        raise ValidationError(f"role {role} needs --{needed}", key="users.scope_needed",
                              role=role, scope=needed)
    user = User(username=username, display_name=display_name or username, role=role,
                street_id=street_row.id if street_row else None,
                unit_id=unit_row.id if unit_row else None,
                chamber_id=chamber_row.id if chamber_row else None)
    if role in {"cadre", "handler", "chamber", "employment"}:
        # The person behind the login, so assignments and visits can name them.
        person = Person(name=user.display_name, kind=role, street_id=user.street_id,
                        unit_id=user.unit_id)
        session.add(person)
        session.flush()
        user.person_id = person.id
    if password is not None:
        _set_password(user, password, check_strength)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.add", "app_user", user.id, role=role)
    return user


def _find_by_name(session: Session, model, name: str):
    row = session.scalar(select(model).where(model.name == name.strip()))
    if row is None:
        raise NotFound(f"{model.__tablename__} {name!r} not found", key="error.named_not_found",
                       name=name)
    return row


def _set_password(user: User, password: str, check_strength: bool) -> None:
    problem = auth.password_problem(password) if check_strength else None
    if problem:
        raise ValidationError(f"password too weak: {problem}", key="users.weak_password",
                              reason=problem)
    user.password_hash = auth.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None


def demo_logins(session: Session) -> list[dict]:
    """The logins the demo login page lists (demo mode only: they all share one password)."""
    from crm.config import get_settings

    if not get_settings().demo_mode:
        raise Forbidden("demo logins are listed in demo mode only", key="access.denied",
                        capability="demo")
    return [u for u in list_users(session, actor=SYSTEM) if u["active"] and u["has_password"]]


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user {username!r}", key="users.not_found", name=username)
    return user


def set_password(session: Session, username: str, password: str, *,
                 actor: Actor, check_strength: bool = True) -> User:
    """Set a login's password: one's own ("account.password"), anyone's ("user.manage")."""
    user = get_user(session, username)
    if actor is not None and user.id == actor.id:
        require(actor, "account.password", user)
    else:
        require(actor, "user.manage", user)
    _set_password(user, password, check_strength)
    audit.record(session, actor, "user.set_password", "app_user", user.id)
    return user


def list_users(session: Session, *, actor: Actor) -> list[dict]:
    require(actor, "user.manage")
    rows = session.execute(
        select(User, Street.name, Unit.name, Chamber.name)
        .outerjoin(Street, User.street_id == Street.id)
        .outerjoin(Unit, User.unit_id == Unit.id)
        .outerjoin(Chamber, User.chamber_id == Chamber.id)
        .order_by(User.role, User.username)
    ).all()
    return [{"username": u.username, "display_name": u.display_name, "role": u.role,
             "street": s, "unit": un, "chamber": c, "active": u.active,
             "has_password": bool(u.password_hash),
             "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
            for u, s, un, c in rows]


def authenticate(session: Session, username: str, password: str,
                 now: dt.datetime | None = None) -> Actor:
    """Check a login. Wrong user and wrong password give the same message.

    Every miss is counted on the account; after `auth.FREE_ATTEMPTS` misses
    the account is locked for a growing time, even for the right password.
    The caller must commit even when this raises, so the count is kept.
    """
    now = now or _now()
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    if user is None or not user.active:
        auth.verify_password(None, password)
        raise AuthError("wrong username or password", key="login.failed")
    if user.locked_until and user.locked_until > now:
        wait = int((user.locked_until - now).total_seconds()) + 1
        raise AuthError(f"too many attempts; wait {wait} s", key="login.locked", seconds=wait)
    if not auth.verify_password(user.password_hash, password):
        user.failed_logins += 1
        user.locked_until = auth.lock_until(now, user.failed_logins)
        audit.record(session, None, "login.failed", "app_user", user.id)
        raise AuthError("wrong username or password", key="login.failed")
    if auth.needs_rehash(user.password_hash):
        user.password_hash = auth.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(session, actor_of(user), "login", "app_user", user.id)
    return actor_of(user)
