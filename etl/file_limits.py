"""Refusing a hostile or oversize import file before the reader spends memory on it.

An 18 MB xlsx whose sheet inflated to 5 GB once took an import to 8.65 GB of
memory before the process died; the import page runs the same reader inside the
server. So, before fastexcel (calamine) sees a byte:

- every file: its size (CRM_IMPORT_MAX_FILE_MB);
- a zip (xlsx, xlsm, xlsb, ods): the zip directory, from which nothing is inflated:
  the number of members, each member's and the total inflated size, the ratio of
  inflated to compressed (per member over 1 MB, and in total); each worksheet's
  declared `<dimension ref="A1:N100001">`; then one streamed pass over every member
  (1 MB at a time, so memory stays flat whatever the file claims) that checks the
  directory told the truth (a member inflating past its declared size is cut there
  and fails its CRC), counts each worksheet's rows and cells, and finds any run of
  text long enough to be an oversize cell;
- .xls (not compressed: its size bounds what it can hold) and CSV: the size here, the
  rows, columns and cell length as they are read (etl/readers.py).

After the read the sheet itself is checked too (rows, columns, longest cell), so a
format this module cannot look into still meets the limits. Every refusal is a
ReadError with one line saying what is too big and which setting allows more.
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import numpy as np

from crm.config import IMPORT_LIMIT_ENV, ImportLimits

MB = 1024 * 1024
CHUNK = MB
ZIP_MAGIC = b"PK\x03\x04"
_SHEET = re.compile(r"xl/worksheets/[^/]+\.xml$")
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"([A-Z]+)?(\d+)?(?::([A-Z]+)(\d+))?\"")


class LimitError(Exception):
    """The file is over one of the import limits (a ReadError to the importer).

    `str()` is the English detail; `setting` (an ImportLimits field, None for a damaged
    part) and `limit` let the app say it in the user's language."""

    def __init__(self, message: str, *, setting: str | None = None, limit: str = ""):
        super().__init__(message)
        self.setting = setting
        self.limit = limit


def over(what: str, limit: int | str, setting: str) -> LimitError:
    """'<what>, over the import limit of <limit> (setting CRM_IMPORT_MAX_…)'."""
    limit = f"{limit:,}" if isinstance(limit, int) else limit
    return LimitError(f"{what}, over the import limit of {limit} "
                      f"(setting {IMPORT_LIMIT_ENV[setting]})", setting=setting, limit=str(limit))


def column_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def check_size(size: int, limits: ImportLimits) -> None:
    if size > limits.max_file_mb * MB:
        raise over(f"the file is {size / MB:,.1f} MB", f"{limits.max_file_mb:,} MB",
                    "max_file_mb")


def check_shape(rows: int, columns: int, limits: ImportLimits,
                where: str = "the sheet has") -> None:
    if rows > limits.max_rows:
        raise over(f"{where} {rows:,} rows", limits.max_rows, "max_rows")
    if columns > limits.max_columns:
        raise over(f"{where} {columns:,} columns", limits.max_columns, "max_columns")
    if rows * columns > limits.max_cells:
        raise over(f"{where} {rows * columns:,} cells ({rows:,} rows × {columns:,} columns)",
                    limits.max_cells, "max_cells")


def check_cell(length: int, limits: ImportLimits, where: str = "the sheet") -> None:
    if length > limits.max_cell_chars:
        raise over(f"{where} holds a cell of {length:,} characters",
                    f"{limits.max_cell_chars:,} characters", "max_cell_chars")


def is_zip(head: bytes) -> bool:
    return head.startswith(ZIP_MAGIC)


def check_zip(source: bytes | Path | str, limits: ImportLimits) -> None:
    """The zip checks of the module docstring; raises LimitError, or zipfile's own errors
    for a damaged file (the reader turns both into a ReadError)."""
    handle = io.BytesIO(source) if isinstance(source, bytes) else open(source, "rb")  # noqa: SIM115
    with handle, zipfile.ZipFile(handle) as book:
        members = book.infolist()
        if len(members) > limits.max_members:
            raise over(f"the workbook holds {len(members):,} files", limits.max_members,
                        "max_members")
        inflated = sum(m.file_size for m in members)
        packed = sum(m.compress_size for m in members)
        if inflated > limits.max_unzipped_mb * MB:
            raise over(f"the workbook inflates to {inflated / MB:,.0f} MB",
                        f"{limits.max_unzipped_mb:,} MB", "max_unzipped_mb")
        for m in [None, *members]:
            size, comp = (inflated, packed) if m is None else (m.file_size, m.compress_size)
            if size > MB and size > limits.max_ratio * max(comp, 1):
                name = "the workbook" if m is None else m.filename
                raise over(f"{name} inflates {size / max(comp, 1):,.0f} times its "
                            "compressed size", limits.max_ratio, "max_ratio")
        for m in members:
            try:
                _scan_member(book, m, limits)
            except zipfile.BadZipFile as err:  # the CRC or the size does not match
                raise LimitError(f"{m.filename} is damaged or bigger than the workbook's "
                                 f"directory says ({err})") from None


def _scan_member(book: zipfile.ZipFile, member: zipfile.ZipInfo,
                 limits: ImportLimits) -> None:
    """One streamed pass: declared size honoured (CRC), rows/cells of a worksheet counted,
    and no run of text longer than a cell may be."""
    sheet = bool(_SHEET.search(member.filename))
    xml = member.filename.endswith((".xml", ".rels"))  # not images or binary parts
    # a cell's text in XML: up to 4 bytes a character, more for an escaped & or <
    longest_bytes = limits.max_cell_chars * 6
    rows = cells = run = 0
    head = True
    with book.open(member) as stream:
        while chunk := stream.read(CHUNK):
            if head and sheet:
                head = False
                _check_dimension(chunk, member.filename, limits)
            if not xml:
                continue
            # the longest stretch between two '<', carried over from the chunk before
            opens = np.flatnonzero(np.frombuffer(chunk, dtype=np.uint8) == 60)
            if opens.size:
                longest = max(run + int(opens[0]),
                              int(np.diff(opens).max()) - 1 if opens.size > 1 else 0)
                run = len(chunk) - int(opens[-1]) - 1
            else:
                run += len(chunk)
                longest = run
            if longest > longest_bytes:
                raise over(f"{member.filename} holds a text of over {longest:,} bytes",
                            f"{limits.max_cell_chars:,} characters", "max_cell_chars")
            if sheet:
                rows += chunk.count(b"<row ") + chunk.count(b"<row>")
                cells += chunk.count(b"<c ") + chunk.count(b"<c>")
                if rows > limits.max_rows:
                    raise over(f"{member.filename} has more than {limits.max_rows:,} rows",
                                limits.max_rows, "max_rows")
                if cells > limits.max_cells:
                    raise over(f"{member.filename} has more than {limits.max_cells:,} cells",
                                limits.max_cells, "max_cells")


def _check_dimension(head: bytes, name: str, limits: ImportLimits) -> None:
    found = _DIMENSION.search(head)
    if not found or not found.group(3):
        return
    first_col, first_row, last_col, last_row = found.groups()
    rows = int(last_row) - int(first_row or 1) + 1
    columns = column_number(last_col.decode()) - column_number((first_col or b"A").decode()) + 1
    check_shape(max(rows, 0), max(columns, 0), limits, f"{name} declares")
