"""Login sessions kept on the server, and the throttling of failed logins.

A session is a `user_session` row: the SHA-256 of a random token the browser
keeps in a signed cookie (crm.auth.sign), the login, when it started, when it
was last seen and its absolute end. It ends on logout, after
`CRM_SESSION_IDLE_MINUTES` without a request, after `CRM_SESSION_MAX_HOURS`
whatever happens, and when an admin deactivates the login or resets its
password. The row is in the shared database, so every app server agrees.

Failed logins are `login_failure` rows (username as typed, client address,
time), and three limits apply before a password is even checked:

- username + address: after `auth.FREE_ATTEMPTS` misses the pair waits
  `auth.lock_seconds(n)` (5 s, doubling, at most 15 min) after its last miss;
  a success from that address clears the pair. Someone guessing a colleague's
  password locks only their own address out of that account.
- address: `CRM_LOGIN_ADDRESS_LIMIT` misses in `CRM_LOGIN_WINDOW_MINUTES`
  (any usernames) and the address waits until its oldest counted miss leaves
  the window — one machine cannot try many accounts.
- username: `CRM_LOGIN_ACCOUNT_LIMIT` misses in the window from all addresses
  together lock the username for everyone until the window moves on — the
  guard against guessing from many addresses, set high so that locking a real
  user out takes many addresses, not one.

All three count rows by username as typed, so an unknown username answers
exactly like a real one: same message, same lock, same time (crm.auth).
"""

from __future__ import annotations

import datetime as dt
import math
import secrets

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from crm import auth, db
from crm.auth import Actor
from crm.config import get_settings
from crm.errors import AuthError
from crm.models import LoginFailure, User, UserSession
from crm.services.reference import get_setting, set_setting

SECRET_SETTING = "session.secret_key"
TOUCH_SECONDS = 60                 # last_seen_at is written at most once a minute
PAIR_MEMORY = dt.timedelta(days=1)  # misses older than this are forgotten (and deleted)
MAX_NAME = 40
MAX_ADDRESS = 64


def secret_key(session: Session) -> str:
    """`CRM_SECRET_KEY`, else a key generated once and kept in the `setting` table (shared by
    every app server on the database). The caller commits; two servers racing to create it
    meet a primary-key conflict, and the loser reads the winner's key on a retry."""
    configured = get_settings().secret_key
    if configured:
        return configured
    stored = get_setting(session, SECRET_SETTING)
    if stored:
        return stored
    key = secrets.token_urlsafe(48)
    set_setting(session, SECRET_SETTING, key)
    session.flush()
    return key


# --- sessions ---------------------------------------------------------------------------------

def start(session: Session, user_id: int, *, address: str | None = None,
          now: dt.datetime | None = None) -> str:
    """A new session for the login; returns the token (only its hash is stored)."""
    now = now or db.now()
    token = auth.new_token()
    hours = get_settings().session_max_hours
    session.add(UserSession(token_hash=auth.token_hash(token), user_id=user_id, created_at=now,
                            last_seen_at=now, expires_at=now + dt.timedelta(hours=hours),
                            address=(address or None) and address[:MAX_ADDRESS]))
    session.flush()
    return token


def resume(session: Session, token: str, *, now: dt.datetime | None = None) -> Actor | None:
    """The actor of a live session, as the database has the login now (a changed role or
    scope applies at once). None for a token that names no session; AuthError
    ("login.session_ended") for one that ended: logged out, idle too long, past its
    absolute limit, or its login deactivated. Marks the session seen (once a minute)."""
    from crm.services.users import actor_of

    now = now or db.now()
    row = session.scalar(select(UserSession).where(
        UserSession.token_hash == auth.token_hash(token)))
    if row is None:
        return None
    idle = dt.timedelta(minutes=get_settings().session_idle_minutes)
    user = session.get(User, row.user_id)
    if row.revoked_at is not None or now >= row.expires_at or now - row.last_seen_at > idle \
            or user is None or not user.active:
        if row.revoked_at is None:
            row.revoked_at = now
        raise AuthError("the session has ended", key="login.session_ended")
    if (now - row.last_seen_at).total_seconds() >= TOUCH_SECONDS:
        row.last_seen_at = now
    return actor_of(user)


