"""The importer runs inside the app's server process: neither it nor the services may pause
the garbage collector (gc.disable / gc.freeze), which would pause it for every session.
A process of its own (the CLI) may."""

from __future__ import annotations

import ast

from crm.config import ROOT

SHARED = ("etl", "crm/services")


def _gc_pauses(path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "gc":
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} from gc import")
        elif (isinstance(node, ast.Attribute) and node.attr in ("disable", "freeze")
              and isinstance(node.value, ast.Name) and node.value.id == "gc"):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} gc.{node.attr}")
    return found


def test_the_importer_and_the_services_never_pause_the_collector():
    files = [p for folder in SHARED for p in sorted((ROOT / folder).rglob("*.py"))]
    assert len(files) > 10
    assert [hit for path in files for hit in _gc_pauses(path)] == []


def test_the_check_sees_a_pause(tmp_path, monkeypatch):
    import tests.test_gc_untouched as me

    monkeypatch.setattr(me, "ROOT", tmp_path)
    sample = tmp_path / "x.py"
    sample.write_text("import gc\n\ndef f():\n    gc.disable()\n    gc.freeze()\n",
                      encoding="utf-8")
    assert _gc_pauses(sample) == ["x.py:4 gc.disable", "x.py:5 gc.freeze"]
