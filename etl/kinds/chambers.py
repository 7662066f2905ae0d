"""Chambers of commerce and banks a sheet names, and firms' chamber memberships.

A name the system does not know is created unconfirmed with a note on the row, as
a handling unit is (`etl.kinds.common.unit_id`); an administrator then confirms it
or merges it into the one it really is (crm.services.financing_admin, on 基础数据).
A membership (chamber_member) is added when the firm is not a member yet; an import
never removes one (a firm may belong to several chambers). Memberships are link rows
(`Context.link`): their provenance lets a rollback remove those the batch added.

Call `chamber_id` / `bank_id` / `join` after the row's last refusal: a name created
by a row that is then refused would leave the next rows pointing at nothing.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from crm import rules
from crm.models import Bank, Chamber, chamber_member
from etl import clean
from etl.clean import Bad
from etl.engine import Context

_CHAMBER_SPLIT = re.compile(r"[、，,;；]+")


def chamber_names(raw: object) -> tuple[str, ...]:
    """The chambers of one roster cell (several separated by 、，,;), each within the
    name's limit; a repeated name counts once."""
    limit = rules.limit("chamber", "name")
    names = []
    for part in _CHAMBER_SPLIT.split(clean.text(raw) or ""):
        name = part.strip()
        if not name:
            continue
        if len(name) > limit:
            raise Bad("etl.too_long", limit=limit, length=len(name))
        names.append(name)
    return tuple(dict.fromkeys(names))


def _names(ctx: Context, key: str, model) -> dict[str, int]:
    if key not in ctx.cache:
        ctx.cache[key] = dict(ctx.session.execute(select(model.name, model.id)).all())
    return ctx.cache[key]


def chambers(ctx: Context) -> dict[str, int]:
    """{name: id} of the stored chambers and those this import creates."""
    return _names(ctx, "chambers", Chamber)


def banks(ctx: Context) -> dict[str, int]:
    """{name: id} of the stored banks and those this import creates."""
    return _names(ctx, "banks", Bank)


def chamber_id(ctx: Context, name: str, row: int, fld: str) -> int:
    """The chamber's id; one the system does not know is created unconfirmed, with a note."""
    table = chambers(ctx)
    cid = table.get(name)
    if cid is None:
        cid = table[name] = ctx.add(Chamber.__table__, {"name": name, "confirmed": False}, row)
        ctx.warn(fld, "etl.new_chamber", name=name)
    return cid


def bank_id(ctx: Context, name: str, row: int, fld: str) -> int:
    """The bank's id; one the system does not know is created unconfirmed, with a note."""
    table = banks(ctx)
    bid = table.get(name)
    if bid is None:
        bid = table[name] = ctx.add(Bank.__table__, {"name": name, "confirmed": False}, row)
        ctx.warn(fld, "etl.new_bank", name=name)
    return bid


def _members(ctx: Context) -> set[tuple[int, int]]:
    """(chamber id, firm id) of the stored memberships, loaded once."""
    if "members" not in ctx.cache:
        c = chamber_member.c
        ctx.cache["members"] = set(ctx.session.execute(select(c.chamber_id, c.enterprise_id)))
    return ctx.cache["members"]


def join(ctx: Context, enterprise_id: int, chamber: int, row: int) -> None:
    """Make the firm a member of the chamber unless it is one (a file naming the same
    pair twice adds it once)."""
    if (chamber, enterprise_id) not in _members(ctx):
        ctx.link(chamber_member, {"enterprise_id": enterprise_id, "chamber_id": chamber}, row)
