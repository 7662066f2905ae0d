"""User text is shown as text: a title, description, reply, firm, chamber, bank, fair or
person name holding a Markdown link, an image or HTML renders none of them.

The small world of the page tests, with every user-typed field overwritten by a
hostile payload, is opened on every page by every role (AppTest); the Markdown each
element would render (titles, headers, markdown, captions, alerts, expander, tab,
metric and button labels) must hold no live link, image, HTML tag or bare URL.
"""

from __future__ import annotations

import re
import shutil

import pytest
import streamlit as st
from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from crm import access
from crm.db import make_engine, session_factory
from crm.models import (
    Appeal,
    Bank,
    BankProduct,
    Chamber,
    Contact,
    Enterprise,
    FairPosition,
    FinancingNeed,
    JobFair,
    Person,
    Tag,
    Unit,
    User,
    Visit,
)
from crm.ui import login
from crm.ui.plain import plain
from tests.test_app_pages import (
    APP,
    ROLE_USER,
    TIMEOUT,
    _navigation_only,
    actor,
    build_world,
)

PAYLOAD = "[点我](http://e.vil/a)![](http://e.vil/i.png)<img src=x>www.e.vil:red[红]"
# What a user typed, field by field (a number keeps unique columns unique).
FIELDS = [(Enterprise, "name"), (Enterprise, "address"), (Appeal, "title"),
          (Appeal, "description"), (Appeal, "reply_text"), (Appeal, "contact_name"),
          (Visit, "notes"), (JobFair, "name"), (JobFair, "place"), (JobFair, "note"),
          (Chamber, "name"), (Bank, "name"), (BankProduct, "name"), (FinancingNeed, "purpose"),
          (FairPosition, "title"), (Contact, "name"), (Person, "name"), (User, "display_name"),
          (Unit, "name"), (Tag, "name")]

# Markdown that would render as something other than its text, once escapes are read.
# (The app's own :blue-badge[…] is a directive too; the payload's :red[ is the user's.)
LIVE = re.compile(r"\]\(|<\s*/?\s*[a-z]+[\s>/]|https?://|www\.|:red\[", re.I)


def live_markup(markdown: str) -> list[str]:
    """The live links, images, tags, URLs and directives in `markdown` (escaped
    characters and zero-width-broken autolinks are text)."""
    return LIVE.findall(re.sub(r"\\.", "", markdown.replace("\u200b", "\x00")))


def test_plain_leaves_nothing_live_and_keeps_the_text():
    shown = plain(PAYLOAD + "\n第二行 a@b.cn 100% $x$ # 标题")
    assert live_markup(PAYLOAD) and not live_markup(shown)
    unescaped = re.sub(r"\\(.)", r"\1", shown).replace("\u200b", "")
    assert unescaped == PAYLOAD + "  \n第二行 a@b.cn 100% $x$ # 标题"
    assert plain(None) == "" and plain(12) == "12"


@pytest.fixture
def hostile_world(sqlite_template, tmp_path, monkeypatch):
    """The page tests' world (SQLite: rendering does not depend on the backend), every
    user-typed field replaced by PAYLOAD."""
    _navigation_only(monkeypatch)
    path = tmp_path / "qifu.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        build_world(session)
        for model, column in FIELDS:
            for row_id in session.scalars(select(model.id)):
                session.execute(update(model).where(model.id == row_id)
                                .values({column: f"{PAYLOAD}{row_id}"}))
    monkeypatch.setenv("CRM_DATABASE_URL", url)
    monkeypatch.delenv("CRM_LANG", raising=False)
    monkeypatch.delenv("CRM_DEMO_MODE", raising=False)
    monkeypatch.setattr(login, "DELAY_PER_FAILURE", 0.0)
    st.cache_resource.clear()
    st.cache_data.clear()
    yield engine
    st.cache_resource.clear()
    st.cache_data.clear()
    engine.dispose()


def rendered_markdown(at: AppTest) -> list[str]:
    """Every string of the page that Streamlit renders as Markdown."""
    out: list[str] = []
    for kind in ("title", "header", "subheader", "markdown", "caption", "info", "warning",
                 "error", "success", "toast"):
        out += [str(el.value) for el in getattr(at, kind)]
    out += [str(m.label) for m in at.metric]
    out += [str(t.label) for t in at.tabs]
    out += [str(e.label) for e in at.expander]
    out += [str(b.label) for b in at.button]
    out += [str(c.label) for c in at.checkbox]
    for radio in at.radio:
        out += [str(radio.label), *map(str, radio.options)]
    return out


def _open(at: AppTest, role: str, page: str, engine) -> AppTest:
    at.switch_page(f"pages/{page}.py")
    if page == "appeal":
        with session_factory(engine)() as session:
            at.query_params["id"] = str(session.scalar(select(Appeal.id).where(
                Appeal.code == "SQ-003")))
    at.run()
    if page == "enterprises":
        with session_factory(engine)() as session:
            firms = session.scalars(select(Enterprise.id).order_by(Enterprise.id)).all()
        for firm in firms:  # the first the role may see
            try:
                at.selectbox(key="ent_pick").set_value(firm).run()
            except Exception:  # noqa: BLE001 - not among this role's options
                continue
            if not at.exception:
                break
    return at


@pytest.mark.parametrize("role", sorted(access.ROLE_PAGES))
def test_no_page_renders_a_users_text_as_a_live_link_or_image(hostile_world, role):
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.session_state["actor"] = actor(hostile_world, ROLE_USER[role])
    at.run()
    shown_payload = 0
    for page in access.ROLE_PAGES[role]:
        _open(at, role, page, hostile_world)
        assert not at.exception, (page, [e.value for e in at.exception])
        for markdown in rendered_markdown(at):
            assert not live_markup(markdown), (role, page, markdown)
            shown_payload += "点我" in markdown
    assert shown_payload, f"{role}: no page showed a user's text in Markdown; the test is blind"
