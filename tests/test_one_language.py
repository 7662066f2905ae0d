"""One language at a time: every page, as every role, in Chinese and in English, shows no
words of the other language (issue 16, item 6).

Each page runs headless (AppTest, through the router) on the small world of
tests/test_app_pages.py. Everything a user can read is collected: titles, markdown,
captions, messages, metric labels and values, tabs, expanders, widget labels, help,
placeholders and options, buttons, and dataframe headers and cells.

The rule, both ways:

- **Data is not language.** A value stored in the database (a firm's name, a street,
  an appeal title, a username) is shown as it was typed, whatever the language; it is
  removed from the text before checking. A stored *code* is not data: a value with a
  label in the catalogue (`role.liaison`, `status.dispatched`) must be shown through
  its label, so a raw code on screen is caught.
- **Chinese mode**: no ASCII word of 3+ letters, except the allow-list below (product
  names, file formats, units, codes).
- **English mode**: no CJK character, except inside data (see above) and the few
  allowed Chinese terms below.

Extending the allow-lists: add a word to ALLOW_ASCII / ALLOW_CJK for every page, or to
PAGE_ALLOW[(page)] for one page, with a comment saying why it is not a translation gap.
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from sqlalchemy import String, Text, inspect, select
from streamlit.testing.v1 import AppTest

from crm import access
from crm.config import get_settings
from crm.db import Base, session_factory
from crm.i18n import MESSAGES
from tests.test_app_pages import APP, ROLE_USER, TIMEOUT, actor, world  # noqa: F401 - fixture

# ASCII words a Chinese page may show: names of products and formats, and units.
ALLOW_ASCII = {
    "KPI", "Excel", "Odoo", "CSV", "csv", "xlsx", "xls", "XLSX", "USCC", "API", "URL",
    "http", "https", "XML", "RPC", "JSON", "xmlrpc", "jsonrpc", "res", "partner",
    "helpdesk", "ticket", "crm", "lead", "project", "task", "Qifu",
    "p90", "P90",  # the 90th percentile, as officials write it
    "English",  # the language switch names each language in itself
    "qxds",  # the search hint's example of pinyin initials (齐祥灯饰), typed as is
}
# Chinese an English page may show.
ALLOW_CJK: set[str] = {
    "简体中文",  # the language switch names each language in itself
    "齐祥", "齐祥灯饰",  # search hints: an example of a firm name as users type it
}
# (page) -> extra allowed words in either language, with the reason.
PAGE_ALLOW: dict[str, set[str]] = {
    # the Odoo page names the remote models and settings as Odoo spells them
    "odoo": {"vat", "is_company", "model", "url", "db", "username"},
    # the audit log shows each change's before and after as it was stored (role codes,
    # field names): a record of what was written, not text to translate
    "audit": {"role", "liaison", "cadre", "handler", "chamber", "official", "admin",
              "employment", "street", "unit", "status"},
}

ASCII_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z]{2,}(?![A-Za-z0-9_])")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
# Codes and machine text that are neither language: QF/SQ codes, credit codes, emails,
# URLs (also the app's own `/appeal?code=…` links, which a LinkColumn shows as the
# code alone), file names, material icon names, ISO dates.
NEUTRAL = re.compile(r"(?:QF|SQ)[-\w]*|[0-9A-HJ-NP-RTUW-Y]{18}|\S+@\S+|https?://\S+|"
                     r"/\w+\?\w+=\S*|"
                     r"[\w.-]+\.(?:xlsx|xls|csv|db)\b|:material/\w+:|\w+_\w+")


NAME_COLUMNS = {("app_user", "username"), ("app_user", "display_name")}


def _is_code(value: str) -> bool:
    """A stored value with a catalogue label (`<kind>.<value>`) is a code, not data."""
    return any(key.endswith(f".{value}") for key in _LABELLED)


_LABELLED = {k for k in MESSAGES if k.count(".") == 1}


def data_values(engine) -> list[str]:
    """Every text stored in the world's database, longest first (so a longer name is
    removed before a name inside it), without codes."""
    values: set[str] = set()
    names: set[str] = set()  # typed by people: data even when it spells a code ("admin")
    with session_factory(engine)() as session:
        for table in Base.metadata.sorted_tables:
            if not inspect(engine).has_table(table.name):
                continue
            for column in table.columns:
                if isinstance(column.type, String | Text):
                    for (v,) in session.execute(select(column).distinct()):
                        if isinstance(v, str) and v.strip():
                            values.add(v.strip())
                            if (table.name, column.name) in NAME_COLUMNS:
                                names.add(v.strip())
    values.add(get_settings().district_name)  # a setting: the district's own name
    codes = {v for v in values if re.fullmatch(r"[a-z_]+", v) and _is_code(v)} - names
    return sorted(values - codes, key=len, reverse=True)


def _texts(at) -> list[str]:
    """What a user can read on the page (main area and sidebar)."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "exception"):
        out += [str(el.value) for el in getattr(at, kind)]
    for m in at.metric:
        out += [str(m.label), str(m.value), str(getattr(m, "delta", "") or "")]
    out += [str(tab.label) for tab in at.tabs]
    out += [str(e.label) for e in at.expander]
    for kind in ("button", "checkbox", "toggle", "text_input", "text_area", "number_input",
                 "date_input", "time_input", "selectbox", "multiselect", "radio", "slider",
                 "select_slider", "color_picker"):
        for w in getattr(at, kind):
            out += [str(getattr(w, name, "") or "") for name in ("label", "help", "placeholder")]
            proto = getattr(w, "proto", None)
            out += [str(o) for o in getattr(proto, "options", [])]
    for df in at.dataframe:
        value = df.value
        if isinstance(value, pd.DataFrame):
            out += _frame_texts(value, getattr(df.proto, "columns", "") or "{}")
    for el in at.get("download_button") + at.get("form_submit_button"):
        proto = getattr(el, "proto", None)
        out.append(str(getattr(proto, "label", "")))
    return [t for t in out if t]


