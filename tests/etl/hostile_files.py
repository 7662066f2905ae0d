"""Builders of hostile import files, at any scale: the fuzz tests build them small (with
the limits lowered), scripts/bench_hostile.py full size. Nothing here is kept on disk
but the small corpus the tests write themselves."""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

from crm.config import ImportLimits

# The limits the tests lower to, so a bomb a few KB big meets the same checks.
SMALL = ImportLimits(max_file_mb=1, max_unzipped_mb=2, max_ratio=100, max_members=50,
                     max_rows=2000, max_columns=50, max_cells=40_000, max_cell_chars=1000)
CORPUS = Path(__file__).parent / "corpus"

APPEAL_HEADER = ["诉求编号", "统一社会信用代码", "企业名称", "所属镇街", "诉求类别", "诉求标题",
                 "受理时间"]
CODE = "91500105141777630C"  # a valid code (crm.uscc)

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.'
    'openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>')
_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="诉求台账" sheetId="1" r:id="rId1"/></sheets></workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')


def _xml_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def row_xml(cells: list[str]) -> str:
    return "<row>" + "".join(f'<c t="inlineStr"><is><t>{_xml_text(v)}</t></is></c>'
                             for v in cells) + "</row>"


def write_xlsx(target, rows, *, dimension: str | None = None, extra_members: int = 0,
               repeat: tuple[str, int] | None = None, zip64: bool = False) -> None:
    """A minimal valid xlsx (inline strings) streamed into `target` (a path or a binary
    file): `rows` (lists of text) first, then `repeat` = (row XML, times) written as it
    goes, so an inflated size of gigabytes never sits in memory."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as book:
        book.writestr("[Content_Types].xml", _CONTENT_TYPES)
        book.writestr("_rels/.rels", _RELS)
        book.writestr("xl/workbook.xml", _WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)
        for i in range(extra_members):
            book.writestr(f"xl/custom/part{i}.xml", "<x/>")
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=zip64) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
                        b'<worksheet xmlns="http://schemas.openxmlformats.org/'
                        b'spreadsheetml/2006/main">')
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for row in rows:
                sheet.write(row_xml(row).encode())
            if repeat:
                block = (repeat[0] * 1000).encode()
                for _ in range(repeat[1] // 1000):
                    sheet.write(block)
                sheet.write((repeat[0] * (repeat[1] % 1000)).encode())
            sheet.write(b"</sheetData></worksheet>")


def xlsx_bytes(rows, **kwargs) -> bytes:
    buffer = io.BytesIO()
    write_xlsx(buffer, rows, **kwargs)
    return buffer.getvalue()


def ledger_rows(n: int = 3, title: str = "诉求标题") -> list[list[str]]:
    return [APPEAL_HEADER] + [[f"SQ{i:05d}", CODE, f"测试公司{i}", "观音桥", "融资",
                               f"{title}{i}", "2024-01-02"] for i in range(n)]


def zip_bomb(target, inflated_bytes: int, *, noise: int = 0, zip64: bool = False,
             filler: int = 20) -> None:
    """An appeal ledger whose sheet inflates to about `inflated_bytes`: a real header and
    one real row, then one repeated row (with `noise` digits varying in it, which
    lowers the compression ratio towards a real-looking file; a longer `filler` raises
    it)."""
    filler = "重复" * filler
    if not noise:
        row = row_xml(["SQ1", CODE, "某公司", "观音桥", "融资", filler, "2024-01-02"])
        write_xlsx(target, ledger_rows(1), repeat=(row, max(inflated_bytes // len(row), 1)),
                   zip64=zip64)
        return
    import random

    rng = random.Random(7)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _RELS),
                           ("xl/workbook.xml", _WORKBOOK),
                           ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS)):
            book.writestr(name, text)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=zip64) as sheet:
            sheet.write(b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://'
                        b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            sheet.write("".join(row_xml(r) for r in ledger_rows(1)).encode())
            # a pool of noisy rows reused in random order: the deflate window (32 KB)
            # sees few exact repeats, so the ratio stays near what `noise` gives
            pool = [row_xml([f"SQ{rng.randrange(10 ** noise):0{noise}d}", CODE, "某公司",
                             "观音桥", "融资", filler, "2024-01-02"]).encode()
                    for _ in range(4096)]
            written = 0
            while written < inflated_bytes:
                block = b"".join(pool[rng.randrange(4096)] for _ in range(2048))
                sheet.write(block)
                written += len(block)
            sheet.write(b"</sheetData></worksheet>")


def lying_sizes(data: bytes, claimed: int = 1000) -> bytes:
    """The zip with every member's uncompressed size rewritten to `claimed` in both the
    local headers and the central directory (the CRC is left alone): a bomb that hides
    from a check of the directory alone."""
    out = bytearray(data)
    pos = 0
    while (pos := out.find(b"PK\x03\x04", pos)) != -1:
        struct.pack_into("<I", out, pos + 22, claimed)
        pos += 4
    pos = 0
    while (pos := out.find(b"PK\x01\x02", pos)) != -1:
        struct.pack_into("<I", out, pos + 24, claimed)
        pos += 4
    return bytes(out)


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8-sig") -> bytes:
    import csv

    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return text.getvalue().encode(encoding)


def big_cell_csv(target: Path, cell_chars: int) -> None:
    with open(target, "w", encoding="utf-8", newline="") as f:
        f.write(",".join(APPEAL_HEADER) + "\r\n")
        f.write(f"SQ1,{CODE},某公司,观音桥,融资,")
        for _ in range(cell_chars // 1_000_000):
            f.write("长" * 1_000_000)
        f.write("长" * (cell_chars % 1_000_000) + ",2024-01-02\r\n")


def nul_rows() -> list[list[str]]:
    return [APPEAL_HEADER, ["SQ1", CODE, "某\x00公司", "观音桥", "融资", "标题\x00含\x07控制符",
                            "2024-01-02"]]


def corpus() -> dict[str, bytes]:
    """The crafted files of tests/etl/corpus/, each refused under SMALL (CORPUS_SETTINGS)."""
    bomb = io.BytesIO()
    zip_bomb(bomb, 3 * 1024 * 1024)  # 3 MB inflated from a few KB
    slow_bomb = io.BytesIO()
    zip_bomb(slow_bomb, 5 * 1024 * 1024 // 2, noise=2)  # a believable ratio, too big
    too_long = "长" * (SMALL.max_cell_chars + 1)
    return {
        "bomb.xlsx": bomb.getvalue(),
        "noisy-bomb.xlsx": slow_bomb.getvalue(),
        "lying-bomb.xlsx": lying_sizes(bomb.getvalue()),
        "dimension.xlsx": xlsx_bytes(ledger_rows(2), dimension="A1:XFD1048576"),
        "wide-dimension.xlsx": xlsx_bytes(ledger_rows(2), dimension="A1:ZZ10"),
        "many-rows.xlsx": xlsx_bytes([["x"]] * (SMALL.max_rows + 5)),
        "many-members.xlsx": xlsx_bytes(ledger_rows(2), extra_members=60),
        "long-cell.xlsx": xlsx_bytes([["a"], [too_long]]),
        "long-cell.csv": csv_bytes([["a"], [too_long]]),
        "many-rows.csv": b"a\n" * (SMALL.max_rows + 5),
        "wide.csv": b",".join([b"x"] * (SMALL.max_columns + 1)),
        "not-a-zip.xlsx": b"PK\x03\x04" + b"\x00" * 200,
        "html-as.xls": b"<html><table><tr><td>1</td></tr></table></html>",
    }


# each corpus file and the setting its refusal names ("" for a damaged file)
CORPUS_SETTINGS = {
    "bomb.xlsx": "CRM_IMPORT_MAX_UNZIPPED_MB", "noisy-bomb.xlsx": "CRM_IMPORT_MAX_",
    "lying-bomb.xlsx": "", "dimension.xlsx": "CRM_IMPORT_MAX_ROWS",
    "wide-dimension.xlsx": "CRM_IMPORT_MAX_COLUMNS", "many-rows.xlsx": "CRM_IMPORT_MAX_ROWS",
    "many-members.xlsx": "CRM_IMPORT_MAX_MEMBERS", "long-cell.xlsx": "CRM_IMPORT_MAX_CELL_CHARS",
    "long-cell.csv": "CRM_IMPORT_MAX_CELL_CHARS", "many-rows.csv": "CRM_IMPORT_MAX_ROWS",
    "wide.csv": "CRM_IMPORT_MAX_COLUMNS", "not-a-zip.xlsx": "", "html-as.xls": "",
}


if __name__ == "__main__":
    CORPUS.mkdir(exist_ok=True)
    for name, data in corpus().items():
        (CORPUS / name).write_bytes(data)
        print(f"{CORPUS / name}: {len(data):,} bytes")
