"""The shape of the code, guarded: no Streamlit in the domain, no SQL in pages, menus as data,
and the layers: crm (models < services) < etl < the entry points (pages/, the CLI), with one
bulk writer package (crm/bulk/)."""

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
CRM_FILES = sorted((ROOT / "crm").rglob("*.py"))
CLI = ROOT / "crm" / "cli.py"
# The etl modules an entry point (a page, the CLI) may call: etl's application service.
ETL_ENTRY = ("etl.app",)
# How rows reach the driver in bulk: only crm/bulk/ may say it.
BULK_CODE = re.compile(r"def insert_columns|def sqlite_insert|executemany\(|FROM STDIN|"
                       r"\.copy\(|write_row|DROP CONSTRAINT")
DYNAMIC_IMPORT = re.compile(r"import_module\(\s*f?[\"']etl|__import__\(\s*f?[\"']etl")


def _imports(path: Path, *, bases: bool = True) -> set[str]:
    """Every module a file imports, at any depth (a function's imports too); `from a import b`
    gives "a.b" (b may be a module) and, with `bases`, "a" too."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's own package up
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, *([base] if base else [])])
            if bases:
                names.add(base)
            names |= {f"{base}.{alias.name}" for alias in node.names}
    return names


def _top(name: str) -> str:
    return name.split(".")[0]


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
        name for name in _imports(path, bases=False)
        if not name.startswith((*allowed, *ETL_ENTRY, "__future__", "datetime")))
        for path in PAGE_FILES}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_pages_import_no_models():
    offenders = {str(path.relative_to(ROOT)): sorted(
        name for name in _imports(path) if name.startswith(("crm.models", "sqlalchemy")))
        for path in PAGE_FILES}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_nothing_under_crm_imports_etl():
    """etl sits above the services (it imports them): crm importing etl back, even inside a
    function, is the hidden package cycle. The one exception is the command line, an entry
    point like pages/, and it may call etl's entry module only."""
    offenders = {str(path.relative_to(ROOT)): sorted(
        name for name in _imports(path) if _top(name) == "etl")
        for path in CRM_FILES if path != CLI}
    assert {k: v for k, v in offenders.items() if v} == {}
    dynamic = [str(path.relative_to(ROOT)) for path in CRM_FILES
               if DYNAMIC_IMPORT.search(path.read_text("utf-8"))]
    assert dynamic == []


def test_the_command_line_calls_only_etls_entry_module():
    used = {name for name in _imports(CLI) if _top(name) == "etl"}
    assert used, "the CLI's import and export commands call etl.app"
    assert {name for name in used
            if name != "etl" and not name.startswith(ETL_ENTRY)} == set()


def test_the_command_line_runs_no_sql_and_uses_no_models():
    names = _imports(CLI)
    assert sorted(n for n in names if _top(n) == "sqlalchemy"
                  or n.startswith("crm.models")) == []
    assert SQL_IN_PAGES.findall(CLI.read_text("utf-8")) == []


def test_services_never_import_etl_or_the_entry_points():
    offenders = {str(path.relative_to(ROOT)): sorted(
        name for name in _imports(path)
        if _top(name) in {"etl", "pages", "streamlit"} or name.startswith("crm.cli"))
        for path in sorted((ROOT / "crm" / "services").rglob("*.py"))}
    assert {k: v for k, v in offenders.items() if v} == {}


def test_one_bulk_writer_package():
    """Rows reach the driver in bulk (the SQLite multi-row insert, COPY, dropping indexes
    and foreign keys for a load) only through crm/bulk/; the importer and the demo use it."""
    bulk = ROOT / "crm" / "bulk"
    files = [*CRM_FILES, *sorted((ROOT / "etl").rglob("*.py")), *PAGE_FILES]
    offenders = {str(path.relative_to(ROOT)): BULK_CODE.findall(path.read_text("utf-8"))
                 for path in files if bulk not in path.parents}
    assert {k: v for k, v in offenders.items() if v} == {}
    assert "crm.bulk.writer" in _imports(ROOT / "etl" / "engine.py")
    assert "crm.bulk.loader" in _imports(ROOT / "crm" / "demo" / "__init__.py")


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
