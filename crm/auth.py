"""Passwords, session tokens, login throttling and the acting user (who may do what:
crm.access).

Passwords are argon2id hashes (argon2-cffi), each with its own salt. Repeated
failures slow an attacker down: after a few misses from one address on one
username the pair is locked for a time that doubles with each further miss,
capped, so a liaison who mistypes is not locked out for long but a guesser gets
nowhere (crm.services.sessions adds the per-address and per-account limits).
An unknown username costs one argon2 verification too (against a dummy hash),
so the answer's timing does not tell which usernames exist.

A session cookie carries a random token and its HMAC-SHA256 under the
deployment's secret; the database keeps only the token's SHA-256.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()

FREE_ATTEMPTS = 3          # misses before any lock
BASE_LOCK_SECONDS = 5      # first lock; doubles per further miss
MAX_LOCK_SECONDS = 15 * 60
MIN_PASSWORD_LENGTH = 8


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches; without a hash the dummy one is verified, so a login
    without a password (or an unknown one) takes as long as a real check."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _dummy_hash() -> str:
    """A hash of a random password with the same parameters as real ones (made once)."""
    return _hasher.hash(secrets.token_urlsafe(16))


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def lock_seconds(failed_logins: int) -> int:
    """How long to lock after `failed_logins` consecutive misses (0 = no lock)."""
    extra = failed_logins - FREE_ATTEMPTS
    if extra < 0:
        return 0
    return min(BASE_LOCK_SECONDS * 2**extra, MAX_LOCK_SECONDS)


def lock_until(now: dt.datetime, failed_logins: int) -> dt.datetime | None:
    seconds = lock_seconds(failed_logins)
    return now + dt.timedelta(seconds=seconds) if seconds else None


def password_problem(password: str) -> str | None:
    """Why the password is too weak, as a message key (crm.i18n), or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return "users.password_too_short"
    if password.isdigit() or password.isalpha():
        return "users.password_needs_mix"
    return None


def client_address(forwarded: str | None, remote: str | None, trust_proxy: bool) -> str:
    """The address a login is counted against. Behind our own proxy (`trust_proxy`) it is
    the last X-Forwarded-For entry, the one that proxy appended (earlier entries come from
    the client and may be forged); else the connection's address; "local" for this
    machine. Cut to 64 characters (the column)."""
    if trust_proxy and forwarded:
        last = forwarded.split(",")[-1].strip()
        if last:
            return last[:64]
    return (remote or "local")[:64]


# --- session tokens ---------------------------------------------------------------------------

def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What the database keeps of a session token (its SHA-256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


def _mac(token: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def sign(token: str, secret: str) -> str:
    """The cookie value: `token.mac`."""
    return f"{token}.{_mac(token, secret)}"


def unsign(value: str | None, secret: str) -> str | None:
    """The token of a cookie value whose signature holds, else None."""
    token, _, mac = (value or "").partition(".")
    if not token or not mac or not hmac.compare_digest(mac, _mac(token, secret)):
        return None
    return token


@dataclass(frozen=True)
class Actor:
    """Who is acting, as services need it: no ORM object leaks into the UI session."""

    id: int | None  # None: the command line's SYSTEM actor (crm.access)
    username: str
    display_name: str
    role: str
    street_id: int | None = None
    unit_id: int | None = None
    chamber_id: int | None = None
    person_id: int | None = None
    language: str = "zh"
