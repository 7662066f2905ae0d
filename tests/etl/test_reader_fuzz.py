"""Hostile and broken files: the reader gives a clean table or our one ReadError, never
another exception and never unbounded memory; the command line exits 2 with one line
and writes nothing.

Zip bombs are built here at small scale, with the limits lowered (open_table's
`limits=`, or the CRM_IMPORT_MAX_… variables for the command line), so the checks are
the same ones a 5 GB bomb meets. A small corpus of crafted files is written to
tests/etl/corpus/ (each < 50 KB; `python -m tests.etl.hostile_files` writes them again)
and read back every run.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from crm.config import IMPORT_LIMIT_ENV, ImportLimits
from crm.db import make_engine, session_factory
from crm.models import Appeal, ImportBatch
from etl.readers import ReadError, Sheet, open_table
from tests.etl import hostile_files as hf

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"
SMALL = hf.SMALL
FUZZ = settings(max_examples=60, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def read_or_refuse(data: bytes, filename: str, limits: ImportLimits = SMALL):
    """The property: a clean table, or a ReadError with one line; nothing else."""
    try:
        sheet = open_table(data, filename=filename, limits=limits)
    except ReadError as err:
        assert str(err).strip() and "\n" not in str(err).strip(), repr(str(err))
        return err
    assert isinstance(sheet, Sheet)
    assert sheet.height <= limits.max_rows and len(sheet.columns) <= limits.max_columns
    for col in sheet.columns:
        assert len(col) == sheet.height
        for value in col.to_pylist():
            assert value is None or (isinstance(value, str)
                                     and len(value) <= limits.max_cell_chars
                                     and not any(ord(ch) < 32 and ch not in "\t\n\r"
                                                 for ch in value))
    return sheet


def real_xlsx() -> bytes:
    return hf.xlsx_bytes(hf.ledger_rows(20))


# --- fuzzing ----------------------------------------------------------------------------

@FUZZ
@given(data=st.binary(max_size=4096),
       filename=st.sampled_from(["f.xlsx", "f.xls", "f.csv", "f.ods", "f.xlsb", "f"]))
def test_random_bytes_give_a_table_or_a_read_error(data, filename):
    read_or_refuse(data, filename)


@FUZZ
@given(cut=st.integers(min_value=0, max_value=100_000))
def test_a_truncated_real_workbook_gives_a_table_or_a_read_error(cut):
    data = real_xlsx()
    read_or_refuse(data[:cut % len(data)], "f.xlsx")


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)),
                      min_size=1, max_size=20))
def test_a_corrupted_real_workbook_gives_a_table_or_a_read_error(flips):
    data = bytearray(real_xlsx())
    for pos, byte in flips:
        data[pos % len(data)] = byte
    read_or_refuse(bytes(data), "f.xlsx")


@FUZZ
@given(rows=st.lists(st.lists(st.text(max_size=40), max_size=8), max_size=30),
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16", "utf-16-le",
                                 "latin-1", "cp1252", "big5"]))
def test_csv_in_any_encoding_gives_a_table_or_a_read_error(rows, encoding):
    text = io.StringIO()
    import csv

    csv.writer(text).writerows(rows)
    read_or_refuse(text.getvalue().encode(encoding, errors="replace"), "f.csv")


@FUZZ
@given(size=st.integers(min_value=0, max_value=5000), char=st.sampled_from("x长\x00,\"\n"))
def test_a_cell_of_any_size_gives_a_table_or_a_read_error(size, char):
    rows = [["a", "b"], ["1", char * size]]
    result = read_or_refuse(hf.csv_bytes(rows), "f.csv")
    if size > SMALL.max_cell_chars and char not in ",\"\n\x00":
        assert isinstance(result, ReadError) and "CRM_IMPORT_MAX_CELL_CHARS" in str(result)
    result = read_or_refuse(hf.xlsx_bytes(rows), "f.xlsx")
    if size > SMALL.max_cell_chars and char in "x长,\"":  # XML trims bare newlines
        assert isinstance(result, ReadError) and "CRM_IMPORT_MAX_CELL_CHARS" in str(result)


# --- each limit, one crafted file --------------------------------------------------------

def test_the_corpus_holds_every_crafted_file_each_small():
    assert sorted(p.name for p in CORPUS.iterdir()) == sorted(hf.CORPUS_SETTINGS)
    assert sorted(hf.corpus()) == sorted(hf.CORPUS_SETTINGS)  # the script writes them all
    assert all(p.stat().st_size < 50_000 for p in CORPUS.iterdir())


@pytest.mark.parametrize("name", sorted(hf.CORPUS_SETTINGS))
def test_each_hostile_file_is_refused_with_the_setting_that_allows_more(name):
    result = read_or_refuse((CORPUS / name).read_bytes(), name)
    assert isinstance(result, ReadError), name
    assert hf.CORPUS_SETTINGS[name] in str(result), str(result)


def test_a_lying_zip_directory_is_caught_by_the_streamed_pass():
    bomb = io.BytesIO()
    hf.zip_bomb(bomb, 3 * 1024 * 1024)
    lying = hf.lying_sizes(bomb.getvalue())
    assert sum(m.file_size for m in zipfile.ZipFile(io.BytesIO(lying)).infolist()) < 10_000
    with pytest.raises(ReadError):
        open_table(lying, filename="f.xlsx", limits=SMALL)


def test_the_same_files_under_the_limits_are_read():
    """Limits refuse the hostile, not the ordinary: a real ledger reads, and so do the
    corpus's crafted ledgers once the limit they meet is raised."""
    sheet = read_or_refuse(real_xlsx(), "f.xlsx")
    assert sheet.height == 21 and len(sheet.columns) == 7
    roomy = ImportLimits()
    assert isinstance(read_or_refuse(hf.xlsx_bytes([["x"]] * 2005), "f.xlsx", roomy), Sheet)
    assert isinstance(read_or_refuse(hf.xlsx_bytes(hf.ledger_rows(2), dimension="A1:G3"),
                                     "f.xlsx"), Sheet)


