"""OWASP CSV injection: no export and no download of the app hands Excel a formula.

Three checks. Every function that writes the cells of a file (found by reading the
code of crm/, etl/ and pages/) is marked crm.textsafety.writer; each marked writer,
fed hostile cells, writes no cell a spreadsheet would run; every download button of
pages/ and crm/ui/ serves bytes made by one of them.
"""

from __future__ import annotations

import ast
import csv
import datetime as dt
import importlib
import inspect
import io
import textwrap
from pathlib import Path

import pytest
from openpyxl import load_workbook

from crm.rules import FUNNEL
from crm.textsafety import WRITERS, is_formula_like, neutralise, unneutralise

ROOT = Path(__file__).resolve().parents[2]
SCANNED = [p for d in ("crm", "etl", "pages") for p in (ROOT / d).rglob("*.py")
           if "migrations" not in p.parts]
HOSTILE = ['=HYPERLINK("http://evil.example/x","点此")', "+cmd|' /C calc'!A0", "-2+3",
           "@SUM(1+1)", "\t=1+1", "\r=1+1", "'=already quoted", "=1+1"]
WRITER_MODULES = ("crm.services.tabular", "etl.export", "etl.bulletin", "etl.jobfair_report")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def _aliases(tree: ast.AST, module: str) -> dict[str, str]:
    """Local name → dotted path, for every import in the tree (module-level or not)."""
    out: dict[str, str] = {}
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))
            for a in node.names:
                out[a.asname or a.name] = f"{base}.{a.name}"
    return out


def _is_primitive(call: ast.Call, aliases: dict[str, str]) -> bool:
    """csv.writer(…), Workbook(…), pd.ExcelWriter(…), <frame>.to_csv/to_excel(…)."""
    f = call.func
    if isinstance(f, ast.Name):
        return aliases.get(f.id, "") in {"csv.writer", "openpyxl.Workbook",
                                          "pandas.ExcelWriter"} or f.id == "Workbook"
    if isinstance(f, ast.Attribute):
        target = f.value.id if isinstance(f.value, ast.Name) else None
        if f.attr in {"to_csv", "to_excel"}:
            return target is None or target not in aliases  # a frame, not our module
        return (aliases.get(target, "") == "csv" and f.attr == "writer") or f.attr in {
            "Workbook", "ExcelWriter"}
    return False


def _functions_writing_files() -> dict[str, Path]:
    found = {}
    for path in SCANNED:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = _module_name(path)
        aliases = _aliases(tree, module)

        def visit(node, prefix, path=path, module=module, aliases=aliases):
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = f"{prefix}{child.name}"
                    if any(isinstance(n, ast.Call) and _is_primitive(n, aliases)
                           for n in ast.walk(child)):
                        found[f"{module}.{name}"] = path
                    visit(child, f"{name}.<locals>.")
                elif isinstance(child, ast.ClassDef):
                    visit(child, f"{prefix}{child.name}.")
        visit(tree, "")
    return found


def _load_writers() -> None:
    for module in WRITER_MODULES:
        importlib.import_module(module)


def test_every_function_that_writes_a_file_is_a_marked_writer():
    _load_writers()
    found = _functions_writing_files()
    assert found, "the scan found no writer at all: it is broken"
    assert sorted(found) == sorted(WRITERS), (
        "every function writing CSV/xlsx cells must be @crm.textsafety.writer "
        "(and neutralise its cells); the marked ones must write files")
    for name, path in found.items():
        assert "neutralise" in path.read_text(encoding="utf-8"), (name, path)


# --- each writer, hostile cells -------------------------------------------------------------

def _cells(data: bytes, name: str) -> list:
    if name.endswith("csv"):
        text = io.StringIO(data.decode("utf-8-sig"), newline="")
        return [c for row in csv.reader(text) for c in row]
    book = load_workbook(io.BytesIO(data))
    cells = []
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (ws.title, cell.coordinate, cell.value)
                cells.append(cell.value)
    return cells


def _report():
    from etl.engine import Issue, Report

    report = Report(kind="appeals", filename="f.xlsx")
    report.header = list(HOSTILE)
    report.rejected_rows = {2: list(HOSTILE)}
    report.errors = [Issue(2, HOSTILE[0], HOSTILE[1], "etl.too_long", {"limit": 1,
                                                                        "length": 2})]
    report.warnings = [Issue(3, HOSTILE[2], HOSTILE[3], "etl.too_long", {"limit": 1,
                                                                          "length": 2})]
    return report


def _bulletin_data() -> dict:
    from etl.bulletin import COUNTS, DAYS, RATES

    row = {"rank": 1, "street": HOSTILE[0], **dict.fromkeys(RATES, 0.5),
           **dict.fromkeys(COUNTS, 3), **dict.fromkeys(DAYS, 2.0)}
    return {"title": HOSTILE[1], "subtitle": HOSTILE[2], "rows": [row, {**row, "rank": 2,
            "street": HOSTILE[3]}], "district": row, "notes": HOSTILE[4:]}


def _board() -> dict:
    stages = dict.fromkeys(FUNNEL, 1)
    day = dt.date(2024, 3, 1)
    return {"fair": {"name": HOSTILE[0], "held_on": day, "place": HOSTILE[1],
                     "street": HOSTILE[2], "kind": "onsite"},
            "totals": {"retention_pending": False, "firms": 1, "positions": 1, "headcount": 2,
                       **stages, "fill_rate": 0.5},
            "drop_off": [{"to": "intents", "kept": 1.0, "lost": 0}],
            "retention_due": day, "as_of": day,
            "firms": [{"firm": h, "status": "attended", "positions": 1, "headcount": 2,
                       **stages, "fill_rate": 0.5} for h in HOSTILE],
            "positions": [{"firm": HOSTILE[3], "title": h, "headcount": 2,
                           "pay_negotiable": False, "pay_min": None, "pay_max": None,
                           "requirements": HOSTILE[5], **stages, "fill_rate": 0.5,
                           "updated_on": day} for h in HOSTILE]}


