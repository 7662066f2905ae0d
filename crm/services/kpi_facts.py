"""Keeping the KPI rollup tables (crm/models/kpi.py) equal to the appeals they count.

Three ways in, one definition of what an appeal contributes:
- `contributions(columns, sign_days)` is that definition in Python, column-wise
  (numpy); the flush hooks below use it. Before a flush they read the stored rows of the appeals
  about to change (the database still holds the old values); after it they
  read the new values from the objects; the difference is appended to
  `kpi_delta` in the same transaction (an INSERT: no row two writers share, so
  concurrent writers never queue behind one lock; an appeal whose KPI fields did not
  change adds nothing). A rolled-back transaction takes its deltas with it.
- `fold(session)` adds the pending deltas into both tables and deletes them, one
  folder at a time; readers fold first (`revision`, `ensure_fresh`), so what they
  read is exact. The rollups plus the pending deltas always equal the appeals.
- `rebuild(session)` recomputes both tables with one INSERT … SELECT … GROUP BY
  per table (the demo loader calls it; so does the first KPI read after a
  migration or after the signing limit changes).
- A bulk import that bypasses the ORM counts what it inserts from the values it
  wrote (`counts_of_new`, the same `contributions` summed per cell) and
  adds them in bulk (`write_counts`); its updates and rollbacks use `snapshot` /
  `apply_changes`.
- `differences(session)` compares the tables plus the pending deltas with a fresh
  recomputation: the tests run it after every kind of write.

The one row of `kpi_state` records that the tables are built, with which signing
limit, and a revision every change bumps; while they are not built the hooks do
nothing and readers rebuild first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    delete,
    event,
    func,
    insert,
    literal,
    select,
    type_coerce,
)
from sqlalchemy.orm import Session, attributes

from crm.bulk import upsert_add
from crm.lifecycle import OPEN_STATUSES
from crm.models import Appeal, Setting
from crm.models.kpi import (
    COUNTS,
    HIST,
    HIST_DAYS,
    KEYS,
    MEASURES,
    NO_ID,
    TABLES,
    kpi_delta,
    kpi_state,
)

SIGN_SETTING = "kpi.sign_limit_days"
FIELDS = ("received_at", "street_id", "lead_unit_id", "category_id", "status", "replied_at",
          "due_date", "satisfaction", "callback_solved", "dispatched_at", "accepted_at")
_INDEX = {name: i for i, name in enumerate(MEASURES)}


# --- what appeals contribute -------------------------------------------------------------

_HIST_AT = len(COUNTS)  # the first histogram column of a measure vector


def _datetimes(values: Sequence, unit: str) -> np.ndarray:
    """Python datetimes (unit "us") or dates (unit "D"), None: NaT, as datetime64,
    converted by Arrow (numpy takes ~1 µs a value from Python objects)."""
    kind = pa.timestamp("us") if unit == "us" else pa.date32()
    return pa.array(values, type=kind).to_numpy(zero_copy_only=False).astype(
        f"datetime64[{unit}]")


def contributions(columns: dict[str, Sequence], sign_days: float
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """What each appeal counts for, column-wise: (kept, keys, measures).

    `columns` holds FIELDS, one value per appeal (a field it lacks counts as NULL:
    a bulk load that did not write it); `kept` marks the appeals that count (not
    merged), `keys` their cells (days since 1970-01-01, street or NO_ID, lead unit
    or NO_ID, category) and `measures` one row of MEASURES each.

    The rules are those of `conditions` (the SQL the rebuild runs): the flush hooks
    and the importer both count through here, and `differences` checks the result
    against the SQL.
    """
    n = len(columns["status"])
    none = [None] * n

    def col(name: str) -> Sequence:
        return columns.get(name, none)

    def flag(array: pa.Array) -> np.ndarray:
        return array.fill_null(False).to_numpy(zero_copy_only=False)

    status = pa.array(col("status"), type=pa.string())
    kept = flag(pc.not_equal(status, "merged"))
    received = _datetimes(col("received_at"), "us").astype("datetime64[D]")
    replied_at = _datetimes(col("replied_at"), "us")
    replied_day = replied_at.astype("datetime64[D]")
    replied = ~np.isnat(replied_at)
    satisfaction = pa.array(col("satisfaction"), type=pa.string())
    dispatched = _datetimes(col("dispatched_at"), "us")
    accepted = _datetimes(col("accepted_at"), "us")
    limit = np.timedelta64(round(sign_days * 86_400_000_000), "us")
    callbacks = flag(satisfaction.is_valid())
    flags = {
        "n_total": np.ones(n, dtype=bool),
        "n_replied": replied,
        "n_open": flag(pc.is_in(status, value_set=pa.array(OPEN_STATUSES))),
        "n_on_time": replied & (replied_day <= _datetimes(col("due_date"), "D")),
        "n_callbacks": callbacks,
        "n_satisfied": flag(pc.equal(satisfaction, "satisfied")),
        "n_basic": flag(pc.equal(satisfaction, "basic")),
        "n_solved": callbacks & flag(pc.equal(pa.array(col("callback_solved"),
                                                       type=pa.bool_()), True)),
        "n_dispatched": ~np.isnat(dispatched),
        # NaT compares False: no acceptance, or no dispatch, never counts as responded
        "n_responded": accepted <= dispatched + limit,
    }
    measures = np.zeros((n, len(MEASURES)), dtype=np.int8)  # 0/1: small to allocate
    for name in COUNTS:
        measures[:, _INDEX[name]] = flags[name]
    days = (replied_day - received).astype(np.int64)
    bucket = np.minimum(days, HIST_DAYS)
    # as in the SQL, a reply dated before receipt (the app refuses one) is in no column
    rows = np.flatnonzero(replied & (days >= 0))
    measures[rows, _HIST_AT + bucket[rows]] = 1
    keys = np.empty((n, 4), dtype=np.int64)
    keys[:, 0] = received.astype(np.int64)
    for i, name in enumerate(("street_id", "lead_unit_id", "category_id"), start=1):
        keys[:, i] = pa.array(col(name), type=pa.int64()).fill_null(NO_ID).to_numpy()
    return kept, keys, measures


# --- the flush hooks ---------------------------------------------------------------------

def _marker(connection) -> dict | None:
    """{"sign_limit_days": float, "revision": int} when the rollups are built, else None."""
    row = connection.execute(select(kpi_state.c.built, kpi_state.c.sign_limit_days,
                                    kpi_state.c.revision).where(kpi_state.c.id == 1)).first()
    if row is None or not row.built:
        return None
    return {"sign_limit_days": row.sign_limit_days, "revision": row.revision}


_MARKER = "kpi_facts_marker"
_WROTE = "kpi_facts_wrote"


def _transaction_marker(session: Session) -> dict | None:
    """`_marker`, read once per transaction (a write flushes two or three times)."""
    root = session.get_transaction()
    cached = session.info.get(_MARKER)
    if cached is not None and cached[0] is root:
        return cached[1]
    marker = _marker(session.connection())
    session.info[_MARKER] = (root, marker)
    return marker


def _kpi_changed(obj: Appeal) -> bool:
    """Whether a flush would change a field the rollups count (a code, a title, a note's
    version bump change none)."""
    state = attributes.instance_state(obj)
    return any(state.attrs[f].history.has_changes() for f in FIELDS)


@event.listens_for(Session, "before_flush")
def _remember_old_values(session: Session, flush_context, instances) -> None:
    changed = [o for o in session.deleted if isinstance(o, Appeal) and o.id is not None]
    changed += [o for o in session.dirty if isinstance(o, Appeal) and o.id is not None
                and o not in session.deleted and _kpi_changed(o)]
    new = [o for o in session.new if isinstance(o, Appeal)]
    if not changed and not new:
        return
    marker = _transaction_marker(session)
    if marker is None:
        return
    connection = session.connection()
    old = {}
    ids = [o.id for o in changed]
    for start in range(0, len(ids), 500):
        rows = connection.execute(select(Appeal.id, *(getattr(Appeal, f) for f in FIELDS))
                                  .where(Appeal.id.in_(ids[start:start + 500])))
        for row in rows:
            old[row[0]] = dict(zip(FIELDS, row[1:], strict=True))
    session.info["kpi_facts_pending"] = (float(marker["sign_limit_days"]), old,
                                         [*changed, *new])


@event.listens_for(Session, "after_flush")
def _apply_deltas(session: Session, flush_context) -> None:
    pending = session.info.pop("kpi_facts_pending", None)
    if pending is None:
        return
    sign_days, old, objects = pending
    signed: list[tuple[dict, int]] = []
    deleted = {id(o) for o in session.deleted}
    for obj in objects:
        if obj.id in old:
            signed.append((old[obj.id], -1))
        if id(obj) not in deleted:
            signed.append(({f: getattr(obj, f) for f in FIELDS}, +1))
    if signed:
        _append_deltas(session, signed, sign_days)


def added(session: Session, appeals: Sequence[Appeal]) -> None:
    """Count appeals just written by an INSERT outside the unit of work (the flush hooks
    see only what a flush writes): `log_appeal`'s one INSERT … RETURNING."""
    if not appeals:
        return
    marker = _transaction_marker(session)
    if marker is None:
        return
    _append_deltas(session, [({f: getattr(a, f) for f in FIELDS}, +1) for a in appeals],
                   float(marker["sign_limit_days"]))


