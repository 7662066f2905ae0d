"""What one browser session remembers: who is logged in and in which language."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from streamlit.errors import StreamlitAPIException

from crm import access
from crm.access import may_open
from crm.auth import Actor
from crm.config import ROOT, get_settings
from crm.i18n import LANGUAGES, label, t

ACTOR_KEY = "actor"
LANG_KEY = "lang"
FAILURES_KEY = "login_failures"
ROUTER = ROOT / "streamlit_app.py"


def current_actor() -> Actor | None:
    actor = st.session_state.get(ACTOR_KEY)
    return actor if isinstance(actor, Actor) else None


def log_in(actor: Actor) -> None:
    st.session_state[ACTOR_KEY] = actor
    st.session_state[FAILURES_KEY] = 0


def log_out(keep: tuple[str, ...] = ()) -> None:
    """Forget everything about the session except the chosen language (and `keep`)."""
    for key in list(st.session_state.keys()):
        if key != LANG_KEY and key not in keep:
            del st.session_state[key]


def language() -> str:
    lang = st.session_state.get(LANG_KEY)
    if lang not in LANGUAGES:
        lang = get_settings().default_language
    return lang if lang in LANGUAGES else "zh"


def init_language() -> None:
    """Seed the language switch from CRM_LANG before its widget first renders."""
    if st.session_state.get(LANG_KEY) not in LANGUAGES:
        st.session_state[LANG_KEY] = language()


def tr(key: str, **params: object) -> str:
    return t(key, language(), **params)


def lbl(kind: str, value: str | None) -> str:
    return label(kind, value, language())


def labeller(kind: str) -> Callable[[str | None], str]:
    """A `format_func` for a select box of stored codes, in the language of this run.

    Bound now, because Streamlit may call a format_func outside the script run
    (AppTest does), where the session's language cannot be read.
    """
    lang = language()
    return lambda value: label(kind, value, lang)


def require_login() -> Actor:
    actor = current_actor()
    if actor is None:
        _hand_over_to_router()
        st.warning(tr("app.login_required"))
        st.stop()
    return actor


def _hand_over_to_router() -> None:
    """Send a page opened without the router back to it, so the login form shows.

    Until the first `st.navigation` call of a server process, Streamlit still
    treats `pages/` as an old-style page folder: if the very first request is a
    deep link (/users), the page file runs on its own. Switching to the main
    script runs the router, which turns that mode off for good. Under the
    router this branch is never reached (it shows the login form itself), and
    the switch is refused, which is fine.
    """
    try:
        st.switch_page(ROUTER)
    except StreamlitAPIException:
        pass


def require_page(page: str) -> Actor:
    """The logged-in actor, if their role may open `page`; otherwise stop with a refusal.

    The router already hides pages a role may not open; this second check keeps
    a page safe when it is reached some other way.
    """
    actor = require_login()
    if not may_open(actor.role, page):
        st.error(tr("app.page_forbidden"))
        st.stop()
    return actor


def can(capability: str) -> bool:
    """Whether the logged-in actor holds `capability` (crm.access), for showing a control."""
    return access.holds(st.session_state.get("actor"), capability)


def scope(capability: str) -> str | None:
    """The scope the logged-in actor holds `capability` in (crm.access), or None."""
    actor = st.session_state.get("actor")
    return access.scope_of(actor.role, capability) if actor is not None else None
