"""Job fairs (kind `job-fair`): the sign-up sheet and the results sheet, one kind.

A row names a fair (name + date: its key), a firm (its participation: fair + firm),
and usually a position (participation + title) with headcount, pay (面议 = no range,
negotiable) and requirements: that is the sign-up sheet. A row that also gives funnel
counts is a dated update of the position's funnel (position + 统计日期; the fair's
day when the sheet has no date column): the results sheet. Counts without a
position go to the firm's position "未分岗位" (headcount 0), as migration 0009 did
with the old per-firm counts.

The funnel rule is the app's (crm.services.jobfairs.update_problem over
crm.rules.funnel_problem): a stage not given keeps the latest figure on record on or
before that day (stored, or an earlier row of the file), and a row whose funnel
breaks the order, is dated before the fair or in the future, or counts retention
before 90 days is refused with its row, column and reason; nothing of it is written.
"""

from __future__ import annotations

import re
from decimal import Decimal

from sqlalchemy import select

from crm import rules
from crm.db import today
from crm.lifecycle import PARTICIPATION
from crm.models import FairParticipation, FairPosition, FairPositionUpdate, JobFair
from crm.services.jobfairs import merged_counts, update_problem
from etl import clean
from etl.clean import Bad
from etl.engine import Context, Kind, RowError
from etl.kinds.common import (
    FIRM_FIELDS,
    find_firm,
    stored_rows,
    street_cleaner,
    words,
)

UNSPLIT = "未分岗位"
NEGOTIABLE = ("面议", "薪资面议", "待遇面议", "面谈", "negotiable")
_PAY = re.compile(r"(\d+(?:\.\d+)?)\s*([千万kK]?)")
_UNIT = {"千": 1000, "k": 1000, "K": 1000, "万": 10000}


def pay_range(raw: object) -> tuple[int | None, int | None]:
    """'4000-6000', '8千-1.6万', '5k' -> yuan per month (low, high); 面议 -> (None, None)."""
    s = clean.text(raw) or ""
    if any(word in s for word in NEGOTIABLE):
        return (None, None)
    found = _PAY.findall(s.replace(",", ""))
    if not found or len(found) > 2:
        raise Bad("etl.bad_range")
    values = [int(Decimal(n) * _UNIT.get(u, 1)) for n, u in found]
    if len(found) == 2 and not found[0][1] and found[1][1]:  # 8-10千
        values[0] = int(Decimal(found[0][0]) * _UNIT[found[1][1]])
    low, high = values[0], values[-1]
    if low > high:
        raise Bad("etl.bad_range")
    return low, high


def _known(ctx: Context, table, key, stored: dict) -> tuple[int, dict] | None:
    """The record with this key, stored or planned by an earlier row: (id, values)."""
    seen = ctx.seen.get(str(table.name), {}).get(key)
    return seen if seen is not None else stored.get(key)