def test_control_characters_and_our_export_quote_are_removed_as_cells_are_read():
    rows = [["a", "b"], ["x\x00y\x07z\x1f", "'=SUM(A1)"], ["tab\there\nline", "'plain"]]
    for data, name in ((hf.xlsx_bytes(rows), "f.xlsx"), (hf.csv_bytes(rows), "f.csv")):
        sheet = read_or_refuse(data, name)
        assert sheet.rows_from(1, 2) == [["xyz", "=SUM(A1)"], ["tab\there\nline", "'plain"]]


# --- the command line: exit 2, one line, nothing written, bounded memory ------------------

def _cli(url: str, path: Path, env: dict[str, str] | None = None):
    return subprocess.run([sys.executable, "-m", "crm", "import", "appeals", str(path),
                           "--json"], capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "CRM_DATABASE_URL": url, **(env or {})},
                          timeout=300)


def _cli_with_peak(url: str, path: Path, env: dict[str, str], tmp: Path):
    """`_cli`, and the peak memory (MB) of that one process: the child writes its own
    VmHWM at exit (per address space, so it starts afresh at exec; a child's rusage
    ru_maxrss would carry the suite's own size over from the fork)."""
    status = tmp / "status.txt"
    wrapper = ("import atexit, runpy, sys\n"
               f"atexit.register(lambda: open({str(status)!r}, 'w').write("
               "open('/proc/self/status').read()))\n"
               f"sys.argv = ['crm', 'import', 'appeals', {str(path)!r}, '--json']\n"
               "runpy.run_module('crm', run_name='__main__')\n")
    done = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True,
                          cwd=ROOT, env={**os.environ, "CRM_DATABASE_URL": url, **env},
                          timeout=300)
    kb = next(int(line.split()[1]) for line in status.read_text().splitlines()
              if line.startswith("VmHWM:"))
    return done, kb / 1024


def _stored(url: str) -> tuple[int, int]:
    engine = make_engine(url, no_pool=True) if url.startswith("postgresql") else make_engine(url)
    with session_factory(engine)() as session:
        found = (session.scalar(select(func.count()).select_from(Appeal)),
                 session.scalar(select(func.count()).select_from(ImportBatch)))
    engine.dispose()
    return found


