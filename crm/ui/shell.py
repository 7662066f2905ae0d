"""The frame around every page: hidden developer chrome, the sidebar, the language switch."""

from __future__ import annotations

import streamlit as st

from crm.auth import Actor
from crm.config import get_settings
from crm.i18n import LANGUAGES
from crm.services import dashboard
from crm.ui import cookie_session
from crm.ui.actions import load
from crm.ui.plain import plain
from crm.ui.state import LANG_KEY, init_language, lbl, tr

# toolbarMode = "minimal" already drops the Deploy button and the developer menu;
# this is a second guard should a deployment override the config file.
# Streamlit's own English hints under inputs ("Press Enter to apply") cannot be
# translated; they are hidden, the forms have their own buttons.
_HIDE_CHROME = """<style>
[data-testid="stAppDeployButton"], [data-testid="stMainMenu"], #MainMenu, footer,
[data-testid="InputInstructions"]
{display: none !important;}
</style>"""


def hide_chrome() -> None:
    st.html(_HIDE_CHROME)


def sidebar(actor: Actor | None) -> None:
    """Who is logged in, the language switch (also before login), and logging out."""
    init_language()
    with st.sidebar:
        if actor is not None:
            st.caption(tr("app.district", district=get_settings().district_name))
            scope = load(dashboard.scope_name)
            role = lbl("role", actor.role)
            scope = plain(scope)
            st.markdown(f"**{plain(actor.display_name)}**  \n"
                        f"{f'{scope} · {role}' if scope else role}")
        st.selectbox(tr("app.language"), options=list(LANGUAGES),
                     format_func=LANGUAGES.__getitem__, key=LANG_KEY)
        if actor is not None and st.button(tr("app.logout"), key="logout",
                                           icon=":material/logout:"):
            cookie_session.log_out()
            st.rerun()
