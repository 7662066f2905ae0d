"""Appeal ledgers (诉求台账), keyed by the ledger's own number when it has one.

Without a number the key is firm + received date + content, kept as a key
derived from them ("DR-" + a hash), so the same row imported again finds the
same appeal. The key is kept as the appeal's `external_ref`; the appeal itself is
named by its QF number like every other (crm.rules.appeal_code). A number that is
one of our QF numbers (an exported ledger imported again) names that appeal.

The firm is named by USCC, by name, or both; a firm no roster holds is created
unconfirmed, with a note (`new_firm`), and a liaison confirms it or merges it into
the firm it really is (crm.services.firm_admin). An unknown category
becomes 其他 and an unknown handling unit is created unconfirmed, each with a
note; status and satisfaction words map through synonyms.

A status that contradicts the dates is settled by one rule (`settle_status`): the
reply date decides. An appeal with a reply date is replied (a "pending" / 已受理
status becomes replied, or callback when the row has a satisfaction); one without
is open (a 已办结 / 已回访 / 已归档 status becomes dispatched when it has a lead unit,
else received). Either way the row gets a warning. So every appeal counts in the KPI
facts exactly once as replied or as open (replied + open = total).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import time
from collections import Counter

from sqlalchemy import select

from crm import rules
from crm.bulk.writer import adapters
from crm.lifecycle import OPEN_STATUSES
from crm.models import Appeal, AppealUnit, Enterprise
from crm.services import category_words, kpi_facts
from crm.services.calendar import WorkCalendar
from crm.services.firm_admin import provisional_uscc
from crm.services.reference import get_setting
from etl import clean
from etl.engine import MISSING, Context, Issue, Kind, RowError
from etl.kinds.common import (
    SCAN_AT,
    categories,
    find_firm,
    firms,
    initials,
    stored_keys,
    street_cleaner,
    table_rows,
    unit_id,
    units,
    words,
)

OTHER = "其他"
COLUMNS = ("external_ref", "enterprise_id", "street_id", "category_id", "channel", "priority",
           "title", "description", "contact_name", "contact_phone", "status", "received_at",
           "due_date", "lead_unit_id", "replied_at", "reply_text", "solved", "satisfaction")
TITLE_CHARS = 60
# what a re-imported row is compared on (`Appeals._unchanged`)
_COMPARED = ("received_at", "category_id", "enterprise_id", "title", "description", "status",
             "lead_unit_id", "replied_at", "channel", "priority", "contact_name",
             "contact_phone", "reply_text", "solved", "satisfaction")


_OPEN = frozenset(OPEN_STATUSES)
_REPLIED = frozenset({"replied", "callback", "archived"})  # what has a reply date


def settle_status(status: str | None, replied: bool, lead: bool,
                  satisfaction: object) -> tuple[str | None, str | None]:
    """(the status to keep, the warning key or None): the reply date decides.

    `status` is the row's (or, for a stored appeal the row leaves it to, the stored
    one; None: neither, then it is derived without a warning); `replied` whether the
    appeal has a reply date once the row is applied. A merged appeal is left as it is.
    """
    if status is None:
        if replied:
            return ("callback" if satisfaction else "replied"), None
        return ("dispatched" if lead else "received"), None
    if replied and status in _OPEN:
        return ("callback" if satisfaction else "replied"), "etl.status_open_but_replied"
    if not replied and status in _REPLIED:
        return ("dispatched" if lead else "received"), "etl.status_closed_no_reply"
    return status, None


def new_firm(ctx: Context, rec: dict, row: int) -> tuple[int, int | None]:
    """(firm id, street id) of the firm an appeal row names when no roster holds it
    (neither its USCC nor its name is on file): created unconfirmed, with a note, in the
    row's street (a liaison's: their own). A known name with an unknown USCC, or a firm
    of another street, is refused as `find_firm` refuses it."""
    by_code, by_name = firms(ctx)
    code, name = rec.get("uscc"), rec.get("firm_name")
    if (code and by_code.get(code)) or (name and by_name.get(name)):
        return find_firm(ctx, rec)  # one of the two is known: find_firm says what is wrong
    street, scope = rec.get("street"), ctx.scope_street
    if scope is not None:
        if street is not None and street != scope:
            raise RowError("street", "etl.other_street")
        street = scope
    name = name or f"待确认企业（{code}）"
    code = code or provisional_uscc(name)
    fid = ctx.add(Enterprise.__table__, {
        "uscc": code, "name": name, "name_initials": initials(name), "street_id": street,
        "confirmed": False, "active": True}, row)
    by_code[code] = (fid, name, street)
    by_name[name] = (fid, code, street)
    ctx.warn("firm_name" if rec.get("firm_name") else "uscc", "etl.new_firm", name=name)
    return fid, street


def _title(description: str) -> str:
    """An appeal without a title is titled by its description's first line."""
    return description.splitlines()[0][:TITLE_CHARS]