class JobFairs(Kind):
    name = "job-fair"
    table = FairParticipation.__table__
    required = ("fair", "held_on")
    one_of = (("uscc", "firm_name"),)
    cached = frozenset({"uscc", "firm_name", "fair", "held_on", "place", "street", "kind",
                        "headcount", "pay", "as_of", *rules.FUNNEL})
    soft = frozenset({"street"})
    COUNTS = rules.FUNNEL

    def cleaners(self, ctx, mapping):
        return {**FIRM_FIELDS, "fair": clean.limited(rules.limit("job_fair", "name")),
                "held_on": clean.date, "place": clean.limited(rules.limit("job_fair", "place")),
                "street": street_cleaner(ctx), "kind": clean.choice(words("fair_kind")),
                "position": clean.limited(rules.limit("fair_position", "title")),
                "headcount": clean.count, "pay": pay_range,
                "requirements": clean.limited(rules.limit("fair_position", "requirements"),
                                              multiline=True),
                "as_of": clean.date, **{c: clean.count for c in self.COUNTS}}

    def _stored(self, ctx: Context) -> tuple[dict, dict, dict, dict]:
        fairs = stored_rows(ctx, "fairs", select(JobFair.id, JobFair.name, JobFair.held_on,
                                           JobFair.place, JobFair.street_id, JobFair.kind),
                      lambda v: (v["name"], v["held_on"]))
        parts = stored_rows(ctx, "parts", select(FairParticipation.id, FairParticipation.fair_id,
                                           FairParticipation.enterprise_id,
                                           FairParticipation.status),
                      lambda v: (v["fair_id"], v["enterprise_id"]))
        t = FairPosition.__table__
        positions = stored_rows(ctx, "positions",
                          select(t.c.id, t.c.participation_id, t.c.title, t.c.headcount,
                                 t.c.pay_min, t.c.pay_max, t.c.pay_negotiable,
                                 t.c.requirements),
                          lambda v: rules.position_key(v["participation_id"], v["title"]))
        u = FairPositionUpdate.__table__
        updates = stored_rows(ctx, "updates", select(u.c.id, u.c.position_id, u.c.as_of,
                                               *[u.c[c] for c in self.COUNTS]),
                        lambda v: (v["position_id"], v["as_of"]))
        return fairs, parts, positions, updates

    def _previous(self, ctx: Context, updates: dict, position_id: int | None, day):
        """The latest funnel on or before `day`: stored, or planned by an earlier row."""
        if position_id is None:
            return None
        by_position = ctx.cache.get("updates_by_position")
        if by_position is None:  # stored updates per position, indexed once per import
            by_position = ctx.cache["updates_by_position"] = {}
            for (pid, when), (_, values) in updates.items():
                by_position.setdefault(pid, {})[when] = values
        known = by_position.get(position_id, {})
        earlier = [when for when in known if when <= day]
        return known[max(earlier)] if earlier else None

    def plan(self, ctx: Context, rec: dict, row: int) -> None:
        fid, _ = find_firm(ctx, rec)
        fairs, parts, positions, updates = self._stored(ctx)
        fair_key = (rec["fair"], rec["held_on"])
        title = rec.get("position")
        counts_given = {c: rec.get(c) for c in self.COUNTS}
        has_counts = any(v is not None for v in counts_given.values())
        if has_counts and not title:
            title = UNSPLIT
        # Judge the funnel before planning anything of the row: a refused row leaves no trace.
        fair = _known(ctx, JobFair.__table__, fair_key, fairs)
        part = _known(ctx, self.table, (fair[0], fid), parts) if fair else None
        pos = _known(ctx, FairPosition.__table__, rules.position_key(part[0], title),
                     positions) if part and title else None
        day = rec.get("as_of") or rec["held_on"]
        if has_counts:
            if part is not None and part[1].get("status") not in \
                    PARTICIPATION.action("record").sources:
                raise RowError(None, "jobfair.withdrawn")
            previous = self._previous(ctx, updates, pos[0] if pos else None, day)
            counts = merged_counts(previous, counts_given)
            problem = update_problem(rec["held_on"], day, counts, today())
            if problem is not None:
                key, fld, params = problem
                raise RowError("as_of" if fld == "as_of" and "as_of" in rec else
                               ("held_on" if fld == "as_of" else fld), key, **params)
        # The fair, the firm's participation, the position, the update.
        fair_values = {"name": rec["fair"], "held_on": rec["held_on"]}
        for fld, col in (("place", "place"), ("street", "street_id"), ("kind", "kind")):
            if fld in rec:
                fair_values[col] = rec[fld]
        if fair is None and "kind" not in rec:
            fair_values["kind"] = rules.FAIR_KIND
        fair_id = ctx.upsert(JobFair.__table__, fair_key, fair_values, row, fairs.get(fair_key))
        part_key = (fair_id, fid)
        part_values = {"fair_id": fair_id, "enterprise_id": fid}
        if _known(ctx, self.table, part_key, parts) is None:
            part_values["status"] = "attended" if has_counts else PARTICIPATION.initial
            part_values["signed_up_on"] = today()
        elif has_counts and (part or (0, {}))[1].get("status") == "signed_up":
            part_values["status"] = "attended"
        part_id = ctx.upsert(self.table, part_key, part_values, row, parts.get(part_key))
        if not title:
            return
        pos_key = rules.position_key(part_id, title)
        pos_values = {"participation_id": part_id, "title": title}
        if title == UNSPLIT and _known(ctx, FairPosition.__table__, pos_key, positions) is None:
            pos_values["headcount"] = 0
        if "headcount" in rec:
            pos_values["headcount"] = rec["headcount"]
        if "pay" in rec:
            pos_values["pay_min"], pos_values["pay_max"] = rec["pay"]
            pos_values["pay_negotiable"] = rec["pay"] == (None, None)
        if "requirements" in rec:
            pos_values["requirements"] = rec["requirements"]
        pos_id = ctx.upsert(FairPosition.__table__, pos_key, pos_values, row,
                            positions.get(pos_key))
        if not has_counts:
            return
        update_key = (pos_id, day)
        values = {"position_id": pos_id, "as_of": day, **counts}
        found = updates.get(update_key)
        if found is None and ctx.actor is not None and ctx.actor.id is not None:
            values["actor_id"] = ctx.actor.id
        ctx.upsert(FairPositionUpdate.__table__, update_key, values, row, found)
        self._previous(ctx, updates, pos_id, day)  # make sure the index exists
        ctx.cache["updates_by_position"].setdefault(pos_id, {})[day] = counts

    def tables_in_order(self):
        return [JobFair.__table__, self.table, FairPosition.__table__,
                FairPositionUpdate.__table__]
