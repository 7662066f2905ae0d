"""`python -m crm …`: a thin command line over the services (and etl.app for import/export).

Each command opens the database, calls one service in one transaction, and
turns a domain error into a one-line message and a non-zero exit code.
"""

from __future__ import annotations

import argparse
import gc
import getpass
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from crm.db import make_engine, session_factory
from crm.errors import CrmError

EXIT_ERROR = 2


def _progress_printer(unit: str = "row") -> Callable[[str, int, int], None]:
    """A tqdm bar per stage; quiet when stderr is not a terminal except at stage ends."""
    from tqdm import tqdm

    bars: dict[str, tqdm] = {}

    def report(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[stage] = tqdm(total=total, desc=stage, unit=unit, file=sys.stderr,
                                     dynamic_ncols=True, mininterval=0.5)
        bar.total = total
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    return report


def cmd_init_db(args) -> int:
    from crm import migrate  # alembic: a third of the CLI's start-up, imported when used
    from crm.services.reference import init_reference_data

    engine = make_engine()
    before = migrate.current_revision(engine)
    migrate.upgrade(engine)
    with session_factory(engine).begin() as session:
        added = init_reference_data(session)
    after = migrate.current_revision(engine)
    moved = f"{before or 'empty'} → {after}" if before != after else f"at {after}"
    print(f"schema {moved}; reference rows added: "
          + (", ".join(f"{k} {v}" for k, v in sorted(added.items())) or "none (already loaded)"))
    return 0


def cmd_seed_demo(args) -> int:
    from crm import migrate
    from crm.demo import seed_demo
    from crm.services.enterprises import any_registered

    engine = make_engine()
    if not migrate.is_up_to_date(engine):
        print("the database is not migrated: run `python -m crm init-db` first", file=sys.stderr)
        return EXIT_ERROR
    if args.if_empty:
        with session_factory(engine)() as session:
            if any_registered(session):
                print("database already has enterprises; demo data not added")
                return 0
    started = time.perf_counter()
    counts = seed_demo(engine, enterprises=args.enterprises, appeals=args.appeals, seed=args.seed,
                       progress=None if args.quiet else _progress_printer())
    elapsed = time.perf_counter() - started
    print(f"demo data added in {elapsed:.1f} s: "
          + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def cmd_demo_logins(args) -> int:
    from crm.demo import DEMO_PASSWORD
    from crm.services.users import list_users

    with session_factory(make_engine())() as session:
        users = list_users(session, actor=args.actor)
    print(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for u in users:
        scope = u["street"] or u["unit"] or u["chamber"] or ""
        print(f"  {u['username']:<16} {u['role']:<11} {scope}")
    return 0


def _read_password(args, confirm: bool = True) -> str | None:
    if args.password is not None:
        return args.password
    if not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        return line or None
    first = getpass.getpass("Password: ")
    if not first:
        return None
    if confirm and getpass.getpass("Again: ") != first:
        raise CrmError("the two passwords differ")
    return first


def cmd_users_add(args) -> int:
    from crm.services.users import add_user

    password = _read_password(args)
    with session_factory(make_engine()).begin() as session:
        user = add_user(session, args.name, role=args.role, display_name=args.display_name,
                        street=args.street, unit=args.unit, chamber=args.chamber,
                        password=password, actor=args.actor)
        print(f"user {user.username} ({user.role}) added"
              + ("" if password else "; no password yet: run `users set-password`"))
    return 0


def cmd_users_list(args) -> int:
    from crm.services.users import list_users

    with session_factory(make_engine())() as session:
        users = list_users(session, actor=args.actor)
    if args.json:
        print(json.dumps(users, ensure_ascii=False, indent=1))
        return 0
    for u in users:
        scope = u["street"] or u["unit"] or u["chamber"] or "-"
        flags = "" if u["has_password"] else " (no password)"
        flags += "" if u["active"] else " (inactive)"
        print(f"{u['username']:<16} {u['role']:<11} {scope}{flags}")
    return 0


def cmd_users_set_password(args) -> int:
    from crm.services.users import set_password

    password = _read_password(args)
    if not password:
        raise CrmError("no password given")
    with session_factory(make_engine()).begin() as session:
        set_password(session, args.name, password, actor=args.actor)
    print(f"password of {args.name} set")
    return 0


def cmd_users_set_role(args) -> int:
    from crm.services.users import set_role

    with session_factory(make_engine()).begin() as session:
        user = set_role(session, args.name, role=args.role, street=args.street, unit=args.unit,
                        chamber=args.chamber, actor=args.actor)
        scope = ", ".join(f"{k} {v}" for k, v in (("street", args.street), ("unit", args.unit),
                                                  ("chamber", args.chamber)) if v)
        print(f"user {user.username} is now {user.role}" + (f" ({scope})" if scope else ""))
    return 0


def cmd_users_deactivate(args) -> int:
    from crm.services.users import deactivate_user

    with session_factory(make_engine()).begin() as session:
        deactivate_user(session, args.name, actor=args.actor)
    print(f"user {args.name} deactivated; their sessions have ended")
    return 0


def cmd_users_activate(args) -> int:
    from crm.services.users import activate_user

    with session_factory(make_engine()).begin() as session:
        activate_user(session, args.name, actor=args.actor)
    print(f"user {args.name} activated")
    return 0


def cmd_users_unlock(args) -> int:
    from crm.services.users import unlock_user

    with session_factory(make_engine()).begin() as session:
        cleared = unlock_user(session, args.name, actor=args.actor)
    print(f"user {args.name} unlocked ({cleared} failed logins cleared)")
    return 0


def _iso_date(raw: str | None):
    import datetime as dt

    if raw is None:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise CrmError(f"not a date (YYYY-MM-DD): {raw!r}") from None


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def cmd_kpi(args) -> int:
    from crm.services import kpi
    from crm.services.lookup import find_street

    window = {"date_from": _iso_date(args.date_from), "date_to": _iso_date(args.date_to),
              "as_of": _iso_date(args.as_of)}
    with session_factory(make_engine())() as session:
        window["street_id"] = find_street(session, args.street).id if args.street else None
        result = kpi.compute(session, **window)
        streets = kpi.by_street(session, **window)
    result["by_street"] = [{"street": row["street"], **{k: row[k] for k in kpi.KEYS}}
                           for row in streets]
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    for key in kpi.KEYS:
        print(f"{key:<22} {_fmt(result[key])}")
    columns = ("total", "replied", "open", "on_time", "satisf", "resol", "resp", "score",
               "overdue", "median", "p90")
    print()
    print(f"{'rank':>4}  {'street':<10} " + " ".join(f"{c:>8}" for c in columns))
    for row, raw in zip(result["by_street"], streets, strict=True):
        rank = raw["rank"] if raw["rank"] is not None else "-"
        print(f"{rank:>4}  {row['street']:<10} "
              + " ".join(f"{_fmt(row[k]):>8}" for k in kpi.KEYS))
    return 0


def cmd_financing_match(args) -> int:
    from crm.services.financing import match_needs

    if args.top is not None and args.top < 1:
        raise CrmError("--top must be at least 1")
    with session_factory(make_engine())() as session:
        needs = match_needs(session, actor=args.actor, need_id=args.need, chamber=args.chamber,
                            top=args.top, lang=args.lang)
    if args.json:
        # one string (json's C encoder), not json.dump's chunk-by-chunk Python encoder
        sys.stdout.write(json.dumps({"needs": needs}, ensure_ascii=False,
                                    separators=(",", ":")) + "\n")
        return 0
    for need in needs:
        print(f"#{need['need_id']} {need['firm']} ({need['uscc']}) {need['amount']:g} 万元"
              f" term {_fmt(need['term_months'])} collateral {_fmt(need['collateral'])}")
        if not need["matches"]:
            print("    (no product passes the filters)")
        for m in need["matches"]:
            print(f"    {m['score']:6.2f}  {m['bank']} · {m['product']}"
                  f" (product {m['product_id']}): {'；'.join(m['reasons'])}")
    print(f"{len(needs)} open needs")
    return 0


def cmd_kpi_rollups(args) -> int:
    import time

    from crm.services import kpi_facts

    engine = make_engine()
    if args.check:
        with session_factory(engine)() as session:
            problems = kpi_facts.differences(session)
        for line in problems[:20]:
            print(line)
        print(f"{len(problems)} cells differ" if problems else "KPI rollups match the appeals")
        return 1 if problems else 0
    if args.fold:
        started = time.perf_counter()
        with session_factory(engine).begin() as session:
            moved = kpi_facts.fold(session)
        print(f"folded {moved:,} pending KPI deltas in {time.perf_counter() - started:.2f} s")
        return 0
    started = time.perf_counter()
    with session_factory(engine).begin() as session:
        counts = kpi_facts.rebuild(session)
    print("rebuilt " + ", ".join(f"{k} {v:,} rows" for k, v in counts.items())
          + f" in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_escalate(args) -> int:
    from crm import migrate
    from crm.services.escalation import escalate

    engine = make_engine()
    if not migrate.is_up_to_date(engine):
        print("the database is not migrated: run `python -m crm init-db` first", file=sys.stderr)
        return EXIT_ERROR
    as_of = _iso_date(args.as_of)
    started = time.perf_counter()
    with session_factory(engine).begin() as session:
        result = escalate(session, actor=args.actor, as_of=as_of,
                          progress=None if args.quiet or args.json else _progress_printer())
    result["seconds"] = round(time.perf_counter() - started, 2)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
        return 0
    print(f"as of {result['as_of']}: {result['remind']} reminders (催办), "
          f"{result['supervise']} flagged for supervision (督办), "
          f"{result['events']} timeline events, {result['notifications']} notifications "
          f"in {result['seconds']:.1f} s")
    return 0


def cmd_import(args) -> int:
    from etl.app import errors_bytes, import_file

    if not Path(args.file).is_file():
        print(f"error: cannot read {args.file}: no such file", file=sys.stderr)
        return EXIT_ERROR
    engine = make_engine()
    # A process of its own: hundreds of thousands of small objects and no cycles, so the
    # collector only costs here (the engine leaves it alone: the app shares its process).
    gc.freeze()
    gc.disable()
    try:
        with session_factory(engine).begin() as session:
            report = import_file(session, Path(args.file), args.kind, sheet=args.sheet,
                                 strict=args.strict, dry_run=args.dry_run, actor=args.actor)
    finally:
        gc.enable()
        gc.unfreeze()
    if args.errors_out:
        Path(args.errors_out).write_bytes(errors_bytes(report))
    if args.json:
        print(json.dumps(report.summary(), ensure_ascii=False, default=str))
        if report.warnings:
            print(f"{len(report.warnings)} warning(s); see --errors-out for the list",
                  file=sys.stderr)
        return 0
    what = "checked (dry run, nothing written)" if report.dry_run else (
        "not written (strict mode: rejected rows)" if not report.written else
        f"imported as batch {report.batch_id}")
    print(f"{args.kind}: {report.filename} sheet {report.sheet or '-'}, header on row "
          f"{report.header_row}; {what} in {report.seconds:.1f} s")
    print(f"rows {report.rows_read}: inserted {report.inserted}, updated {report.updated}, "
          f"unchanged {report.unchanged}, rejected {report.rejected}, "
          f"warnings {len(report.warnings)}")
    if report.mapping and report.mapping.unmapped:
        print("columns not imported: " + ", ".join(report.mapping.unmapped))
    for issue in report.errors[:args.show]:
        print(f"  row {issue.row} [{issue.column}] {issue.value!r}: {issue.message()}")
    if len(report.errors) > args.show:
        print(f"  … {len(report.errors) - args.show} more (use --errors-out or --json)")
    return 0


def cmd_export(args) -> int:
    from etl.app import export_file

    with session_factory(make_engine())() as session:
        count = export_file(session, args.kind, args.file)
    print(f"{count} {args.kind} row(s) written to {args.file}")
    return 0


def cmd_jobfair_report(args) -> int:
    from crm.services import jobfair_report

    as_of = _iso_date(args.as_of)
    with session_factory(make_engine())() as session:
        rows = jobfair_report.report(session, actor=args.actor, fair_name=args.fair, as_of=as_of)
    fairs = [{key: row[key] for key in jobfair_report.REPORT_KEYS} for row in rows]
    for fair in fairs:
        fair["held_on"] = fair["held_on"].isoformat()
    if args.json:
        print(json.dumps({"fairs": fairs}, ensure_ascii=False))
        return 0
    if not fairs:
        print("no job fairs" + (f" named {args.fair}" if args.fair else ""))
        return 0
    columns = jobfair_report.REPORT_KEYS[3:]
    print(f"{'held_on':<10}  " + " ".join(f"{c[:9]:>9}" for c in columns) + "  fair")
    for fair in fairs:
        print(f"{fair['held_on']:<10}  " + " ".join(f"{_fmt(fair[c]):>9}" for c in columns)
              + f"  {fair['fair']}")
    return 0


def cmd_odoo_sync(args) -> int:
    from crm.services.odoo_admin import run_now

    # The run commits in batches through its own sessions; this one reads the settings.
    with session_factory(make_engine())() as session:
        result = run_now(session, actor=args.actor, only=args.only, dry_run=args.dry_run,
                         progress=None if args.quiet else _progress_printer())
    s = result.summary
    print(f"odoo sync run {result.run_id} {result.status}"
          + (" (dry run: nothing written)" if result.dry_run else "")
          + f": created {s['created']}, updated {s['updated']}, unchanged {s['unchanged']}, "
          f"conflicts {s['conflicts']}, errors {s['errors']}")
    for issue in result.issues[:args.show]:
        where = " ".join(f"{k} {issue[k]}" for k in ("local_id", "remote_id") if issue[k])
        print(f"  {issue['kind']}: {issue['entity']} {where}: {issue['message']}")
    if len(result.issues) > args.show:
        print(f"  … {len(result.issues) - args.show} more (see the Odoo page)")
    return 0 if result.status == "ok" else 1


def cmd_backup(args) -> int:
    from crm import backup
    from crm.config import database_url

    started = time.perf_counter()
    out = backup.backup(database_url(), args.file,
                        progress=None if args.quiet else _progress_printer("page/table"))
    size = out.path.stat().st_size
    print(f"backup of the {out.backend} database at schema revision {out.revision} written to "
          f"{out.path} ({size / 1e6:.1f} MB) in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_restore(args) -> int:
    from crm import backup
    from crm.config import database_url

    started = time.perf_counter()
    out = backup.restore(database_url(), args.file, force=args.force, actor=args.actor,
                         progress=None if args.quiet else _progress_printer("page/table"))
    migrated = f"; migrated up from {out.migrated_from}" if out.migrated_from else ""
    print(f"restored {args.file} (schema revision {out.revision}) into the {out.backend} "
          f"database{' (replaced)' if out.replaced else ''}{migrated} in "
          f"{time.perf_counter() - started:.1f} s")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from crm.services.vocab import IMPORT_KINDS, ROLES

    parser = argparse.ArgumentParser(
        prog="python -m crm",
        description="Qifu (企服) enterprise-services CRM. The database is CRM_DATABASE_URL "
                    "(default: SQLite under data/).")
    parser.add_argument("--as", dest="as_user", metavar="USERNAME",
                        help="act as this login (with its rights); the audit log names it. "
                             "Default: the operator, recorded as os:<OS user>")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init-db", help="migrate to the latest schema and load reference data",
                       description="Migrate the schema to head, then load the district's "
                                   "streets, communities, categories, units and settings. "
                                   "Running it again changes nothing.")
    p.set_defaults(func=cmd_init_db)

    p = sub.add_parser("seed-demo", help="add demo firms, users and activity",
                       description="Add deterministic demo data on top of the reference data.")
    p.add_argument("--enterprises", type=int, default=2000, metavar="N",
                   help="number of firms (default 2000)")
    p.add_argument("--appeals", type=int, default=10000, metavar="N",
                   help="number of appeals (default 10000)")
    p.add_argument("--seed", type=int, default=42, metavar="S", help="random seed (default 42)")
    p.add_argument("--if-empty", action="store_true",
                   help="do nothing when the database already has firms")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_seed_demo)

    p = sub.add_parser("demo-logins", help="print the demo usernames and their password")
    p.set_defaults(func=cmd_demo_logins)

    users = sub.add_parser("users", help="manage logins",
                           description="Add and list logins; set passwords; change a "
                                       "login's role and scope; deactivate, activate, unlock.")
    usub = users.add_subparsers(dest="users_command", required=True, metavar="ACTION")
    p = usub.add_parser("add", help="add a login with a role and scope",
                        description="Add a login. The password is read from --password, "
                                    "else prompted (or one line of stdin when not a terminal); "
                                    "without one the user cannot log in until set-password.")
    p.add_argument("name", help="username")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--street", help="street/town, e.g. 江北城街道 or 江北城 (liaison, cadre)")
    p.add_argument("--unit", help="handling unit, e.g. 区交巡警支队 (handler)")
    p.add_argument("--chamber", help="chamber of commerce (chamber)")
    p.add_argument("--display-name", help="name shown in the app (default: the username)")
    p.add_argument("--password", help="initial password (avoid on shared machines)")
    p.set_defaults(func=cmd_users_add)
    p = usub.add_parser("list", help="list logins")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_users_list)
    p = usub.add_parser("set-password", help="set a login's password",
                        description="Set a password (prompted, or one line of stdin).")
    p.add_argument("name")
    p.add_argument("--password", help="the new password (avoid on shared machines)")
    p.set_defaults(func=cmd_users_set_password)
    p = usub.add_parser("set-role", help="change a login's role and scope",
                        description="Set the role and exactly the scope given (a liaison or "
                                    "cadre needs --street, a handler --unit, a chamber "
                                    "--chamber). Open sessions follow at their next request.")
    p.add_argument("name")
    p.add_argument("--role", required=True, choices=ROLES)
    p.add_argument("--street", help="street/town, e.g. 江北城街道 or 江北城")
    p.add_argument("--unit", help="handling unit, e.g. 区交巡警支队")
    p.add_argument("--chamber", help="chamber of commerce")
    p.set_defaults(func=cmd_users_set_role)
    p = usub.add_parser("deactivate", help="stop a login; its open sessions end",
                        description="The login can no longer sign in and its open sessions "
                                    "end now. The last active admin cannot be deactivated.")
    p.add_argument("name")
    p.set_defaults(func=cmd_users_deactivate)
    p = usub.add_parser("activate", help="let a deactivated login sign in again")
    p.add_argument("name")
    p.set_defaults(func=cmd_users_activate)
    p = usub.add_parser("unlock", help="forget a login's failed attempts",
                        description="Clear the failed logins recorded for the username from "
                                    "every address, so a locked login may try again now.")
    p.add_argument("name")
    p.set_defaults(func=cmd_users_unlock)

    p = sub.add_parser("kpi-rollups", help="rebuild (or --check) the KPI rollup tables",
                       description="The KPI pages read per-day rollups of the appeals, kept "
                                   "current on every write through the app. After editing "
                                   "appeals outside it (SQL by hand, another tool), rebuild "
                                   "them; --check compares them with the appeals and exits 1 "
                                   "when they differ.")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--check", action="store_true", help="compare only; change nothing")
    how.add_argument("--fold", action="store_true",
                     help="add the writers' pending deltas into the rollups now (a KPI read "
                          "does it too; run it from cron where writes are many and reads few)")
    p.set_defaults(func=cmd_kpi_rollups)

    p = sub.add_parser("kpi", help="KPI rates for a period, district-wide and by street",
                       description="Closed-on-time, satisfaction, resolution and response "
                                   "rates, composite score, overdue and days to reply over "
                                   "appeals received in the period (dates inclusive), with "
                                   "every street ranked by composite score.")
    p.add_argument("--from", dest="date_from", metavar="DATE",
                   help="first received date, YYYY-MM-DD (default: unbounded)")
    p.add_argument("--to", dest="date_to", metavar="DATE",
                   help="last received date, YYYY-MM-DD (default: unbounded)")
    p.add_argument("--as-of", dest="as_of", metavar="DATE",
                   help="date overdue is judged against (default: today)")
    p.add_argument("--street", help="only this street/town, e.g. 江北城街道 or 江北城")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_kpi)

    jobfair = sub.add_parser("jobfair", help="job fairs (春风行动)",
                             description="Job fair reports.")
    jsub = jobfair.add_subparsers(dest="jobfair_command", required=True, metavar="ACTION")
    p = jsub.add_parser("report", help="each fair's firms, positions, funnel and fill rate",
                        description="Per fair: firms, positions, headcount, the funnel "
                                    "(applicants, intents, medical checks, hired, still "
                                    "employed after 90 days) as of a date, and the fill rate "
                                    "(hired / headcount, a fraction; null without headcount). "
                                    "Counts run over the fair's stored positions; retention "
                                    "is null until 90 days after the fair.")
    p.add_argument("--fair", metavar="NAME", help="only the fair(s) of this name")
    p.add_argument("--as-of", dest="as_of", metavar="DATE",
                   help="the funnel as it stood on this day, YYYY-MM-DD (default: today)")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object: {"fairs": [{fair, held_on, street, firms, '
                        'positions, headcount, applicants, intents, medical_checks, hired, '
                        'retained_90d, fill_rate}]}')
    p.set_defaults(func=cmd_jobfair_report)

    p = sub.add_parser("import", help="import a spreadsheet (.xlsx, .xls, .csv)",
                       description="Import one sheet in one transaction: the header row is "
                                   "found below title lines, columns are mapped by synonym, "
                                   "values cleaned; valid rows are inserted or updated by "
                                   "their natural key (re-importing changes nothing), bad "
                                   "rows are reported with row number, column and reason. "
                                   "Exit 0 when the file was processed, 2 when it could "
                                   "not be read.")
    p.add_argument("kind", choices=IMPORT_KINDS)
    p.add_argument("file", help="the .xlsx, .xls or .csv file")
    p.add_argument("--sheet", metavar="NAME", help="sheet name (default: the first non-empty)")
    p.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
    p.add_argument("--strict", action="store_true",
                   help="write nothing unless every row is valid")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: kind, rows_read, inserted, updated, "
                        "unchanged, rejected, errors [{row, column, value, message}]")
    p.add_argument("--errors-out", metavar="FILE.xlsx",
                   help="write the rejected rows with reasons (and warnings) to this workbook")
    p.add_argument("--show", type=int, default=20, metavar="N",
                   help="rejected rows to print without --json (default 20)")
    p.set_defaults(func=cmd_import)

    financing = sub.add_parser("financing", help="chamber financing (银企对接)",
                               description="Chamber financing: needs matched to bank products.")
    fsub = financing.add_subparsers(dest="financing_command", required=True)
    p = fsub.add_parser("match", help="rank bank products for open financing needs",
                        description="Each open need (or the one named) with the products that "
                                    "pass its hard filters, best first, and the reasons.")
    p.add_argument("--need", type=int, metavar="ID", help="one need, by its id")
    p.add_argument("--chamber", metavar="NAME",
                   help="needs of this chamber's member firms and those raised through it")
    p.add_argument("--top", type=int, metavar="N", help="at most N products per need")
    p.add_argument("--json", action="store_true", help='print {"needs": [...]} as JSON')
    p.add_argument("--lang", choices=("zh", "en"), default="zh", help="language of the reasons")
    p.set_defaults(func=cmd_financing_match)

    odoo = sub.add_parser("odoo", help="Odoo sync (firms ↔ res.partner, appeals → tickets)",
                          description="Sync with the Odoo named by CRM_ODOO_* (or the Odoo "
                                      "page's settings).")
    osub = odoo.add_subparsers(dest="odoo_command", required=True, metavar="ACTION")
    p = osub.add_parser("sync", help="sync firms and appeals with Odoo, safe to re-run",
                        description="Firms both ways with res.partner (matched by USCC), "
                                    "appeals to helpdesk.ticket (else crm.lead or project."
                                    "task) with Odoo's stage and replies back on the "
                                    "timeline. Prints a summary: created, updated, "
                                    "unchanged, conflicts, errors, then the issues. Exit 0 "
                                    "when the run finished (conflicts are listed, not "
                                    "failures), 1 when some records were refused, 2 with a "
                                    "one-line message when it stopped (wrong password, Odoo "
                                    "unreachable or too slow, a batch refused).")
    p.add_argument("--dry-run", action="store_true",
                   help="count what would change; write nothing on either side")
    p.add_argument("--only", choices=("firms", "appeals"), help="sync only firms or appeals")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--show", type=int, default=20, metavar="N",
                   help="issues to print (default 20)")
    p.set_defaults(func=cmd_odoo_sync)

    p = sub.add_parser("escalate", help="send due-date reminders (催办) and flag overdue "
                                        "appeals for supervision (督办)",
                       description="Remind the lead unit of every open appeal due within "
                                   "`escalation.remind_days_before` days and flag for the "
                                   "officials every appeal overdue by at least "
                                   "`escalation.supervise_overdue_days` days: timeline events "
                                   "and notifications. Safe to re-run: an appeal is reminded "
                                   "and flagged once per due date. Run it daily from cron.")
    p.add_argument("--as-of", dest="as_of", metavar="DATE",
                   help="the day to judge due dates by (YYYY-MM-DD; default today)")
    p.add_argument("--json", action="store_true", help="print the counts as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_escalate)

    p = sub.add_parser("export", help="export a kind to .xlsx or .csv with the import headers",
                       description="Write every record of KIND with the headers the importer "
                                   "reads, so importing the file again reports every row "
                                   "unchanged. The format follows the file name.")
    p.add_argument("kind", choices=IMPORT_KINDS)
    p.add_argument("file", help="target .xlsx or .csv")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("backup", help="write a consistent backup of the whole database",
                       description="SQLite: the online backup API (safe while the app runs); "
                                   "PostgreSQL: pg_dump in custom format (a client at least "
                                   "as new as the server). The schema revision travels in "
                                   "the file.")
    p.add_argument("file", help="the backup file to write")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_backup)

    p = sub.add_parser("restore", help="replace the database with a backup",
                       description="Restore into a new file or database, migrate it up when "
                                   "the backup is older than the code, then swap it in: never "
                                   "half-restored. Refuses (exit 2) a backup from a newer "
                                   "schema, and a non-empty database without --force. Stop "
                                   "the app first.")
    p.add_argument("file", help="a file written by `backup`")
    p.add_argument("--force", action="store_true",
                   help="replace a database that holds data")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_restore)
    return parser


def _actor(as_user: str | None):
    """Who the commands act as (crm.services.audit.resolve_command_line_actor)."""
    from crm.services.audit import resolve_command_line_actor

    return resolve_command_line_actor(as_user)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.actor = _actor(args.as_user)
        return args.func(args)
    except CrmError as err:
        print(f"error: {err.message or err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
