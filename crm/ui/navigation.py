"""The screens, as data: the router builds each role's menu from this and the capability
table (crm.access: a screen is shown to the roles holding the capability it needs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from crm.access import ROLE_PAGES
from crm.config import ROOT
from crm.ui.state import tr

PAGES_DIR = ROOT / "pages"
# Show every menu item: collapsed, Streamlit hides all but a few behind "View N more"
# (English, and it hid the admin screens).
MENU_EXPANDED = True


@dataclass(frozen=True)
class Screen:
    name: str       # the key in ROLE_PAGES, and the page file's stem
    title_key: str  # i18n key of the menu title
    icon: str       # Material icons ship with Streamlit; emoji fonts may be missing
    section: str    # i18n key of the menu section

    @property
    def path(self) -> Path:
        return PAGES_DIR / f"{self.name}.py"


SCREENS: dict[str, Screen] = {s.name: s for s in (
    Screen("home", "nav.home", ":material/home:", "nav.section.work"),
    Screen("enterprises", "nav.enterprises", ":material/domain:", "nav.section.work"),
    Screen("log_appeal", "nav.log_appeal", ":material/add_comment:", "nav.section.work"),
    Screen("appeals", "nav.appeals", ":material/assignment:", "nav.section.work"),
    Screen("appeal", "nav.appeal", ":material/description:", "nav.section.work"),
    Screen("notifications", "nav.notifications", ":material/notifications:",
           "nav.section.work"),
    Screen("my_firms", "nav.my_firms", ":material/handshake:", "nav.section.service"),
    Screen("visit", "nav.visit", ":material/edit_note:", "nav.section.service"),
    Screen("coverage", "nav.coverage", ":material/grid_view:", "nav.section.service"),
    Screen("assignments", "nav.assignments", ":material/assignment_ind:",
           "nav.section.service"),
    Screen("kpi", "nav.kpi", ":material/monitoring:", "nav.section.kpi"),
    Screen("kpi_breakdown", "nav.kpi_breakdown", ":material/stacked_bar_chart:",
           "nav.section.kpi"),
    Screen("kpi_bulletin", "nav.kpi_bulletin", ":material/summarize:", "nav.section.kpi"),
    Screen("users", "nav.users", ":material/group:", "nav.section.admin"),
    Screen("access", "nav.access", ":material/admin_panel_settings:", "nav.section.admin"),
    Screen("reference", "nav.reference", ":material/tune:", "nav.section.admin"),
    Screen("audit", "nav.audit", ":material/policy:", "nav.section.admin"),
    Screen("imports", "nav.imports", ":material/upload_file:", "nav.section.work"),
    # financing pages (finui)
    Screen("financing", "nav.financing", ":material/account_balance:",
           "nav.section.financing"),
    Screen("bank_products", "nav.bank_products", ":material/inventory_2:",
           "nav.section.financing"),
    Screen("meetings", "nav.meetings", ":material/groups:", "nav.section.financing"),
    Screen("financing_kpi", "nav.financing_kpi", ":material/query_stats:",
           "nav.section.financing"),
    Screen("odoo", "nav.odoo", ":material/sync_alt:", "nav.section.admin"),
    Screen("jobfairs", "nav.jobfairs", ":material/storefront:", "nav.section.jobs"),
    Screen("jobfair", "nav.jobfair", ":material/filter_alt:", "nav.section.jobs"),
    Screen("hiring_needs", "nav.hiring_needs", ":material/person_search:", "nav.section.jobs"),
)}


def screens_for(role: str) -> list[Screen]:
    """The screens a role may open, in menu order."""
    allowed = ROLE_PAGES.get(role, ())
    return [screen for name, screen in SCREENS.items() if name in allowed]


def login_pages(render) -> list[st.Page]:
    """The login form, also under every screen's address.

    A reload or a bookmarked link (/appeals) starts a fresh, logged-out
    session; answering it with the login form instead of "page not found"
    lets the user sign in and land on the page they asked for.
    """
    title = tr("login.title")
    return [st.Page(render, title=title, icon=":material/login:", default=True),
            *(st.Page(render, title=title, url_path=name) for name in SCREENS)]


def menu(role: str) -> dict[str, list[st.Page]]:
    """The role's screens as st.navigation sections, home first."""
    sections: dict[str, list[st.Page]] = {}
    for i, screen in enumerate(screens_for(role)):
        sections.setdefault(tr(screen.section), []).append(
            st.Page(screen.path, title=tr(screen.title_key), icon=screen.icon,
                    url_path=screen.name, default=i == 0))
    return sections
