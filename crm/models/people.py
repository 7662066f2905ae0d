"""People and users. A person (cadre, handler, chamber staff) need not have a login;
a user is a login with a role and a scope (street, unit or chamber)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.models._types import choice, created_at, intpk
from crm.models.org import Street, Unit

ROLES = ("liaison", "cadre", "handler", "chamber", "employment", "official", "admin")
PERSON_KINDS = ("leader", "cadre", "handler", "chamber", "employment", "official", "other")


class Person(Base):
    __tablename__ = "person"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(choice(*PERSON_KINDS, name="person_kind"))
    title: Mapped[str | None] = mapped_column(String(60))
    phone: Mapped[str | None] = mapped_column(String(30))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)

    street: Mapped[Street | None] = relationship()
    unit: Mapped[Unit | None] = relationship()


class User(Base):
    """A login. `street_id`/`unit_id`/`chamber_id` is the scope the role acts in."""

    __tablename__ = "app_user"
    id: Mapped[intpk]
    username: Mapped[str] = mapped_column(String(40), unique=True)
    display_name: Mapped[str] = mapped_column(String(40))
    role: Mapped[str] = mapped_column(choice(*ROLES, name="user_role"))
    password_hash: Mapped[str | None] = mapped_column(String(200))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    chamber_id: Mapped[int | None] = mapped_column(ForeignKey("chamber.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"))
    language: Mapped[str] = mapped_column(String(5), default="zh")
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[dt.datetime | None]
    last_login_at: Mapped[dt.datetime | None]
    created_at: Mapped[created_at]

    street: Mapped[Street | None] = relationship()
    unit: Mapped[Unit | None] = relationship()
    person: Mapped[Person | None] = relationship()
