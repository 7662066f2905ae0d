"""Qifu (企服): the router. Page setup, login, and each role's menu; the screens live in pages/."""

from __future__ import annotations

import logging

import streamlit as st

from crm.config import get_settings
from crm.ui import cookie_session, login, resources, shell
from crm.ui.navigation import MENU_EXPANDED, login_pages, menu
from crm.ui.state import tr

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

st.set_page_config(page_title=tr("app.title", district=get_settings().district_name),
                   page_icon="🏢", layout="wide", initial_sidebar_state="expanded")
shell.hide_chrome()
resources.ensure_database()

actor = cookie_session.current()  # also after a reload: the signed session cookie
shell.sidebar(actor)
cookie_session.sync_cookie()
if actor is None:
    page = st.navigation(login_pages(login.render), position="hidden")
else:
    page = st.navigation(menu(actor.role), expanded=MENU_EXPANDED)
try:
    page.run()
except Exception:  # noqa: BLE001 - the user gets a plain message; the log gets the traceback
    logging.getLogger("crm.ui").exception("page %s failed", page.title)
    st.error(tr("app.error_page"))