def _to_buffer(fn, *args, **kwargs) -> bytes:
    buffer = io.BytesIO()
    fn(*args, buffer, **kwargs)
    return buffer.getvalue()


ROWS = [{"名称": h, "数量": -5, "备注": h} for h in HOSTILE]
RECIPES = {
    "crm.services.tabular.to_csv": lambda f: f(ROWS),
    "crm.services.tabular.to_xlsx": lambda f: f(ROWS, "visits"),
    "etl.export.write_csv": lambda f: _to_buffer(f, HOSTILE, [HOSTILE, [-5, 2.5, *HOSTILE]]),
    "etl.export.write_xlsx": lambda f: _to_buffer(f, HOSTILE, [HOSTILE, [-5, 2.5, *HOSTILE]]),
    "etl.export.errors_workbook": lambda f: _to_buffer(f, _report()),
    "etl.bulletin.to_csv": lambda f: f(_bulletin_data(), "zh"),
    "etl.bulletin.to_xlsx": lambda f: f(_bulletin_data(), "zh"),
    "etl.jobfair_report.to_xlsx": lambda f: f(_board(), "zh"),
}


def test_every_writer_has_a_hostile_recipe():
    _load_writers()
    assert sorted(RECIPES) == sorted(WRITERS)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_a_writer_fed_hostile_cells_writes_no_formula(name):
    _load_writers()
    data = RECIPES[name](WRITERS[name])
    cells = _cells(data, name.rsplit(".", 1)[1])
    texts = [c for c in cells if isinstance(c, str)]
    assert not [c for c in cells if is_formula_like(c)], name
    # the hostile text is there, quoted, and reads back as it was
    assert neutralise(HOSTILE[0]) in texts, name
    assert HOSTILE[0] in [unneutralise(c) for c in texts]
    if name in {"etl.export.write_xlsx", "etl.export.write_csv"}:
        assert "-5" in texts or -5 in cells  # a negative number stays a number


def test_neutralise_quotes_formula_text_only_and_unneutralise_undoes_it():
    assert neutralise("=1+1") == "'=1+1"
    assert neutralise("-5") == "-5" and neutralise(-5) == -5 and neutralise("+12.5") == "+12.5"
    assert neutralise("-2+3") == "'-2+3"
    assert neutralise("正常文本") == "正常文本" and neutralise(None) is None
    assert neutralise("a\x00b\x07") == "ab"
    for value in [*HOSTILE, "'plain", "''=x", "-5", "正常"]:
        assert unneutralise(neutralise(value)) == value, value


# --- every download button ------------------------------------------------------------------

def _names_in(node: ast.AST, aliases: dict[str, str], module: str,
              local: set[str]) -> set[str]:
    """Dotted paths of the functions an expression calls or passes on (load(fn, …))."""
    out = set()
    for n in ast.walk(node):
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) \
                and n.value.id in aliases:
            out.add(f"{aliases[n.value.id]}.{n.attr}")
        elif isinstance(n, ast.Name):
            if n.id in aliases:
                out.add(aliases[n.id])
            elif n.id in local:
                out.add(f"{module}.{n.id}")
    return out


def _reaches_writer(path: str, depth: int = 0) -> bool:
    if path in WRITERS:
        return True
    module_name, _, name = path.rpartition(".")
    if depth > 4 or not module_name.startswith(("crm", "etl")):
        return False
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return False
    fn = getattr(module, name, None)
    if not inspect.isfunction(fn):
        return False
    tree = ast.parse(inspect.getsource(module))
    local = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    aliases = _aliases(tree, module_name)
    body = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    aliases.update(_aliases(body, module_name))
    return any(_reaches_writer(p, depth + 1)
               for p in _names_in(body, aliases, module_name, local) if p != path)


def _download_buttons() -> list[tuple[Path, ast.Call, ast.Module]]:
    found = []
    for path in [*(ROOT / "pages").glob("*.py"), *(ROOT / "crm/ui").glob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "download_button":
                found.append((path, node, tree))
    return found


def test_every_download_button_serves_the_bytes_of_a_marked_writer():
    _load_writers()
    buttons = _download_buttons()
    assert len(buttons) >= 7, "the scan found too few download buttons: it is broken"
    for path, call, tree in buttons:
        module = _module_name(path)
        aliases = _aliases(tree, module)
        local = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        data = call.args[1] if len(call.args) > 1 else next(
            k.value for k in call.keywords if k.arg == "data")
        names = _names_in(data, aliases, module, local)
        if not any(_reaches_writer(n) for n in names):
            # bytes kept in session state: what was stored there
            stored = [a.value for a in ast.walk(tree) if isinstance(a, ast.Assign)
                      and any(isinstance(t, ast.Subscript) and "session_state" in ast.unparse(t)
                              for t in a.targets)]
            names = set().union(*(_names_in(v, aliases, module, local) for v in stored))
        assert any(_reaches_writer(n) for n in names), (
            f"{path.name}:{call.lineno}: the download's bytes come from no "
            f"@crm.textsafety.writer ({sorted(names)})")
