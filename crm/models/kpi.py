"""Pre-aggregated appeal counts behind the KPI pages (derived tables, never edited by hand).

Two grains of the same counts, per appeal received day:
- `kpi_day_street`: (day, street) — a few thousand rows for years of a district's
  appeals; the overview, the street ranking and the monthly trend read it.
- `kpi_day_cell`: (day, street, lead unit, category) — the unit and category views
  and any unit/category filter read it.

Each row holds how many appeals fall in it (`n_total`) and how many count towards
each KPI numerator and denominator, plus a histogram of whole days from received
to replied (`d00` … `d30`, and `d_over` for 31 days or more) for the median and
p90. Summing the rows of a period gives every KPI of that period without touching
the million-row `appeal` table.

Kept correct on every ORM write by `crm.services.kpi_facts` (flush hooks apply the
difference an appeal's change makes, in the same transaction); bulk loaders rebuild
them. Keys use 0 instead of NULL for "no street / no lead unit" so the composite
primary key can be upserted on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Float, Integer, Table

from crm.db import Base

NO_ID = 0
HIST_DAYS = 31  # d00 … d30 exact; d_over for 31 days or more
COUNTS = ("n_total", "n_replied", "n_open", "n_on_time", "n_callbacks", "n_satisfied",
          "n_basic", "n_solved", "n_dispatched", "n_responded")
HIST = tuple(f"d{i:02d}" for i in range(HIST_DAYS)) + ("d_over",)
MEASURES = COUNTS + HIST


def _measures() -> list[Column]:
    return [Column(name, Integer, nullable=False, default=0) for name in MEASURES]


kpi_day_street = Table(
    "kpi_day_street", Base.metadata,
    Column("day", Date, primary_key=True),
    Column("street_id", Integer, primary_key=True, autoincrement=False),
    *_measures(),
    sqlite_with_rowid=False,
)

kpi_day_cell = Table(
    "kpi_day_cell", Base.metadata,
    Column("day", Date, primary_key=True),
    Column("street_id", Integer, primary_key=True, autoincrement=False),
    Column("unit_id", Integer, primary_key=True, autoincrement=False),
    Column("category_id", Integer, primary_key=True, autoincrement=False),
    *_measures(),
    sqlite_with_rowid=False,
)

# Writers' pending changes: each ORM write appends what it changes as rows of
# (day, street, lead unit, category, measure deltas) and touches no shared row, so
# concurrent writers never wait for each other here; `kpi_facts.fold` adds them into
# the two tables above and deletes them (readers fold before reading). At any moment
# the rollups plus these rows equal the counts over `appeal`.
kpi_delta = Table(
    "kpi_delta", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("day", Date, nullable=False),
    Column("street_id", Integer, nullable=False),
    Column("unit_id", Integer, nullable=False),
    Column("category_id", Integer, nullable=False),
    *_measures(),
)

# One row (id 1): whether the rollups are built, with which signing limit, and a
# revision that every write to them bumps: the app keys its KPI cache on it, so a
# change made anywhere (another browser, the CLI, an import) shows at once.
kpi_state = Table(
    "kpi_state", Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("built", Boolean, nullable=False, default=False),
    Column("sign_limit_days", Float),
    Column("revision", Integer, nullable=False, default=0),
)

TABLES = {"street": kpi_day_street, "cell": kpi_day_cell}
KEYS = {"street": ("day", "street_id"),
        "cell": ("day", "street_id", "unit_id", "category_id")}