_SMALL = 16  # up to this many appeals a write counts them in plain Python (below)
_OPEN = frozenset(OPEN_STATUSES)


def _as_date(value) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value


def row_contribution(values: dict, sign_days: float) -> tuple[tuple, list[int]] | None:
    """`contributions` for one appeal in plain Python: (key, measures), None when it
    does not count (merged) or cannot be counted here (no receipt time: the column-wise
    path decides). One write counts one to three appeals; numpy and Arrow cost
    ~1 ms of set-up for that (issue 18.6). tests/services/test_kpi_facts_twin.py holds
    the two equal on generated appeals."""
    status, received_at = values.get("status"), values.get("received_at")
    if status is None or status == "merged" or received_at is None:
        return None
    received = _as_date(received_at)
    replied_at, due = values.get("replied_at"), values.get("due_date")
    satisfaction = values.get("satisfaction")
    dispatched, accepted = values.get("dispatched_at"), values.get("accepted_at")
    replied = replied_at is not None
    replied_day = _as_date(replied_at) if replied else None
    callbacks = satisfaction is not None
    flags = {  # by name, as in `contributions`
        "n_total": True,
        "n_replied": replied,
        "n_open": status in _OPEN,
        "n_on_time": replied and due is not None and replied_day <= _as_date(due),
        "n_callbacks": callbacks,
        "n_satisfied": satisfaction == "satisfied",
        "n_basic": satisfaction == "basic",
        "n_solved": callbacks and values.get("callback_solved") is True,
        "n_dispatched": dispatched is not None,
        "n_responded": dispatched is not None and accepted is not None and accepted <= (
            dispatched + dt.timedelta(microseconds=round(sign_days * 86_400_000_000))),
    }
    measures = [0] * len(MEASURES)
    for name in COUNTS:
        measures[_INDEX[name]] = int(bool(flags[name]))
    if replied:
        days = (replied_day - received).days
        if days >= 0:
            measures[_HIST_AT + min(days, HIST_DAYS)] = 1
    key = ((received - _EPOCH).days, values.get("street_id") or NO_ID,
           values.get("lead_unit_id") or NO_ID, values.get("category_id") or NO_ID)
    return key, measures


