"""Passwords, login throttling and the acting user (who may do what: crm.access).

Passwords are argon2id hashes (argon2-cffi). Repeated failures slow an
attacker down: after a few misses the account is locked for a time that
doubles with each further miss, capped, so a liaison who mistypes is not
locked out for long but a guesser gets nowhere.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

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
    if not password_hash:
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


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
    """A reason the password is too weak, or None."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"at least {MIN_PASSWORD_LENGTH} characters"
    if password.isdigit() or password.isalpha():
        return "mix letters and digits"
    return None


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
