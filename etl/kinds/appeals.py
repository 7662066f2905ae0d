"""Appeal ledgers (诉求台账), keyed by the ledger's own number when it has one.

Without a number the key is firm + received date + content, kept as a code
derived from them ("DR-" + a hash), so the same row imported again finds the
same appeal. The firm is named by USCC, by name, or both. An unknown category
becomes 其他 and an unknown handling unit is created unconfirmed, each with a
note; status and satisfaction words map through synonyms.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time

from sqlalchemy import select

from crm.models import Appeal, AppealUnit
from crm.services import kpi_facts
from crm.services.calendar import WorkCalendar
from etl import clean
from etl.clean import Warned
from etl.engine import Context, Kind, RowError
from etl.kinds.common import (
    categories,
    find_firm,
    stored_keys,
    street_cleaner,
    unit_id,
    words,
)

OTHER = "其他"
COLUMNS = ("code", "enterprise_id", "street_id", "category_id", "channel", "priority", "title",
           "description", "contact_name", "contact_phone", "status", "received_at", "due_date",
           "lead_unit_id", "replied_at", "reply_text", "solved", "satisfaction")
TITLE_CHARS = 60


def derived_code(uscc_or_name: str, received: dt.datetime, title: str, description: str) -> str:
    digest = hashlib.sha1(f"{uscc_or_name}|{received.date().isoformat()}|{title}|{description}"
                          .encode()).hexdigest()
    return "DR-" + digest[:16].upper()


class Appeals(Kind):
    name = "appeals"
    table = Appeal.__table__
    required = ("received_at",)
    one_of = (("uscc", "firm_name"), ("title", "description"))
    cached = frozenset({"uscc", "firm_name", "street", "category", "channel", "priority",
                        "lead_unit", "status", "received_at", "replied_at", "solved",
                        "satisfaction", "contact_name", "contact_phone"})
    soft = frozenset({"contact_phone", "priority", "channel", "street"})

    def cleaners(self, ctx, mapping):
        cats = categories(ctx)

        def category(raw):
            name = clean.text(raw) or ""
            if name in cats:
                return name
            return Warned(OTHER, "etl.unknown_category", value=name)

        return {"code": clean.limited(40), "uscc": clean.uscc, "firm_name": clean.limited(100),
                "street": street_cleaner(ctx), "category": category,
                "channel": clean.choice(words("channel"), default="import"),
                "priority": clean.choice(words("priority"), default="normal"),
                "title": clean.limited(200), "description": clean.limited(20000, multiline=True),
                "contact_name": clean.limited(40), "contact_phone": clean.phone,
                "received_at": clean.moment, "lead_unit": clean.limited(60),
                "status": clean.choice(words("status")), "replied_at": clean.moment,
                "reply_text": clean.limited(20000, multiline=True), "solved": clean.boolean,
                "satisfaction": clean.choice(words("satisfaction"))}

    def prefetch(self, ctx: Context, recs: list[dict]) -> None:
        if "calendar" not in ctx.cache:
            ctx.cache["calendar"] = WorkCalendar.load(ctx.session)
            ctx.cache["existing"] = {}
            ctx.cache["dues"] = {}
        keyed = [r["code"] for r in recs if r.get("code")]
        derived = [self._derived(r) for r in recs if not r.get("code")]
        t = self.table
        existing = ctx.cache["existing"]
        stored = stored_keys(ctx, t.c.code)
        wanted = [k for k in dict.fromkeys(keyed + [d for d in derived if d]) if k in stored]
        for i in range(0, len(wanted), 900):
            for row in ctx.session.execute(select(t.c.id, t.c.version, *[t.c[c] for c in COLUMNS])
                                           .where(t.c.code.in_(wanted[i:i + 900]))).mappings():
                existing[row["code"]] = (row["id"], {c: row[c] for c in ("version", *COLUMNS)})

    @staticmethod
    def _derived(rec: dict) -> str | None:
        title = rec.get("title") or ""
        description = rec.get("description") or ""
        firm = rec.get("uscc") or rec.get("firm_name")
        if not firm or rec.get("received_at") is None:
            return None
        rec["code"] = code = derived_code(firm, rec["received_at"], title, description)
        return code

    def plan(self, ctx: Context, rec: dict, row: int) -> None:
        fid, street_id = find_firm(ctx, rec)
        if street_id is None:
            street_id = rec.get("street")
        code = rec.get("code") or self._derived(rec)
        title = rec.get("title")
        description = rec.get("description")
        if not title:
            title = description.splitlines()[0][:TITLE_CHARS]
        received: dt.datetime = rec["received_at"]
        cat_name = rec.get("category", OTHER)
        if "category" not in rec:
            ctx.warn(None, "etl.no_category")
        cats = ctx.cache.get("categories") or categories(ctx)
        cid, limit, working = cats.get(cat_name) or cats[OTHER]
        day = received.date()
        dues = ctx.cache["dues"]
        due = dues.get((day, cid))
        if due is None:
            due = dues[(day, cid)] = ctx.cache["calendar"].add(day, limit, working_days=working)
        values = {"code": code, "enterprise_id": fid, "title": title,
                  "category_id": cid, "received_at": received, "due_date": due}
        if description is not None or "description" in rec:
            values["description"] = description or ""
        for fld in ("channel", "priority", "contact_name", "contact_phone", "reply_text",
                    "solved", "satisfaction", "replied_at"):
            if fld in rec:
                values[fld] = rec[fld]
        replied = rec.get("replied_at")
        if replied is not None and replied < received:
            raise RowError("replied_at", "etl.replied_before_received")
        lead = None
        if rec.get("lead_unit"):
            lead = unit_id(ctx, rec["lead_unit"], row, "lead_unit")
            values["lead_unit_id"] = lead
        existing = ctx.cache["existing"].get(code)
        current = existing[1] if existing else ctx.seen.get("appeal", {}).get(code,
                                                                              (0, None))[1]
        status = rec.get("status")
        if status is None and current is None:
            status = ("callback" if rec.get("satisfaction") else "replied" if replied
                      else "dispatched" if lead else "received")
        if status is not None:
            values["status"] = status
        if current is None:  # the street when logged; it does not follow a firm that moves
            values["street_id"] = street_id
            values.setdefault("channel", "import")
            values.setdefault("description", "")
        elif (current.get("received_at") == received and current.get("category_id") == cid):
            del values["due_date"]  # keep extensions and the limit in force when logged
        ctx.upsert(self.table, code, values, row, existing, versioned=True)

    def write(self, ctx: Context) -> None:
        # The KPI rollups follow (crm.services.kpi_facts): updated appeals by their KPI
        # fields before and after the write; inserted ones counted from the values
        # written (in after_write, while the database builds the appeal indexes).
        updated = [rid for rid, _ in ctx.updates.get(self.table.name, ())]
        before = kpi_facts.snapshot(ctx.session, updated)
        ctx.cache["sign_days"] = kpi_facts.sign_days(ctx.session)
        super().write(ctx)
        if updated:
            ctx.writer.drain()
            kpi_facts.apply_changes(ctx.session, before,
                                    kpi_facts.snapshot(ctx.session, updated))

    def after_write(self, ctx: Context) -> None:
        inserted = ctx.inserts.get(self.table.name, ())
        sign_days = ctx.cache.get("sign_days")
        counts = None
        if inserted and sign_days is not None:
            mark = time.perf_counter()
            counts = kpi_facts.counts_of_new(inserted, sign_days)
            ctx.writer.seconds["kpi counts"] = time.perf_counter() - mark
        rows = [{"appeal_id": a["id"],
                 "unit_id": a["lead_unit_id"], "role": "lead", "active": True,
                 "assigned_at": a["received_at"]}
                for a in inserted if a.get("lead_unit_id")]
        if counts:
            ctx.writer.drain()
            mark = time.perf_counter()
            kpi_facts.write_counts(ctx.writer.conn, counts)
            ctx.writer.seconds["kpi rollups"] = time.perf_counter() - mark
        ctx.writer.insert(AppealUnit.__table__, rows, auto_id=True)

    def side_tables(self):
        return [AppealUnit.__table__]

    def tables_in_order(self):
        from crm.models import Unit

        return [Unit.__table__, self.table]

