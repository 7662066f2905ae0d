"""Readers: Excel through fastexcel (values as text, row numbers), CSV in every encoding."""

from __future__ import annotations

import datetime as dt

import pytest

from etl.headers import detect_header, header_unit, match_header
from etl.readers import ReadError, detect_encoding, open_table
from tests.etl.conftest import xlsx


def test_excel_rows_start_at_row_one_and_cells_are_text(tmp_path):
    """Row numbers must match Excel's; columns start at the first used one (all rows alike).
    Every cell arrives as the text the cleaners read: dates in ISO form, numbers without
    a trailing .0, booleans as true/false."""
    path = xlsx(tmp_path / "a.xlsx", [[], [None, "标题"], [None, dt.datetime(2022, 3, 1), 3],
                                      [None, dt.datetime(2022, 3, 1, 9, 30), 13812345678],
                                      [None, True, 12.5]])
    sheet = open_table(path)
    rows = list(sheet.rows)
    assert rows == [["", ""], ["标题", ""], ["2022-03-01 00:00:00", "3"],
                    ["2022-03-01 09:30:00", "13812345678"], ["true", "12.5"]]
    assert sheet.height == 5 and sheet.first_row == 0
    assert sheet.name == "Sheet1" and sheet.sheet_names == ["Sheet1"]
    assert sheet.rows_at([3])[0] == ["2022-03-01 09:30:00", "13812345678"]
    assert sheet.columns[1].null_count == 2  # empty cells are null, not ''


def test_what_the_reader_gives_the_cleaners_cleans_to_the_typed_value(tmp_path):
    """A date cell, a serial number, a checkbox and a phone number typed as a number all
    clean to what the typed cell would have given."""
    from etl import clean

    path = xlsx(tmp_path / "t.xlsx", [[dt.datetime(2022, 3, 1, 9, 30, 15), 44621, True,
                                       13812345678, 20220301]])
    row = open_table(path).rows_at([0])[0]
    assert clean.moment(row[0]) == dt.datetime(2022, 3, 1, 9, 30, 15)
    assert clean.moment(row[1]) == dt.datetime(2022, 3, 1)
    assert clean.boolean(row[2]) is True
    assert clean.phone(row[3]) == "13812345678"
    assert clean.moment(row[4]) == dt.datetime(2022, 3, 1)


def test_formulas_are_read_as_the_values_excel_saved(tmp_path):
    import zipfile

    from openpyxl import Workbook

    plain = tmp_path / "plain.xlsx"
    book = Workbook()
    book.active.append([1, 2, "=A1+B1"])
    book.save(plain)
    # openpyxl saves no result for a formula; Excel does (<v>3</v>): add it the way Excel would.
    path = tmp_path / "f.xlsx"
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"<f>A1+B1</f><v />", b"<f>A1+B1</f><v>3</v>")
            dst.writestr(item, data)
    assert next(open_table(path).rows) == ["1", "2", "3"]


def test_the_first_non_empty_sheet_is_read_unless_one_is_named(tmp_path):
    path = xlsx(tmp_path / "b.xlsx", [], sheet="封面", extra_sheets={"数据": [["企业名称"]]})
    assert open_table(path).name == "数据"
    assert open_table(path, sheet="封面").name == "封面"
    with pytest.raises(ReadError, match="no sheet named"):
        open_table(path, sheet="不存在")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_every_encoding_streets_send(tmp_path, encoding):
    path = tmp_path / "c.csv"
    path.write_bytes("企业名称,地址\n重庆齐祥灯饰有限公司,\"江北区, 大石坝\"\n".encode(encoding))
    rows = list(open_table(path).rows)
    assert rows == [["企业名称", "地址"], ["重庆齐祥灯饰有限公司", "江北区, 大石坝"]]


def test_encoding_detection():
    assert detect_encoding("企业".encode("utf-8-sig")) == "utf-8-sig"
    assert detect_encoding("企业".encode()[:-1]) == "utf-8"  # a cut character is fine
    assert detect_encoding("企业名称".encode("gbk")) == "gb18030"


def test_what_cannot_be_read_says_so(tmp_path):
    bogus = tmp_path / "x.xlsx"
    bogus.write_bytes(b"not a workbook")
    with pytest.raises(ReadError, match="not a readable spreadsheet"):
        open_table(bogus)
    (tmp_path / "x.pdf").write_bytes(b"%PDF")
    with pytest.raises(ReadError, match="unsupported file type"):
        open_table(tmp_path / "x.pdf")
    with pytest.raises(ReadError, match="no such file"):
        open_table(tmp_path / "missing.csv")


def test_the_header_is_found_below_title_lines_and_matched_by_synonym():
    rows = [["2022年企业诉求台账"], ["填报单位：大石坝街道", None, "填报日期：2022年3月1日"], [],
            ["序号", "工单编号", " 统一社会 信用代码* ", "单位名称", "问题类型", "反映时间",
             "备注栏"]]
    mapping = detect_header("appeals", rows)
    assert mapping.header_row == 3
    assert mapping.fields == {"code": 1, "uscc": 2, "firm_name": 3, "category": 4,
                              "received_at": 5}
    assert mapping.unmapped == ["序号", "备注栏"]


def test_a_remembered_mapping_wins_over_the_synonyms():
    rows = [["企业名称", "统一社会信用代码", "片区"]]
    mapping = detect_header("enterprises", rows, remembered={"片区": "street"})
    assert mapping.fields == {"name": 0, "uscc": 1, "street": 2}


def test_header_variants_and_units():
    assert match_header("enterprises", "注册资本（万元）") == "registered_capital"
    assert match_header("enterprises", "ＵＳＣＣ") == "uscc"
    assert match_header("financing-needs", "融资金额(元)") == "amount"
    assert header_unit("融资金额(元)") == "元" and header_unit("金额（万元）") == "万元"
    assert header_unit("金额") is None


def test_a_file_over_a_limit_is_refused_in_the_users_language(tmp_path, monkeypatch):
    """The limit refusal carries a key: in Chinese it names the limit in words and the
    setting, with no English; the English detail stays the command line's line."""
    import re

    from crm.errors import ValidationError
    from crm.i18n import error_text
    from etl.readers import ReadError, open_table

    monkeypatch.setenv("CRM_IMPORT_MAX_ROWS", "5")
    path = tmp_path / "ledger.csv"
    path.write_text("企业名称,诉求内容\n" + "甲公司,停车难\n" * 20, encoding="utf-8")
    with pytest.raises(ReadError) as caught:
        open_table(path)
    err = caught.value
    assert err.key == "import.read.over_limit" and "rows" in str(err)
    shown = ValidationError(str(err), key=err.key, **err.params)
    zh = error_text(shown, "zh")
    assert "行数" in zh and "CRM_IMPORT_MAX_ROWS" in zh
    assert not re.findall(r"[A-Za-z]{3,}", zh.replace("CRM_IMPORT_MAX_ROWS", ""))
    assert error_text(shown, "en") == ("Over the import limit: the number of rows may not "
                                       "exceed 5 (setting CRM_IMPORT_MAX_ROWS).")
