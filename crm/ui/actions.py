"""Calling services from a page: one transaction per action, errors as messages.

`run_action` is the only way a page writes. It owns the unit of work
(`sessionmaker.begin()` commits, or rolls back on any error), passes the
logged-in actor, shows a domain refusal in the user's language, and turns
anything unexpected into a friendly message while the traceback goes to the
log, never to the browser. Reads go through `load` (cached briefly per actor,
cleared after every successful write) or `read` (uncached).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any

import streamlit as st
from sqlalchemy.orm.exc import StaleDataError

from crm.config import database_url
from crm.errors import Conflict, CrmError
from crm.i18n import error_text
from crm.ui.plain import plain
from crm.ui.resources import sessions, sessions_for
from crm.ui.state import current_actor, language, tr

log = logging.getLogger(__name__)
CACHE_SECONDS = 60


def _show_failure(fn: Callable, err: Exception) -> None:
    if isinstance(err, StaleDataError):
        # Someone saved the same record between our read and our write (version column).
        err = Conflict(str(err))
    if isinstance(err, CrmError):
        st.error(plain(error_text(err, language())))
    else:
        log.error("%s.%s failed", fn.__module__, fn.__qualname__, exc_info=err)
        st.error(tr("app.error_page"))


def run_action(fn: Callable[..., Any], *args: Any, success: str | None = None,
               **kwargs: Any) -> Any | None:
    """Run `fn(session, *args, actor=…, **kwargs)` in one transaction.

    Returns the service's result, or None after showing why it failed.
    """
    try:
        with sessions().begin() as session:
            result = fn(session, *args, actor=current_actor(), **kwargs)
    except Exception as err:  # noqa: BLE001 - every failure becomes a message
        _show_failure(fn, err)
        return None
    st.cache_data.clear()
    if success:
        st.success(plain(success))
    return result


FLASH_KEY = "flash_message"


def flash(message: str) -> None:
    """A success message that outlives `st.rerun()` / `st.switch_page()`: the next page run
    shows it once (`show_flash`), so an action's confirmation is never lost to the rerun
    that shows its result."""
    st.session_state[FLASH_KEY] = message


def show_flash() -> None:
    message = st.session_state.pop(FLASH_KEY, None)
    if message:
        st.success(message)


def read(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a read-only service with the actor; on failure show why and stop the page."""
    try:
        with sessions()() as session:
            return fn(session, *args, actor=current_actor(), **kwargs)
    except Exception as err:  # noqa: BLE001
        _show_failure(fn, err)
        st.stop()


@st.cache_data(ttl=CACHE_SECONDS, show_spinner=False)
def _cached(module: str, name: str, url: str, actor: Any, args: tuple, kwargs: dict,
            version: Any) -> Any:
    fn = getattr(importlib.import_module(module), name)
    with sessions_for(url)() as session:
        return fn(session, *args, actor=actor, **kwargs)


def load(fn: Callable[..., Any], *args: Any, version: Any = None, **kwargs: Any) -> Any:
    """Like `read`, but the result is cached per database, actor and arguments.

    `version` joins the cache key without reaching `fn`: pass a number that changes
    with the data (the KPI pages pass the rollups' revision) and a change made
    anywhere, not only in this app, shows on the next run.
    """
    try:
        return _cached(fn.__module__, fn.__qualname__, database_url(), current_actor(),
                       args, kwargs, version)
    except Exception as err:  # noqa: BLE001
        _show_failure(fn, err)
        st.stop()