def _delta_rows(signed: list[tuple[dict, int]], sign_days: float) -> list[dict]:
    """What these appeals change, summed per cell, as `kpi_delta` rows (no all-zero row)."""
    if len(signed) <= _SMALL and all(v.get("received_at") is not None for v, _ in signed):
        cells: dict[tuple, list[int]] = {}
        for values, sign in signed:
            counted = row_contribution(values, sign_days)
            if counted is None:
                continue
            key, measures = counted
            total = cells.setdefault(key, [0] * len(MEASURES))
            for i, m in enumerate(measures):
                if m:
                    total[i] += sign * m
        return [{"day": _EPOCH + dt.timedelta(days=key[0]), "street_id": key[1],
                 "unit_id": key[2], "category_id": key[3],
                 **dict(zip(MEASURES, total, strict=True))}
                for key, total in sorted(cells.items()) if any(total)]
    columns = {f: [values.get(f) for values, _ in signed] for f in FIELDS}
    signs = np.fromiter((sign for _, sign in signed), dtype=np.int64, count=len(signed))
    kept, keys, measures = contributions(columns, sign_days)
    keys, measures = keys[kept], measures[kept] * signs[kept, None].astype(np.int8)
    if not len(keys):
        return []
    cells, sums = _sum_by_key(keys, measures)
    nonzero = sums.any(axis=1)
    return [{"day": _EPOCH + dt.timedelta(days=int(cell[0])), "street_id": int(cell[1]),
             "unit_id": int(cell[2]), "category_id": int(cell[3]),
             **dict(zip(MEASURES, map(int, total), strict=True))}
            for cell, total in zip(cells[nonzero].tolist(), sums[nonzero].tolist(),
                                   strict=True)]


