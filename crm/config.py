"""Settings read from the environment.

Everything a deployment may change lives here so that the CLI, the app, the
ETL and the tests all agree on one source of truth.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT / "data"
DEFAULT_SQLITE_PATH = DATA_DIR / "qifu.db"


def _flag(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str
    district_name: str = "江北区"
    district_code: str = "500105"
    demo_mode: bool = False
    default_language: str = "zh"
    odoo_url: str | None = None
    odoo_db: str | None = None
    odoo_user: str | None = None
    odoo_password: str | None = None
    odoo_protocol: str = "xmlrpc"
    # logins: sessions (crm.services.sessions) and throttling of failed attempts
    session_idle_minutes: int = 30
    session_max_hours: float = 12.0
    secret_key: str | None = None
    trust_proxy: bool = False
    login_window_minutes: int = 15
    login_address_limit: int = 20
    login_account_limit: int = 50


def _number(name: str, default: float, kind=int):
    """A positive number from the environment; a missing, bad or non-positive value gives
    the default (a typo must not switch a limit off)."""
    try:
        value = kind(os.environ.get(name, "").strip())
    except ValueError:
        return default
    return value if value > 0 else default


@dataclass(frozen=True)
class ImportLimits:
    """What an import file may be, checked before a byte of it is parsed (etl/readers.py).

    A hostile spreadsheet (a zip bomb, a sheet declaring a million rows, one 10 MB
    cell) must be refused before it costs the server its memory; the defaults leave
    room for real ledgers: a 100,000-row × 14-column appeal ledger is a 10 MB xlsx
    whose sheet inflates to 98 MB (ratio 10), 5 × below these limits.
    """

    max_file_mb: int = 100          # the file as uploaded (also .streamlit maxUploadSize)
    max_unzipped_mb: int = 500      # xlsx/ods: all members inflated, in total
    max_ratio: int = 100            # xlsx/ods: inflated ÷ compressed, per large member and total
    max_members: int = 1000         # xlsx/ods: files inside the zip
    max_rows: int = 500_000         # rows of the sheet read
    max_columns: int = 500          # columns of the sheet read
    max_cells: int = 10_000_000     # rows × columns of the sheet read
    max_cell_chars: int = 32_767    # one cell (Excel's own limit)


IMPORT_LIMIT_ENV = {name: f"CRM_IMPORT_{name.upper()}" for name in ImportLimits.__annotations__}


def import_limits() -> ImportLimits:
    """`CRM_IMPORT_MAX_…` (positive integers) over the defaults; a bad value is refused
    loudly rather than silently ignored."""
    values = {}
    for name, env in IMPORT_LIMIT_ENV.items():
        raw = os.environ.get(env, "").strip()
        if not raw:
            continue
        try:
            values[name] = int(raw.replace("_", "").replace(",", ""))
        except ValueError:
            raise ValueError(f"{env} must be a whole number, not {raw!r}") from None
        if values[name] < 1:
            raise ValueError(f"{env} must be at least 1, not {raw!r}")
    return ImportLimits(**values)


def database_url() -> str:
    """`CRM_DATABASE_URL`, else a SQLite file under data/."""
    url = os.environ.get("CRM_DATABASE_URL", "").strip()
    if url:
        if url.startswith("postgresql://") or url.startswith("postgres://"):
            # psycopg 3 is the only PostgreSQL driver we ship.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        return url
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


def timezone_name() -> str:
    return os.environ.get("CRM_TIMEZONE", "Asia/Shanghai")


def get_settings() -> Settings:
    return Settings(
        database_url=database_url(),
        district_name=os.environ.get("CRM_DISTRICT_NAME", "江北区"),
        district_code=os.environ.get("CRM_DISTRICT_CODE", "500105"),
        demo_mode=_flag("CRM_DEMO_MODE"),
        default_language=os.environ.get("CRM_LANG", "zh"),
        odoo_url=os.environ.get("CRM_ODOO_URL"),
        odoo_db=os.environ.get("CRM_ODOO_DB"),
        odoo_user=os.environ.get("CRM_ODOO_USER"),
        odoo_password=os.environ.get("CRM_ODOO_PASSWORD"),
        odoo_protocol=os.environ.get("CRM_ODOO_PROTOCOL", "xmlrpc").strip().lower() or "xmlrpc",
        session_idle_minutes=_number("CRM_SESSION_IDLE_MINUTES", 30),
        session_max_hours=_number("CRM_SESSION_MAX_HOURS", 12.0, float),
        secret_key=os.environ.get("CRM_SECRET_KEY", "").strip() or None,
        trust_proxy=_flag("CRM_TRUST_PROXY"),
        login_window_minutes=_number("CRM_LOGIN_WINDOW_MINUTES", 15),
        login_address_limit=_number("CRM_LOGIN_ADDRESS_LIMIT", 20),
        login_account_limit=_number("CRM_LOGIN_ACCOUNT_LIMIT", 50),
    )
