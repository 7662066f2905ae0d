"""Where the sync's settings come from: the environment, overridden on the settings page.

Connection: `CRM_ODOO_URL`, `CRM_ODOO_DB`, `CRM_ODOO_USER`, `CRM_ODOO_PASSWORD` (a
password or an API key) and `CRM_ODOO_PROTOCOL` (`xmlrpc` or `jsonrpc`). An admin may
override each on the Odoo page; the override lives in the `setting` table under
`odoo.<name>`. The password is the exception worth saying out loud: the environment is
the preferred place, and one typed on the page is stored in the database (readable by
whoever can read the database, like every other setting) and is never shown back.

Behaviour (page only, with defaults): who wins a conflict, which model appeals go to
when Helpdesk is missing, the timeout.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from crm.config import get_settings
from crm.errors import ValidationError
from crm.odoo.gateway import PROTOCOLS, OdooConfig
from crm.services.reference import get_setting, set_setting

CONNECTION = ("url", "db", "user", "password", "protocol")
WINNERS = ("report", "qifu", "odoo")          # report: neither side is written
APPEAL_FALLBACKS = ("crm.lead", "project.task")  # when helpdesk.ticket is not installed
DEFAULTS = {"conflict_winner": "report", "appeal_fallback": "crm.lead", "timeout": 30.0}
CHOICES = {"protocol": PROTOCOLS, "conflict_winner": WINNERS,
           "appeal_fallback": APPEAL_FALLBACKS}


def _env() -> dict:
    s = get_settings()
    return {"url": s.odoo_url, "db": s.odoo_db, "user": s.odoo_user,
            "password": s.odoo_password, "protocol": s.odoo_protocol}


def effective(session: Session) -> dict:
    """Every setting as the sync will use it (the password included: keep it inside)."""
    env = _env()
    values = {}
    for name in (*CONNECTION, *DEFAULTS):
        stored = get_setting(session, f"odoo.{name}")
        values[name] = stored if stored not in (None, "") else env.get(name, DEFAULTS.get(name))
    values["timeout"] = float(values["timeout"] or DEFAULTS["timeout"])
    return values


def shown(session: Session) -> dict:
    """The settings for a page: the password only as whether one is set, and where from."""
    values = effective(session)
    env = _env()
    out = {name: values[name] for name in values if name != "password"}
    out["password_set"] = bool(values["password"])
    out["password_source"] = ("page" if get_setting(session, "odoo.password")
                              else "env" if env.get("password") else None)
    out["overridden"] = sorted(name for name in (*CONNECTION, *DEFAULTS)
                               if get_setting(session, f"odoo.{name}") not in (None, ""))
    return out


def save(session: Session, changes: dict) -> list[str]:
    """Store overrides; "" or None clears one (the environment's value applies again).

    A password is only ever replaced or cleared, never read back."""
    changed = []
    for name, value in changes.items():
        if name not in (*CONNECTION, *DEFAULTS):
            raise ValidationError(f"unknown Odoo setting {name}", key="odoo.bad_setting",
                                  name=name)
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, "") and name in CHOICES and value not in CHOICES[name]:
            raise ValidationError(f"{name} must be one of {', '.join(CHOICES[name])}",
                                  key="odoo.bad_choice", name=name,
                                  choices=", ".join(CHOICES[name]))
        if name == "timeout" and value not in (None, ""):
            try:
                value = float(value)
            except (TypeError, ValueError):
                value = 0.0
            if not 1 <= value <= 600:
                raise ValidationError("timeout must be between 1 and 600 seconds",
                                      key="odoo.bad_timeout")
        if name == "url" and value and not str(value).startswith(("http://", "https://")):
            raise ValidationError("the Odoo URL starts with http:// or https://",
                                  key="odoo.bad_url")
        if value == _env().get(name, DEFAULTS.get(name)):
            value = None  # the same as the environment (or the default): no override
        if get_setting(session, f"odoo.{name}") != (value or None):
            set_setting(session, f"odoo.{name}", value or None)
            changed.append(name)
    return changed


def config(session: Session, **overrides) -> OdooConfig:
    values = effective(session)
    return OdooConfig(url=values["url"] or "", db=values["db"] or "", user=values["user"] or "",
                      password=values["password"] or "", protocol=values["protocol"] or "xmlrpc",
                      timeout=values["timeout"], **overrides)
