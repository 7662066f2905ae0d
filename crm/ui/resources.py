"""The engine and session factory, built once per database URL and shared by all sessions."""

from __future__ import annotations

import logging

import streamlit as st
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from crm import migrate
from crm.config import database_url
from crm.db import make_engine, session_factory
from crm.ui.state import tr

log = logging.getLogger(__name__)


def _dispose(engine: Engine) -> None:
    engine.dispose()


@st.cache_resource(show_spinner=False, on_release=_dispose)
def _engine(url: str) -> Engine:
    return make_engine(url)


@st.cache_resource(show_spinner=False)
def sessions_for(url: str) -> sessionmaker[Session]:
    return session_factory(_engine(url))


@st.cache_resource(show_spinner=False, ttl=60)
def _schema_is_current(url: str) -> bool:
    """Checked once a minute at most, so a migration run while the app is up is noticed."""
    try:
        return migrate.is_up_to_date(_engine(url))
    except Exception:  # noqa: BLE001 - an unreachable database is "not ready", with a log line
        log.exception("cannot check the database schema at %s", _engine(url).url)
        return False


def engine() -> Engine:
    return _engine(database_url())


def sessions() -> sessionmaker[Session]:
    return sessions_for(database_url())


def ensure_database() -> None:
    """Stop the page with a plain message if the database is missing or not migrated."""
    url = database_url()
    if not _schema_is_current(url):
        _schema_is_current.clear()
        st.error(tr("app.no_database"))
        st.stop()
