"""`python -m crm`: each command works as documented, in a real subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def crm(*args: str, url: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "CRM_DATABASE_URL": url}
    return subprocess.run([sys.executable, "-m", "crm", *args], cwd=ROOT, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def fresh_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


def test_init_db_migrates_and_loads_reference_data_then_changes_nothing(fresh_url):
    first = crm("init-db", url=fresh_url)
    assert first.returncode == 0, first.stderr
    assert "street 12" in first.stdout and "community 128" in first.stdout
    second = crm("init-db", url=fresh_url)
    assert second.returncode == 0
    assert "none (already loaded)" in second.stdout


def test_init_db_works_on_an_empty_postgresql_database(pg_server):
    from crm import migrate
    from tests.conftest import _sa_url

    name = pg_server.create(f"{pg_server.prefix}_cli")
    url = _sa_url(name)
    first = crm("init-db", url=url)
    assert first.returncode == 0, first.stderr
    assert f"empty → {migrate.head_revision()}" in first.stdout and "street 12" in first.stdout
    assert "already loaded" in crm("init-db", url=url).stdout


def test_users_add_list_and_set_password(fresh_url):
    assert crm("init-db", url=fresh_url).returncode == 0
    added = crm("users", "add", "li", "--role", "liaison", "--street", "大石坝", url=fresh_url,
                stdin="")
    assert added.returncode == 0, added.stderr
    assert "no password yet" in added.stdout
    listed = json.loads(crm("users", "list", "--json", url=fresh_url).stdout)
    assert listed[0]["street"] == "大石坝街道" and listed[0]["has_password"] is False
    setpw = crm("users", "set-password", "li", url=fresh_url, stdin="goodpass1\n")
    assert setpw.returncode == 0, setpw.stderr
    listed = json.loads(crm("users", "list", "--json", url=fresh_url).stdout)
    assert listed[0]["has_password"] is True


def test_a_domain_error_is_one_line_on_stderr_with_a_nonzero_exit(fresh_url):
    assert crm("init-db", url=fresh_url).returncode == 0
    result = crm("users", "add", "h", "--role", "handler", url=fresh_url, stdin="")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: role handler needs --unit"


COMMANDS = [("init-db",), ("seed-demo",), ("demo-logins",), ("kpi",), ("users",), ("users", "add"),
            ("users", "list"), ("users", "set-password")]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, fresh_url):
    result = crm(*command, "--help", url=fresh_url)
    assert result.returncode == 0
    assert "usage: python -m crm" in result.stdout


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert re.search(r"python -m crm " + re.escape(" ".join(command)), readme), command
