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
