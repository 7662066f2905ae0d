"""Places and organisation: streets/towns, communities, buildings, handling units."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from crm.db import Base
from crm.models._types import choice, intpk

STREET_KINDS = ("street", "town")
UNIT_KINDS = ("department", "street_office", "enterprise", "other")


class Street(Base):
    """A street (街道) or town (镇): the scope of a liaison and of most rankings."""

    __tablename__ = "street"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(40), unique=True)
    short_name: Mapped[str] = mapped_column(String(20), unique=True)
    kind: Mapped[str] = mapped_column(choice(*STREET_KINDS, name="street_kind"))
    division_code: Mapped[str | None] = mapped_column(String(12))
    sort_order: Mapped[int] = mapped_column(default=0)

    communities: Mapped[list[Community]] = relationship(back_populates="street",
                                                        order_by="Community.name")
    buildings: Mapped[list[Building]] = relationship(back_populates="street")


class Community(Base):
    """A community (社区) or village (村) under a street."""

    __tablename__ = "community"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[intpk]
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    name: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(choice("community", "village", name="community_kind"))

    street: Mapped[Street] = relationship(back_populates="communities")


class Building(Base):
    """An office tower or park (楼宇); a street leader may own it (班子包楼宇)."""

    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("street_id", "name"),)
    id: Mapped[intpk]
    street_id: Mapped[int] = mapped_column(ForeignKey("street.id"), index=True)
    community_id: Mapped[int | None] = mapped_column(ForeignKey("community.id"))
    name: Mapped[str] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(String(200))

    street: Mapped[Street] = relationship(back_populates="buildings")


class Unit(Base):
    """A handling unit (责任单位): a district department or a street office (科室).

    Units first seen in an import are created unconfirmed; an admin confirms
    them or merges them into an existing unit (`merged_into_id`).
    """

    __tablename__ = "unit"
    id: Mapped[intpk]
    name: Mapped[str] = mapped_column(String(60), unique=True)
    kind: Mapped[str] = mapped_column(choice(*UNIT_KINDS, name="unit_kind"))
    street_id: Mapped[int | None] = mapped_column(ForeignKey("street.id"), index=True)
    confirmed: Mapped[bool] = mapped_column(default=True)
    active: Mapped[bool] = mapped_column(default=True)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))

    street: Mapped[Street | None] = relationship()
