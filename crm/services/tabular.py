"""Lists as files people open in Excel: CSV (UTF-8 with BOM) and xlsx, via pandas/openpyxl.

Pure functions over rows (dicts with the same keys, in column order), so the
pages, the command line and the ETL export the same bytes. Every cell goes through
crm.textsafety.neutralise: a visit note `=HYPERLINK(…)` stays text in Excel.
"""

from __future__ import annotations

import io

import pandas as pd

from crm.textsafety import neutralise, writer


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([{neutralise(k): neutralise(v) for k, v in row.items()}
                         for row in rows])


@writer
def to_csv(rows: list[dict]) -> bytes:
    """CSV Excel opens correctly: UTF-8 with a byte-order mark, so Chinese is not garbled.
    Lines end in CRLF, so a cell holding a lone CR is quoted (with LF endings it was not,
    and Excel started a new row at the CR: a cell "x\r=1+1" became a formula)."""
    return _frame(rows).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


@writer
def to_xlsx(rows: list[dict], sheet: str = "Sheet1") -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as book:
        _frame(rows).to_excel(book, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()
