"""A small district for service tests: two streets' liaisons, three units' clerks, firms."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from crm.access import SYSTEM
from crm.auth import Actor
from crm.models import Category, Enterprise, Street, Unit
from crm.services.users import actor_of, add_user
from crm.uscc import complete


@dataclass
class World:
    liaison: Actor          # 江北城街道
    other_liaison: Actor    # 大石坝街道
    lead: Actor             # 区交巡警支队
    co: Actor               # 区人力社保局
    outsider: Actor         # 区金融办, never involved
    admin: Actor
    official: Actor
    cadre: Actor
    firm: Enterprise        # in 江北城街道
    other_firm: Enterprise  # in 大石坝街道
    traffic: Category
    units: dict[str, Unit]

    def unit(self, name: str) -> int:
        return self.units[name].id


def make_firm(session, n: int, street: str, name: str | None = None) -> Enterprise:
    street_id = session.scalar(select(Street.id).where(Street.name == street))
    firm = Enterprise(uscc=complete(f"91500105MA{n:06d}"), name=name or f"重庆测试{n}有限公司",
                      street_id=street_id)
    session.add(firm)
    session.flush()
    return firm


@pytest.fixture
def world(session) -> World:
    def actor(name, role, **scope):
        return actor_of(add_user(session, name, role=role, password="secret123", **scope,
                                 actor=SYSTEM))

    w = World(
        liaison=actor("li", "liaison", street="江北城街道"),
        other_liaison=actor("li2", "liaison", street="大石坝街道"),
        lead=actor("jj", "handler", unit="区交巡警支队"),
        co=actor("rs", "handler", unit="区人力社保局"),
        outsider=actor("jr", "handler", unit="区金融办"),
        admin=actor("root", "admin"),
        official=actor("boss", "official"),
        cadre=actor("cad", "cadre", street="江北城街道"),
        firm=make_firm(session, 1, "江北城街道", "重庆江北嘴证券服务有限公司"),
        other_firm=make_firm(session, 2, "大石坝街道", "重庆齐祥灯饰有限公司"),
        traffic=session.scalar(select(Category).where(Category.name == "交通")),
        units={u.name: u for u in session.scalars(select(Unit))},
    )
    session.commit()
    return w
