"""Finding reference rows by the names people actually type."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from crm.errors import NotFound
from crm.models import Street

_SUFFIXES = ("街道办事处", "办事处", "街道", "镇人民政府", "镇政府", "镇")


def street_key(raw: str) -> str:
    """大石坝 / 大石坝街道 / 大石坝街道办事处 all reduce to 大石坝."""
    name = "".join(str(raw).split())
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def find_street(session: Session, raw: str) -> Street:
    key = street_key(raw)
    street = session.scalar(select(Street).where(or_(Street.name == raw.strip(),
                                                     Street.short_name == key)))
    if street is None:
        raise NotFound(f"no street or town named {raw!r}", key="error.street_not_found",
                       name=raw)
    return street