_INSERT_DELTA = insert(kpi_delta)


def _append_deltas(session: Session, signed: list[tuple[dict, int]], sign_days: float) -> None:
    """Append what these appeals change to `kpi_delta` (the cell grain: the street grain
    is its sum)."""
    rows = _delta_rows(signed, sign_days)
    if not rows:
        return
    session.connection().execute(_INSERT_DELTA, rows[0] if len(rows) == 1 else rows)
    session.info[_WROTE] = session.get_transaction()


_EPOCH = dt.date(1970, 1, 1)


# --- folding the pending deltas ----------------------------------------------------------

def _measure_sql(table: str) -> tuple[str, str, str]:
    """(column list, sums, ON CONFLICT set list) over MEASURES for `table`."""
    names = ", ".join(f'"{m}"' for m in MEASURES)
    sums = ", ".join(f'SUM("{m}")' for m in MEASURES)
    add = ", ".join(f'"{m}" = "{table}"."{m}" + excluded."{m}"' for m in MEASURES)
    return names, sums, add


def _fold_sql(dialect: str) -> list[str]:
    cell_keys, street_keys = ", ".join(KEYS["cell"]), ", ".join(KEYS["street"])
    names, sums, cell_add = _measure_sql("kpi_day_cell")
    _, _, street_add = _measure_sql("kpi_day_street")
    if dialect == "postgresql":
        # One statement, one snapshot: the rows deleted are exactly the rows added
        # (a writer's delta committed meanwhile stays for the next fold).
        return [
            "LOCK TABLE kpi_day_street, kpi_day_cell IN SHARE ROW EXCLUSIVE MODE",
            f"WITH moved AS (DELETE FROM kpi_delta RETURNING {cell_keys}, {names}), "
            f"cell AS (INSERT INTO kpi_day_cell ({cell_keys}, {names}) "
            f"SELECT {cell_keys}, {sums} FROM moved GROUP BY {cell_keys} "
            f"ORDER BY {cell_keys} ON CONFLICT ({cell_keys}) DO UPDATE SET {cell_add}), "
            f"street AS (INSERT INTO kpi_day_street ({street_keys}, {names}) "
            f"SELECT {street_keys}, {sums} FROM moved GROUP BY {street_keys} "
            f"ORDER BY {street_keys} ON CONFLICT ({street_keys}) DO UPDATE SET {street_add}) "
            "SELECT count(*) FROM moved"]
    # SQLite: the first statement takes the write lock, so nothing is appended meanwhile.
    return [
        "UPDATE kpi_state SET revision = revision + 1 WHERE id = 1",
        f"INSERT INTO kpi_day_cell ({cell_keys}, {names}) SELECT {cell_keys}, {sums} "
        f"FROM kpi_delta WHERE true GROUP BY {cell_keys} "
        f"ON CONFLICT ({cell_keys}) DO UPDATE SET {cell_add}",
        f"INSERT INTO kpi_day_street ({street_keys}, {names}) SELECT {street_keys}, {sums} "
        f"FROM kpi_delta WHERE true GROUP BY {street_keys} "
        f"ON CONFLICT ({street_keys}) DO UPDATE SET {street_add}",
        "DELETE FROM kpi_delta"]


