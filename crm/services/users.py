"""Users: creating logins with a role and scope, changing them, passwords, and logging in.

An admin (or the command line) adds a login, changes its role and scope,
deactivates and reactivates it, resets its password and unlocks it; each is
audited with before and after. Deactivating a login or resetting its password
ends its open sessions (crm.services.sessions). The last active admin cannot be
demoted or deactivated, and nobody deactivates themselves.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crm import auth, db
from crm.access import SYSTEM, require
from crm.auth import Actor
from crm.config import get_settings
from crm.errors import AuthError, Forbidden, NotFound, ValidationError
from crm.models import Chamber, LoginFailure, Person, Street, Unit, User
from crm.models.people import PERSON_KINDS, ROLES
from crm.services import audit, sessions
from crm.services.lookup import find_street

# Which scope each role needs: a liaison acts in a street, a handler for a unit.
REQUIRED_SCOPE = {"liaison": "street", "cadre": "street", "handler": "unit",
                  "chamber": "chamber"}
# Roles whose login is also a person that assignments, visits and fairs can name.
PERSON_ROLES = ("cadre", "handler", "chamber", "employment")
LOCAL_ADDRESS = "local"  # a login from the server's own machine (no client address known)


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
    if session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise ValidationError(f"user {username!r} exists", key="users.exists", name=username)
    street_row, unit_row, chamber_row = _scope(session, role, street, unit, chamber)
    user = User(username=username, display_name=display_name or username, role=role,
                street_id=street_row.id if street_row else None,
                unit_id=unit_row.id if unit_row else None,
                chamber_id=chamber_row.id if chamber_row else None)
    if role in PERSON_ROLES:
        _person_for(session, user)
    if password is not None:
        _set_password(user, password, check_strength)
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.add", "app_user", user.id, role=role)
    return user


def _scope(session: Session, role: str, street: str | None, unit: str | None,
           chamber: str | None) -> tuple[Street | None, Unit | None, Chamber | None]:
    """The scope rows named, checked against what the role needs."""
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}; one of {', '.join(ROLES)}",
                              key="users.bad_role", role=role)
    street_row = find_street(session, street) if street else None
    unit_row = _find_by_name(session, Unit, unit) if unit else None
    chamber_row = _find_by_name(session, Chamber, chamber) if chamber else None
    needed = REQUIRED_SCOPE.get(role)
    if needed and {"street": street_row, "unit": unit_row, "chamber": chamber_row}[needed] is None:
        raise ValidationError(f"role {role} needs --{needed}", key="users.scope_needed",
                              role=role, scope=needed)
    return street_row, unit_row, chamber_row


def _person_for(session: Session, user: User) -> None:
    """The person behind the login, so assignments and visits can name them."""
    kind = user.role if user.role in PERSON_KINDS else "other"
    if user.person_id is None:
        person = Person(name=user.display_name, kind=kind, street_id=user.street_id,
                        unit_id=user.unit_id)
        session.add(person)
        session.flush()
        user.person_id = person.id
        return
    person = session.get(Person, user.person_id)
    person.kind, person.street_id, person.unit_id = kind, user.street_id, user.unit_id


def _find_by_name(session: Session, model, name: str):
    row = session.scalar(select(model).where(model.name == name.strip()))
    if row is None:
        raise NotFound(f"{model.__tablename__} {name!r} not found", key="error.named_not_found",
                       name=name)
    return row


def _set_password(user: User, password: str, check_strength: bool) -> None:
    problem = auth.password_problem(password) if check_strength else None
    if problem:
        raise ValidationError(f"password too weak ({problem})", key=problem,
                              min=auth.MIN_PASSWORD_LENGTH)
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
    """Set a login's password: one's own ("account.password"), anyone's ("user.manage").

    A reset by someone else ends the login's open sessions and clears its failed
    attempts: whoever held the old password is out."""
    user = get_user(session, username)
    own = actor is not None and user.id == actor.id
    require(actor, "account.password" if own else "user.manage", user)
    _set_password(user, password, check_strength)
    ended = 0
    if not own:
        ended = sessions.revoke_all(session, user.id)
        sessions.clear_failures(session, user.username)
    audit.record(session, actor, "user.set_password", "app_user", user.id, sessions_ended=ended)
    return user


def set_role(session: Session, username: str, *, role: str, street: str | None = None,
             unit: str | None = None, chamber: str | None = None, actor: Actor) -> User:
    """Change a login's role and scope (the scope is exactly what is given). Its open
    sessions pick the change up on their next request."""
    require(actor, "user.manage")
    user = get_user(session, username)
    street_row, unit_row, chamber_row = _scope(session, role, street, unit, chamber)
    if user.role == "admin" and role != "admin":
        _keep_an_admin(session, user)
    before = _scope_names(session, user)
    user.role = role
    user.street_id = street_row.id if street_row else None
    user.unit_id = unit_row.id if unit_row else None
    user.chamber_id = chamber_row.id if chamber_row else None
    if role in PERSON_ROLES or user.person_id is not None:
        _person_for(session, user)
    session.flush()
    after = _scope_names(session, user)
    if after != before:
        audit.record(session, actor, "user.set_role", "app_user", user.id,
                     before=before, after=after)
    return user


def deactivate_user(session: Session, username: str, *, actor: Actor) -> User:
    """The login can no longer sign in, and its open sessions end now."""
    require(actor, "user.manage")
    user = get_user(session, username)
    if actor is not None and actor.id == user.id:
        raise ValidationError("you cannot deactivate yourself", key="users.not_self")
    if user.role == "admin":
        _keep_an_admin(session, user)
    if user.active:
        user.active = False
        ended = sessions.revoke_all(session, user.id)
        audit.record(session, actor, "user.deactivate", "app_user", user.id,
                     sessions_ended=ended)
    return user


def activate_user(session: Session, username: str, *, actor: Actor) -> User:
    require(actor, "user.manage")
    user = get_user(session, username)
    if not user.active:
        user.active = True
        audit.record(session, actor, "user.activate", "app_user", user.id)
    return user


def unlock_user(session: Session, username: str, *, actor: Actor) -> int:
    """Forget the login's failed attempts from every address; returns how many."""
    require(actor, "user.manage")
    user = get_user(session, username)
    cleared = sessions.clear_failures(session, user.username)
    user.failed_logins = 0
    user.locked_until = None
    audit.record(session, actor, "user.unlock", "app_user", user.id, failures=cleared)
    return cleared