def test_the_command_line_refuses_a_bomb_with_exit_2_one_line_and_little_memory(
        sqlite_template, tmp_path):
    """SQLite only: the backend plays no part before the read (both refuse the others)."""
    shutil.copy(sqlite_template, tmp_path / "qifu.db")
    db_url = f"sqlite:///{tmp_path / 'qifu.db'}"
    path = tmp_path / "bomb.xlsx"
    hf.zip_bomb(path, 400 * 1024 * 1024)  # 400 MB inflated from ~1 MB
    done, peak_mb = _cli_with_peak(db_url, path, {"CRM_IMPORT_MAX_UNZIPPED_MB": "100"},
                                   tmp_path)
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "CRM_IMPORT_MAX_UNZIPPED_MB" in lines[0], done.stderr
    assert _stored(db_url) == (0, 0)
    assert peak_mb < 400, peak_mb


@pytest.mark.parametrize("case", ["big-cell", "dimension", "lying-bomb"])
def test_the_command_line_refuses_each_hostile_file_and_writes_nothing(db_url, tmp_path,
                                                                       case):
    path = tmp_path / ("f.csv" if case == "big-cell" else "f.xlsx")
    if case == "big-cell":
        hf.big_cell_csv(path, 10_000_000)
    elif case == "dimension":
        path.write_bytes(hf.xlsx_bytes(hf.ledger_rows(2), dimension="A1:XFD1048576"))
    else:
        bomb = io.BytesIO()
        hf.zip_bomb(bomb, 3 * 1024 * 1024)
        path.write_bytes(hf.lying_sizes(bomb.getvalue()))
    done = _cli(db_url, path)
    assert done.returncode == 2, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ")
    assert _stored(db_url) == (0, 0)


def test_nul_bytes_are_dropped_and_the_rows_stored_and_exported(db_url, tmp_path):
    """On PostgreSQL a NUL used to fail the import (exit 1); on SQLite it was stored and
    then broke the xlsx export. Now it never reaches the database."""
    path = tmp_path / "nul.csv"
    path.write_bytes(hf.csv_bytes(hf.nul_rows()))
    done = _cli(db_url, path)
    assert done.returncode == 0, done.stderr
    assert '"inserted": 1' in done.stdout, done.stdout
    engine = make_engine(db_url, no_pool=True) if db_url.startswith("postgresql") \
        else make_engine(db_url)
    with session_factory(engine)() as session:
        title = session.scalar(select(Appeal.title))
        from etl.export import export

        assert title == "标题含控制符"
        export(session, "appeals", tmp_path / "out.xlsx")
    engine.dispose()


def test_the_upload_limit_matches_the_import_file_limit():
    import tomllib

    config = tomllib.loads((ROOT / ".streamlit/config.toml").read_text(encoding="utf-8"))
    assert config["server"]["maxUploadSize"] == ImportLimits().max_file_mb


def test_every_import_limit_is_a_documented_setting():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name, env in IMPORT_LIMIT_ENV.items():
        assert f"| `{env}` | `{getattr(ImportLimits(), name):,}`" in readme, env


def test_the_import_page_and_the_app_layer_give_the_same_one_line_reason(
        session, monkeypatch):
    """What the page shows (etl.app.import_file → ValidationError → error_text) is one
    line in the user's language naming the limit and its setting."""
    from crm.errors import ValidationError
    from crm.i18n import error_text
    from etl.app import import_file

    monkeypatch.setenv("CRM_IMPORT_MAX_UNZIPPED_MB", "2")
    with pytest.raises(ValidationError) as caught:
        import_file(session, (CORPUS / "bomb.xlsx").read_bytes(), "appeals",
                    filename="bomb.xlsx")
    shown = error_text(caught.value, "zh")
    assert shown.startswith("文件超出导入限制：解压后的大小")
    assert "CRM_IMPORT_MAX_UNZIPPED_MB" in shown
    assert "\n" not in shown
    english = error_text(caught.value, "en")
    assert english.startswith("Over the import limit: the inflated size")
    assert "CRM_IMPORT_MAX_UNZIPPED_MB" in english and "\n" not in english