def expires_at(session: Session, token: str) -> dt.datetime | None:
    return session.scalar(select(UserSession.expires_at).where(
        UserSession.token_hash == auth.token_hash(token)))


def end(session: Session, token: str, *, now: dt.datetime | None = None) -> None:
    """Logout: the session cannot be resumed, from this browser or any copy of its cookie."""
    session.execute(update(UserSession)
                    .where(UserSession.token_hash == auth.token_hash(token),
                           UserSession.revoked_at.is_(None))
                    .values(revoked_at=now or db.now()))


def revoke_all(session: Session, user_id: int, *, now: dt.datetime | None = None) -> int:
    """End every open session of a login (deactivated, or its password reset)."""
    result = session.execute(update(UserSession)
                             .where(UserSession.user_id == user_id,
                                    UserSession.revoked_at.is_(None))
                             .values(revoked_at=now or db.now()))
    return result.rowcount or 0


def open_sessions(session: Session, user_id: int, *, now: dt.datetime | None = None) -> int:
    now = now or db.now()
    return session.scalar(select(func.count()).select_from(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None),
        UserSession.expires_at > now)) or 0


# --- throttling -------------------------------------------------------------------------------

def login_name(username: str) -> str:
    """How a typed username is counted: trimmed, lower-case, cut to the column."""
    return username.strip().lower()[:MAX_NAME]


def wait_seconds(session: Session, username: str, address: str, now: dt.datetime) -> int:
    """How long this username from this address must wait before trying again (0: go on)."""
    until = locked_until(session, username, address, now)
    return 0 if until is None else math.ceil((until - now).total_seconds())


def locked_until(session: Session, username: str, address: str,
                 now: dt.datetime) -> dt.datetime | None:
    """When this username from this address may try again, if not now."""
    settings = get_settings()
    name, address = login_name(username), address[:MAX_ADDRESS]
    window = min(dt.timedelta(minutes=settings.login_window_minutes), PAIR_MEMORY)
    ends = [now]
    pair = session.execute(select(func.count(), func.max(LoginFailure.at)).where(
        LoginFailure.username == name, LoginFailure.address == address,
        LoginFailure.at > now - PAIR_MEMORY)).one()
    if pair[0]:
        ends.append(pair[1] + dt.timedelta(seconds=auth.lock_seconds(pair[0])))
    for column, value, limit in ((LoginFailure.address, address, settings.login_address_limit),
                                 (LoginFailure.username, name, settings.login_account_limit)):
        recent = select(LoginFailure.at).where(column == value, LoginFailure.at > now - window)
        count = session.scalar(select(func.count()).select_from(recent.subquery())) or 0
        if count >= limit:
            # free again when enough of the counted misses have left the window
            oldest = session.scalar(recent.order_by(LoginFailure.at)
                                    .offset(count - limit).limit(1))
            ends.append(oldest + window)
    end = max(ends)
    return end if end > now else None


def record_failure(session: Session, username: str, address: str, now: dt.datetime) -> None:
    """Record a miss, and forget every miss older than any limit looks back: those of
    other names too, or names tried once (a spray of made-up logins) would stay for
    ever. The table holds at most a day of misses, so the scan stays small."""
    name = login_name(username)
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - PAIR_MEMORY))
    session.add(LoginFailure(username=name, address=address[:MAX_ADDRESS], at=now))


def clear_failures(session: Session, username: str, address: str | None = None) -> int:
    """Forget misses on a username: from one address (a success there), or all (unlock)."""
    stmt = delete(LoginFailure).where(LoginFailure.username == login_name(username))
    if address is not None:
        stmt = stmt.where(LoginFailure.address == address[:MAX_ADDRESS])
    return session.execute(stmt).rowcount or 0


def recent_failures(session: Session, username: str, now: dt.datetime | None = None) -> int:
    """Misses on a username in the window (what an admin sees before unlocking)."""
    now = now or db.now()
    window = dt.timedelta(minutes=get_settings().login_window_minutes)
    return session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.username == login_name(username), LoginFailure.at > now - window)) or 0
