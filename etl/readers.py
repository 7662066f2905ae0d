"""Reading .xlsx / .xls / .csv into columns of text, the way the importer cleans them.

Excel files go through fastexcel (calamine underneath, in Rust): it reads all
Excel formats, returns the values Excel saved rather than formulas, and hands
each column over as an Arrow string array without making a Python object per
cell: 100,000 rows × 14 columns in about 1.5 s, where openpyxl takes 40 s.
Every cell arrives as text, the way Excel shows it unformatted: a date cell as
"2024-01-02 08:30:00", a number as "13812345678" or "12.5", a checkbox as
"true"; an empty cell is null. The cleaners read text in every form anyway
(what streets type is text), so a column mixing date cells and typed dates is
one column of text, and nothing is coerced away.

Columns, not rows: the importer cleans each column's distinct values once
(Arrow's dictionary encoding finds them in C) and never holds the sheet twice.

CSV encodings seen from streets: UTF-8, UTF-8 with a BOM (Excel's "CSV UTF-8"),
and GBK/GB18030 (Excel's default "CSV" on Chinese Windows). The BOM decides
when present; else a strict UTF-8 decode of the first 256 KiB decides between
UTF-8 and GB18030 (a superset of GBK). Undecodable bytes later in the file
become U+FFFD rather than stopping the import: the row is still reported.

Hostile and oversize files are refused before they are read (etl/file_limits.py,
limits in crm.config.ImportLimits) and the sheet read is checked again (rows,
columns, longest cell). Whatever goes wrong reading a file, the caller gets one
ReadError with a one-line reason, never another exception.

Every cell read loses the control characters XML and PostgreSQL refuse (NUL and the
rest of C0 but tab, line feed, carriage return: crm.textsafety.CONTROL_CHARS), so
nothing stored can break an export; they are dropped rather than the row refused,
since they are invisible and never meant. And the quote our exports put before
formula-like text (crm.textsafety.neutralise) is taken off again, so export →
import gives back the same values.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from crm.config import IMPORT_LIMIT_ENV, ImportLimits, import_limits
from crm.textsafety import CONTROL_RE2, QUOTED_RE2
from etl import file_limits
from etl.file_limits import LimitError

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
SNIFF_BYTES = 256 * 1024
_ALLOWED_LOW = np.array([9, 10, 13], dtype=np.uint8)  # tab, LF, CR
FIRST_LINE_CHARS = 8 * 1024 * 1024  # the delimiter sniff's line; the rest is the reader's


class ReadError(Exception):
    """The file cannot be read at all (wrong format, missing sheet, corrupt).

    `str()` is English (the CLI, the logs); `key` and `params` name the message in the
    catalogue (crm.i18n `import.read.*`), so the app shows it in the user's language.
    """

    def __init__(self, message: str, *, key: str = "import.unreadable", **params: object):
        super().__init__(message)
        self.key = key
        self.params = params or {"reason": message}


@dataclass
class Sheet:
    """One sheet as columns: `columns[c][i]` is the cell of sheet row first_row + i."""

    name: str | None
    columns: list[pa.Array]           # string arrays, null for an empty cell, all `height`
    height: int
    sheet_names: list[str] = field(default_factory=list)
    encoding: str | None = None
    first_row: int = 0  # 0-based sheet row of index 0

    def rows_at(self, indices) -> list[list]:
        """The rows at these indices, as lists ('' for an empty cell), gathered column by
        column, not cell by cell."""
        if not len(indices):
            return []
        positions = pa.array(indices, type=pa.int64())
        return _as_rows([col.take(positions) for col in self.columns])

    def rows_from(self, start: int, n: int) -> list[list]:
        """n rows from index `start`, as lists ('' for an empty cell)."""
        return _as_rows([col.slice(start, n) for col in self.columns])

    @property
    def rows(self) -> Iterator[list]:
        """Every row as a list, '' for an empty cell."""
        for start in range(0, self.height, 10_000):
            yield from self.rows_from(start, 10_000)


def _as_rows(columns: list[pa.Array]) -> list[list]:
    """Equal-length columns as row lists, '' for an empty cell."""
    cells = [col.to_pylist() for col in columns]
    return [["" if v is None else v for v in row] for row in zip(*cells, strict=True)]


def detect_encoding(head: bytes) -> str:
    """'utf-8-sig', 'utf-8' or 'gb18030' for the first bytes of a text file."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        # final=False: a multi-byte character cut at the end of the sample is not an error.
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8"


