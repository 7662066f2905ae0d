"""What the demo generators share: the random source, the clock, the writer,
the reference rows read from the database, and the firms made so far.

Generators are plain functions over this one object, so each module can be
read on its own and the order of the steps lives in `crm.demo.seed_demo`.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm.bulk.loader import BulkLoader
from crm.demo.clock import Clock
from crm.models import Category, Community, Policy, Street, Tag, Unit

# The data is anchored on a fixed "today" so a seed always gives the same rows
# and the dashboards look current: appeals run over the two years before it.
AS_OF = dt.date(2026, 11, 27)
AS_OF_HOUR = 18  # nothing happens after 18:00 on the as-of day
APPEAL_YEARS_BACK = 2

Progress = Callable[[str, int, int], None]


@dataclass
class StreetRef:
    index: int
    id: int
    name: str
    short_name: str
    kind: str
    communities: list[tuple[int, str]]  # (id, name)
    office_id: int  # the street's 经发办, which owns firms (科室包企业)


@dataclass
class Ref:
    streets: list[StreetRef]
    units: dict[str, int]  # name -> id
    categories: list[tuple[int, str, int]]  # (id, name, limit_days)
    tags: dict[str, int]
    policies: list[tuple[int, str]]

    @classmethod
    def load(cls, session: Session) -> Ref:
        units = dict(session.execute(select(Unit.name, Unit.id)).all())
        streets = []
        for i, st in enumerate(session.scalars(select(Street).order_by(Street.sort_order,
                                                                        Street.id))):
            comms = session.execute(select(Community.id, Community.name)
                                    .where(Community.street_id == st.id)
                                    .order_by(Community.id)).all()
            streets.append(StreetRef(i, st.id, st.name, st.short_name, st.kind,
                                     [tuple(c) for c in comms], units[st.name + "经发办"]))
        cats = [tuple(r) for r in session.execute(
            select(Category.id, Category.name, Category.limit_days)
            .where(Category.active).order_by(Category.sort_order, Category.id))]
        tags = dict(session.execute(select(Tag.name, Tag.id)).all())
        policies = [tuple(r) for r in session.execute(select(Policy.id, Policy.title)
                                                      .order_by(Policy.id))]
        return cls(streets, units, cats, tags, policies)

    def street(self, name: str) -> StreetRef:
        return next(s for s in self.streets if s.name == name)


@dataclass
class Firms:
    """Facts about each generated firm, by position (0..n-1), for the later generators."""

    ids: list[int] = field(default_factory=list)
    street: list[int] = field(default_factory=list)  # StreetRef.index
    industry: list[str] = field(default_factory=list)
    size: list[str] = field(default_factory=list)
    above: list[bool] = field(default_factory=list)
    shop: list[bool] = field(default_factory=list)  # 个体工商户
    registered: list[int] = field(default_factory=list)  # day number (Clock)
    contact: list[tuple[str, str]] = field(default_factory=list)  # (name, phone)
    story: dict[str, int] = field(default_factory=dict)  # story key -> position

    def __len__(self) -> int:
        return len(self.ids)


@dataclass
class Demo:
    rng: random.Random
    session: Session
    writer: BulkLoader
    ref: Ref
    progress: Progress
    clock: Clock = field(default_factory=Clock)
    firms: Firms = field(default_factory=Firms)
    buildings: list[tuple[int, int, str, str, int | None]] = field(default_factory=list)
    # (building id, street index, name, road address, community id)
    users: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    # username -> (user id, person id)
    liaison_of_street: dict[int, int] = field(default_factory=dict)  # street index -> user id
    handler_of_unit: dict[int, int] = field(default_factory=dict)  # unit id -> user id
    chambers: dict[str, int] = field(default_factory=dict)  # name -> id
    cadres_of_street: dict[int, list[int]] = field(default_factory=dict)  # -> person ids
    leaders_of_street: dict[int, list[int]] = field(default_factory=dict)  # -> person ids
    covered: list[bool] = field(default_factory=list)  # firm position -> has a cadre
    cadre_of_firm: dict[int, list[tuple[int, int, int | None]]] = field(default_factory=dict)
    # firm position -> [(person id, start day, end day or None)], oldest first
    visits_for_appeals: dict[int, list[tuple[int, int]]] = field(default_factory=dict)
    # day number -> [(visit id, firm position)] visits that raised an appeal that day

    @property
    def as_of_t(self) -> int:
        return self.clock.at(AS_OF, AS_OF_HOUR)

    def ts(self, t: int) -> str:
        return self.clock.ts(t)
