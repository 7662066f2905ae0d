"""The write rules the app's services and the importer share: one place for each.

Both write paths — `crm/services/*` (a form, one record) and `etl/kinds/*` (a
spreadsheet, column-wise and row by row) — import what they check and default
from here, so a record entered in the app and the same record imported are
stored alike (`tests/test_write_path.py` enters each kind both ways and compares
the rows). Pure functions and data: no database, no Streamlit, no etl.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from decimal import Decimal
from typing import Protocol

# --- field limits ------------------------------------------------------------------------
# Characters, after trimming; a longer value is refused with the limit, never cut (the
# words would be lost). Columns with a String(n) type take n. Free-text (Text) columns
# take LONG_TEXT: the store has no limit, the number only guards against a pasted
# document, and it was what the importer already took for appeal descriptions, replies
# and financing notes. Visit notes were 2,000 in the app and 20,000 in the importer: an
# exported visit log must import again, so they take LONG_TEXT as well.
LONG_TEXT = 20_000

FIELD_LIMITS: dict[tuple[str, str], int] = {
    ("enterprise", "name"): 100,
    ("enterprise", "address"): 200,
    ("enterprise", "industry"): 40,
    ("enterprise", "legal_rep"): 40,
    ("enterprise", "business_scope"): 4_000,  # a registry's 经营范围: a paragraph
    ("contact", "name"): 40,
    ("contact", "phone"): 30,
    ("appeal", "code"): 40,
    ("appeal", "external_ref"): 40,  # a ledger's own number (诉求编号 / 工单号)
    ("appeal", "title"): 200,
    ("appeal", "description"): LONG_TEXT,
    ("appeal", "contact_name"): 40,
    ("appeal", "contact_phone"): 30,
    ("appeal", "reply_text"): LONG_TEXT,
    ("unit", "name"): 60,
    ("building", "name"): 60,
    ("person", "name"): 40,
    ("assignment", "note"): 200,
    ("visit", "notes"): LONG_TEXT,
    ("chamber", "name"): 60,
    ("financing_need", "purpose"): 200,
    ("financing_need", "note"): LONG_TEXT,
    ("financing_need", "withdrawn_reason"): 200,
    ("financing_match", "rejected_reason"): 200,
    ("financing_match", "note"): LONG_TEXT,
    ("bank", "name"): 60,
    ("bank_product", "bank"): 60,
    ("bank_product", "name"): 80,
    ("bank_meeting", "title"): 100,
    ("bank_meeting", "place"): 100,
    ("bank_meeting", "note"): LONG_TEXT,
    ("job_fair", "name"): 100,
    ("job_fair", "place"): 100,
    ("fair_position", "title"): 60,
    ("fair_position", "requirements"): 2_000,
    ("job_fair", "note"): LONG_TEXT,
    ("hiring_need", "positions"): 2_000,
    ("hiring_need", "note"): LONG_TEXT,
}


def limit(table: str, column: str) -> int:
    """The most characters `table.column` takes (FIELD_LIMITS)."""
    return FIELD_LIMITS[(table, column)]


def too_long(table: str, column: str, value: str | None) -> int | None:
    """The limit when the trimmed value is longer than it, else None."""
    n = limit(table, column)
    return n if value is not None and len(value.strip()) > n else None


def checked_text(value: str | None, table: str, column: str) -> str | None:
    """The trimmed text (None when empty) without control characters (NUL and the rest
    of C0 but tab, LF, CR: never meant, and PostgreSQL refuses NUL even in a lookup);
    refused, never cut, when over the limit."""
    from crm.errors import ValidationError
    from crm.textsafety import CONTROL_RE

    text = CONTROL_RE.sub("", value or "").strip()
    if too_long(table, column, text):
        raise ValidationError(f"{column} is longer than {limit(table, column)} characters",
                              key="field.too_long", field=column, limit=limit(table, column))
    return text or None


# --- phone numbers -----------------------------------------------------------------------
_NOT_DIGIT = re.compile(r"[^\d]")


def phone(value: str) -> tuple[str, str | None]:
    """(stored form, note key): 023-6789 1234 / (023)67891234 / 138 1234 5678 are stored
    as 023-67891234 / 13812345678. What is not recognisably a Chinese phone number is
    kept as written, with a note; so is a masked one (139****2618, as published lists
    print them): its digits are not a number, and dropping the stars makes another."""
    original = value.strip()
    normal = unicodedata.normalize("NFKC", original)
    if "*" in normal or "×" in normal:
        return original[:30], "etl.masked_phone"
    digits = _NOT_DIGIT.sub("", normal)
    if digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if len(digits) == 11 and digits[0] == "1":
        return digits, None
    if digits.startswith("0") and 10 <= len(digits) <= 12:
        area = 3 if digits[1] in "12" else 4
        return f"{digits[:area]}-{digits[area:]}", None
    if 7 <= len(digits) <= 8 and not digits.startswith("0"):
        return digits, None
    return original[:30], "etl.odd_phone"


# --- defaults ----------------------------------------------------------------------------
NEW_APPEAL_STATUS = "received"      # 受理: what the app logs; a ledger may say more
APP_CHANNEL = "visit"               # an appeal logged in the app without a channel
IMPORT_CHANNEL = "import"           # an appeal imported from a ledger without one
DEFAULT_PRIORITY = "normal"
DEFAULT_VISIT_WAY = "onsite"        # a visit log without a 方式 column: 实地走访
DEFAULT_URGENCY = "normal"
FINANCING_CATEGORY = "融资"         # an appeal of this category may become a financing need
PRODUCT_ACTIVE = True               # a bank product is offered until someone says not
AMOUNT_PLACES = Decimal("0.01")     # 万元 to the yuan's hundred: Numeric(14, 2)
RATE_PLACES = Decimal("0.0001")     # a rate as a fraction: Numeric(6, 4)
FUNNEL = ("applicants", "intents", "medical_checks", "hired", "retained_90d")
FAIR_KIND = "onsite"                # 现场 unless the form or the sheet says 网络 / 专场


# --- the appeal's name ------------------------------------------------------------------
# Every appeal is named QF + the year it was received + its id (7 digits or more): the app,
# the importer, the demo seed and migration 0010 all name it here, in Python or in SQL.
APPEAL_CODE_PREFIX = "QF"


def appeal_code(received_at: dt.date | dt.datetime, appeal_id: int) -> str:
    """QF2026000123: the QF number people read, type and link to (`/appeal?code=…`)."""
    return f"{APPEAL_CODE_PREFIX}{received_at:%Y}{appeal_id:07d}"


def appeal_code_sql(dialect: str, id_col: str = "id", received_col: str = "received_at") -> str:
    """`appeal_code` as a SQL expression over a row's columns, for set-based updates."""
    if dialect == "sqlite":
        return f"printf('{APPEAL_CODE_PREFIX}%s%07d', strftime('%Y', {received_col}), {id_col})"
    return (f"'{APPEAL_CODE_PREFIX}' || to_char({received_col}, 'YYYY') || "
            f"CASE WHEN {id_col} < 10000000 THEN lpad(CAST({id_col} AS text), 7, '0') "
            f"ELSE CAST({id_col} AS text) END")


