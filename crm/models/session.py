"""Server-side login sessions and failed login attempts.

A browser keeps a signed random token in a cookie; the database keeps only the
token's SHA-256, so a copy of the database lets nobody resume a session. The
record lives in the shared database, so two app servers behind one proxy
agree on who is logged in. Failed attempts are rows (not a counter on the
account) so an unknown username is throttled exactly like a real one, and per
client address as well as per account (crm.services.sessions).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from crm.db import Base
from crm.models._types import intpk


class UserSession(Base):
    __tablename__ = "user_session"
    id: Mapped[intpk]
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"),
                                         index=True)
    created_at: Mapped[dt.datetime]
    last_seen_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]           # the absolute limit, fixed at login
    revoked_at: Mapped[dt.datetime | None]    # logout, deactivation, password reset
    address: Mapped[str | None] = mapped_column(String(64))


class LoginFailure(Base):
    """One failed login: the username as typed (lower-cased, real or not) and where from."""

    __tablename__ = "login_failure"
    __table_args__ = (Index("ix_login_failure_username_at", "username", "at"),
                      Index("ix_login_failure_address_at", "address", "at"))
    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime]
