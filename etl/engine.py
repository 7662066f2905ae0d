"""One import: read → find the header → clean column by column → plan → write in one go.

Every row is planned before anything is written: rejected rows are reported
with their Excel row number, column and reason, valid rows become inserts,
updates or "unchanged" by their natural key, and a row repeating an earlier
one in the same file updates it. Then the plan is written in bulk on the
session's connection, inside the caller's transaction: a file lands whole or
not at all, and in strict mode a single rejected row means nothing is written.
Each written record gets an ImportRecord (batch, sheet, row, inserted/updated,
previous values) so the batch can be rolled back.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from crm.access import STREET, scope_of
from crm.auth import Actor
from crm.bulk.writer import BulkWriter, jsonable
from crm.db import now
from crm.i18n import t
from crm.models import HeaderMapping, ImportBatch, ImportRecord
from etl.clean import Bad, Warned, batch
from etl.headers import (
    SCAN_ROWS,
    Mapping,
    detect_header,
    field_label,
    map_columns,
    norm_header,
)
from etl.readers import ReadError, open_table

CHUNK = 20_000  # rows cleaned and planned at a time (the progress bar moves per chunk)
_FOOTER = ("合计", "总计", "小计", "注:", "注：", "说明:", "说明：", "备注:", "备注：", "填报人",
           "审核人", "制表人", "负责人:", "负责人：", "联系人:", "联系人：")
_FOOTER_STARTS = frozenset(f[0] for f in _FOOTER) | {" ", "\u3000", "\t"}
MISSING = object()
_NAMES: dict[int, str] = {}  # Table.name goes through a slow __getattr__
Progress = Callable[[str, int, int], None]


@dataclass
class Issue:
    row: int            # the row number Excel shows
    column: str         # the header as written in the file ('' for the whole row)
    value: object
    key: str
    params: dict = field(default_factory=dict)

    def message(self, lang: str = "zh") -> str:
        params = dict(self.params)
        if lang == "en":  # a parameter may come in both languages: reason / reason_en
            params.update({k[:-3]: v for k, v in self.params.items() if k.endswith("_en")})
        return t(self.key, lang, **params)

    def as_dict(self, lang: str = "zh") -> dict:
        value = self.value
        if value is not None and not isinstance(value, int | float | bool | str):
            value = str(jsonable(value))
        return {"row": self.row, "column": self.column, "value": value,
                "message": self.message(lang)}


@dataclass
class Report:
    kind: str
    filename: str
    sheet: str | None = None
    sheet_names: list[str] = field(default_factory=list)
    header_row: int | None = None          # Excel row number of the header
    mapping: Mapping | None = None
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[Issue] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    rejected_rows: dict[int, list] = field(default_factory=dict)  # Excel row -> cells
    header: list = field(default_factory=list)
    sample: list[list] = field(default_factory=list)   # the first data rows, as read
    batch_id: int | None = None
    dry_run: bool = False
    strict: bool = False
    written: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)  # seconds per phase
    # words a kind could not map, with how many rows used each: {"category": {"绿化": 3}}
    unknown: dict[str, dict[str, int]] = field(default_factory=dict)

    def summary(self, lang: str = "zh") -> dict:
        """The CLI's --json object; its keys are a published interface."""
        return {"kind": self.kind, "rows_read": self.rows_read, "inserted": self.inserted,
                "updated": self.updated, "unchanged": self.unchanged,
                "rejected": self.rejected, "errors": [e.as_dict(lang) for e in self.errors]}


class RowError(Exception):
    """A row the kind refuses: `field` names the column the user should look at."""

    def __init__(self, fld: str | None, key: str, **params: object) -> None:
        super().__init__(key)
        self.field, self.key, self.params = fld, key, params


