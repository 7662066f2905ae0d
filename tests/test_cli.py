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
    from tests.conftest import _sa_url

    name = pg_server.create(f"{pg_server.prefix}_cli")
    url = _sa_url(name)
    first = crm("init-db", url=url)
    assert first.returncode == 0, first.stderr
    from crm.migrate import head_revision

    assert f"empty → {head_revision()}" in first.stdout and "street 12" in first.stdout
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


def test_users_set_role_deactivate_activate_and_unlock(fresh_url):
    assert crm("init-db", url=fresh_url).returncode == 0
    assert crm("users", "add", "li", "--role", "liaison", "--street", "大石坝", url=fresh_url,
               stdin="").returncode == 0
    moved = crm("users", "set-role", "li", "--role", "handler", "--unit", "区交巡警支队",
                url=fresh_url)
    assert moved.returncode == 0, moved.stderr
    assert moved.stdout.strip() == "user li is now handler (unit 区交巡警支队)"
    refused = crm("users", "set-role", "li", "--role", "chamber", url=fresh_url)
    assert (refused.returncode, refused.stderr.strip()) == (2, "error: role chamber needs "
                                                               "--chamber")
    [row] = json.loads(crm("users", "list", "--json", url=fresh_url).stdout)
    assert (row["role"], row["unit"], row["street"]) == ("handler", "区交巡警支队", None)
    assert crm("users", "deactivate", "li", url=fresh_url).returncode == 0
    assert json.loads(crm("users", "list", "--json", url=fresh_url).stdout)[0]["active"] is False
    assert crm("users", "activate", "li", url=fresh_url).returncode == 0
    assert json.loads(crm("users", "list", "--json", url=fresh_url).stdout)[0]["active"] is True
    unlocked = crm("users", "unlock", "li", url=fresh_url)
    assert unlocked.stdout.strip() == "user li unlocked (0 failed logins cleared)"
    assert crm("users", "unlock", "nobody", url=fresh_url).returncode == 2


def test_a_domain_error_is_one_line_on_stderr_with_a_nonzero_exit(fresh_url):
    assert crm("init-db", url=fresh_url).returncode == 0
    result = crm("users", "add", "h", "--role", "handler", url=fresh_url, stdin="")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: role handler needs --unit"


COMMANDS = [("init-db",), ("seed-demo",), ("demo-logins",), ("kpi",), ("kpi-rollups",),
            ("users",), ("users", "add"), ("users", "list"), ("users", "set-password"),
            ("users", "set-role"), ("users", "deactivate"), ("users", "activate"),
            ("users", "unlock"),
            ("import",), ("export",), ("financing",), ("financing", "match"),
            ("odoo",), ("odoo", "sync"), ("jobfair",), ("jobfair", "report"), ("escalate",),
            ("backup",), ("restore",)]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command, fresh_url):
    result = crm(*command, "--help", url=fresh_url)
    assert result.returncode == 0
    assert "usage: python -m crm" in result.stdout


def test_every_command_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in COMMANDS:
        assert re.search(r"python -m crm " + re.escape(" ".join(command)), readme), command


def test_import_prints_one_json_object_with_the_published_keys(fresh_url, tmp_path):
    from openpyxl import Workbook

    from crm.uscc import complete

    assert crm("init-db", url=fresh_url).returncode == 0
    good = complete("91500105MA5UA001")
    book = Workbook()
    sheet = book.active
    for row in (["企业名录"], ["统一社会信用代码", "企业名称"], [good, "重庆甲公司"],
                [good[:-1] + "Z", "重庆乙公司"]):
        sheet.append(row)
    path = tmp_path / "roster.xlsx"
    book.save(path)
    out = tmp_path / "errors.xlsx"
    result = crm("import", "enterprises", str(path), "--json", "--errors-out", str(out),
                 url=fresh_url)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert list(report) == ["kind", "rows_read", "inserted", "updated", "unchanged", "rejected",
                            "errors"]
    assert (report["kind"], report["rows_read"], report["inserted"], report["rejected"]) == \
        ("enterprises", 2, 1, 1)
    assert report["errors"] == [{"row": 4, "column": "统一社会信用代码", "value": good[:-1] + "Z",
                                 "message": report["errors"][0]["message"]}]
    assert "第 18 位" in report["errors"][0]["message"] and out.is_file()
    again = json.loads(crm("import", "enterprises", str(path), "--json", url=fresh_url).stdout)
    assert (again["inserted"], again["unchanged"]) == (0, 1)
    exported = tmp_path / "export.csv"
    assert crm("export", "enterprises", str(exported), url=fresh_url).returncode == 0
    back = json.loads(crm("import", "enterprises", str(exported), "--json", url=fresh_url).stdout)
    assert (back["rows_read"], back["unchanged"]) == (1, 1)