# --- due dates ---------------------------------------------------------------------------
class Calendar(Protocol):
    def add(self, start: dt.date, days: int, *, working_days: bool) -> dt.date: ...


def counts_working_days(category_working: bool | None, district_setting: object) -> bool:
    """A category's limit counts working days when the category says so or the district's
    switch (setting `appeals.working_days`) is on; else calendar days."""
    return bool(category_working) or bool(district_setting)


def due_date(calendar: Calendar, start: dt.date, limit_days: int, *,
             category_working: bool | None, district_setting: object) -> dt.date:
    """Received (or extended-from) day + the limit, in working days (the holiday and 调休
    calendar) when `counts_working_days`, else in calendar days."""
    return calendar.add(start, limit_days,
                        working_days=counts_working_days(category_working, district_setting))



# --- reminders and escalation (催办 / 督办) ------------------------------------------------
# `python -m crm escalate` (crm.services.escalation) reads this table. Each kind is an
# appeal timeline event (the event's action) and a notification kind. The threshold is a
# setting (an admin edits it; the default is used until then), counted in working days
# when the appeal's limit is (`counts_working_days`), else in calendar days:
# - remind (催办): an open appeal at its lead unit, due within `days` days of the run's
#   date (the due day itself included), is reminded once per due date;
# - supervise (督办): an open appeal overdue by at least `days` days is flagged for the
#   officials, once per due date.
# `notify` names who gets a notification (crm.services.escalation.RECIPIENTS says who
# each group is).

ESCALATION_KINDS = ("remind", "supervise")
ESCALATIONS: dict[str, dict] = {
    "remind": {"setting": "escalation.remind_days_before", "default": 1,
               "statuses": ("dispatched", "accepted"), "notify": ("lead_unit_handlers",)},
    "supervise": {"setting": "escalation.supervise_overdue_days", "default": 3,
                  "statuses": ("received", "dispatched", "accepted"),
                  "notify": ("officials", "street_liaisons")},
}


