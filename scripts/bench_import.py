"""Benchmark the spreadsheet import against the naive way, side by side in one run.

    .venv/bin/python scripts/bench_import.py [--kinds all|K1,K2] [--rows 100000]
        [--firms 5000] [--roster-rows 100000] [--kind-scale 1] [--skip-naive] [--skip-pg]
        [--repeat 3] [--workbook PATH]

Per kind (--kinds, default all: appeals, enterprises, visits, assignments,
financing-needs, bank-products, job-fair), a generated workbook with a title line
above its header: a 100,000-row × 9-column firm roster (short street names such as
观音桥, valid credit codes, real-looking names), the 100,000-row appeal ledger below,
and visits, assignments, financing needs, bank products and job-fair results at the
sizes in KIND_ROWS (× --kind-scale), naming 20,000 firms, cadres and chambers on
file. Each is timed the naive way once (pandas.read_excel(engine="openpyxl") +
DataFrame.to_sql into a fresh SQLite file) and, best of --repeat rounds, as the whole
`python -m crm import KIND FILE --json` process into a fresh migrated SQLite file
(CRM_DATABASE_URL), and as the import alone inside this process (as the app runs it,
with the garbage collector on). The table gives rows, naive seconds, ours, the ratio
naive ÷ ours, and for the roster the ratio the issue asks for (≥ 8×).

With appeals selected, the detailed appeal lines follow: a generated 100,000-row ×
14-column appeals workbook (title line, Chinese text, real date cells, a few bad rows)
in a temp dir, timed:

  naive read        pandas.read_excel(engine="openpyxl")
  naive total       … then DataFrame.to_sql into a fresh SQLite file (no cleaning at all)
  plain reads       fastexcel → Arrow (typed columns, the header given), and
                    python-calamine sheet.to_python() and polars.read_excel when
                    installed (reference readers)
  our read          etl.readers.open_table: every cell of the sheet as Arrow text
  data rows, A empty  the same sheet with column A emptied: finding its data rows when
                    every row's first cell is blank
  our import SQLite the whole import (in this process): header detection, cleaning,
                    validation, firm and unit lookups, natural keys, appeal + appeal_unit
                    + import_record rows, one transaction (fresh migrated SQLite file
                    holding the firms)
  our import PG     the same into a fresh PostgreSQL database on --pg-url
  no firms on file  the same file into a database with no firms: every firm the ledger
                    names is created unconfirmed, with a note (etl/kinds/appeals.py
                    new_firm), and its appeals imported; the mistyped codes refused

and prints the table and the two ratios the issue asks for: naive total ÷ our
import (≥ 10×) and our import ÷ the fastest plain read measured (≤ 3×).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from crm import migrate  # noqa: E402
from crm.db import make_engine, session_factory  # noqa: E402
from crm.services.reference import init_reference_data  # noqa: E402
from crm.uscc import random_uscc  # noqa: E402

HEADER = ["诉求编号", "统一社会信用代码", "企业名称", "所属镇街", "诉求类别", "诉求来源",
          "诉求标题", "诉求内容", "联系人", "联系电话", "受理时间", "承办单位", "办理状态",
          "满意度"]
NO_FIRMS = "the ledger with no firms on file: each created unconfirmed (SQLite)"
STREETS = ["观音桥", "华新街街道", "五里店街道", "江北城街道", "石马河", "大石坝街道办事处",
           "寸滩街道", "郭家沱街道", "铁山坪街道", "鱼嘴镇", "复盛镇", "五宝镇"]
CATEGORIES = ["融资", "用工", "交通", "政策咨询", "审批", "水电气", "环境", "法律", "其他",
              "物业"]
CHANNELS = ["走访", "电话", "座谈会", "12345热线", "网络"]
UNITS = ["区交巡警支队", "区人力社保局", "区金融办", "区市场监管局", "区住房城乡建委",
         "区生态环境局", "区规划自然资源局", "区税务局", "街道经发办", "区城市管理局"]
STATUSES = ["已受理", "已派单", "已签收", "已办结", "已回访", "已归档"]
SATISFACTION = ["满意", "基本满意", "不满意"]
TOPICS = ["写字楼周边车辆乱停乱放", "流动资金周转困难，希望对接银行",
          "招工难，希望参加春风行动招聘会", "咨询研发费用加计扣除政策", "厂区停水停电频繁",
          "施工噪音扰民影响办公", "项目审批材料退回多次",
          "劳动合同纠纷需要法律援助", "园区道路破损影响货车通行", "希望协调员工子女入学"]


def make_firms(n: int, rng: random.Random, names: list[str] | None = None
               ) -> list[tuple[str, str]]:
    seen, firms = set(), []
    while len(firms) < n:
        code = random_uscc(rng)
        if code in seen:
            continue
        seen.add(code)
        firms.append((code, names[len(firms)] if names else
                      f"重庆{len(firms):05d}号测试科技有限公司"))
    return firms


# A district roster: 9 columns under a title row, street names often short (观音桥).
ROSTER_HEADER = ["统一社会信用代码", "企业名称", "所属镇街", "注册地址", "所属行业", "企业规模",
                 "成立日期", "联系人", "联系电话"]
SHORT_STREETS = ["观音桥", "华新街", "五里店", "江北城", "石马河", "大石坝", "寸滩", "郭家沱",
                 "铁山坪", "鱼嘴镇", "复盛镇", "五宝镇", "观音桥街道", "石马河街道"]
BRAND_CHARS = ("华鑫瑞祥泰恒盛达宏博信远润丰源鼎兴隆嘉诚德顺和安康宇航天成金银长江北渝巴山"
               "川锦绣明辉晨光新创智联云海蓝星飞龙凤凰中大正通汇众合力昌荣茂俊豪雅美佳乐行"
               "重庆庆丰石马观音桥五里寸滩鱼嘴复盛铁坪郭沱溪岭峰林森水火土木东南西北朝阳")
TRADES = ["科技", "商贸", "餐饮管理", "建筑工程", "物流", "文化传媒", "电子商务", "机械制造",
          "医药", "房地产开发", "汽车销售", "装饰工程", "信息技术", "教育咨询", "供应链管理",
          "环保科技", "农业开发", "实业", "投资", "劳务"]
FORMS = ["有限公司", "有限责任公司", "股份有限公司", "有限公司", "（集团）有限公司"]
INDUSTRIES = ["制造业", "批发和零售业", "建筑业", "信息传输、软件和信息技术服务业", "金融业",
              "住宿和餐饮业", "交通运输、仓储和邮政业", "租赁和商务服务业"]
SIZES = ["大型", "中型", "小型", "微型"]
ROADS = ["建新北路", "北城天街", "洋河路", "红旗河沟", "五红路", "海尔路", "大石坝正街", "鱼嘴大道"]


def company_names(n: int, rng: random.Random) -> list[str]:
    """n distinct, real-looking firm names: 重庆 + a 2–3 character brand + trade + form."""
    seen: set[str] = set()
    names = []
    while len(names) < n:
        brand = "".join(rng.choice(BRAND_CHARS) for _ in range(rng.choice((2, 2, 3))))
        head = rng.choice(("重庆", "重庆", "重庆市", "重庆市江北区"))
        name = f"{head}{brand}{rng.choice(TRADES)}{rng.choice(FORMS)}"
        if name in seen:
            name = f"{head}{brand}{rng.choice(TRADES)}{len(names)}{rng.choice(FORMS)}"
            if name in seen:
                continue
        seen.add(name)
        names.append(name)
    return names


def write_enterprise_roster(path: Path, rows: int, rng: random.Random
                            ) -> list[tuple[str, str]]:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet("企业名录")
    ws.append(["江北区企业名录（基准测试）"])
    ws.append(ROSTER_HEADER)
    firms = make_firms(rows, rng, names=company_names(rows, rng))
    start = dt.date(1995, 1, 1)
    for i, (code, name) in enumerate(firms):
        ws.append([code, name, SHORT_STREETS[rng.randrange(len(SHORT_STREETS))],
                   f"重庆市江北区{ROADS[rng.randrange(len(ROADS))]}{rng.randrange(1, 300)}号",
                   INDUSTRIES[rng.randrange(len(INDUSTRIES))], SIZES[rng.randrange(4)],
                   start + dt.timedelta(days=rng.randrange(0, 365 * 28)),
                   f"联系人{i % 700}", f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"])
    book.save(path)
    return firms


def write_roster(path: Path, firms) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet("企业名录")
    ws.append(["统一社会信用代码", "企业名称", "所属镇街"])
    for i, (code, name) in enumerate(firms):
        ws.append([code, name, STREETS[i % len(STREETS)]])
    book.save(path)


def write_appeals(path: Path, rows: int, firms, rng: random.Random) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet("诉求台账")
    ws.append(["江北区企业诉求台账（基准测试）"])
    ws.append(HEADER)
    start = dt.datetime(2024, 1, 1, 8, 0)
    for i in range(rows):
        code, name = firms[rng.randrange(len(firms))]
        topic = TOPICS[rng.randrange(len(TOPICS))]
        received = start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 700))
        status = STATUSES[rng.randrange(len(STATUSES))]
        satisfaction = SATISFACTION[rng.randrange(3)] if status in ("已回访", "已归档") else None
        if i % 997 == 0:
            code = code[:-1] + ("0" if code[-1] != "0" else "1")  # a mistyped code
        ws.append([f"SQ{2024_000000 + i}", code, name, STREETS[rng.randrange(len(STREETS))],
                   CATEGORIES[rng.randrange(len(CATEGORIES))], CHANNELS[rng.randrange(5)],
                   topic, f"{name}反映：{topic}。请相关部门协调解决，第{i}号。",
                   f"联系人{i % 500}", f"138{rng.randrange(10**8):08d}", received,
                   UNITS[rng.randrange(len(UNITS))], status, satisfaction])
    book.save(path)


def fresh_sqlite(tmp: Path, name: str) -> str:
    url = f"sqlite:///{tmp / name}"
    _prepare(url)
    return url


def _prepare(url: str) -> None:
    engine = make_engine(url, no_pool=True) if url.startswith("postgresql") else make_engine(url)
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        init_reference_data(session)
    engine.dispose()


def our_import(url: str, kind: str, path: Path):
    from etl.app import import_file

    engine = make_engine(url, no_pool=True) if url.startswith("postgresql") else make_engine(url)
    try:
        started = time.perf_counter()
        with session_factory(engine).begin() as session:
            report = import_file(session, path, kind)
        return time.perf_counter() - started, report
    finally:
        engine.dispose()


def timed(fn):
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


FLOOR = "floor: fastest read + cells as text into a bare SQLite table + commit"
SQLITE = "our import → SQLite (clean, validate, write)"
PG = "our import → PostgreSQL (clean, validate, COPY)"


KINDS = ("appeals", "enterprises", "visits", "assignments", "financing-needs", "bank-products",
         "job-fair")
# Rows per generated file of the other kinds: what a district sends in one go, and more.
KIND_ROWS = {"visits": 50_000, "assignments": 20_000, "financing-needs": 20_000,
             "bank-products": 2_000, "job-fair": 20_000}
BASE_FIRMS = 20_000  # firms on file when the other kinds are imported
CADRES = [f"{a}{b}" for a in "王李张刘陈杨赵黄周吴" for b in ("伟", "芳", "娜", "敏", "静", "强",
                                                      "磊", "军", "洋", "勇", "艳", "杰",
                                                      "涛", "明", "超", "秀英", "华", "平",
                                                      "刚", "桂英")]
CHAMBERS = ["江北区工商联", "大石坝街道商会", "观音桥商会", "江北嘴金融商会"]
BANKS = ["重庆银行", "重庆农村商业银行", "中国工商银行重庆分行", "中国建设银行重庆分行",
         "招商银行重庆分行", "中信银行重庆分行", "重庆三峡银行", "兴业银行重庆分行"]
PURPOSES = ["流动资金周转", "购置设备", "厂房扩建", "研发投入", "原材料采购", "偿还到期贷款"]
POSITIONS = ["普工", "操作工", "销售代表", "会计", "电工", "仓管员", "客服专员", "软件工程师",
             "焊工", "行政文员"]


def _book(path: Path, title: str, header: list[str], rows) -> None:
    """A sheet as streets send it: a title line above the header."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    ws = book.create_sheet("Sheet1")
    ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    book.save(path)