def test_import_of_an_unreadable_file_is_one_line_and_nonzero(fresh_url, tmp_path):
    assert crm("init-db", url=fresh_url).returncode == 0
    bogus = tmp_path / "bogus.xlsx"
    bogus.write_bytes(b"not a spreadsheet")
    result = crm("import", "appeals", str(bogus), "--json", url=fresh_url)
    assert result.returncode != 0 and result.stdout == ""
    assert result.stderr.startswith("error: ") and len(result.stderr.strip().splitlines()) == 1
    missing = crm("import", "appeals", str(tmp_path / "nope.csv"), url=fresh_url)
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1


def test_financing_match_prints_each_open_need_with_its_ranked_products(fresh_url):
    """`financing match --json`: one object {"needs": [...]}, an entry per open need in
    scope with the published keys, products best first, never one failing a filter."""
    import datetime as dt

    from crm.access import SYSTEM
    from crm.db import make_engine, session_factory
    from crm.models import Chamber, Enterprise, chamber_member
    from crm.services import financing
    from crm.uscc import complete

    assert crm("init-db", url=fresh_url).returncode == 0
    engine = make_engine(fresh_url)
    with session_factory(engine).begin() as s:
        firms = []
        for n, size in ((1, "small"), (2, "large")):
            firm = Enterprise(uscc=complete(f"91500105MA{n:06d}"), name=f"重庆命令行{n}有限公司",
                              industry="制造业", size=size)
            s.add(firm)
            firms.append(firm)
        chamber = Chamber(name="命令行商会")
        s.add(chamber)
        s.flush()
        s.execute(chamber_member.insert().values(chamber_id=chamber.id,
                                                 enterprise_id=firms[0].id))
        ids = {}
        for name, bank, rate, sizes in (("快贷", "甲银行", 0.04, ["small"]),
                                        ("好贷", "乙银行", 0.035, []),
                                        ("大额贷", "丙银行", 0.03, ["large"])):
            ids[name] = financing.save_bank_product(
                s, actor=SYSTEM, bank=bank, name=name, amount_min=10, amount_max=500,
                rate_min=rate, sizes=sizes).id
        needs = [financing.add_financing_need(s, actor=SYSTEM, enterprise_id=f.id, amount=100,
                                              requested_on=dt.date(2026, 5, 1),
                                              collateral="credit").id for f in firms]
    engine.dispose()
    result = crm("financing", "match", "--top", "2", "--json", url=fresh_url)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert list(out) == ["needs"] and [n["need_id"] for n in out["needs"]] == needs
    small, large = out["needs"]
    assert list(small) == ["need_id", "uscc", "firm", "amount", "term_months", "collateral",
                           "matches"]
    assert (small["uscc"], small["firm"], small["amount"], small["term_months"],
            small["collateral"]) == (complete("91500105MA000001"), "重庆命令行1有限公司", 100.0,
                                     None, "credit")
    # the small firm: 好贷 (cheaper) before 快贷; 大额贷 serves large firms only
    assert [m["product_id"] for m in small["matches"]] == [ids["好贷"], ids["快贷"]]
    assert [m["product_id"] for m in large["matches"]] == [ids["大额贷"], ids["好贷"]]
    for m in small["matches"] + large["matches"]:
        assert list(m) == ["product_id", "bank", "product", "score", "reasons"]
        assert m["reasons"] and all(isinstance(r, str) and r for r in m["reasons"])
    assert small["matches"][0]["score"] > small["matches"][1]["score"]
    assert "利率最低（3.5%起）" in small["matches"][0]["reasons"]

    one = json.loads(crm("financing", "match", "--need", str(needs[1]), "--json",
                         url=fresh_url).stdout)
    assert [n["need_id"] for n in one["needs"]] == [needs[1]]
    assert len(one["needs"][0]["matches"]) == 2  # no --top: every passing product
    member = json.loads(crm("financing", "match", "--chamber", "命令行商会", "--json",
                            url=fresh_url).stdout)
    assert [n["need_id"] for n in member["needs"]] == [needs[0]]
    text = crm("financing", "match", url=fresh_url)
    assert text.returncode == 0 and "好贷" in text.stdout and "2 open needs" in text.stdout
    bad = crm("financing", "match", "--chamber", "没有这个商会", "--json", url=fresh_url)
    assert bad.returncode != 0 and bad.stdout == "" and len(bad.stderr.splitlines()) == 1


