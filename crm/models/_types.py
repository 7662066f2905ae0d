"""Column helpers shared by the models."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from sqlalchemy import Enum, String
from sqlalchemy.orm import mapped_column

from crm.db import now

intpk = Annotated[int, mapped_column(primary_key=True)]
created_at = Annotated[dt.datetime, mapped_column(default=now, nullable=False)]
updated_at = Annotated[dt.datetime, mapped_column(default=now, onupdate=now, nullable=False)]


def choice(*values: str, name: str) -> Enum:
    """A portable enum: VARCHAR plus a CHECK constraint (no native PG enum to migrate)."""
    return Enum(*values, name=name, native_enum=False, create_constraint=True, length=24,
                validate_strings=True)


def text(n: int) -> String:
    return String(n)