def write_kind(kind: str, path: Path, n: int, firms, rng: random.Random) -> None:
    """n generated rows of `kind` naming `firms` (on file) and CADRES / CHAMBERS."""
    day0 = dt.date.today() - dt.timedelta(days=1)

    def firm():
        return firms[rng.randrange(len(firms))]

    if kind == "visits":
        rows = []
        for i in range(n):
            code, name = firm()
            rows.append([code, name, CADRES[rng.randrange(len(CADRES))],
                         day0 - dt.timedelta(days=rng.randrange(900)),
                         ("实地", "电话", "座谈")[i % 3], f"了解企业经营情况，第{i}次走访。"])
        _book(path, "包联走访记录", ["统一社会信用代码", "企业名称", "走访干部", "走访日期",
                                   "走访方式", "走访情况"], rows)
    elif kind == "assignments":  # one active cadre per firm
        rows = [[code, name, CADRES[i % len(CADRES)],
                 day0 - dt.timedelta(days=rng.randrange(700)), None, "班子包楼宇"]
                for i, (code, name) in enumerate(firms[:n])]
        _book(path, "包联关系", ["统一社会信用代码", "企业名称", "包联干部", "开始日期",
                               "结束日期", "备注"], rows)
    elif kind == "financing-needs":
        rows = []
        for i in range(n):
            code, name = firm()
            rows.append([code, name, rng.choice((50, 100, 300, "500", "约200万元")),
                         f"{PURPOSES[i % len(PURPOSES)]}{i}", rng.choice((6, 12, 24, 36)),
                         rng.choice(("信用", "抵押", "担保", "质押")),
                         rng.choice(("一般", "紧急", "不急")),
                         day0 - dt.timedelta(days=rng.randrange(700)),
                         CHAMBERS[i % len(CHAMBERS)], None])
        _book(path, "融资需求台账", ["统一社会信用代码", "企业名称", "融资需求（万元）",
                                   "资金用途", "融资期限（月）", "担保方式", "紧急程度",
                                   "需求日期", "所属商会", "备注"], rows)
    elif kind == "bank-products":
        rows = [[BANKS[i % len(BANKS)], f"{('税', '贷', '融', '易', '快')[i % 5]}e贷{i}号",
                 f"{rng.choice((10, 50, 100))}-{rng.choice((500, 1000, 3000))}",
                 f"{rng.choice(('3.45', '3.85', '4.2'))}%-{rng.choice(('6', '8.5'))}%",
                 f"{rng.choice((3, 6, 12))}-{rng.choice((24, 36, 60))}",
                 rng.choice(("信用", "抵押、担保", "信用、质押")),
                 rng.choice(("制造业、批发和零售业", "信息传输、软件和信息技术服务业", "")),
                 rng.choice(("小型、微型", "中型、小型、微型")), rng.choice(("是", "否"))]
                for i in range(n)]
        _book(path, "银行产品目录", ["银行", "产品名称", "额度（万元）", "年利率", "期限（月）",
                                   "担保方式", "适用行业", "适用规模", "是否在售"], rows)
    elif kind == "job-fair":
        fairs = [(f"2024年春风行动第{k}场招聘会", dt.date(2024, 1, 1) + dt.timedelta(days=3 * k),
                  STREETS[k % len(STREETS)]) for k in range(100)]
        rows = []
        for i in range(n):
            fair, held, street = fairs[i % len(fairs)]
            code, name = firms[(i // len(fairs)) % len(firms)]  # a firm once per fair
            applied = rng.randrange(5, 80)
            intents = rng.randrange(0, applied)
            checks = rng.randrange(0, intents + 1)
            hired = rng.randrange(0, checks + 1)
            rows.append([fair, held, "江北区人力资源市场", street, code, name,
                         POSITIONS[i % len(POSITIONS)], rng.randrange(1, 30),
                         f"{rng.choice((3, 4, 5))}000-{rng.choice((6, 8, 10))}000", applied,
                         intents, checks, hired, rng.randrange(0, hired + 1)])
        _book(path, "招聘会成效", ["招聘会名称", "举办日期", "举办地点", "组织镇街",
                                 "统一社会信用代码", "企业名称", "岗位名称", "招聘人数",
                                 "薪资（元/月）", "投递简历数", "达成意向人数", "体检人数",
                                 "入职人数", "在岗90天人数"], rows)
    else:
        raise ValueError(kind)


def _copy_db(source: Path, target: Path) -> str:
    import shutil

    for suffix in ("", "-wal", "-shm"):
        if Path(f"{source}{suffix}").exists():
            shutil.copy(f"{source}{suffix}", f"{target}{suffix}")
    return f"sqlite:///{target}"


def cli_import(url: str, kind: str, path: Path) -> tuple[float, dict]:
    """The whole `python -m crm import KIND FILE --json` process, timed from outside."""
    import json
    import subprocess

    env = {**os.environ, "CRM_DATABASE_URL": url}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "crm", "import", kind, str(path), "--json"],
                          cwd=Path(__file__).resolve().parents[1], env=env,
                          capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"crm import {kind} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def naive_import(path: Path, db: Path) -> float:
    """pandas.read_excel(engine="openpyxl") + DataFrame.to_sql into a fresh SQLite file."""
    import sqlite3

    import pandas as pd

    started = time.perf_counter()
    frame = pd.read_excel(path, engine="openpyxl", header=1)
    con = sqlite3.connect(db)
    frame.to_sql("naive", con, index=False)
    con.commit()
    con.close()
    return time.perf_counter() - started


def bench_kinds(args, kinds: list[str]) -> list[str]:
    """Each kind's generated file: the naive way once, then --repeat rounds of the whole
    CLI import process (and the import alone, in this process) into a fresh copy of a
    migrated SQLite database (for the kinds naming firms: BASE_FIRMS firms, CADRES,
    CHAMBERS on file). Returns the table's lines."""
    if not kinds:
        return []
    from sqlalchemy import select

    from crm.models import Chamber, Person, Street

    rng = random.Random(17)
    repeat = max(1, args.repeat)
    lines = []
    with tempfile.TemporaryDirectory(prefix="qifu-bench-kinds-") as tmpdir:
        tmp = Path(tmpdir)
        empty = tmp / "empty.db"
        _prepare(f"sqlite:///{empty}")
        files: dict[str, tuple[Path, int, Path]] = {}  # kind -> (file, rows, database)
        if "enterprises" in kinds:
            path = tmp / "enterprises.xlsx"
            t, _ = timed(lambda: write_enterprise_roster(path, args.roster_rows, rng))
            print(f"generated a {args.roster_rows:,}-row roster × {len(ROSTER_HEADER)} columns "
                  f"({path.stat().st_size / 1e6:.1f} MB) in {t:.1f} s", file=sys.stderr)
            files["enterprises"] = (path, args.roster_rows, empty)
        rest = [k for k in kinds if k != "enterprises"]
        if rest:
            base = tmp / "base.db"
            _copy_db(empty, base)
            roster = tmp / "base-roster.xlsx"
            firms = write_enterprise_roster(roster, BASE_FIRMS, rng)
            _, report = our_import(f"sqlite:///{base}", "enterprises", roster)
            assert report.inserted == BASE_FIRMS, report.summary()
            engine = make_engine(f"sqlite:///{base}")
            with session_factory(engine).begin() as session:
                streets = session.scalars(select(Street.id)).all()
                session.add_all([Person(name=name, kind="cadre", street_id=streets[i % len(
                    streets)]) for i, name in enumerate(CADRES)])
                session.add_all([Chamber(name=name) for name in CHAMBERS])
            engine.dispose()
            for kind in rest:
                path = tmp / f"{kind}.xlsx"
                if kind == "appeals":  # the ledger of the appeals lines above, ours firms
                    n = args.rows
                    write_appeals(path, n, firms[:args.firms], rng)
                else:
                    n = max(10, int(KIND_ROWS[kind] * args.kind_scale))
                    if kind == "assignments":
                        n = min(n, BASE_FIRMS)  # one per firm
                    write_kind(kind, path, n, firms, rng)
                files[kind] = (path, n, base)
        table = []
        for kind, (path, n, db) in files.items():
            naive = None if args.skip_naive else naive_import(path, tmp / f"naive-{kind}.db")
            runs, inner = [], []
            for i in range(repeat):
                runs.append(cli_import(_copy_db(db, tmp / f"{kind}-cli{i}.db"), kind, path))
                inner.append(our_import(_copy_db(db, tmp / f"{kind}-in{i}.db"), kind, path))
            seconds, summary = min(runs, key=lambda run: run[0])
            alone, report = min(inner, key=lambda run: run[0])
            assert summary["rows_read"] == n, summary
            table.append((kind, n, naive, seconds, alone, summary, report.timings))
            print(f"{kind}: {({k: v for k, v in summary.items() if k != 'errors'})}; "
                  f"process runs {' '.join(f'{t:.2f}' for t, _ in runs)}", file=sys.stderr)
    lines.append(f"\nper kind, SQLite, best of {repeat} rounds (naive: read_excel(openpyxl) + "
                 "to_sql, once; ours: the whole `python -m crm import KIND FILE --json` "
                 "process; import alone: the same import in this process)")
    lines.append(f"  {'kind':<16} {'rows':>8} {'naive s':>8} {'ours s':>8} {'ratio':>7} "
                 f"{'import alone s':>15}")
    for kind, n, naive, seconds, alone, _, _ in table:
        ratio = f"{naive / seconds:6.1f}×" if naive else "      -"
        naive_s = f"{naive:8.2f}" if naive else "       -"
        lines.append(f"  {kind:<16} {n:>8,} {naive_s} {seconds:8.2f} {ratio} {alone:15.2f}")
    for kind, _, naive, seconds, _, summary, timings in table:
        if summary["rejected"]:
            lines.append(f"  ({kind}: {summary['rejected']:,} rows refused, on purpose)")
        if kind == "enterprises":
            if naive:
                lines.append(f"\n  enterprise roster: naive ÷ whole import process: "
                             f"{naive / seconds:.1f}×  (target ≥ 8×)")
            lines.append("  where the enterprise import's time goes (s, in this process): "
                         + ", ".join(f"{k} {v:.2f}" for k, v in timings.items() if v >= 0.05))
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default="all", metavar="K1,K2",
                        help="which imports to time, comma-separated: "
                             f"{', '.join(KINDS)} (default all)")
    parser.add_argument("--rows", type=int, default=100_000, help="appeal ledger rows")
    parser.add_argument("--firms", type=int, default=5_000, help="firms the ledger names")
    parser.add_argument("--roster-rows", type=int, default=100_000,
                        help="rows of the enterprise roster")
    parser.add_argument("--kind-scale", type=float, default=1.0, metavar="F",
                        help="scale the other kinds' file sizes (KIND_ROWS) by F")
    parser.add_argument("--pg-url", default=os.environ.get(
        "CRM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--skip-naive", action="store_true", help="leave out the naive runs")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--repeat", type=int, default=3, metavar="N",
                        help="rounds: each reader and each import is timed once per round, "
                             "in the same order, and the best run kept (the machine's speed "
                             "swings; the naive run is timed once)")
    parser.add_argument("--workbook", type=Path, metavar="PATH",
                        help="reuse this generated ledger if it exists (else write it there)")
    args = parser.parse_args()
    kinds = KINDS if args.kinds == "all" else tuple(k.strip() for k in args.kinds.split(","))
    unknown = [k for k in kinds if k not in KINDS]
    if unknown:
        parser.error(f"unknown kind(s): {', '.join(unknown)}; known: {', '.join(KINDS)}")
    lines = bench_kinds(args, [k for k in KINDS if k in kinds])
    if "appeals" in kinds:
        bench_appeals(args)
    if lines:
        print("\n".join(lines))