def _qf_codes(received: list[dt.datetime]):
    """`add_bulk`'s fill: the QF numbers of new appeals from their ids."""
    def fill(ids: list[int]) -> dict[str, list]:
        return {"code": [rules.appeal_code(r, i) for r, i in zip(received, ids, strict=True)]}
    return fill


def stored_refs(ctx: Context, table, keys) -> set:
    """Which keys name a stored appeal: by its ledger number, or by its QF number."""
    keys = [k for k in keys if k is not None]
    found = stored_keys(ctx, table.c.external_ref, keys)
    qf = [k for k in keys if k not in found and k.startswith(rules.APPEAL_CODE_PREFIX)]
    return found | (stored_keys(ctx, table.c.code, qf) if qf else set())


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
        mapped = category_words.mapped(ctx.session)

        def category(raw):
            # a word an administrator mapped reads as its category; another unknown word
            # stays as written: filed under 其他, counted and noted once (`_unknown_words`)
            name = clean.text(raw) or ""
            return name if name in cats else mapped.get(name, name)

        lim = rules.limit
        return {"code": clean.limited(lim("appeal", "code")), "uscc": clean.uscc,
                "firm_name": clean.limited(lim("enterprise", "name")),
                "street": street_cleaner(ctx), "category": category,
                "channel": clean.choice(words("channel"), default=rules.IMPORT_CHANNEL),
                "priority": clean.choice(words("priority"), default=rules.DEFAULT_PRIORITY),
                "title": clean.limited(lim("appeal", "title")),
                "description": clean.limited(lim("appeal", "description"), multiline=True),
                "contact_name": clean.limited(lim("appeal", "contact_name")),
                "contact_phone": clean.phone,
                "received_at": clean.moment, "lead_unit": clean.limited(lim("unit", "name")),
                "status": clean.choice(words("status")), "replied_at": clean.moment,
                "reply_text": clean.limited(lim("appeal", "reply_text"), multiline=True),
                "solved": clean.boolean,
                "satisfaction": clean.choice(words("satisfaction"))}

    @staticmethod
    def _setup(ctx: Context) -> None:
        if "calendar" not in ctx.cache:
            ctx.cache["calendar"] = WorkCalendar.load(ctx.session)
            ctx.cache["working_days"] = get_setting(ctx.session, "appeals.working_days", False)
            ctx.cache["existing"] = {}
            ctx.cache["dues"] = {}

    @staticmethod
    def _due(ctx: Context, day: dt.date, cid: int, limit: int, working: bool) -> dt.date:
        dues = ctx.cache["dues"]
        due = dues.get((day, cid))
        if due is None:  # the app's rule (crm.rules.due_date), once per day and category
            due = dues[(day, cid)] = rules.due_date(
                ctx.cache["calendar"], day, limit, category_working=working,
                district_setting=ctx.cache["working_days"])
        return due

    def plan_bulk(self, ctx, columns, rows, numbers, notes):
        """The rows `plan` would make a new appeal of with no question asked, planned
        column-wise: a firm found by its USCC and/or name (agreeing, in scope), a key
        (ledger number, else the derived one) that no other row of the file and no
        stored appeal has, a known lead unit (or none), a reply not before receipt.
        Every other row goes to `plan`, which says what is wrong or what it merges."""
        self._setup(ctx)
        n = len(numbers)
        none = [None] * n

        def col(name: str) -> list:
            return columns.get(name) or none

        uscc, firm_name, given = col("uscc"), col("firm_name"), col("code")
        received, replied = col("received_at"), col("replied_at")
        titles, descriptions = col("title"), col("description")
        by_code, by_name = firms(ctx)
        scope = ctx.scope_street
        resolved: dict[tuple, tuple | None] = {}

        def resolve(pair: tuple) -> tuple | None:
            """(firm id, street id) when find_firm would accept the pair without a word."""
            code, name = pair
            if not code and not name:
                return None  # a row rejected already
            hit_code = by_code.get(code) if code else None
            hit_name = by_name.get(name) if name else None
            if (code and hit_code is None) or (name and hit_name is None and hit_code is None) \
                    or (hit_code and hit_name and hit_code[0] != hit_name[0]):
                return None
            fid, _, sid = hit_code or hit_name
            return None if scope is not None and sid != scope else (fid, sid)

        firm_of = []
        for pair in zip(uscc, firm_name, strict=True):
            hit = resolved.get(pair, MISSING)
            if hit is MISSING:
                hit = resolved[pair] = resolve(pair)
            firm_of.append(hit)
        # The key of every valid row (repeats are judged over the whole file) …
        keys = {}
        for j in rows:
            code = given[j]
            if not code:
                firm = uscc[j] or firm_name[j]
                code = derived_code(firm, received[j], titles[j] or "", descriptions[j] or "")
            keys[j] = code
        count = Counter(keys.values())
        stored = stored_refs(ctx, self.table, keys.values())
        known_units = units(ctx)
        lead_names = col("lead_unit")
        easy, again, rest = [], [], []
        first_naming: dict[str, int] = {}  # a unit the system does not know: its first row
        waiting: dict[str, list[int]] = {}  # its new rows that need nothing else
        for j in rows:
            lead = lead_names[j]
            unknown = bool(lead) and lead not in known_units
            if unknown:
                first_naming.setdefault(lead, j)
            if (firm_of[j] is None or count[keys[j]] > 1
                    or (replied[j] is not None and replied[j] < received[j])):
                rest.append(j)
            elif unknown:
                (rest if keys[j] in stored else waiting.setdefault(lead, [])).append(j)
            else:
                (again if keys[j] in stored else easy).append(j)
        # A new unit is created (unconfirmed, with a note) by the first row naming it, as
        # `plan` does; when that row is one of these, it and the unit's other new rows go
        # column-wise too. Otherwise all of them wait for the row planner.
        for lead, js in waiting.items():
            if js[0] == first_naming[lead] and len(lead) <= 60:
                ctx.plan_as_row(js[0], unit_id, lead, numbers[js[0]], "lead_unit")
                easy.extend(js)
            else:
                rest.extend(js)
        if waiting:
            easy.sort()
            rest.sort()
        cats = categories(ctx)
        other = cats[OTHER]
        cat_names = col("category")
        if again:  # stored appeals: those the row leaves as they are need no more
            same = self._unchanged(ctx, columns, again, keys, firm_of)
            ctx.row_order.extend(numbers[j] for j in same)
            same_set = set(same)
            rest = sorted([*rest, *(j for j in again if j not in same_set)])
        else:
            same = []
        for j in sorted([*same, *easy]):  # as `plan` notes it
            if cat_names[j] is None:
                notes.setdefault(j, []).append(Issue(numbers[j], "", None, "etl.no_category"))
        if not easy:
            return rest
        # … then the new appeals, column by column.
        streets_given = col("street")
        out: dict[str, list] = {"external_ref": [keys[j] for j in easy]}
        found = [firm_of[j] for j in easy]
        out["enterprise_id"] = [f[0] for f in found]
        out["street_id"] = [f[1] if f[1] is not None else streets_given[j]
                            for f, j in zip(found, easy, strict=True)]
        out["title"] = [titles[j] or _title(descriptions[j]) for j in easy]
        out["description"] = [descriptions[j] or "" for j in easy]
        cat = [cats.get(cat_names[j] or OTHER) or other for j in easy]
        out["category_id"] = [c[0] for c in cat]
        out["received_at"] = [received[j] for j in easy]
        out["due_date"] = [self._due(ctx, r.date(), c[0], c[1], c[2])
                           for r, c in zip(out["received_at"], cat, strict=True)]
        for fld in ("priority", "contact_name", "contact_phone", "reply_text", "solved",
                    "satisfaction", "replied_at"):
            if fld in columns:
                out[fld] = [columns[fld][j] for j in easy]
        out["channel"] = [col("channel")[j] or "import" for j in easy]
        leads = [known_units[lead_names[j]] if lead_names[j] else None for j in easy]
        if any(leads):
            out["lead_unit_id"] = leads
        statuses, satisfaction = col("status"), col("satisfaction")
        out["status"] = status_of = []
        for j, lead in zip(easy, leads, strict=True):
            settled, problem = settle_status(statuses[j], replied[j] is not None,
                                             lead is not None, satisfaction[j])
            status_of.append(settled)
            if problem:
                ctx.bulk_warnings.append((j, "status", problem, {}))
        ctx.add_bulk(self.table, out, [numbers[j] for j in easy], _qf_codes(out["received_at"]))
        return rest

    def survey(self, ctx, columns, rows):
        """Category words no category (or mapping) knows: one note per word, on the first
        row using it, with how many rows do; the counts go to the report and, once
        written, to the words an administrator maps (crm.services.category_words)."""
        names = columns.get("category")
        if names is None:
            return
        cats = categories(ctx)
        count: Counter = Counter(names[j] for j in rows
                                 if names[j] is not None and names[j] not in cats)
        if not count:
            return
        first = {}
        for j in rows:
            if names[j] in count:
                first.setdefault(names[j], j)
        for word, j in sorted(first.items(), key=lambda item: item[1]):
            ctx.bulk_warnings.append((j, "category", "etl.unknown_category",
                                      {"value": word, "count": count[word]}))
        ctx.unknown["category"] = dict(count)

    def _unchanged(self, ctx, columns, again, keys, firm_of) -> list[int]:
        """Of rows naming a stored appeal, those whose values `plan` would find equal to
        it (a ledger imported again): the same firm, title, category, receipt and
        every value the row gives. Any difference, and the row goes to `plan`.

        The stored values are read through the driver and compared in the driver's
        form (on SQLite, dates as ISO text): SQLAlchemy's result processing took
        1.5 s for 100,000 appeals, the driver 0.2 s.
        """
        stored_rows = self._stored_raw(ctx, {keys[j] for j in again})
        cats, units_by_name = categories(ctx), units(ctx)
        other = cats[OTHER]
        adapt = dict(zip([c.name for c in self.table.columns],
                         adapters(self.table, ctx.dialect), strict=True))
        none = [None] * len(firm_of)

        def col(name: str) -> list:
            return columns.get(name) or none

        def form(name: str):
            return adapt[name] or (lambda v: v)

        at = {name: i for i, name in enumerate(_COMPARED)}
        titles, descriptions = col("title"), col("description")
        received, when_text = col("received_at"), form("received_at")
        cat_names, lead_names, statuses = col("category"), col("lead_unit"), col("status")
        satisfaction = col("satisfaction")
        given = [(at[f], form(f), columns[f]) for f in (
            "channel", "priority", "contact_name", "contact_phone", "reply_text", "solved",
            "satisfaction", "replied_at") if f in columns]
        replied_given = "replied_at" in columns
        same = []
        for j in again:
            stored = stored_rows.get(keys[j])
            if stored is None:
                continue
            when = when_text(received[j])
            if (stored[at["received_at"]] != when
                    or stored[at["category_id"]] != (cats.get(cat_names[j] or OTHER) or other)[0]
                    or stored[at["enterprise_id"]] != firm_of[j][0]
                    or stored[at["title"]] != (titles[j] or _title(descriptions[j]))
                    or (descriptions[j] is not None
                        and stored[at["description"]] != descriptions[j])
                    or (lead_names[j] and stored[at["lead_unit_id"]]
                        != units_by_name[lead_names[j]])
                    or ((not replied_given or columns["replied_at"][j] is None)
                        and stored[at["replied_at"]] is not None
                        and stored[at["replied_at"]] < when)):  # ISO text sorts as time
                continue
            if not all(values[j] is None or stored[i] == fn(values[j])
                       for i, fn, values in given):
                continue
            # the status `plan` would keep (settle_status), and its note
            status = statuses[j]
            settled, problem = settle_status(
                status if status is not None else stored[at["status"]],
                (replied_given and columns["replied_at"][j] is not None)
                or stored[at["replied_at"]] is not None,
                bool(lead_names[j]) or stored[at["lead_unit_id"]] is not None,
                satisfaction[j] or stored[at["satisfaction"]])
            if settled != stored[at["status"]] or (problem and status is None):
                continue  # `plan` changes it
            if problem:
                ctx.bulk_warnings.append((j, "status", problem, {}))
            same.append(j)
        return same

    def _stored_raw(self, ctx: Context, codes: set[str]) -> dict[str, tuple]:
        """{key: values of _COMPARED} of the stored appeals these keys name (by ledger
        number, else by QF number), as the driver gives them."""
        cols = ", ".join(f'"{c}"' for c in ("external_ref", "code", *_COMPARED))
        out: dict[str, tuple] = {}
        if len(codes) > SCAN_AT and 4 * len(codes) > table_rows(ctx, self.table):
            # a good share of the table: one scan beats thousands of lookups (a few
            # thousand rows of a district's million appeals are still looked up)
            by_code = {}
            for row in ctx.writer.read(f'SELECT {cols} FROM "{self.table.name}"'):
                if row[0] in codes:
                    out[row[0]] = row[2:]
                elif row[1] in codes:
                    by_code[row[1]] = row[2:]
            return {**by_code, **out}
        for column in ("external_ref", "code"):
            wanted = sorted(k for k in codes if k not in out)
            for i in range(0, len(wanted), 900):
                part = wanted[i:i + 900]
                sql = (f'SELECT {cols} FROM "{self.table.name}" WHERE "{column}" IN '
                       f'({", ".join(["%s"] * len(part))})')
                at = 0 if column == "external_ref" else 1
                out.update((row[at], row[2:]) for row in ctx.writer.read(sql, tuple(part)))
        return out

    def _load(self, ctx: Context, codes: list[str]) -> None:
        """The stored appeals these keys name (ledger number, else QF number), into
        ctx.cache["existing"]."""
        t = self.table
        existing = ctx.cache["existing"]
        for column in (t.c.external_ref, t.c.code):
            wanted = [k for k in dict.fromkeys(codes) if k not in existing]
            for i in range(0, len(wanted), 900):
                for row in ctx.session.execute(
                        select(t.c.id, t.c.version, t.c.code, *[t.c[c] for c in COLUMNS])
                        .where(column.in_(wanted[i:i + 900]))).mappings():
                    existing[row[column.name]] = (row["id"], {c: row[c] for c in
                                                              ("version", *COLUMNS)})

    def prefetch(self, ctx: Context, recs: list[dict]) -> None:
        self._setup(ctx)
        keyed = [r["code"] for r in recs if r.get("code")]
        derived = [self._derived(r) for r in recs if not r.get("code")]
        candidates = keyed + [d for d in derived if d]
        stored = stored_refs(ctx, self.table, candidates)
        self._load(ctx, [k for k in candidates if k in stored])

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
        try:
            fid, street_id = find_firm(ctx, rec)
        except RowError as err:
            if err.key not in ("etl.firm_unknown_uscc", "etl.firm_unknown_name"):
                raise
            fid, street_id = new_firm(ctx, rec, row)
        if street_id is None:
            street_id = rec.get("street")
        code = rec.get("code") or self._derived(rec)
        title = rec.get("title")
        description = rec.get("description")
        if not title:
            title = _title(description)
        received: dt.datetime = rec["received_at"]
        cat_name = rec.get("category", OTHER)
        if "category" not in rec:
            ctx.warn(None, "etl.no_category")
        cats = ctx.cache.get("categories") or categories(ctx)
        cid, limit, working = cats.get(cat_name) or cats[OTHER]
        due = self._due(ctx, received.date(), cid, limit, working)
        values = {"enterprise_id": fid, "title": title,
                  "category_id": cid, "received_at": received, "due_date": due}
        if description is not None or "description" in rec:
            values["description"] = description or ""
        for fld in ("channel", "priority", "contact_name", "contact_phone", "reply_text",
                    "solved", "satisfaction", "replied_at"):
            if fld in rec:
                values[fld] = rec[fld]
        lead = None
        if rec.get("lead_unit"):
            lead = unit_id(ctx, rec["lead_unit"], row, "lead_unit")
            values["lead_unit_id"] = lead
        existing = ctx.cache["existing"].get(code)
        current = existing[1] if existing else ctx.seen.get("appeal", {}).get(code,
                                                                              (0, None))[1]
        replied = rec.get("replied_at")
        if replied is not None and replied < received:
            raise RowError("replied_at", "etl.replied_before_received")
        if replied is None and current and current.get("replied_at") and \
                current["replied_at"] < received:  # this row moves receipt past the reply
            raise RowError("received_at", "etl.replied_before_received")
        status = rec.get("status")
        given = status if status is not None or current is None else current.get("status")
        has_reply = replied is not None or bool(current and current.get("replied_at"))
        has_lead = lead is not None or bool(current and current.get("lead_unit_id"))
        satisfied = rec.get("satisfaction") or (current and current.get("satisfaction"))
        settled, problem = settle_status(given, has_reply, has_lead, satisfied)
        if problem:
            ctx.warn("status" if status is not None else "replied_at", problem)
        if status is not None or current is None or settled != given:
            values["status"] = settled
        if current is None:  # the street when logged; it does not follow a firm that moves
            values["external_ref"] = code
            values["street_id"] = street_id
            values.setdefault("channel", "import")
            values.setdefault("description", "")
        elif (current.get("received_at") == received and current.get("category_id") == cid):
            del values["due_date"]  # keep extensions and the limit in force when logged
        ctx.upsert(self.table, code, values, row, existing, versioned=True,
                   fill=lambda rid: {"code": rules.appeal_code(received, rid)})

    def write(self, ctx: Context) -> None:
        # The KPI rollups follow (crm.services.kpi_facts): updated appeals by their KPI
        # fields before and after the write; inserted ones counted from the values
        # written (in after_write, while the database builds the appeal indexes).
        updated = [rid for rid, _ in ctx.updates.get(self.table.name, ())]
        before = kpi_facts.snapshot(ctx.session, updated)
        ctx.cache["sign_days"] = kpi_facts.sign_days(ctx.session)
        super().write(ctx)
        if ctx.unknown.get("category"):
            category_words.record_seen(ctx.session, ctx.unknown["category"])
        if updated:
            ctx.writer.drain()
            kpi_facts.apply_changes(ctx.session, before,
                                    kpi_facts.snapshot(ctx.session, updated))

    def after_write(self, ctx: Context) -> None:
        inserted = ctx.inserted_columns(self.table, ("id", *kpi_facts.FIELDS))
        sign_days = ctx.cache.get("sign_days")
        counts = None
        if inserted["id"] and sign_days is not None:
            mark = time.perf_counter()
            counts = kpi_facts.counts_of_new(inserted, sign_days)
            ctx.writer.seconds["kpi counts"] = time.perf_counter() - mark
        # The lead-unit links are built (and turned into driver values) while the appeal
        # indexes may still be rebuilding; their insert waits for that, then the counts.
        links = [(a, u, r) for a, u, r in zip(inserted["id"], inserted["lead_unit_id"],
                                               inserted["received_at"], strict=True) if u]
        rows = {"appeal_id": [a for a, _, _ in links], "unit_id": [u for _, u, _ in links],
                "role": ["lead"] * len(links), "active": [True] * len(links),
                "assigned_at": [r for _, _, r in links]}
        ctx.writer.insert(AppealUnit.__table__, [], columns=[rows], auto_id=True)
        if counts:
            ctx.writer.drain()
            mark = time.perf_counter()
            kpi_facts.write_counts(ctx.writer.conn, counts)
            ctx.writer.seconds["kpi rollups"] = time.perf_counter() - mark

    def side_tables(self):
        return [AppealUnit.__table__]

    def tables_in_order(self):
        from crm.models import Unit

        return [Enterprise.__table__, Unit.__table__, self.table]