def _fold_here(connection) -> int:
    """Fold inside the connection's transaction; returns how many deltas moved."""
    dialect = connection.dialect.name
    statements = _fold_sql(dialect)
    if dialect == "postgresql":
        connection.exec_driver_sql(statements[0])
        moved = connection.exec_driver_sql(statements[1]).scalar() or 0
        if moved:
            connection.exec_driver_sql("UPDATE kpi_state SET revision = revision + 1 "
                                       "WHERE id = 1")
        return moved
    connection.exec_driver_sql(statements[0])
    moved = connection.exec_driver_sql("SELECT count(*) FROM kpi_delta").scalar()
    if moved:
        for statement in statements[1:]:
            connection.exec_driver_sql(statement)
    return moved


def has_pending(session: Session) -> bool:
    return session.connection().execute(select(kpi_delta.c.id).limit(1)).first() is not None


def fold(session: Session) -> int:
    """Add the writers' pending deltas into the rollups (and bump the revision).

    A reader's session never commits, so the fold runs and commits in a transaction
    of its own, unless this session is itself writing (it appended deltas, or holds
    SQLite's write lock, which a second connection would wait for): then it folds in
    place and its commit carries the fold. Returns how many deltas moved.
    """
    if not has_pending(session):
        return 0
    connection = session.connection()
    writing = session.info.get(_WROTE) is session.get_transaction() or (
        connection.dialect.name == "sqlite"
        and connection.connection.driver_connection.in_transaction)
    if writing:
        return _fold_here(connection)
    bind = session.get_bind()
    with Session(bind=getattr(bind, "engine", bind)) as other, other.begin():
        return _fold_here(other.connection())


def snapshot(session: Session, ids) -> dict[int, dict]:
    """The KPI fields of these appeals as stored now: {id: {field: value}}."""
    ids = list(ids)
    out: dict[int, dict] = {}
    connection = session.connection()
    for start in range(0, len(ids), 5000):
        rows = connection.execute(select(Appeal.id, *(getattr(Appeal, f) for f in FIELDS))
                                  .where(Appeal.id.in_(ids[start:start + 5000])))
        for row in rows:
            out[row[0]] = dict(zip(FIELDS, row[1:], strict=True))
    return out


def apply_changes(session: Session, before: dict[int, dict], after: dict[int, dict]) -> None:
    """Bring the rollups along after a bulk write that bypassed the ORM (an import, its
    rollback): `before` is `snapshot()` of the appeals it would update or delete, taken
    before; `after` the snapshot of the appeals it inserted or updated, taken after."""
    marker = _marker(session.connection())
    if marker is None:
        return  # stale anyway: the next read rebuilds
    _add(session, [*((v, -1) for v in before.values()), *((v, +1) for v in after.values())],
         float(marker["sign_limit_days"]))


def sign_days(session: Session) -> float | None:
    """The signing limit the rollups count with; None when they are not built (then
    nothing needs counting: the next read rebuilds them)."""
    marker = _marker(session.connection())
    return None if marker is None else float(marker["sign_limit_days"])


def counts_of_new(columns: dict[str, Sequence], sign_days: float) -> list[tuple]:
    """What appeals a bulk load inserts (an import) add to the rollups, from the columns
    it wrote ({field: one value per appeal}; a field of FIELDS it lacks was written
    NULL); `write_counts` adds it. The importer runs it while the database builds
    the appeal indexes."""
    n = len(columns["status"])
    return _counts(columns, np.ones(n, dtype=np.int64), sign_days)


def _add(session: Session, signed: Iterable[tuple[dict, int]], sign_days: float) -> None:
    """Add each appeal's contribution times its sign (+1 new values, -1 old ones)."""
    signed = list(signed)
    if not signed:
        return
    columns = {f: [values.get(f) for values, _ in signed] for f in FIELDS}
    signs = np.fromiter((sign for _, sign in signed), dtype=np.int64, count=len(signed))
    write_counts(session.connection(), _counts(columns, signs, sign_days))


