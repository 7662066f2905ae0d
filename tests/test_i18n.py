"""The message catalogue: complete in both languages, and every key the code uses exists."""

from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from crm.config import ROOT
from crm.errors import CrmError
from crm.i18n import LANGUAGES, MESSAGES, error_text, label, t


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


SOURCES = [ROOT / "streamlit_app.py", *sorted((ROOT / "pages").glob("*.py")),
           *sorted(p for p in (ROOT / "crm").rglob("*.py") if p.name != "i18n.py")]
# t("key" …), tr("key" …): a message looked up directly.
LOOKUP = re.compile(r"""(?<![.\w])(?:t|tr)\(\s*["']([A-Za-z_][\w.]*)["']""")
# lbl("kind", …), label("kind", …): a stored code shown through "kind.value" keys.
LABEL_KIND = re.compile(r"""(?<![.\w])(?:lbl|label)\(\s*["']([A-Za-z_]\w*)["']""")
# labels={"field": "kind"} in a records_table call.
LABELS_ARG = re.compile(r"""labels=\{([^}]*)\}""")
# NotFound(..., key="area.what"): the message a domain refusal shows.
ERROR_NAMES = {cls.__name__ for cls in (CrmError, *_subclasses(CrmError))}


def error_keys(source: str) -> list[str]:
    """`key=` literals of calls to CrmError and its family (NotFound(…, key="x.y"))."""
    keys = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        if name in ERROR_NAMES or (name or "").endswith("Error"):
            keys += [kw.value.value for kw in node.keywords
                     if kw.arg == "key" and isinstance(kw.value, ast.Constant)]
    return keys


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def test_every_message_has_a_chinese_and_an_english_text():
    for key, texts in MESSAGES.items():
        assert isinstance(texts, tuple) and len(texts) == len(LANGUAGES), key
        zh, en = texts
        assert zh.strip() and en.strip(), key


def test_chinese_texts_are_chinese():
    """A Chinese text without a single Han character is an English text pasted twice."""
    untranslated = [key for key, (zh, en) in MESSAGES.items()
                    if zh == en and re.search(r"[A-Za-z]{3}", zh)]
    assert untranslated == []


def test_placeholders_match_between_chinese_and_english():
    mismatched = {key: (_placeholders(zh), _placeholders(en))
                  for key, (zh, en) in MESSAGES.items()
                  if _placeholders(zh) != _placeholders(en)}
    assert mismatched == {}


def test_every_message_key_looked_up_in_the_code_exists():
    missing = {f"{path.relative_to(ROOT)}: {key}"
               for path in SOURCES for key in LOOKUP.findall(_source(path))
               if key not in MESSAGES}
    assert missing == set()


def test_every_label_kind_used_in_the_code_has_messages():
    kinds = set()
    for path in SOURCES:
        text = _source(path)
        kinds |= set(LABEL_KIND.findall(text))
        for body in LABELS_ARG.findall(text):
            kinds |= set(re.findall(r""":\s*["'](\w+)["']""", body))
    prefixes = {key.split(".", 1)[0] for key in MESSAGES}
    assert kinds - prefixes == set()


def test_every_error_key_raised_by_the_domain_exists():
    missing = {f"{path.relative_to(ROOT)}: {key}"
               for path in SOURCES for key in error_keys(_source(path))
               if key not in MESSAGES}
    assert missing == set()


def test_the_scan_finds_the_keys_it_should():
    """Guard the regexes themselves: a scan that finds nothing proves nothing."""
    home = _source(ROOT / "pages" / "home.py")
    assert "home.headline" in LOOKUP.findall(home)
    admin = _source(ROOT / "crm" / "services" / "admin.py")
    assert {"admin.bad_limit", "admin.unit_not_found"} <= set(error_keys(admin))
    access = _source(ROOT / "crm" / "access.py")
    assert {"access.denied", "access.out_of_scope"} <= set(error_keys(access))


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_every_message_formats_with_its_own_placeholders(lang):
    for key, texts in MESSAGES.items():
        params = {name: 1 for name in _placeholders(texts[0])}
        assert "{" not in t(key, lang, **params).replace("{{", ""), key


def test_a_domain_error_reads_in_the_users_language():
    err = CrmError("unit 'x' exists", key="admin.unit_exists", name="区交巡警支队")
    assert error_text(err, "zh") == "单位“区交巡警支队”已存在。"
    assert error_text(err, "en") == "Unit '区交巡警支队' exists."


def test_a_stored_code_is_shown_by_its_label_and_an_unknown_one_as_is():
    assert label("status", "replied") == "已答复"
    assert label("status", "replied", "en") == "Replied"
    assert label("status", "mystery") == "mystery"