def bench_appeals(args) -> None:
    rng = random.Random(7)
    results: list[tuple[str, float]] = []
    spread: dict[str, list[float]] = {}  # every run of a repeated measurement
    repeat = max(1, args.repeat)

    def best(label: str, runs: list[tuple[float, object]]):
        """Keep the fastest of the runs (min, as timeit does); return its result."""
        spread[label] = [t for t, _ in runs]
        t, result = min(runs, key=lambda run: run[0])
        results.append((label, t))
        return t, result
    with tempfile.TemporaryDirectory(prefix="qifu-bench-") as tmpdir:
        tmp = Path(tmpdir)
        firms = make_firms(args.firms, rng)
        roster, ledger = tmp / "roster.xlsx", args.workbook or tmp / "appeals.xlsx"
        write_roster(roster, firms)
        t = 0.0
        if not ledger.exists():
            t, _ = timed(lambda: write_appeals(ledger, args.rows, firms, rng))
        print(f"generated {args.rows:,} appeals × {len(HEADER)} columns "
              f"({ledger.stat().st_size / 1e6:.1f} MB) in {t:.1f} s", file=sys.stderr)

        if not args.skip_naive:
            import sqlite3

            import pandas as pd

            t_read, frame = timed(lambda: pd.read_excel(ledger, engine="openpyxl", header=1))
            con = sqlite3.connect(tmp / "naive.db")
            t_write, _ = timed(lambda: frame.to_sql("appeals", con, index=False))
            con.commit()
            con.close()
            results += [("naive read: pandas.read_excel(openpyxl)", t_read),
                        ("naive total: read_excel + to_sql (SQLite)", t_read + t_write)]
            del frame

        import sqlite3

        import fastexcel
        import pyarrow as pa

        from crm.bulk import sqlite_insert_columns
        from etl.engine import _data_rows
        from etl.readers import open_table

        # Every measurement below runs once per round, in this order, for --repeat
        # rounds: the machine's slow and fast spells fall on all of them alike, and the
        # best run of each is kept.
        measures: list[tuple[str, object]] = []
        readers: list[str] = []

        def reader(label: str, fn) -> None:
            readers.append(label)
            measures.append((label, lambda _: timed(fn)))

        reader("fastexcel read (to_arrow)", lambda: fastexcel.read_excel(str(ledger))
               .load_sheet("诉求台账", header_row=1).to_arrow())
        try:
            from python_calamine import CalamineWorkbook
        except ImportError:  # requirements-dev.txt pins it: a reference reader only
            CalamineWorkbook = None  # noqa: N806
        if CalamineWorkbook is not None:
            reader("python-calamine read (to_python)", lambda: CalamineWorkbook.from_path(
                str(ledger)).get_sheet_by_name("诉求台账").to_python())
        try:
            import polars
        except ImportError:
            polars = None
        if polars is not None:
            reader("polars.read_excel", lambda: polars.read_excel(
                ledger, sheet_name="诉求台账", read_options={"header_row": 1}))

        # A floor for any import from Python into SQLite: the fastest read, the cells as
        # they come (text, no cleaning, no checks) into a bare table (no constraints, no
        # index) by the importer's own bulk insert, and the commit.
        def floor(i: int):
            def run() -> None:
                table = fastexcel.read_excel(str(ledger)).load_sheet(
                    "诉求台账", header_row=1, dtypes="string").to_arrow()
                con = sqlite3.connect(tmp / f"floor{i}.db", isolation_level=None)
                con.execute("PRAGMA journal_mode=WAL")
                con.execute("PRAGMA synchronous=NORMAL")
                names = [f"c{k}" for k in range(table.num_columns)]
                con.execute(f"CREATE TABLE bare ({', '.join(names)})")
                con.execute("BEGIN")
                sqlite_insert_columns(con, "bare", names,
                                      [column.to_pylist() for column in table.columns])
                con.execute("COMMIT")
                con.close()
            return timed(run)

        measures.append((FLOOR, floor))
        measures.append(("our read: etl.readers (every cell, as Arrow text)",
                         lambda _: (timed(lambda: open_table(ledger))[0], None)))

        def data_rows(_):
            # The sheet with column A emptied: every data row's first cell is blank, so
            # each is checked for a footer or a repeated header (etl.engine._data_rows).
            sheet = open_table(ledger)
            header = sheet.rows_at([1])[0]
            sheet.columns[0] = pa.nulls(sheet.height, pa.string())
            t, kept = timed(lambda: _data_rows(sheet, 2, ["", *header[1:]]))
            assert len(kept) == args.rows, len(kept)
            return t, None

        measures.append(("finding the data rows, column A empty (every row checked)",
                         data_rows))

        def sqlite_import(i: int):  # into a fresh database holding the roster
            url = fresh_sqlite(tmp, f"qifu{i}.db")
            our_import(url, "enterprises", roster)
            t, report = our_import(url, "appeals", ledger)
            t_again, again = our_import(url, "appeals", ledger)
            return t, (report, (t_again, again))

        measures.append((SQLITE, sqlite_import))

        def unknown_firms_import(i: int):
            # The ledger before the roster: each firm it names is created unconfirmed
            # (one note each) through the row planner, its rows with it.
            return our_import(fresh_sqlite(tmp, f"no-firms{i}.db"), "appeals", ledger)

        measures.append((NO_FIRMS, unknown_firms_import))
        if not args.skip_pg:
            import psycopg

            from tests.conftest import _sa_url  # the test suite's URL helper

            def pg_import(_):  # into a fresh database holding the roster
                admin = psycopg.connect(args.pg_url, autocommit=True)
                name = f"qifu_bench_{uuid.uuid4().hex[:8]}"
                admin.execute(f'CREATE DATABASE "{name}"')
                try:
                    url = _sa_url(name) if args.pg_url == os.environ.get(
                        "CRM_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test") \
                        else "postgresql+psycopg://" \
                        + args.pg_url.split("://", 1)[1].rsplit("/", 1)[0] + f"/{name}"
                    _prepare(url)
                    our_import(url, "enterprises", roster)
                    return our_import(url, "appeals", ledger)
                finally:
                    admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    admin.close()

            measures.append((PG, pg_import))

        rounds: dict[str, list] = {label: [] for label, _ in measures}
        for i in range(repeat):
            for label, fn in measures:
                rounds[label].append(fn(i))
            print(f"round {i + 1} of {repeat} done", file=sys.stderr)
        best_of = {label: best(label, runs) for label, runs in rounds.items()}
        fastest_label = min(readers, key=lambda label: best_of[label][0])
        fastest = best_of[fastest_label][0]
        report, _ = best_of[SQLITE][1]
        _, again = best("our re-import → SQLite (all unchanged)",
                        [result[1] for _, result in rounds[SQLITE]])
        summary = {k: v for k, v in report.summary().items() if k != "errors"}
        print(f"SQLite import: {summary}", file=sys.stderr)
        print(f"re-import: unchanged {again.unchanged:,}, inserted {again.inserted}, "
              f"updated {again.updated}", file=sys.stderr)
        unknown = best_of[NO_FIRMS][1]
        print(f"no firms on file: inserted {unknown.inserted:,}, rejected "
              f"{unknown.rejected:,}, notes {len(unknown.warnings):,}", file=sys.stderr)
        phases = {"SQLite": report.timings}
        if PG in best_of:
            phases["PostgreSQL"] = best_of[PG][1].timings

    width = max(len(label) for label, _ in results)
    print(f"\n{args.rows:,} rows × {len(HEADER)} columns")
    for label, seconds in results:
        runs = spread.get(label, [])
        also = f"   (runs: {' '.join(f'{t:.2f}' for t in runs)})" if len(runs) > 1 else ""
        print(f"  {label:<{width}}  {seconds:7.2f} s{also}")
    times = dict(results)
    ours = [v for k, v in times.items() if k.startswith("our import")]
    naive = times.get("naive total: read_excel + to_sql (SQLite)")
    print(f"\n  fastest plain reader measured: {fastest_label.split(' (')[0]}, {fastest:.2f} s")
    for k, v in times.items():
        if k.startswith("our import"):
            if naive:
                print(f"  naive total ÷ {k.split(' (')[0]}: {naive / v:5.1f}×  (needs ≥ 10×)")
            print(f"  {k.split(' (')[0]} ÷ fastest plain read: {v / fastest:5.2f}×  "
                  "(needs ≤ 3×)")
    floor_t = times.get(FLOOR)
    if floor_t:
        print(f"  floor ÷ fastest plain read: {floor_t / fastest:5.2f}×  (what is left of the 3× "
              "for cleaning, checks, indexes, KPI and provenance)")
    if not ours:
        print("no import timed")
        return
    print(f"\n  best of {repeat} rounds (each round times every reader and import once, in "
          "turn); the naive way timed once")
    print("\n  where the import's time goes, in its best run (s; driver: = time inside "
          "the database driver):")
    for backend, timings in phases.items():
        print(f"  {backend}: " + ", ".join(f"{k} {v:.2f}" for k, v in timings.items()
                                          if v >= 0.05))


if __name__ == "__main__":
    main()
