"""Keeping a login across a refresh (F5) or a new tab: a signed session cookie.

Streamlit forgets its session state on a reload. At login the server starts a
session record (crm.services.sessions) and the browser is given a cookie
`qifu_session` = token + HMAC under the deployment's secret (SameSite=Lax,
Path=/, expiring with the session's absolute limit, Secure over https). A new
connection reads it from the request (`st.context.cookies`), checks the
signature, then the record, and is logged in again. Every script run checks
the record too, so idle expiry, the absolute limit, a logout in another tab,
a deactivation or a password reset end the session at the next click, and a
changed role applies at once.

Streamlit can read cookies but not set them from the server: a tiny script
(`st.html(..., unsafe_allow_javascript=True)`, no iframe, no extra package)
writes or clears it in the browser. Its content is our own signed value only.
The cookie cannot be HttpOnly that way; it holds no data, only a token the
server can revoke.
"""

from __future__ import annotations

import datetime as dt
import logging
from email.utils import format_datetime

import streamlit as st
from sqlalchemy.exc import IntegrityError

from crm import auth
from crm.auth import Actor
from crm.config import database_url, get_settings
from crm.errors import AuthError
from crm.services import sessions as session_records
from crm.ui import state
from crm.ui.resources import sessions, sessions_for

log = logging.getLogger(__name__)

COOKIE = "qifu_session"
TOKEN_KEY = "session_token"          # this browser session's token (server side only)
COOKIE_KEY = "session_cookie"        # (value, expires) the browser must hold
CLEAR_KEY = "session_cookie_clear"   # the browser may hold a dead cookie: clear it
ENDED_KEY = "session_ended"          # say so on the login form
DEAD_KEY = "session_dead_cookie"     # a cookie value already found dead (no lookup again)
KEEP_ON_LOGOUT = (CLEAR_KEY, ENDED_KEY, DEAD_KEY)


def request_cookie() -> str | None:
    """The session cookie the browser sent when this connection opened."""
    return _text(st.context.cookies.get(COOKIE))


def _text(value: object) -> str | None:
    """A request value, or None where there is no real request (AppTest's stand-in client)."""
    return value if isinstance(value, str) and value else None


def client_address() -> str:
    """The client's address for login throttling (crm.auth.client_address)."""
    return auth.client_address(_text(st.context.headers.get("X-Forwarded-For")),
                               _text(st.context.ip_address), get_settings().trust_proxy)


@st.cache_resource(show_spinner=False)
def _secret(url: str, configured: str | None) -> str:
    for attempt in range(2):
        try:
            with sessions_for(url).begin() as session:
                return session_records.secret_key(session)
        except IntegrityError:  # another server stored its key first: read that one
            if attempt:
                raise
    raise AssertionError("unreachable")


def secret() -> str:
    return _secret(database_url(), get_settings().secret_key)


def current() -> Actor | None:
    """The logged-in actor for this run, checked against its session record; restored from
    the cookie on a fresh connection. An actor put in the session state without a record
    (the page tests do) is taken as it is."""
    token = st.session_state.get(TOKEN_KEY)
    if token is not None:
        return _check(token)
    actor = state.current_actor()
    return actor if actor is not None else _restore()


def _resume(token: str) -> Actor | None:
    try:
        with sessions().begin() as session:
            return session_records.resume(session, token)
    except AuthError:
        return None


def _check(token: str) -> Actor | None:
    actor = _resume(token)
    if actor is None:
        _forget(ended=True)
        return None
    if actor != state.current_actor():  # role, scope or name changed meanwhile
        st.session_state[state.ACTOR_KEY] = actor
        st.cache_data.clear()
    return actor


def _restore() -> Actor | None:
    raw = request_cookie()
    if not raw or raw == st.session_state.get(DEAD_KEY):
        return None
    token = auth.unsign(raw, secret())
    actor = _resume(token) if token else None
    if actor is None:
        st.session_state[DEAD_KEY] = raw
        st.session_state[CLEAR_KEY] = True
        return None
    state.log_in(actor)
    st.session_state[TOKEN_KEY] = token
    return actor


def log_in(actor: Actor, token: str) -> None:
    """After a successful login: remember the session and have the browser keep its cookie."""
    state.log_in(actor)
    hours = get_settings().session_max_hours
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=hours)
    st.session_state[TOKEN_KEY] = token
    st.session_state[COOKIE_KEY] = (auth.sign(token, secret()), format_datetime(expires, True))
    for key in (CLEAR_KEY, ENDED_KEY):
        st.session_state.pop(key, None)


def log_out() -> None:
    """End the session on the server (every copy of the cookie dies) and in the browser."""
    token = st.session_state.get(TOKEN_KEY)
    if token is not None:
        try:
            with sessions().begin() as session:
                session_records.end(session, token)
        except Exception:  # noqa: BLE001 - logging out must work even if the write fails
            log.exception("could not end the session record")
    _forget(ended=False)


def _forget(*, ended: bool) -> None:
    dead = request_cookie()
    state.log_out(keep=KEEP_ON_LOGOUT)
    st.session_state[CLEAR_KEY] = True
    if dead:
        st.session_state[DEAD_KEY] = dead
    if ended:
        st.session_state[ENDED_KEY] = True


def sync_cookie() -> None:
    """Write the cookie while logged in, clear it after a logout (a script in the sidebar)."""
    cookie = st.session_state.get(COOKIE_KEY)
    if state.current_actor() is not None and cookie:
        value, expires = cookie
        _script(f"{COOKIE}={value}; Path=/; SameSite=Lax; Expires={expires}")
    elif state.current_actor() is None and st.session_state.get(CLEAR_KEY):
        _script(f"{COOKIE}=; Path=/; SameSite=Lax; Max-Age=0")


def _script(cookie: str) -> None:
    with st.sidebar:
        st.html("<script>document.cookie = " + repr(cookie)
                + " + (location.protocol === 'https:' ? '; Secure' : '');</script>",
                unsafe_allow_javascript=True)