# A missing value printed raw by a table or a number (issue 16, item 7: show "—").
RAW_GAPS = {"None", "nan", "NaN", "NaT", "<NA>"}


def _frame_texts(value: pd.DataFrame, column_config: str) -> list[str]:
    """Headers as the user sees them (a column_config label replaces the field name; a
    hidden column is not seen) and the cells (a bool column is a tick box, not words)."""
    config = json.loads(column_config)
    out = []
    for column in value.columns:
        conf = config.get(str(column), {})
        if conf.get("hidden"):
            continue
        out.append(str(conf.get("label") or column))
        if value[column].dtype != bool:
            out += [str(v) for v in value[column].astype(str)]
    return out


def foreign_words(texts: list[str], lang: str, data: list[str], page: str) -> set[str]:
    """The words of the other language left once data and neutral codes are removed, and
    any cell that prints a missing value raw."""
    allowed = PAGE_ALLOW.get(page, set())
    found: set[str] = {text for text in texts if text.strip() in RAW_GAPS}
    for text in texts:
        for value in data:
            if value in text:
                text = text.replace(value, " ")
        text = NEUTRAL.sub(" ", text)
        if lang == "zh":
            found |= {w for w in ASCII_WORD.findall(text)
                      if w not in ALLOW_ASCII and w not in allowed}
        else:
            found |= {w for w in CJK.findall(text) if w not in ALLOW_CJK and w not in allowed}
    return found


@pytest.fixture
def world_sqlite(request):
    """The pages' world on SQLite only: the language of a page does not depend on the
    backend, and PostgreSQL is covered by tests/test_app_pages.py."""
    return request.getfixturevalue("world")


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("role", sorted(access.ROLE_PAGES))
def test_every_page_speaks_one_language(db_url, world_sqlite, role, lang):
    engine = world_sqlite
    data = data_values(engine)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["actor"] = actor(engine, ROLE_USER[role])
    at.session_state["lang"] = lang
    at.run()
    problems = {}
    for page in access.ROLE_PAGES[role]:
        at.switch_page(f"pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        words = foreign_words(_texts(at), lang, data, page)
        if words:
            problems[page] = sorted(words)
    assert not problems, f"{role} in {lang}: words of the other language: {problems}"


def test_the_checker_catches_both_languages():
    """The rule can fail: English in a Chinese text, Chinese in an English one, a raw code."""
    data = ["重庆齐祥灯饰有限公司", "Hankook Tire"]
    assert foreign_words(["角色 liaison 需要指定"], "zh", data, "home") == {"liaison"}
    assert foreign_words(["Overdue 超期"], "en", data, "home") == {"超期"}
    assert not foreign_words(["重庆齐祥灯饰有限公司 has 3 appeals"], "en", data, "home")
    assert not foreign_words(["Hankook Tire 已入驻；KPI 与 QF2024-00001"], "zh", data, "home")
    assert foreign_words(["None"], "en", data, "home") == {"None"}


@pytest.mark.parametrize("machine", ["APPEAL", "PARTICIPATION", "HIRING_NEED", "FINANCING"])
def test_a_refused_step_names_the_state_and_the_step_in_words(machine):
    """A lifecycle refusal ("cannot reply: the appeal is dispatched") in Chinese carries no
    raw code, for every state and step of every pipeline."""
    from crm import lifecycle
    from crm.errors import InvalidTransition
    from crm.i18n import error_text

    sm = getattr(lifecycle, machine)
    for status in sm.states:
        for action in sm.actions:
            err = InvalidTransition("refused", key=f"{sm.name}.bad_state", action=action,
                                    status=status)
            zh = error_text(err, "zh")
            assert not ASCII_WORD.findall(zh), (machine, status, action, zh)
            assert not CJK.findall(error_text(err, "en")), (machine, status, action)