def _keep_an_admin(session: Session, leaving: User) -> None:
    others = session.scalar(select(func.count()).select_from(User).where(
        User.role == "admin", User.active, User.id != leaving.id)) or 0
    if not others:
        raise ValidationError("the last active admin must stay", key="users.last_admin")


def _scope_names(session: Session, user: User) -> dict:
    return {"role": user.role,
            "street": user.street_id and session.get(Street, user.street_id).name,
            "unit": user.unit_id and session.get(Unit, user.unit_id).name,
            "chamber": user.chamber_id and session.get(Chamber, user.chamber_id).name}


def list_users(session: Session, *, actor: Actor) -> list[dict]:
    require(actor, "user.manage")
    rows = session.execute(
        select(User, Street.name, Unit.name, Chamber.name)
        .outerjoin(Street, User.street_id == Street.id)
        .outerjoin(Unit, User.unit_id == Unit.id)
        .outerjoin(Chamber, User.chamber_id == Chamber.id)
        .order_by(User.role, User.username)
    ).all()
    window = dt.timedelta(minutes=get_settings().login_window_minutes)
    failures = dict(session.execute(
        select(LoginFailure.username, func.count()).where(LoginFailure.at > db.now() - window)
        .group_by(LoginFailure.username)).all())
    return [{"username": u.username, "display_name": u.display_name, "role": u.role,
             "street": s, "unit": un, "chamber": c, "active": u.active,
             "has_password": bool(u.password_hash),
             "failed_logins": failures.get(sessions.login_name(u.username), 0),
             "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None}
            for u, s, un, c in rows]


def authenticate(session: Session, username: str, password: str,
                 now: dt.datetime | None = None, address: str | None = None) -> Actor:
    """Check a login from a client address. Wrong user and wrong password give the same
    message, the same lock and take the same time (an argon2 check either way).

    The throttles of crm.services.sessions are checked first (a locked pair, a
    noisy address, a username under attack: "login.locked", whatever the
    password). Every miss is recorded; the caller must commit even when this
    raises, so it is kept.
    """
    now = now or db.now()
    address = (address or LOCAL_ADDRESS)[:sessions.MAX_ADDRESS]
    wait = sessions.wait_seconds(session, username, address, now)
    if wait:
        raise AuthError(f"too many attempts; wait {wait} s", key="login.locked", seconds=wait)
    user = session.scalar(select(User).where(func.lower(User.username) == username.strip().lower()))
    usable = user is not None and user.active
    if not auth.verify_password(user.password_hash if usable else None, password) or not usable:
        sessions.record_failure(session, username, address, now)
        session.flush()
        until = sessions.locked_until(session, username, address, now)
        if user is not None:
            user.failed_logins += 1
            user.locked_until = until
        audit.record(session, None, "login.failed", "app_user", user.id if user else None,
                     username=sessions.login_name(username), address=address)
        raise AuthError("wrong username or password", key="login.failed")
    sessions.clear_failures(session, username, address)
    if auth.needs_rehash(user.password_hash):
        user.password_hash = auth.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    audit.record(session, actor_of(user), "login", "app_user", user.id, address=address)
    return actor_of(user)