class Context:
    """What a kind's planner needs: lookups, id reservation, and the plan being built."""

    def __init__(self, session: Session, *, actor: Actor | None, street_id: int | None,
                 dry_run: bool, sheet: str | None) -> None:
        self.session = session
        self.actor = actor
        self.street_id = street_id
        self.dry_run = dry_run
        self.sheet = sheet
        self.writer = BulkWriter(session)
        self.dialect = self.writer.dialect
        self.main_table: str = ""
        self.inserts: dict[str, list[dict]] = {}
        self.intents: list[tuple] = []                   # of every kept row, in file order
        self._row_intents: list[tuple] = []
        self.row_order: list[int] = []
        self.updates: dict[str, list[tuple[int, dict]]] = {}
        self.records: list[tuple] = []                   # (entity, id, row, action, previous)
        self.seen: dict[str, dict] = {}                  # table -> key -> (id, values)
        self.warnings: list[tuple[str | None, str, dict]] = []  # of the current row
        self.cache: dict = {}                            # kind-specific lookups
        self.bulk: dict[str, list[dict[str, list]]] = {}  # table -> column-wise new records
        self.bulk_records: list[tuple[str, list[int], list[int]]] = []  # (table, ids, rows)
        # notes the column-wise planner raised as `plan` would: (row index, field, key,
        # params), reported like the row planner's (the cell value read from the sheet)
        self.bulk_warnings: list[tuple[int, str | None, str, dict]] = []
        # a key two rows of the file give different values: (later row, first row, the
        # columns that differ), found by `settle`
        self.repeats: list[tuple[int, int, list[str]]] = []
        self.unknown: dict[str, dict[str, int]] = {}  # Report.unknown
        self.links: dict[str, tuple[Table, list[dict]]] = {}  # link rows to insert, by table
        self.bulk_links: list[tuple[Table, dict[str, list], list[int]]] = []  # link_bulk's

    def plan_as_row(self, j: int, fn: Callable, *args) -> object:
        """Run a row planner's helper (`unit_id`, say) for the column-wise planner, for the
        row at index `j`: what it adds is kept, and its notes are reported on that row
        after the planner's own (the engine adds them once `plan_bulk` returns)."""
        self._row_intents, self.warnings = [], []
        result = fn(self, *args)
        self.intents.extend(self._row_intents)
        self.bulk_warnings.extend((j, fld, key, params) for fld, key, params in self.warnings)
        return result

    @property
    def scope_street(self) -> int | None:
        """The street an import is confined to: the actor's, when crm.access grants them
        "import.run" in the street scope only (a liaison)."""
        if self.actor is not None and scope_of(self.actor.role, "import.run") == STREET:
            return self.actor.street_id
        return None

    def warn(self, fld: str | None, key: str, **params: object) -> None:
        self.warnings.append((fld, key, params))

    def new_id(self, table: Table) -> int:
        return self.writer.new_id(table)

    def add(self, table: Table, values: dict, row: int) -> int:
        """Insert a row the file introduces that has no natural key (a new unit …)."""
        rid = self.new_id(table)
        self._row_intents.append((table, ("#new", rid), {**values, "id": rid}, row, None,
                                  False, rid))
        return rid

    def link(self, table: Table, key: dict, row: int) -> None:
        """Add a link row (a table with no id of its own: chamber_member) that is not stored
        yet; the kind has looked. The first row of the file naming it adds it (and counts
        as updated when nothing else of it changed); its provenance keeps `key` (the first
        column's value as its record_id), so a rollback removes it."""
        self._row_intents.append((table, ("#link", tuple(sorted(key.items()))), key, row, None,
                                  False, None))

    def link_bulk(self, table: Table, columns: dict[str, list], rows: list[int]) -> None:
        """Link rows planned column-wise (`Kind.plan_bulk`), one per Excel row in `rows`
        (repeated when a row adds several); the kind vouches that none is stored and
        none repeats. Provenance as `link`'s."""
        if rows:
            self.bulk_links.append((table, columns, rows))

    def add_bulk(self, table: Table, columns: dict[str, list], rows: list[int],
                 fill: Callable[[list[int]], dict[str, list]] | None = None) -> list[int]:
        """Insert new records planned column-wise (`Kind.plan_bulk`): one value per record
        in each column (None: the column's default), one Excel row each. The kind
        vouches that no other row of the file and no stored record has their keys,
        so each row simply inserts its record. Returns their ids. `fill` gives columns
        made from the new ids (an appeal's QF number)."""
        ids = self.writer.new_ids(table, len(rows))
        if fill is not None:
            columns = {**columns, **fill(ids)}
        name = str(table.name)  # a plain str: sqlite3 asks a str subclass for __conform__
        self.bulk.setdefault(name, []).append({**columns, "id": ids})
        self.bulk_records.append((name, ids, rows))
        return ids

    def bulk_count(self, table: Table) -> int:
        """How many records `add_bulk` planned for this table."""
        return sum(len(rows) for name, _, rows in self.bulk_records if name == table.name)

    def inserted_columns(self, table: Table, names: tuple[str, ...]) -> dict[str, list]:
        """Every record this import inserts into `table` (planned row by row or in bulk),
        as {column: values}; a column a record lacks is None."""
        rows = self.inserts.get(table.name, [])
        out = {name: [r.get(name) for r in rows] for name in names}
        for block in self.bulk.get(table.name, []):
            n = len(block["id"])
            for name in names:
                out[name].extend(block.get(name) or [None] * n)
        return out

    def upsert(self, table: Table, key: object, values: dict, row: int,
               existing: tuple[int, dict] | None = None, *, versioned: bool = False,
               fill: Callable[[int], dict] | None = None) -> int:
        """Ask for the record with this natural key to hold `values`; returns its id.

        `values` hold only the columns the file speaks about: a column the file
        does not have, or a blank cell, never erases what is stored. Whether this
        inserts, updates or changes nothing is decided in `settle`, once every row
        is known, so a key repeated in the file is judged by its final values.
        `fill` gives the values a new record takes from its id (an appeal's QF number).
        """
        name = _NAMES.get(id(table))
        if name is None:
            name = _NAMES[id(table)] = str(table.name)
        seen = self.seen.get(name)
        if seen is None:
            seen = self.seen[name] = {}
        if key in seen:
            rid, merged = seen[key]
            merged.update(values)
        elif existing is not None:
            rid = existing[0]
            seen[key] = (rid, {**existing[1], **values})
        else:
            rid = self.new_id(table)
            if fill is not None:
                values.update(fill(rid))
            seen[key] = (rid, dict(values))
        self._row_intents.append((table, key, values, row, existing, versioned, rid))
        return rid

    def settle(self) -> dict[int, str]:
        """Turn the intents into inserts and updates; the action of each row.

        Per record: when its final values equal what is stored, every row
        naming it is "unchanged" (re-importing a file changes nothing); else
        the first row inserts or updates it, and each later row that changes
        it again counts as an update of the same record.
        """
        groups: dict[tuple, list] = {}
        for intent in self.intents:
            table, key = intent[0], intent[1]
            groups.setdefault((_NAMES.get(id(table)) or str(table.name), key), []).append(intent)
        row_action: dict[int, str] = {}
        rank = {"unchanged": 0, "updated": 1, "inserted": 2}

        def mark(row: int, action: str, main: bool) -> None:
            if not main and action == "inserted":
                action = "updated"
            old = row_action.get(row, "unchanged")
            if rank[action] > rank[old]:
                row_action[row] = action

        for (tname, key), intents in groups.items():
            table, existing, versioned, rid = (intents[0][0], intents[0][4], intents[0][5],
                                               intents[0][6])
            main = tname == self.main_table
            if key.__class__ is tuple and key and key[0] == "#link":  # see `link`
                values, row = intents[0][2], intents[0][3]
                mark(row, "inserted", False)
                self.records.append((tname, next(iter(values.values())), row, "inserted",
                                     values))
                self.links.setdefault(tname, (table, []))[1].append(values)
                continue
            if len(intents) > 1:
                self._note_repeats(intents)
            if existing is None and len(intents) == 1:  # the common case: one new row
                row = intents[0][3]
                if main:
                    row_action[row] = "inserted"
                else:
                    mark(row, "inserted", main)
                self.records.append((tname, rid, row, "inserted", None))
                self.inserts.setdefault(tname, []).append({**intents[0][2], "id": rid})
                continue
            if existing is None:
                state = {}
                for i, (_, _, values, row, *_rest) in enumerate(intents):
                    if i == 0:
                        mark(row, "inserted", main)
                        self.records.append((tname, rid, row, "inserted", None))
                    elif any(state.get(c, MISSING) != v for c, v in values.items()):
                        prev = {c: jsonable(state.get(c)) for c in values
                                if state.get(c, MISSING) != values[c]}
                        mark(row, "updated", main)
                        self.records.append((tname, rid, row, "updated", prev))
                    state.update(values)
                full = {**state, "id": rid}
                self.inserts.setdefault(tname, []).append(full)
                continue
            stored = existing[1]
            final = dict(stored)
            for intent in intents:
                final.update(intent[2])
            changed = {c: v for c, v in final.items() if stored.get(c, MISSING) != v}
            if not changed:
                continue
            state = dict(stored)
            for _, _, values, row, *_rest in intents:
                diff = {c: v for c, v in values.items() if state.get(c, MISSING) != v}
                if diff:
                    prev = {c: jsonable(state.get(c)) for c in diff}
                    if versioned:  # the version this batch leaves, to spot later edits
                        prev["_version"] = stored.get("version", 0) + 1
                    mark(row, "updated", main)
                    self.records.append((tname, rid, row, "updated", prev))
                    state.update(diff)
            self.updates.setdefault(tname, []).append((rid, changed))
        return row_action


    def _note_repeats(self, intents: list[tuple]) -> None:
        """A later row giving a value an earlier row of the file gave differently: noted
        (the later value is kept, as `upsert` merges in file order)."""
        given: dict[str, tuple[object, int]] = {}  # column -> (value, the row that gave it)
        for _, _, values, row, *_rest in intents:
            clash: list[str] = []
            for c, v in values.items():
                before = given.get(c)
                if before is not None and before[1] != row and before[0] != v:
                    clash.append(c)
                given[c] = (v, row)
            if clash:
                self.repeats.append((row, intents[0][3], clash))