# --- who may serve a firm ----------------------------------------------------------------
SERVING_KINDS = ("cadre", "leader")  # person kinds that may own a firm or a building, or
                                     # be named as the cadre who went on a visit


def may_serve(person_kind: str | None) -> bool:
    return person_kind in SERVING_KINDS


# --- dates -------------------------------------------------------------------------------
EARLIEST_VISIT = dt.date(2000, 1, 1)  # an earlier visit date is a typing error


# --- natural keys ------------------------------------------------------------------------
def visit_key(enterprise_id: int, visited_on: dt.date, person_id: int | None,
              way: str) -> tuple:
    """A visit is one firm, one day, one cadre, one way: a phone call and a call on site
    the same day are two visits."""
    return (enterprise_id, visited_on, person_id, way)


def need_key(enterprise_id: int, requested_on: dt.date, purpose: str | None) -> tuple:
    """A financing need: one firm, one day, one purpose (none counts as one)."""
    return (enterprise_id, requested_on, purpose or "")


def product_key(bank: str, name: str) -> tuple:
    """A bank product: the bank's name and the product's (the importer's key; the store
    keeps the bank as a record, `bank_product` unique on bank_id + name)."""
    return (bank, name)


# --- financing amounts -------------------------------------------------------------------
def loan_amount_problem(action: str, amount: Decimal | None, approved: Decimal | None
                        ) -> str | None:
    """What is wrong with the amount of an approval or a disbursement, or None: it must be
    more than zero, and no more money arrives than the bank approved."""
    if amount is None or amount <= 0:
        return "financing.amount_needed"
    if action == "disburse" and approved is not None and amount > approved:
        return "financing.disbursed_over_approved"
    return None


def assignment_key(enterprise_id: int, person_id: int, start_date: dt.date) -> tuple:
    return (enterprise_id, person_id, start_date)


def assignment_dates_problem(start: dt.date, end: dt.date | None,
                             today: dt.date) -> str | None:
    """What is wrong with an assignment's dates, or None: it may not start in the future
    ("future_start") nor end before it starts ("end_before_start")."""
    if start > today:
        return "future_start"
    if end is not None and end < start:
        return "end_before_start"
    return None


# --- job-fair funnel ---------------------------------------------------------------------
RETENTION_DAYS = 90  # 在岗90天: counted from the fair's day


def funnel_break(counts: dict[str, int | None]) -> tuple[str, int, str, int] | None:
    """The first pair of funnel stages out of order, else None, as (earlier stage, its
    number, later stage, its number): applicants ≥ intents ≥ medical checks ≥ hired ≥
    still employed after 90 days. Stages not given (None) are skipped; a later stage is
    compared with the nearest earlier one given. The service, the importer and the form
    all refuse an update that breaks it (`funnel_message`)."""
    last = None
    for stage in FUNNEL:
        value = counts.get(stage)
        if value is None:
            continue
        if last is not None and value > last[1]:
            return (last[0], last[1], stage, value)
        last = (stage, value)
    return None


def funnel_problem(counts: dict[str, int | None]) -> tuple[str, str | None, dict] | None:
    """What refuses a funnel update, else None: (message key, the stage to point at,
    params). A negative number, or two stages out of order (the key names both stages
    and their numbers)."""
    for stage in FUNNEL:
        value = counts.get(stage)
        if value is not None and value < 0:
            return ("jobfair.negative", stage, {**stage_names("stage", stage), "value": value})
    broken = funnel_break(counts)
    if broken is None:
        return None
    first, a, later, b = broken
    return ("jobfair.funnel_order", later, {**stage_names("first", first), "a": a,
                                            **stage_names("later", later), "b": b})


def stage_names(param: str, stage: str) -> dict[str, str]:
    """A stage named in a message, in both languages (`param` and `param_en`, as
    crm.i18n.error_text and the importer's report read them)."""
    from crm.i18n import t

    return {param: t(f"stage.{stage}", "zh"), f"{param}_en": t(f"stage.{stage}", "en")}


def retention_due(held_on: dt.date) -> dt.date:
    """The first day a fair's 在岗90天 figure may be counted."""
    return held_on + dt.timedelta(days=RETENTION_DAYS)


def retention_pending(held_on: dt.date, as_of: dt.date) -> bool:
    """Before this, retention is "pending" (None), never 0."""
    return as_of < retention_due(held_on)


def fill_rate(hired: int | None, headcount: int | None) -> float | None:
    """hired ÷ headcount, None without a headcount."""
    if not headcount:
        return None
    return (hired or 0) / headcount


def position_key(participation_id: int, title: str) -> tuple:
    """A position: one title per firm per fair."""
    return (participation_id, title)