def _csv_rows(stream: io.TextIOBase, limits: ImportLimits) -> list[list]:
    """csv.reader over the stream, stopped at the first row over a limit; the delimiter
    is the commonest of , tab ; in line one."""
    first = stream.readline(FIRST_LINE_CHARS)
    delimiter = max(",\t;", key=first.count) if first else ","
    if csv.field_size_limit() < limits.max_cell_chars + 1:
        csv.field_size_limit(limits.max_cell_chars + 1)  # only ever raised, never lowered
    reader = csv.reader(itertools.chain([first], stream), delimiter=delimiter)
    rows, cells = [], 0
    try:
        for row in reader:
            rows.append(row)
            cells += len(row)
            if len(rows) > limits.max_rows or len(row) > limits.max_columns \
                    or cells > limits.max_cells:
                file_limits.check_shape(len(rows), len(row), limits, "the file has")
                raise file_limits.over(f"the file has more than {limits.max_cells:,} cells",
                                       limits.max_cells, "max_cells")
    except csv.Error as err:
        if "field limit" in str(err):
            raise file_limits.over(
                f"line {reader.line_num} holds a cell of more than "
                f"{csv.field_size_limit():,} characters",
                f"{limits.max_cell_chars:,} characters", "max_cell_chars") from None
        raise ReadError(f"not a readable CSV file (line {reader.line_num}): {err}") from None
    return rows


def _text_columns(rows: list[list[str]]) -> list[pa.Array]:
    """Rows of text (ragged, '' for empty) as string columns (null for empty)."""
    width = max(map(len, rows), default=0)
    out = []
    for c in range(width):
        column = pa.array([row[c] if c < len(row) else None for row in rows], type=pa.string())
        out.append(pc.if_else(pc.equal(column, ""), pa.scalar(None, pa.string()), column))
    return out


def open_csv(data: bytes | Path | str, limits: ImportLimits | None = None) -> Sheet:
    limits = limits or import_limits()
    raw = io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")  # noqa: SIM115
    with raw:
        encoding = detect_encoding(raw.read(SNIFF_BYTES))
        raw.seek(0)
        with io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="") as text:
            rows = _csv_rows(text, limits)
    columns, height = _text_columns(rows), len(rows)
    del rows
    return _checked(Sheet(name=None, columns=columns, height=height,
                          sheet_names=[], encoding=encoding), limits)


def _checked(sheet: Sheet, limits: ImportLimits) -> Sheet:
    """The sheet as read, within the limits, its text without control characters and
    without the quote our exports put before formula-like text."""
    file_limits.check_shape(sheet.height, len(sheet.columns), limits,
                            f"sheet {sheet.name!r} has" if sheet.name else "the file has")
    columns = []
    for i, col in enumerate(sheet.columns):
        if sheet.height:
            longest = pc.max(pc.utf8_length(col)).as_py() or 0
            file_limits.check_cell(longest, limits, f"column {i + 1}")
            if _has_controls(col):
                col = pc.replace_substring_regex(col, CONTROL_RE2, "")
            if pc.any(pc.starts_with(col, "'")).as_py():
                col = pc.replace_substring_regex(col, QUOTED_RE2, r"\1")
        columns.append(col)
    sheet.columns = columns
    return sheet


def _has_controls(col: pa.Array) -> bool:
    """Any C0 control character but tab, LF, CR in the column? In UTF-8 such a byte is
    never part of another character, so one pass of numpy over the text buffer tells."""
    if col.type not in (pa.string(), pa.large_string()):
        return bool(pc.any(pc.match_substring_regex(col, CONTROL_RE2)).as_py())
    data = col.buffers()[2]
    if data is None:
        return False
    low = np.frombuffer(data, dtype=np.uint8)
    low = low[low < 32]
    return bool(low.size) and bool(np.isin(low, _ALLOWED_LOW, invert=True).any())