def _counts(columns: dict[str, Sequence], signs: np.ndarray, sign_days: float) -> list[tuple]:
    """[(table, cells, sums)]: per rollup table, the cells that change, as rows of int64
    keys (the day as days since 1970-01-01), sorted (SQLite's clustered primary key
    takes sorted upserts twice as fast), and by how much."""
    if not len(signs):
        return []
    kept, keys, measures = contributions(columns, sign_days)
    keys, measures = keys[kept], measures[kept] * signs[kept, None].astype(np.int8)
    if not len(keys):
        return []
    out = []
    for name, table in TABLES.items():
        cells, sums = _sum_by_key(keys[:, :len(KEYS[name])], measures)
        nonzero = sums.any(axis=1)
        if nonzero.any():
            out.append((table, cells[nonzero], sums[nonzero]))
    return out


def write_counts(connection, counts: list[tuple] | None) -> None:
    """Add `_counts` / `counts_of_new` to the tables and bump the revision. Only the
    raw driver connection under `connection` is used, so a bulk writer's thread may
    run this after its inserts."""
    if not counts:
        return
    for table, cells, sums in counts:
        upsert_add(connection, table.name, KEYS[_NAME_OF[table.name]], MEASURES, cells, sums,
                   date_key=True)
    raw = connection.connection.driver_connection
    raw.execute("UPDATE kpi_state SET revision = revision + 1 WHERE id = 1")


_NAME_OF = {table.name: name for name, table in TABLES.items()}


