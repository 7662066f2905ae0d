"""Reference data a district starts with: streets, communities, units, categories, settings.

Loaded by `init-db`. Loading is idempotent: a row that exists (by its natural
key) is left alone, so running it again changes nothing and an admin's later
edits (a renamed unit, a changed time limit) survive.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.config import DATA_DIR
from crm.models import CalendarDay, Category, Community, Policy, Setting, Street, Tag, Unit

REFERENCE_FILE = DATA_DIR / "reference" / "jiangbei.json"


def load_reference(path: Path = REFERENCE_FILE) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _get_or_add(session: Session, model, counts: Counter, key: dict, **values):
    row = session.scalars(select(model).filter_by(**key)).first()
    if row is None:
        row = model(**key, **values)
        session.add(row)
        session.flush()
        counts[model.__tablename__] += 1
    return row


def init_reference_data(session: Session, path: Path = REFERENCE_FILE) -> Counter:
    """Insert what is missing; return how many rows of each table were added."""
    data = load_reference(path)
    counts: Counter = Counter()
    for order, spec in enumerate(data["streets"], start=1):
        street = _get_or_add(session, Street, counts, {"name": spec["name"]},
                             short_name=spec["short_name"], kind=spec["kind"],
                             sort_order=order)
        for name in spec["communities"]:
            kind = "village" if name.endswith("村") else "community"
            _get_or_add(session, Community, counts, {"street_id": street.id, "name": name},
                        kind=kind)
        for office in data.get("street_offices", []):
            _get_or_add(session, Unit, counts, {"name": spec["name"] + office},
                        kind="street_office", street_id=street.id)
    for order, spec in enumerate(data["categories"], start=1):
        _get_or_add(session, Category, counts, {"name": spec["name"]},
                    limit_days=spec["limit_days"], sort_order=order)
    for spec in data["units"]:
        _get_or_add(session, Unit, counts, {"name": spec["name"]}, kind=spec["kind"])
    for spec in data["tags"]:
        _get_or_add(session, Tag, counts, {"name": spec["name"]}, kind=spec["kind"])
    for title in data.get("policies", []):
        _get_or_add(session, Policy, counts, {"title": title})
    for key, value in data.get("settings", {}).items():
        if session.get(Setting, key) is None:
            session.add(Setting(key=key, value=value))
            counts["setting"] += 1
    _load_calendar(session, data.get("calendar", {}), counts)
    session.flush()
    # Build the KPI rollups now (instantly, on an empty or small database) so every later
    # write keeps them current instead of the first KPI page paying for a rebuild.
    from crm.services import kpi_facts

    kpi_facts.ensure_fresh(session, own_transaction=False)
    return counts


def _load_calendar(session: Session, calendar: dict, counts: Counter) -> None:
    for start, end, note in calendar.get("holidays", []):
        day, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end)
        while day <= last:
            if session.get(CalendarDay, day) is None:
                session.add(CalendarDay(day=day, is_working=False, note=note))
                counts["calendar_day"] += 1
            day += dt.timedelta(days=1)
    for day_s, note in calendar.get("workdays", []):
        day = dt.date.fromisoformat(day_s)
        if session.get(CalendarDay, day) is None:
            session.add(CalendarDay(day=day, is_working=True, note=note))
            counts["calendar_day"] += 1


def get_setting(session: Session, key: str, default=None):
    row = session.get(Setting, key)
    return default if row is None else row.value


def set_setting(session: Session, key: str, value) -> None:
    row = session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value))
    else:
        row.value = value
