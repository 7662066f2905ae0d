"""The login form.

A failed attempt is committed like a success (the service records each miss
by username and client address and locks after a few: crm.services.sessions),
and this browser session also waits a little longer after each consecutive
miss, so guessing is slow from both ends. A success starts a server-side
session and the browser keeps its signed cookie (crm.ui.cookie_session).
"""

from __future__ import annotations

import logging
import time

import streamlit as st

from crm.auth import Actor
from crm.config import get_settings
from crm.errors import AuthError
from crm.i18n import error_text
from crm.services import sessions as session_records
from crm.services import users
from crm.ui import cookie_session
from crm.ui.plain import plain
from crm.ui.resources import sessions
from crm.ui.state import FAILURES_KEY, language, lbl, tr

log = logging.getLogger(__name__)
DELAY_PER_FAILURE = 0.5  # seconds
MAX_DELAY = 2.0


def failure_delay(failures: int) -> float:
    return min(DELAY_PER_FAILURE * failures, MAX_DELAY)


def attempt(username: str, password: str,
            address: str | None = None) -> tuple[Actor, str] | AuthError:
    """Check the credentials and start a session (the actor and its token); the
    transaction commits whether or not they are right."""
    with sessions()() as session:
        try:
            actor = users.authenticate(session, username, password, address=address)
        except AuthError as err:
            session.commit()
            return err
        token = session_records.start(session, actor.id, address=address)
        session.commit()
        return actor, token


def render() -> None:
    settings = get_settings()
    st.title(tr("app.title", district=settings.district_name))
    st.subheader(tr("login.title"))
    left, _ = st.columns([2, 3])
    with left, st.form("login", border=True):
        username = st.text_input(tr("login.username"), key="login_username")
        password = st.text_input(tr("login.password"), type="password", key="login_password")
        submitted = st.form_submit_button(tr("login.submit"), type="primary")
    if st.session_state.pop(cookie_session.ENDED_KEY, False) and not submitted:
        st.warning(tr("login.session_ended"))
    if submitted:
        _submit(username, password)
    if settings.demo_mode:
        _demo_hint()


def _submit(username: str, password: str) -> None:
    failures = st.session_state.get(FAILURES_KEY, 0)
    time.sleep(failure_delay(failures))
    if not username.strip() or not password:
        st.warning(tr("login.missing"))
        return
    try:
        result = attempt(username, password, cookie_session.client_address())
    except Exception:  # noqa: BLE001 - a broken database must not show a traceback
        log.exception("login failed unexpectedly")
        st.error(tr("app.error_page"))
        return
    if isinstance(result, tuple):
        cookie_session.log_in(*result)
        st.rerun()
    st.session_state[FAILURES_KEY] = failures + 1
    st.error(plain(error_text(result, language())))


def _demo_hint() -> None:
    try:
        from crm.demo import DEMO_PASSWORD  # only demo deployments ship demo accounts
    except ImportError:
        log.warning("CRM_DEMO_MODE is on but crm.demo is not installed")
        return
    st.info(tr("login.demo_hint", password=DEMO_PASSWORD))
    with sessions()() as session:
        rows = users.demo_logins(session)
    table = [{tr("login.col.username"): u["username"], tr("login.col.role"): lbl("role", u["role"]),
              tr("login.col.scope"): u["street"] or u["unit"] or u["chamber"] or ""}
             for u in rows if u["active"] and u["has_password"]]
    with st.expander(tr("login.demo_accounts"), expanded=True):
        st.dataframe(table, hide_index=True, width="content")
