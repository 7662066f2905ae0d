"""Reading .xlsx / .xls / .csv as rows of plain Python values.

Excel files go through python-calamine (Rust): it reads all three Excel formats,
returns cached values rather than formulas, gives real date cells as
`datetime`/`date`, and is ~14× faster than openpyxl (see PERFORMANCE.md).
Rows are yielded one at a time, so the importer holds the cleaned rows only,
never a second copy of the sheet in a DataFrame.

CSV encodings seen from streets: UTF-8, UTF-8 with a BOM (Excel's "CSV UTF-8"),
and GBK/GB18030 (Excel's default "CSV" on Chinese Windows). The BOM decides
when present; else a strict UTF-8 decode of the first 256 KiB decides between
UTF-8 and GB18030 (a superset of GBK). Undecodable bytes later in the file
become U+FFFD rather than stopping the import: the row is still reported.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
SNIFF_BYTES = 256 * 1024


class ReadError(Exception):
    """The file cannot be read at all (wrong format, missing sheet, corrupt)."""


@dataclass
class Sheet:
    name: str | None
    rows: Iterator[list]
    sheet_names: list[str] = field(default_factory=list)
    encoding: str | None = None
    first_row: int = 0  # 0-based sheet row of the first row yielded


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


def _csv_rows(stream: io.TextIOBase) -> Iterator[list]:
    """csv.reader over the stream; the delimiter is the commonest of , tab ; in line one."""
    first = stream.readline()
    delimiter = max(",\t;", key=first.count) if first else ","
    yield from csv.reader(itertools.chain([first], stream), delimiter=delimiter)


def open_csv(data: bytes | Path | str) -> Sheet:
    # The file is closed when the row generator finishes.
    raw = io.BytesIO(data) if isinstance(data, bytes) else open(data, "rb")  # noqa: SIM115
    encoding = detect_encoding(raw.read(SNIFF_BYTES))
    raw.seek(0)
    text = io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")

    def rows() -> Iterator[list]:
        try:
            yield from _csv_rows(text)
        finally:
            text.close()

    return Sheet(name=None, rows=rows(), sheet_names=[], encoding=encoding)


def open_excel(data: bytes | Path | str, sheet: str | None = None) -> Sheet:
    from python_calamine import CalamineWorkbook

    try:
        if isinstance(data, bytes):
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        else:
            book = CalamineWorkbook.from_path(str(data))
    except Exception as err:  # noqa: BLE001 - calamine raises several kinds
        raise ReadError(f"not a readable spreadsheet: {err}") from err
    names = list(book.sheet_names)
    if sheet is not None and sheet not in names:
        raise ReadError(f"no sheet named {sheet!r}; sheets: {', '.join(names)}")
    if not names:
        raise ReadError("the workbook has no sheets")
    ws = None
    for name in [sheet] if sheet is not None else names:
        try:
            ws = book.get_sheet_by_name(name)  # parses the sheet: do it once
        except Exception as err:  # noqa: BLE001 - chart sheets and the like
            if sheet is not None:
                raise ReadError(f"cannot read sheet {name!r}: {err}") from err
            continue
        if sheet is not None or (ws.height and ws.width):
            break
    if ws is None:
        raise ReadError("no readable sheet in the workbook")
    # iter_rows starts at the sheet's first row (blank rows above the data included).
    return Sheet(name=ws.name, rows=iter(ws.iter_rows()), sheet_names=names)


def open_table(source: bytes | Path | str, *, filename: str | None = None,
               sheet: str | None = None) -> Sheet:
    """Rows of the named (or first non-empty) sheet of an Excel file, or of a CSV file."""
    name = filename or str(source if not isinstance(source, bytes) else "")
    suffix = Path(name).suffix.lower()
    if not isinstance(source, bytes) and not Path(source).is_file():
        raise ReadError(f"no such file: {source}")
    if suffix in CSV_SUFFIXES:
        return open_csv(source)
    if suffix in EXCEL_SUFFIXES or not suffix:
        return open_excel(source, sheet)
    raise ReadError(f"unsupported file type {suffix!r}: use .xlsx, .xls or .csv")
