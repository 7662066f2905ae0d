"""Lists as files people open in Excel: CSV (UTF-8 with BOM) and xlsx, via pandas/openpyxl.

Pure functions over rows (dicts with the same keys, in column order), so the
pages, the command line and the ETL export the same bytes.
"""

from __future__ import annotations

import io

import pandas as pd


def to_csv(rows: list[dict]) -> bytes:
    """CSV Excel opens correctly: UTF-8 with a byte-order mark, so Chinese is not garbled."""
    return pd.DataFrame(rows).to_csv(index=False).encode("utf-8-sig")


def to_xlsx(rows: list[dict], sheet: str = "Sheet1") -> bytes:
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        pd.DataFrame(rows).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()
