"""The shape of the code, guarded: no Streamlit in the domain, no SQL in pages, menus as data."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from crm.access import ROLE_PAGES
from crm.config import ROOT
from crm.models.people import ROLES
from crm.ui.navigation import PAGES_DIR, SCREENS

PAGE_FILES = sorted(PAGES_DIR.glob("*.py"))
SQL_IN_PAGES = re.compile(r"\bselect\(|session\.execute|\btext\(|SELECT |\.query\(|sqlalchemy")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_domain_code_never_imports_streamlit():
    offenders = [str(path.relative_to(ROOT)) for path in sorted((ROOT / "crm").rglob("*.py"))
                 if "ui" not in path.relative_to(ROOT / "crm").parts[:1]
                 and any(name.split(".")[0] == "streamlit" for name in _imports(path))]
    assert offenders == []


def test_pages_contain_no_sql():
    offenders = {str(path.relative_to(ROOT)): SQL_IN_PAGES.findall(path.read_text("utf-8"))
                 for path in PAGE_FILES}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_pages_reach_the_database_only_through_services_and_crm_ui():
    allowed = ("crm.services", "crm.ui", "streamlit")
    offenders = {str(path.relative_to(ROOT)): sorted(
        name for name in _imports(path)
        if not name.startswith(allowed) and name not in {"__future__", "datetime"})
        for path in PAGE_FILES}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_every_page_file_is_a_screen_and_every_screen_has_a_file():
    assert {path.stem for path in PAGE_FILES} == set(SCREENS)
    assert all(screen.path.is_file() for screen in SCREENS.values())


def test_every_screen_is_open_to_some_role_and_every_role_page_is_a_screen():
    offered = {page for pages in ROLE_PAGES.values() for page in pages}
    assert offered == set(SCREENS)


def test_every_role_has_a_menu_that_starts_at_home():
    assert set(ROLE_PAGES) == set(ROLES)
    assert all(pages and pages[0] == "home" for pages in ROLE_PAGES.values())


def test_every_page_checks_the_role_before_showing_anything():
    for path in PAGE_FILES:
        text = path.read_text("utf-8")
        assert f'require_page("{path.stem}")' in text, path.name


def test_the_router_stays_a_router():
    router = ROOT / "streamlit_app.py"
    assert len(router.read_text("utf-8").splitlines()) <= 60
    assert "st.navigation" in router.read_text("utf-8")


def test_the_app_hides_developer_chrome_and_tracebacks():
    config = (ROOT / ".streamlit" / "config.toml").read_text("utf-8")
    assert 'toolbarMode = "minimal"' in config
    assert 'showErrorDetails = "none"' in config
    assert "gatherUsageStats = false" in config