class Kind:
    """One importable kind: its table, cleaners, natural key and how a row is planned."""

    name: str = ""
    table: Table
    versioned = False         # the table has a `version` column the app's locking uses
    touch = False             # the table has `updated_at`
    required: tuple[str, ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()  # at least one of these fields per row
    cached: frozenset[str] = frozenset()      # fields whose cleaning may be memoised
    soft: frozenset[str] = frozenset()        # a bad value here is a warning, left blank

    def cleaners(self, ctx: Context, mapping: Mapping) -> dict[str, Callable]:
        raise NotImplementedError

    def prefetch(self, ctx: Context, recs: list[dict]) -> None:
        """Load what the planner needs for this chunk (existing records by key …)."""

    def survey(self, ctx: Context, columns: dict[str, list], rows: list[int]) -> None:
        """Look over the whole file's valid rows before planning (words no table knows,
        counted once for the file …); notes go to ctx.bulk_warnings. Default: nothing."""

    def plan_bulk(self, ctx: Context, columns: dict[str, list], rows: list[int],
                  numbers: list[int], notes: dict[int, list[Issue]]) -> list[int]:
        """Plan column-wise, through ctx.add_bulk, the rows that need no judgement of their
        own (new keys, known references); return the rest, which go to `plan` one by
        one. `columns` hold every data row's clean values (None: blank or refused),
        `rows` the indices of the rows still valid, `numbers` the Excel row numbers;
        warnings go to notes[index]. The default plans nothing in bulk."""
        return rows

    def plan(self, ctx: Context, rec: dict, row: int) -> None:
        """Plan one clean row through ctx.upsert / ctx.add, or raise RowError."""
        raise NotImplementedError

    def write(self, ctx: Context) -> None:
        """Write the plan; tables in dependency order. The indexes a big load dropped
        may still be rebuilding on the writer's thread when this returns."""
        w = ctx.writer
        for table in self.tables_in_order():
            w.insert(table, ctx.inserts.get(table.name, []), columns=ctx.bulk.get(table.name))
            w.update(table, ctx.updates.get(table.name, []),
                     bump_version="version" in table.c, touch="updated_at" in table.c)

    def after_write(self, ctx: Context) -> None:
        """Writes that follow the main ones (links, derived counts). The engine prepares
        the provenance rows between `write` and this, while indexes rebuild."""

    def tables_in_order(self) -> list[Table]:
        return [self.table]

    def side_tables(self) -> list[Table]:
        """Tables `write` also fills beyond tables_in_order (links, provenance)."""
        return []


def runs(ids: list[int], rows: list[int]) -> tuple[list[int], list[int], list[int]]:
    """Split records (ids, the sheet rows they came from) into runs where both go up by
    one: (first id, first row, length) of each run."""
    if not ids:
        return [], [], []
    id_arr, row_arr = np.asarray(ids, dtype=np.int64), np.asarray(rows, dtype=np.int64)
    breaks = np.flatnonzero((np.diff(id_arr) != 1) | (np.diff(row_arr) != 1)) + 1
    starts = np.concatenate(([0], breaks))
    lengths = np.diff(np.concatenate((starts, [len(id_arr)])))
    return id_arr[starts].tolist(), row_arr[starts].tolist(), lengths.tolist()


def _blank(v: object) -> bool:
    return v is None or (isinstance(v, str) and not v.strip())


def _is_blank_row(row: list) -> bool:
    # any() runs in C and is False for a row of '' / None (what readers give for empty
    # cells); a row with a value stops at its first real cell.
    return not any(row) or not any(not _blank(c) for c in row)


def _is_footer(row: list) -> bool:
    for cell in row[:3]:
        if not _blank(cell):
            return isinstance(cell, str) and "".join(cell.split()).startswith(_FOOTER)
    return False


def _field_names(kind: str, fields: list[str], lang: str) -> str:
    return ("、" if lang == "zh" else ", ").join(field_label(kind, f, lang) for f in fields)


def remembered_mapping(session: Session, kind: str, street_id: int | None) -> dict:
    """Mappings users saved: the street's own win over district-wide ones."""
    rows = session.execute(select(HeaderMapping.street_id, HeaderMapping.source_header,
                                  HeaderMapping.field)
                           .where(HeaderMapping.kind == kind,
                                  (HeaderMapping.street_id == street_id)
                                  | HeaderMapping.street_id.is_(None))).all()
    rows.sort(key=lambda r: r[0] is not None)
    return {norm_header(header): fld for _, header, fld in rows}


def run(session: Session, kind: Kind, source: bytes | Path | str, *, filename: str | None = None,
        sheet: str | None = None, strict: bool = False, dry_run: bool = False,
        actor: Actor | None = None, street_id: int | None = None,
        overrides: dict[str, str | None] | None = None,
        progress: Progress | None = None) -> Report:
    """Import one sheet. The caller owns the transaction (commit = the batch lands).

    The garbage collector is left as it is: this runs inside the app's server, where
    pausing it would pause it for every session. A process of its own (the CLI's
    import) may pause it around the call."""
    started = time.perf_counter()
    filename = filename or Path(str(source)).name
    table = open_table(source, filename=filename, sheet=sheet)
    report = Report(kind=kind.name, filename=filename, sheet=table.name,
                    sheet_names=table.sheet_names, dry_run=dry_run, strict=strict)
    report.timings["open sheet"] = time.perf_counter() - started
    head = table.rows_from(0, SCAN_ROWS)
    remembered = remembered_mapping(session, kind.name, street_id)
    chosen = {**remembered, **{norm_header(k): v for k, v in (overrides or {}).items()}}
    mapping = detect_header(kind.name, head, remembered=chosen)
    if mapping is None:
        raise ReadError("no header row found: the first rows name none of the columns of "
                        f"{kind.name!r}", key="import.read.no_header", kind=kind.name)
    if overrides:
        mapping = map_columns(kind.name, head[mapping.header_row], mapping.header_row,
                              remembered=remembered, overrides=overrides)
    report.mapping = mapping
    report.header = head[mapping.header_row]
    report.header_row = table.first_row + mapping.header_row + 1
    missing = [f for f in kind.required if f not in mapping.fields]
    missing += ["/".join(group) for group in kind.one_of
                if not any(f in mapping.fields for f in group)]
    if missing:
        raise ReadError(f"the header row {report.header_row} lacks required column(s): "
                        f"{', '.join(missing)}", key="import.read.missing_columns",
                        row=report.header_row, columns=_field_names(kind.name, missing, "zh"),
                        columns_en=_field_names(kind.name, missing, "en"))

    ctx = Context(session, actor=actor, street_id=street_id, dry_run=dry_run, sheet=table.name)
    ctx.main_table = kind.table.name
    cleaners = kind.cleaners(ctx, mapping)
    fields = [(f, i, cleaners[f], {} if f in kind.cached else None)
              for f, i in mapping.fields.items() if f in cleaners]
    data = _data_rows(table, mapping.header_row + 1, report.header)
    report.sample = table.rows_at(data[:10])
    cleaned = Cleaned(rows=data, numbers=(data + table.first_row + 1).tolist(),
                      names=[f for f, *_ in fields], columns=[[] for _ in fields])
    for start in range(0, len(data), CHUNK):
        _clean_chunk(kind, mapping, fields, table, start, cleaned, report)
        if progress:
            progress("plan", report.rows_read // 2, len(data))
    _plan(ctx, kind, mapping, table, cleaned, report, progress)
    report.unknown = ctx.unknown
    report.timings["read+clean+plan"] = time.perf_counter() - started
    mark = time.perf_counter()
    actions = ctx.settle()
    report.timings["settle"] = time.perf_counter() - mark
    for number in ctx.row_order:
        action = actions.get(number, "unchanged")
        setattr(report, action, getattr(report, action) + 1)
    report.inserted += ctx.bulk_count(kind.table)
    _report_repeats(ctx, mapping, report)

    if strict and report.rejected:
        dry_run = True
        report.inserted = report.updated = 0  # nothing is written
    if not dry_run:
        mark = time.perf_counter()
        _write(session, ctx, kind, report, actor=actor, street_id=street_id, strict=strict,
               progress=progress)
        report.timings["write"] = time.perf_counter() - mark
        report.timings.update({f"driver:{k}": v for k, v in ctx.writer.seconds.items()})
    report.seconds = time.perf_counter() - started
    return report


def _report_repeats(ctx: Context, mapping: Mapping, report: Report) -> None:
    """A warning on each row that gives a key an earlier row gave different values,
    naming that row and the columns (their headers where the file has them)."""
    if not ctx.repeats:
        return
    named: dict[tuple[int, int], list[str]] = {}  # (row, first row) -> headers, all tables
    for row, first, columns in ctx.repeats:
        # the file's headers of the columns (category_id is the field category, a
        # contact's phone contact_phone …); a column no header gives (a due date derived
        # from them) only when nothing else differs
        headers = [mapping.header_of(f) for c in columns for f in mapping.fields
                   if f in (c, c.removesuffix("_id")) or f.endswith("_" + c)]
        named.setdefault((row, first), []).extend(headers or columns)
    for (row, first), headers in named.items():
        report.warnings.append(Issue(row, "", None, "etl.repeated_key", {
            "first": first, "columns": "、".join(dict.fromkeys(headers))}))
    report.warnings.sort(key=lambda w: w.row)


def _blank_mask(values: pa.Array) -> np.ndarray:
    """Per value: '' or whitespace only."""
    return pc.equal(pc.utf8_trim_whitespace(values), "").fill_null(True).to_numpy(
        zero_copy_only=False)


def _nonblank(column: pa.Array) -> np.ndarray:
    """Per cell: holds something other than whitespace."""
    filled = pc.not_equal(pc.utf8_trim_whitespace(column), "").fill_null(False)
    return filled.to_numpy(zero_copy_only=False)


def _data_rows(table, start: int, header: list) -> np.ndarray:
    """Indices of the rows below the header that hold data: blank rows, footers (合计,
    注:, 填报人 …) and the header repeated above the next block are left out.

    Found column-wise: only rows whose first cell is blank, starts like a footer or
    repeats the header's first cell are looked at one by one.
    """
    n = table.height - start
    if n <= 0 or not table.columns:
        return np.zeros(0, dtype=np.int64)
    columns = [c.slice(start) for c in table.columns]
    filled = np.zeros(n, dtype=bool)
    for column in columns:
        filled |= _nonblank(column)
    first = columns[0]
    suspect = ~_nonblank(first)
    starts = pc.is_in(pc.utf8_slice_codeunits(first, 0, 1),
                      value_set=pa.array(sorted(_FOOTER_STARTS)))
    suspect |= starts.fill_null(False).to_numpy(zero_copy_only=False)
    if header and header[0] not in ("", None):
        suspect |= pc.equal(first, str(header[0])).fill_null(False).to_numpy(
            zero_copy_only=False)
    suspect &= filled
    header_norm = [norm_header(c) for c in header]
    probe = next((k for k, h in enumerate(header_norm) if h), 0)  # a cell the header fills
    suspects = np.flatnonzero(suspect)
    for part in range(0, len(suspects), CHUNK):  # gathered column-wise, a chunk at a time
        some = suspects[part:part + CHUNK]
        for i, row in zip(some.tolist(), table.rows_at(some + start), strict=True):
            if (_is_blank_row(row) or _is_footer(row)
                    or (header_norm and norm_header(row[probe]) == header_norm[probe]
                        and [norm_header(c) for c in row] == header_norm)):
                filled[i] = False
    return np.flatnonzero(filled) + start


@dataclass
class Cleaned:
    """Every data row's clean values, column by column, and what cleaning found."""

    rows: np.ndarray                  # sheet indices of the data rows
    numbers: list[int]                # their Excel row numbers
    names: list[str]                  # the fields cleaned
    columns: list[list]               # per field, one value per row (None: blank or refused)
    problems: dict[int, list[Issue]] = field(default_factory=dict)  # index -> rejections
    notes: dict[int, list[Issue]] = field(default_factory=dict)     # index -> warnings


def _clean_chunk(kind: Kind, mapping: Mapping, fields, table, start: int, out: Cleaned,
                 report: Report) -> None:
    """Clean the next CHUNK data rows column by column, each distinct value once.

    Arrow's dictionary encoding gives each column's distinct values and, per row,
    which one it holds, so a cleaner sees each value once and the row values are
    picked out of the results in C.
    """
    started = time.perf_counter()
    rows = out.rows[start:start + CHUNK]
    n = len(rows)
    numbers = out.numbers[start:start + n]
    report.rows_read += n
    problems, notes, soft = out.problems, out.notes, kind.soft
    positions = pa.array(rows)
    contiguous = n > 0 and int(rows[-1]) - int(rows[0]) + 1 == n  # no row left out between
    width = len(table.columns)
    columns = []
    for fld, idx, fn, cache in fields:
        header = mapping.columns[idx].header
        if idx >= width:
            columns.append([None] * n)
            continue
        column = table.columns[idx]
        column = column.slice(int(rows[0]), n) if contiguous else column.take(positions)
        encoded = pc.dictionary_encode(column)
        distinct = encoded.dictionary.to_pylist()
        codes = encoded.indices.fill_null(len(distinct)).to_numpy(zero_copy_only=False)
        results = np.empty(len(distinct) + 1, dtype=object)  # the last one: null
        # '' and whitespace-only cells are blank: they never reach a cleaner.
        blank = _blank_mask(encoded.dictionary)
        todo = [raw for raw, b in zip(distinct, blank, strict=True) if not b] \
            if blank.any() else distinct
        if cache is None:  # values seen once per chunk: cleaned in order, no memo
            done = batch(fn, todo)
        else:
            new = [raw for raw in todo if raw not in cache]
            cache.update(zip(new, batch(fn, new), strict=True))
            done = [cache[raw] for raw in todo]
        done = np.fromiter(done, dtype=object, count=len(todo))  # tuples stay whole
        if todo is distinct:
            results[:len(distinct)] = done
        else:
            results[np.flatnonzero(~blank)] = done
        kinds = list(map(type, results[:len(distinct)].tolist()))  # in C
        seen = set(kinds)
        flagged = [k for k, cls in enumerate(kinds) if cls is Warned or cls is Bad] \
            if Warned in seen or Bad in seen else []
        values = results[codes]
        if flagged:
            for j in np.flatnonzero(np.isin(codes, flagged)).tolist():
                value = values[j]
                issue = Issue(numbers[j], header, distinct[codes[j]], value.key, value.params)
                if value.__class__ is Warned:
                    notes.setdefault(start + j, []).append(issue)
                    values[j] = value.value
                else:
                    (notes if fld in soft else problems).setdefault(start + j, []).append(issue)
                    values[j] = None
        columns.append(values.tolist())
    for whole, part in zip(out.columns, columns, strict=True):
        whole.extend(part)
    # Required fields, checked column by column; the rare rows lacking one are reported
    # in order (each required field, then each one-of group), unless already rejected.
    column_of = dict(zip(out.names, columns, strict=True))
    everyone = range(n)

    def blanks(fld: str):
        values = column_of.get(fld)
        return everyone if values is None else [j for j, v in enumerate(values) if v is None]

    lacking: list[tuple[set, str]] = []
    for fld in kind.required:
        label = mapping.header_of(fld)
        lacking.append((set(blanks(fld)), label))
    for group in kind.one_of:
        label = "/".join(mapping.header_of(f) for f in group if f in mapping.fields)
        lacking.append((set.intersection(*(set(blanks(f)) for f in group)), label))
    for j in sorted(set().union(*(rows for rows, _ in lacking))):
        if start + j in problems:
            continue
        for rows_lacking, label in lacking:
            if j in rows_lacking:
                problems.setdefault(start + j, []).append(
                    Issue(numbers[j], label, None, "etl.required", {"column": label}))
    report.timings["clean"] = report.timings.get("clean", 0.0) + time.perf_counter() - started


def _plan(ctx: Context, kind: Kind, mapping: Mapping, table, c: Cleaned, report: Report,
          progress: Progress | None) -> None:
    """Plan every valid row: the kind's column-wise planner first, then the rows it left,
    one by one in file order; then report rejections and warnings in row order."""
    started = time.perf_counter()
    n = len(c.numbers)
    problems, notes, numbers, width = c.problems, c.notes, c.numbers, len(table.columns)
    valid = [j for j in range(n) if j not in problems] if problems else list(range(n))
    column_of = dict(zip(c.names, c.columns, strict=True))
    kind.survey(ctx, column_of, valid)
    rest = kind.plan_bulk(ctx, column_of, valid, numbers, notes)
    mark = time.perf_counter()
    report.timings["plan in bulk"] = mark - started
    # Each remaining row's dict holds its non-blank fields: rows sharing a pattern of
    # blanks share the tuple of names, and the dict is built in C from the values present.
    columns = c.columns if len(rest) == n else [[col[j] for j in rest] for col in c.columns]
    recs: list[dict] = []
    if columns:
        present = [[v is not None for v in values] for values in columns]
        names_of: dict[tuple, tuple] = {}
        append = recs.append
        for vals, flags in zip(zip(*columns, strict=True), zip(*present, strict=True),
                               strict=True):
            keys = names_of.get(flags)
            if keys is None:
                keys = names_of[flags] = tuple(itertools.compress(c.names, flags))
            append(dict(zip(keys, itertools.compress(vals, flags), strict=True)))
    else:
        recs = [{} for _ in rest]
    kind.prefetch(ctx, recs)
    plan, intents, order = kind.plan, ctx.intents, ctx.row_order
    field_index, headers = mapping.fields, {}
    pending: list[tuple[Issue, int, int]] = []  # (issue, row index, column): value to fill

    def issue(j: int, fld: str | None, key: str, params: dict) -> Issue:
        """An issue `plan` raised; the cell it names is read after the loop, in bulk."""
        if fld not in headers:
            headers[fld] = mapping.header_of(fld) if fld else ""
        found = Issue(numbers[j], headers[fld], None, key, params)
        idx = field_index.get(fld) if fld else None
        if idx is not None and idx < width:
            pending.append((found, j, idx))
        return found

    for j, fld, key, params in ctx.bulk_warnings:
        notes.setdefault(j, []).append(issue(j, fld, key, params))
    for done, (j, rec) in enumerate(zip(rest, recs, strict=True), start=1):
        ctx._row_intents = row_intents = []
        ctx.warnings = []
        try:
            plan(ctx, rec, numbers[j])
        except RowError as err:
            problems[j] = [issue(j, err.field, err.key, err.params)]
            continue
        finally:
            if progress and done % CHUNK == 0:
                progress("plan", (n + done) // 2, n)
        intents.extend(row_intents)
        order.append(numbers[j])
        for fld, key, params in ctx.warnings:
            notes.setdefault(j, []).append(issue(j, fld, key, params))
    report.timings["plan"] = time.perf_counter() - mark
    # The cells of refused rows (for the report and its download) and of the issues
    # `plan` raised, gathered column by column.
    wanted = sorted(set(problems).union(j for _, j, _ in pending))
    cells = dict(zip(wanted, table.rows_at(c.rows[wanted]), strict=True))
    for found, j, idx in pending:
        value = cells[j][idx]
        found.value = None if value == "" else value
    for j in sorted(problems):
        report.rejected += 1
        report.errors.extend(problems[j])
        report.rejected_rows[numbers[j]] = cells[j]
    for j in sorted(notes):
        if j not in problems:
            report.warnings.extend(notes[j])
    if progress:
        progress("plan", n, n)


def _write(session: Session, ctx: Context, kind: Kind, report: Report, *, actor, street_id,
           strict, progress) -> None:
    main_rows = len(ctx.inserts.get(kind.table.name, ())) + ctx.bulk_count(kind.table)
    # Before the first write; the side tables only with the main one (on SQLite the
    # switch is for the whole connection, and the check then reads every listed table).
    if ctx.writer.relax_foreign_keys(kind.table, main_rows):
        for table in (*kind.side_tables(), ImportRecord.__table__):
            ctx.writer.relax_foreign_keys(table, main_rows)
    batch = ImportBatch(kind=kind.name, filename=report.filename[:255],
                        sheet=(report.sheet or None) and report.sheet[:100],
                        street_id=street_id or (actor.street_id if actor else None),
                        user_id=actor.id if actor else None, strict=strict, status="running")
    session.add(batch)
    session.flush()
    if progress:
        progress("write", 0, 1)
    # The inserts run on the writer's thread while this one prepares the next rows;
    # whatever happens, it has stopped before the caller commits or rolls back.
    try:
        kind.write(ctx)
        for table, links in ctx.links.values():  # after the records they point at
            ctx.writer.insert(table, links)
        for table, columns, _ in ctx.bulk_links:
            ctx.writer.insert(table, [], columns=[columns])
        batch_id, sheet = batch.id, ctx.sheet
        # Provenance column-wise: the row-planned records, then the column-wise blocks.
        # Each column-wise block goes in as runs: one row per stretch of consecutive
        # ids from consecutive sheet rows (ImportRecord.span).
        entities, ids, rows, actions, previous = [], [], [], [], []
        for entity, rid, row, action, before in ctx.records:
            entities.append(entity)
            ids.append(rid)
            rows.append(row)
            actions.append(action)
            previous.append(None if before is None else json.dumps(before, ensure_ascii=False))
        for table, columns, block_rows in ctx.bulk_links:  # each link's key, as `link`'s
            names = list(columns)
            entities.extend(itertools.repeat(str(table.name), len(block_rows)))
            ids.extend(columns[names[0]])
            rows.extend(block_rows)
            actions.extend(itertools.repeat("inserted", len(block_rows)))
            previous.extend(json.dumps(dict(zip(names, key, strict=True)))
                            for key in zip(*columns.values(), strict=True))
        spans = [1] * len(ids)
        for entity, block_ids, block_rows in ctx.bulk_records:
            first_ids, first_rows, lengths = runs(block_ids, block_rows)
            entities.extend(itertools.repeat(entity, len(lengths)))
            ids.extend(first_ids)
            rows.extend(first_rows)
            spans.extend(lengths)
            actions.extend(itertools.repeat("inserted", len(lengths)))
            previous.extend(itertools.repeat(None, len(lengths)))
        kind.after_write(ctx)
        ctx.writer.insert_columns(
            ImportRecord.__table__,
            ("batch_id", "entity", "record_id", "sheet", "row_number", "action", "previous",
             "span"),
            [[batch_id] * len(ids), entities, ids, [sheet] * len(ids), rows, actions,
             previous, spans])
        mark = time.perf_counter()
        ctx.writer.check_foreign_keys([t.name for t in (*kind.tables_in_order(),
                                                        *kind.side_tables())]
                                      + ["import_record"])
        report.timings["wait for writes + foreign keys"] = time.perf_counter() - mark
        ctx.writer.close()
    finally:
        ctx.writer.finish()
    batch.rows_read, batch.inserted, batch.updated = (report.rows_read, report.inserted,
                                                      report.updated)
    batch.unchanged, batch.rejected = report.unchanged, report.rejected
    batch.errors = [e.as_dict() for e in report.errors[:2000]] or None
    batch.status, batch.finished_at = "done", now()
    session.flush()
    report.batch_id = batch.id
    report.written = True
    if progress:
        progress("write", 1, 1)