def open_excel(data: bytes | Path | str, sheet: str | None = None,
               limits: ImportLimits | None = None) -> Sheet:
    import fastexcel

    limits = limits or import_limits()
    if file_limits.is_zip(_head(data)):
        file_limits.check_zip(data, limits)

    try:
        book = fastexcel.read_excel(data if isinstance(data, bytes) else str(data))
    except Exception as err:  # noqa: BLE001 - fastexcel raises several kinds
        raise ReadError(f"not a readable spreadsheet: {_first_line(err)}",
                        key="import.read.not_spreadsheet", detail=_first_line(err)) from err
    names = list(book.sheet_names)
    if sheet is not None and sheet not in names:
        raise ReadError(f"no sheet named {sheet!r}; sheets: {', '.join(names)}",
                        key="import.read.no_sheet", sheet=sheet, sheets="、".join(names),
                        sheets_en=", ".join(names))
    if not names:
        raise ReadError("the workbook has no sheets", key="import.read.empty_book")
    found = None
    for name in [sheet] if sheet is not None else names:
        try:
            # header_row=None and skip_rows=0: every row from the sheet's first, so index
            # i is Excel row i + 1 (blank rows above the data included); all as text.
            loaded = book.load_sheet(name, header_row=None, skip_rows=0, dtypes="string",
                                     eager=True)
        except Exception as err:  # noqa: BLE001 - chart sheets and the like
            if sheet is not None:
                raise ReadError(f"cannot read sheet {name!r}: {_first_line(err)}",
                                key="import.read.bad_sheet", sheet=name,
                                detail=_first_line(err)) from err
            continue
        found = (name, loaded)
        if sheet is not None or (loaded.num_rows and loaded.num_columns):
            break
    if found is None:
        raise ReadError("no readable sheet in the workbook", key="import.read.no_readable_sheet")
    name, batch = found
    columns = [col if col.type == pa.string() else col.cast(pa.string())
               for col in batch.columns]
    return _checked(Sheet(name=name, columns=columns, height=batch.num_rows,
                          sheet_names=names), limits)


def _head(data: bytes | Path | str) -> bytes:
    if isinstance(data, bytes):
        return data[:8]
    with open(data, "rb") as f:
        return f.read(8)


def _limit_error(err: LimitError) -> ReadError:
    """A LimitError as the reader's one error, keyed so the app says it in the user's
    language (the English detail stays the CLI's line)."""
    if err.setting is None:
        return ReadError(str(err), key="import.read.damaged", detail=str(err))
    return ReadError(str(err), key="import.read.over_limit", measure=err.setting,
                     limit=err.limit, env=IMPORT_LIMIT_ENV[err.setting], detail=str(err))


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__


def open_table(source: bytes | Path | str, *, filename: str | None = None,
               sheet: str | None = None, limits: ImportLimits | None = None) -> Sheet:
    """Rows of the named (or first non-empty) sheet of an Excel file, or of a CSV file.

    Raises ReadError, and only ReadError, for a file it cannot or will not read."""
    name = filename or str(source if not isinstance(source, bytes) else "")
    suffix = Path(name).suffix.lower()
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise ReadError(f"no such file: {source}", key="import.read.no_file", path=str(source))
    if suffix not in CSV_SUFFIXES | EXCEL_SUFFIXES and suffix:
        raise ReadError(f"unsupported file type {suffix!r}: use .xlsx, .xls or .csv",
                        key="import.read.bad_type", suffix=suffix)
    try:
        limits = limits or import_limits()
    except ValueError as err:  # a CRM_IMPORT_MAX_… that is not a number: say which
        raise ReadError(str(err)) from None
    try:
        file_limits.check_size(len(source) if isinstance(source, bytes)
                               else Path(source).stat().st_size, limits)
        if suffix in CSV_SUFFIXES:
            return open_csv(source, limits)
        return open_excel(source, sheet, limits)
    except ReadError:
        raise
    except LimitError as err:
        raise _limit_error(err) from None
    except MemoryError:
        raise ReadError("the file needs more memory than the server has",
                        key="import.read.no_memory") from None
    except Exception as err:  # noqa: BLE001 - a damaged file can fail anywhere in a parser
        raise ReadError(f"not a readable file: {_first_line(err)}") from None