def _sum_by_key(keys: np.ndarray, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows of `matrix` summed per distinct row of `keys`; the keys come out sorted.

    Each key column is ranked, and the ranks are combined into one int64 per row
    whose order is the keys' order: one 1-D sort instead of np.unique(axis=0),
    which sorts rows as raw bytes and took 0.25 s for 100,000 appeals.
    """
    uniques, combined, size = [], np.zeros(len(keys), dtype=np.int64), 1
    for i in range(keys.shape[1]):
        values, rank = np.unique(keys[:, i], return_inverse=True)
        uniques.append(values)
        size *= len(values)
        combined = combined * len(values) + rank.reshape(-1)
    if size >= 2**62:  # cannot happen with real ids and days; kept exact all the same
        cells, combined = np.unique(keys, axis=0, return_inverse=True)
        combined = combined.reshape(-1)
        uniques = None
    codes, inverse = np.unique(combined, return_inverse=True)
    inverse = inverse.reshape(-1)
    # per measure, one bincount (exact: float64 holds counts far beyond any district's)
    sums = np.empty((len(codes), matrix.shape[1]), dtype=np.int64)
    used = matrix.any(axis=0).tolist()
    for m in range(matrix.shape[1]):
        sums[:, m] = np.bincount(inverse, weights=matrix[:, m], minlength=len(codes)) \
            if used[m] else 0
    if uniques is None:
        return cells, sums
    cells = np.empty((len(codes), keys.shape[1]), dtype=np.int64)
    for i in range(keys.shape[1] - 1, -1, -1):
        width = len(uniques[i])
        cells[:, i] = uniques[i][codes % width]
        codes = codes // width
    return cells, sums


# --- rebuilding in SQL -------------------------------------------------------------------

def sum_of(condition):
    """How many rows meet `condition` (0, not NULL, when none)."""
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _day(dialect: str, column):
    """The calendar date of a timestamp, read back as a `datetime.date` on both backends."""
    return type_coerce(func.date(column), Date) if dialect == "sqlite" else cast(column, Date)


def days_to_reply(dialect: str):
    """Whole calendar days from an appeal's received date to its reply date."""
    if dialect == "sqlite":
        return cast(func.julianday(func.date(Appeal.replied_at))
                    - func.julianday(func.date(Appeal.received_at)), Integer)
    return type_coerce(cast(Appeal.replied_at, Date) - cast(Appeal.received_at, Date), Integer)


def conditions(dialect: str, sign_days: float) -> dict:
    """The KPI rules as SQL conditions on `appeal`, one per counted measure.

    The one definition the rollups, the direct counts and the drill-down share
    (`contributions` is the same rules in Python, for the flush hooks and imports).
    """
    replied = Appeal.replied_at.is_not(None)
    valid = Appeal.satisfaction.is_not(None)
    dispatched = Appeal.dispatched_at.is_not(None)
    if dialect == "sqlite":
        # julianday parses both sides to the same millisecond grid: equal instants are equal
        in_time = (func.julianday(Appeal.accepted_at)
                   <= func.julianday(Appeal.dispatched_at, f"{sign_days:+g} days"))
    else:
        in_time = Appeal.accepted_at <= Appeal.dispatched_at + dt.timedelta(days=sign_days)
    return {
        "replied": replied,
        "open": Appeal.status.in_(OPEN_STATUSES),
        "on_time": and_(replied, _day(dialect, Appeal.replied_at) <= Appeal.due_date),
        "callbacks": valid,
        "satisfied": Appeal.satisfaction == "satisfied",
        "basic": Appeal.satisfaction == "basic",
        "solved": and_(valid, Appeal.callback_solved.is_(True)),
        "dispatched": dispatched,
        "responded": and_(dispatched, Appeal.accepted_at.is_not(None), in_time),
    }


def flag_sums(dialect: str, sign_days: float) -> dict:
    """COUNT and SUM(CASE …) per measure: n_total, n_replied, …, n_responded."""
    return {"n_total": func.count(),
            **{f"n_{name}": sum_of(cond) for name, cond in conditions(dialect,
                                                                       sign_days).items()}}


def _aggregate(dialect: str, sign_days: float, keys: tuple[str, ...], *, where=None):
    """SELECT key columns + every measure FROM appeal GROUP BY keys (merged excluded).

    Two stages: the inner query counts per (keys, days to reply) with ten flag sums;
    the outer one pivots days into the histogram columns. Evaluating 31 histogram
    CASEs on every appeal would cost several times more than on the inner groups.
    """
    day = _day(dialect, Appeal.received_at)
    replied = Appeal.replied_at.is_not(None)
    key_exprs = {"day": day,
                 "street_id": func.coalesce(Appeal.street_id, literal(NO_ID)),
                 "unit_id": func.coalesce(Appeal.lead_unit_id, literal(NO_ID)),
                 "category_id": Appeal.category_id}
    reply_days = case((replied, days_to_reply(dialect)), else_=literal(-1))
    flags = flag_sums(dialect, sign_days)
    inner = (select(*(key_exprs[k].label(k) for k in keys), reply_days.label("reply_days"),
                    *(expr.label(name) for name, expr in flags.items()))
             .where(Appeal.status != "merged", *(() if where is None else (where,)))
             .group_by(*(key_exprs[k] for k in keys), reply_days)
             .subquery("per_days"))
    measures = {name: func.sum(inner.c[name]) for name in COUNTS}
    for i in range(HIST_DAYS):
        measures[HIST[i]] = func.sum(case((inner.c.reply_days == i, inner.c.n_total), else_=0))
    measures["d_over"] = func.sum(case((inner.c.reply_days >= HIST_DAYS, inner.c.n_total),
                                       else_=0))
    cols = [inner.c[k] for k in keys] + [measures[m].label(m) for m in MEASURES]
    return select(*cols).group_by(*(inner.c[k] for k in keys))


def _roll_up(source, keys: tuple[str, ...]):
    """The same measures summed from a finer rollup table."""
    return (select(*(source.c[k] for k in keys), *(func.sum(source.c[m]).label(m)
                                                    for m in MEASURES))
            .group_by(*(source.c[k] for k in keys)))


def sign_limit_days(session: Session) -> float:
    value = session.execute(select(Setting.value).where(Setting.key == SIGN_SETTING)).scalar()
    return float(value if value is not None else 1)


def rebuild(session: Session) -> dict[str, int]:
    """Recompute both tables from the appeals; returns their row counts."""
    connection = session.connection()
    dialect = connection.dialect.name
    sign_days = sign_limit_days(session)
    if dialect == "postgresql":
        # Folds and bulk adds wait for this transaction, and so do writers appending a
        # delta; a writer whose delta is appended is waited for (its appeal is then
        # counted here and its delta deleted): none is lost or counted twice.
        for table in (*TABLES.values(), kpi_delta):
            connection.exec_driver_sql(f"LOCK TABLE {table.name} IN EXCLUSIVE MODE")
    counts = {}
    cell, street = TABLES["cell"], TABLES["street"]
    for table in (cell, street, kpi_delta):
        connection.execute(delete(table))
    connection.execute(insert(cell).from_select([*KEYS["cell"], *MEASURES],
                                                _aggregate(dialect, sign_days, KEYS["cell"])))
    connection.execute(insert(street).from_select([*KEYS["street"], *MEASURES],
                                                  _roll_up(cell, KEYS["street"])))
    for table in (cell, street):
        counts[table.name] = connection.execute(select(func.count()).select_from(table)).scalar()
    _set_marker(session, sign_days)
    return counts


def _set_marker(session: Session, sign_days: float | None) -> None:
    """Record the rollups as built with `sign_days` (None: stale); bump the revision."""
    connection = session.connection()
    values = {"built": sign_days is not None, "sign_limit_days": sign_days}
    done = connection.execute(kpi_state.update().where(kpi_state.c.id == 1)
                              .values(**values, revision=kpi_state.c.revision + 1))
    if done.rowcount == 0:
        connection.execute(kpi_state.insert().values(id=1, revision=1, **values))


def revision(session: Session) -> int:
    """A number that changes whenever the rollups change (the app's KPI cache key).

    Pending deltas are folded first, so the number stands for every committed write."""
    fold(session)
    value = session.execute(select(kpi_state.c.revision).where(kpi_state.c.id == 1)).scalar()
    return int(value or 0)


def invalidate(session: Session) -> None:
    """Mark the tables stale (a bulk write bypassed the ORM); the next read rebuilds."""
    _set_marker(session, None)


def is_fresh(session: Session) -> bool:
    marker = _marker(session.connection())
    return marker is not None and float(marker["sign_limit_days"]) == sign_limit_days(session)


def ensure_fresh(session: Session, *, own_transaction: bool = True) -> bool:
    """Rebuild when the tables are not built or were built with another signing limit.

    Readers (a page, the CLI) hold sessions they never commit, so by default the
    rebuild runs and commits in a transaction of its own, and the reader's next
    statement sees it. A caller already writing (init-db) passes
    `own_transaction=False` to rebuild inside its own transaction instead.
    Returns True when it rebuilt; otherwise the writers' pending deltas are folded.
    """
    if is_fresh(session):
        if own_transaction:
            fold(session)
        elif has_pending(session):
            _fold_here(session.connection())
        return False
    if not own_transaction:
        rebuild(session)
        return True
    bind = session.get_bind()
    with Session(bind=getattr(bind, "engine", bind)) as other, other.begin():
        if not is_fresh(other):  # another process may have rebuilt meanwhile
            rebuild(other)
    return True


def differences(session: Session) -> list[str]:
    """Cells where a table plus the pending deltas differs from a fresh recomputation
    (empty when correct). Reads only: a check changes nothing."""
    connection = session.connection()
    dialect = connection.dialect.name
    sign_days = sign_limit_days(session)
    problems = []
    for name, table in TABLES.items():
        keys = KEYS[name]
        stored = {tuple(r[:len(keys)]): tuple(r[len(keys):]) for r in connection.execute(
            select(*(table.c[k] for k in keys), *(table.c[m] for m in MEASURES)))}
        pending = connection.execute(
            select(*(kpi_delta.c[k] for k in keys),
                   *(func.sum(kpi_delta.c[m]) for m in MEASURES))
            .group_by(*(kpi_delta.c[k] for k in keys)))
        for row in pending:
            key, add = tuple(row[:len(keys)]), row[len(keys):]
            base = stored.get(key, (0,) * len(MEASURES))
            stored[key] = tuple(int(x) + int(y) for x, y in zip(base, add, strict=True))
        fresh = {tuple(r[:len(keys)]): tuple(r[len(keys):]) for r in connection.execute(
            _aggregate(dialect, sign_days, keys))}
        zero = (0,) * len(MEASURES)
        for key in sorted(set(stored) | set(fresh), key=str):
            a, b = stored.get(key, zero), fresh.get(key, zero)
            if a != b:
                diff = {m: (x, y) for m, x, y in zip(MEASURES, a, b, strict=True) if x != y}
                problems.append(f"{table.name}{key}: stored vs fresh {diff}")
    return problems


__all__ = ["COUNTS", "HIST", "contributions", "differences", "ensure_fresh", "fold",
           "invalidate", "rebuild"]