def test_jobfair_report_prints_the_published_keys_as_of_a_date(fresh_url, tmp_path):
    """The fair's funnel as of a day (two dated results sheets), fill rate a fraction,
    retention null while pending; --fair filters by name."""
    from crm.uscc import complete

    assert crm("init-db", url=fresh_url).returncode == 0
    firm = complete("91500105MA5UJ001")
    header = "招聘会名称,举办日期,组织镇街,统一社会信用代码,企业名称,岗位名称,招聘人数,统计日期," \
             "投递简历数,达成意向人数,体检人数,入职人数,在岗90天人数\n"
    rows = ["春风行动,2022-03-01,鱼嘴镇,{f},韩泰轮胎,成型工,20,2022-03-01,58,32,10,,\n",
            "春风行动,2022-03-01,鱼嘴镇,{f},韩泰轮胎,成型工,20,2022-04-01,58,32,10,9,\n",
            "春风行动,2022-03-01,鱼嘴镇,{f},韩泰轮胎,成型工,20,2022-06-01,58,32,10,9,8\n",
            "网络招聘会,2023-05-01,,{f},韩泰轮胎,质检员,0,,,,,,\n"]
    path = tmp_path / "results.csv"
    path.write_text(header + "".join(r.format(f=firm) for r in rows), encoding="utf-8")
    assert crm("import", "enterprises", str(path), url=fresh_url).returncode == 0
    imported = json.loads(crm("import", "job-fair", str(path), "--json", url=fresh_url).stdout)
    assert imported["rejected"] == 0, imported["errors"]

    def report(*args):
        result = crm("jobfair", "report", *args, "--json", url=fresh_url)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    early = report("--fair", "春风行动", "--as-of", "2022-03-15")
    assert list(early) == ["fairs"]
    assert early["fairs"] == [{
        "fair": "春风行动", "held_on": "2022-03-01", "street": "鱼嘴镇", "firms": 1,
        "positions": 1, "headcount": 20, "applicants": 58, "intents": 32,
        "medical_checks": 10, "hired": 0, "retained_90d": None, "fill_rate": 0.0}]
    late = report("--fair", "春风行动", "--as-of", "2022-06-01")["fairs"][0]
    assert (late["hired"], late["retained_90d"], late["fill_rate"]) == (9, 8, 0.45)
    both = report("--as-of", "2023-06-01")["fairs"]
    assert [(f["fair"], f["fill_rate"]) for f in both] == [("春风行动", 0.45), ("网络招聘会", None)]
    bad = crm("jobfair", "report", "--as-of", "2022-13-01", url=fresh_url)
    assert bad.returncode == 2 and bad.stderr.startswith("error: not a date")


def test_escalate_reminds_and_flags_once_a_day_and_prints_counts(fresh_url):
    assert crm("init-db", url=fresh_url).returncode == 0
    seeded = crm("seed-demo", "--enterprises", "60", "--appeals", "400", "--quiet", url=fresh_url)
    assert seeded.returncode == 0, seeded.stderr
    first = crm("escalate", "--json", url=fresh_url)
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)
    assert set(counts) >= {"as_of", "remind", "supervise", "events", "notifications"}
    assert counts["supervise"] > 0 and counts["events"] == counts["remind"] + counts["supervise"]
    assert counts["notifications"] > 0
    again = json.loads(crm("escalate", "--json", url=fresh_url).stdout)
    assert (again["remind"], again["supervise"], again["events"], again["notifications"]) == \
        (0, 0, 0, 0)
    later = crm("escalate", "--as-of", "2099-01-01", url=fresh_url)
    assert later.returncode == 0, later.stderr
    assert later.stdout.startswith("as of 2099-01-01: 0 reminders (催办), ")
    bad = crm("escalate", "--as-of", "tomorrow", url=fresh_url)
    assert bad.returncode == 2
    assert bad.stderr.strip() == "error: not a date (YYYY-MM-DD): 'tomorrow'"
