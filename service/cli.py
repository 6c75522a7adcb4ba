"""The `onboard` command."""

import argparse
import asyncio
import getpass
import sys
from datetime import UTC, datetime

from service.settings import Settings


def _session_maker(settings: Settings):
    from service.db import create_engine, session_maker

    engine = create_engine(settings)
    return engine, session_maker(engine)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "service.app:create_app_from_env",
        factory=True,
        host=args.host or settings.host,
        port=args.port or settings.port,
        reload=args.reload,
        workers=args.workers,
        access_log=False,
        # X-Forwarded-For is read by the app, only from ONBOARD_TRUSTED_PROXIES (service/proxies.py).
        proxy_headers=False,
    )
    return 0


def cmd_db(settings: Settings, args: argparse.Namespace) -> int:
    from service import migrate

    if args.action == "upgrade":
        migrate.upgrade(settings.database_url, args.revision or "heads")
    elif args.action == "downgrade":
        migrate.downgrade(settings.database_url, args.revision or "-1")
    else:
        migrate.current(settings.database_url)
    return 0


async def _seed(settings: Settings, if_empty: bool) -> int:
    from service.generated.demo import has_users, seed_demo

    engine, sessions = _session_maker(settings)
    try:
        async with sessions() as session:
            if await has_users(session):
                if if_empty:
                    return 0
                print(
                    "The database already has users; demo data is loaded only into an empty database.",
                    file=sys.stderr,
                )
                return 1
            counts = await seed_demo(session, at=datetime.now(UTC), media_dir=settings.media_dir)
            await session.commit()
        print("Demo data loaded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
        print(
            "Logins (password demo-password): demo-admin, demo-province, demo-commune, demo-leader, "
            "demo-volunteer, demo-volunteer-b"
        )
        return 0
    finally:
        await engine.dispose()


def cmd_seed_demo(settings: Settings, args: argparse.Namespace) -> int:
    if args.if_empty and not settings.is_default_database:
        return 0  # only the default SQLite file is seeded on its own; other databases must ask
    return asyncio.run(_seed(settings, args.if_empty))


async def _users(settings: Settings, args: argparse.Namespace) -> int:
    from service.accounts.codes import display
    from service.accounts.services import AccountService
    from service.errors import DomainError

    engine, sessions = _session_maker(settings)
    try:
        async with sessions() as session:
            accounts = AccountService(session)
            try:
                if args.action == "create":
                    password = args.password or getpass.getpass("Password: ")
                    if len(password) < 10:
                        print("The password needs at least 10 characters.", file=sys.stderr)
                        return 2
                    user = await accounts.create_user(
                        username=args.username,
                        password=password,
                        full_name=args.full_name,
                        role=args.role,
                        at=datetime.now(UTC),
                        team_id=args.team,
                        province_code=args.province,
                        commune_code=args.commune,
                        phone=args.phone,
                    )
                    print(f"created {user.username} ({user.role})")
                elif args.action == "reset-code":
                    user, code, expires_at = await accounts.reset_by_operator(
                        username=args.username, at=datetime.now(UTC)
                    )
                    print(
                        f"{user.username}: password reset, sessions ended. One-time code {display(code)}, "
                        f"valid once until {expires_at:%Y-%m-%d %H:%M} UTC at /account/activate"
                    )
                else:
                    user = await accounts.set_active(username=args.username, active=args.action == "enable")
                    print(f"{args.action}d {user.username}")
            except DomainError as exc:
                print(exc.text(), file=sys.stderr)
                return 1
            await session.commit()
        return 0
    finally:
        await engine.dispose()


def cmd_users(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_users(settings, args))


async def _cli_user(session, username: str):
    from sqlalchemy import select

    from service.accounts.models import User
    from service.accounts.services import AccountService

    user_id = await session.scalar(select(User.id).where(User.username == username.strip().lower()))
    user = await AccountService(session).current_user(user_id=user_id) if user_id else None
    if user is None:
        print(f"No active account named {username!r}.", file=sys.stderr)
    return user


async def _import_merchants(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from tqdm import tqdm

    from service.errors import DomainError
    from service.merchants.imports import ImportOptions, ImportService

    path = Path(args.file)
    if not path.is_file():
        print(f"No such file: {path}", file=sys.stderr)
        return 2
    purposes = tuple(p.strip() for p in (args.paper_consent or "").split(",") if p.strip())
    options = ImportOptions(
        team_id=args.team,
        kind=args.kind,
        category=args.category,
        paper_consent=purposes,
        skip_invalid=args.skip_invalid,
    )
    bars: dict[str, tqdm] = {}
    names = {"check": "checking", "write": "writing"}

    def progress(phase: str, done: int, total: int) -> None:
        if args.quiet:
            return
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = tqdm(total=total, desc=names.get(phase, phase), unit=" rows", file=sys.stderr)
        bar.update(done - bar.n)

    engine, sessions = _session_maker(settings)
    try:
        async with sessions() as session:
            user = await _cli_user(session, args.as_user)
            if user is None:
                return 2
            try:
                report = await ImportService(session).run(
                    by=user,
                    data=path.read_bytes(),
                    filename=path.name,
                    options=options,
                    at=datetime.now(UTC),
                    commit=not args.dry_run,
                    progress=progress,
                )
            except DomainError as exc:
                print(exc.text(), file=sys.stderr)
                return 2
            finally:
                for bar in bars.values():
                    bar.close()
            for problem in sorted(report.errors + report.duplicates, key=lambda p: p.row):
                column = report.columns.get(problem.field, problem.field)
                print(f"row {problem.row}\t{column}\t{problem.message}")
            print(
                f"{report.rows} rows: {report.valid} valid, {report.error_rows} with errors, "
                f"{len(report.duplicates)} duplicates (team: {report.team_name})"
            )
            if report.committed:
                await session.commit()
                print(f"imported {report.imported} merchants")
                return 0
            if args.dry_run:
                print("dry run: nothing written")
                return 0 if report.clean else 1
            print("nothing imported: fix the rows above, or pass --skip-invalid", file=sys.stderr)
            return 1
    finally:
        await engine.dispose()


def cmd_import(settings: Settings, args: argparse.Namespace) -> int:
    from service.i18n import current_locale

    token = current_locale.set(args.lang)
    try:
        return asyncio.run(_import_merchants(settings, args))
    finally:
        current_locale.reset(token)


async def _export_merchants(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from service.merchants import exports

    output = Path(args.output or f"merchants-{datetime.now(UTC):%Y%m%d}.{args.format}")
    engine, sessions = _session_maker(settings)
    try:
        async with sessions() as session:
            user = await _cli_user(session, args.as_user)
            if user is None:
                return 2
            if not exports.allowed(user):
                print("Only team leaders, officers and admins may export.", file=sys.stderr)
                return 2
            service = exports.ExportService(session)
            with output.open("wb") as target:
                if args.format == "csv":
                    async for chunk in exports.csv_chunks(service, by=user):
                        target.write(chunk)
                else:
                    await exports.write_xlsx(service, by=user, target=target)
        print(f"wrote {output}")
        return 0
    finally:
        await engine.dispose()


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_export_merchants(settings, args))


async def _rebuild_reports(settings: Settings) -> int:
    from service.reports import counters

    engine, sessions = _session_maker(settings)
    try:
        async with sessions() as session:
            counted = await counters.rebuild(session)
            await session.commit()
    finally:
        await engine.dispose()
    print(f"report counters rebuilt from {counted} merchants")
    return 0


def cmd_reports(settings: Settings, args: argparse.Namespace) -> int:
    return asyncio.run(_rebuild_reports(settings))


async def _bench_data(settings: Settings, args: argparse.Namespace) -> int:
    import time

    from tqdm import tqdm

    from service.generated.national import EmptyDatabaseRequired, generate

    bars: dict[str, tqdm] = {}
    names = {"counters": "report counters"}

    def progress(phase: str, done: int, total: int) -> None:
        if args.quiet:
            return
        bar = bars.get(phase)
        if bar is None:
            bar = bars[phase] = tqdm(total=total, desc=names.get(phase, phase), file=sys.stderr)
        bar.update(done - bar.n)

    engine, sessions = _session_maker(settings)
    started = time.perf_counter()
    try:
        async with sessions() as session:
            try:
                report = await generate(
                    session,
                    merchants=args.merchants,
                    seed=args.seed,
                    now=datetime.now(UTC),
                    progress=progress,
                )
            except EmptyDatabaseRequired:
                print(
                    "The database already has merchants; bench data goes into an empty one.", file=sys.stderr
                )
                return 1
            finally:
                for bar in bars.values():
                    bar.close()
    finally:
        await engine.dispose()
    print(", ".join(f"{name} {n}" for name, n in report.counts.items()))
    total = report.counts["merchants"] or 1
    print("ever reached: " + ", ".join(f"{code} {n / total:.1%}" for code, n in report.reached.items()))
    print("current stage: " + ", ".join(f"{code} {n / total:.1%}" for code, n in report.current.items()))
    phases = ", ".join(f"{phase} {seconds:.1f}" for phase, seconds in report.seconds.items())
    print(f"generated in {time.perf_counter() - started:.1f} s ({phases})")
    return 0


def cmd_bench_data(settings: Settings, args: argparse.Namespace) -> int:
    from service import migrate

    if args.merchants < 1:
        print("--merchants must be at least 1.", file=sys.stderr)
        return 2
    migrate.upgrade(settings.database_url)
    return asyncio.run(_bench_data(settings, args))


def cmd_backup(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from service import backups

    try:
        if args.action == "backup":
            backups.backup(settings, Path(args.file))
            print(f"backup written to {args.file}: {backups.check(Path(args.file))}")
        elif args.action == "restore":
            backups.restore(settings, Path(args.file))
            print(f"database restored from {args.file}")
        else:
            print(backups.check(Path(args.file)))
    except backups.BackupError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    import uuid

    from service.accounts.models import ROLES

    parser = argparse.ArgumentParser(prog="onboard", description="Merchant onboarding service.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the web app (PORT or --port, default 8000)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--reload", action="store_true", help="restart on code changes (development)")
    serve.set_defaults(func=cmd_serve)

    for action, text in (
        ("backup", "write a consistent copy of the database to FILE, while the service runs"),
        ("restore", "replace the database's contents with the backup in FILE (stop the service first)"),
        ("check-backup", "check that FILE is a complete backup"),
    ):
        command = sub.add_parser(action, help=text)
        command.add_argument("file")
        command.set_defaults(func=cmd_backup, action=action)

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (upgrade: heads; downgrade: -1, or base)")
    db.set_defaults(func=cmd_db)

    seed = sub.add_parser("seed-demo", help="load the Vietnamese demo data set into an empty database")
    seed.add_argument(
        "--if-empty", action="store_true", help="only for the default SQLite file, and only when empty"
    )
    seed.set_defaults(func=cmd_seed_demo)

    users = sub.add_parser("users", help="create, disable, enable accounts; reset passwords")
    users_sub = users.add_subparsers(dest="action", required=True)
    create = users_sub.add_parser("create", help="create an account")
    create.add_argument("username")
    create.add_argument("--role", choices=ROLES, required=True)
    create.add_argument("--full-name", required=True)
    create.add_argument("--password", help="prompted for when omitted")
    create.add_argument("--team", type=uuid.UUID, help="team id (volunteers and team leaders)")
    create.add_argument("--province", help="province code (province officers)")
    create.add_argument("--commune", help="commune code (commune officers)")
    create.add_argument("--phone")
    for action in ("disable", "enable"):
        p = users_sub.add_parser(action, help=f"{action} an account")
        p.add_argument("username")
    reset = users_sub.add_parser(
        "reset-code", help="invalidate a password, end its sessions, print a one-time sign-in code"
    )
    reset.add_argument("username")
    users.set_defaults(func=cmd_users)

    imports = sub.add_parser("import", help="bulk import (merchants from a CSV or XLSX file)")
    imports_sub = imports.add_subparsers(dest="what", required=True)
    merchants = imports_sub.add_parser(
        "merchants",
        help="import a commune's merchant spreadsheet into one team: all rows or none",
        description="Checks every row with the registration form's rules and for duplicates (inside the "
        "file and against existing records), then writes all rows in one transaction, or none if any "
        "row has a problem (unless --skip-invalid). Consent comes from the file's consent column, or "
        "from --paper-consent, confirmed by the importing account.",
    )
    merchants.add_argument("file", help="the .csv or .xlsx file")
    merchants.add_argument(
        "--as", dest="as_user", required=True, metavar="USERNAME", help="the importing account"
    )
    merchants.add_argument("--team", type=uuid.UUID, help="team id (default: the account's team)")
    merchants.add_argument("--dry-run", action="store_true", help="check and report, write nothing")
    merchants.add_argument("--kind", help="kind for rows that leave it empty (e.g. market_stall)")
    merchants.add_argument("--category", help="category for rows that leave it empty (e.g. food_drink)")
    merchants.add_argument(
        "--paper-consent",
        metavar="PURPOSES",
        help="confirm that the traders of rows without a consent cell agreed on paper to these purposes "
        "(comma-separated: storefront,contact,statistics)",
    )
    merchants.add_argument(
        "--skip-invalid", action="store_true", help="import the good rows, skip the others"
    )
    merchants.add_argument("--lang", choices=["vi", "en"], default="vi", help="language of the row messages")
    merchants.add_argument("--quiet", action="store_true", help="no progress bar")
    merchants.set_defaults(func=cmd_import)

    export = sub.add_parser("export", help="export (merchants of an account's jurisdiction)")
    export_sub = export.add_subparsers(dest="what", required=True)
    merchants_out = export_sub.add_parser(
        "merchants", help="the merchants an account sees, masked as it sees them"
    )
    merchants_out.add_argument("--as", dest="as_user", required=True, metavar="USERNAME")
    merchants_out.add_argument("--format", choices=["xlsx", "csv"], default="xlsx")
    merchants_out.add_argument("--output", "-o", help="file to write (default: merchants-DATE.FORMAT)")
    merchants_out.set_defaults(func=cmd_export)

    reports = sub.add_parser("reports", help="officer reports")
    reports_sub = reports.add_subparsers(dest="action", required=True)
    reports_sub.add_parser(
        "rebuild",
        help="recompute the report counters from the merchants, stage events and visits",
        description="The write paths keep the counters exact; run this after loading rows by other "
        "means (a restore, a bulk load). It locks nothing for long but takes minutes at millions.",
    )
    reports.set_defaults(func=cmd_reports)

    bench = sub.add_parser(
        "bench-data",
        help="fill an empty database with a national-shaped data set for benchmarks",
        description="All provinces and communes, villages, teams and volunteers, and merchants with 24 "
        "months of stage events and visits, sized like the country (a few big provinces and communes, "
        "a long tail). Migrates the database first; refuses one that already has merchants.",
    )
    bench.add_argument("--merchants", type=int, required=True, metavar="N")
    bench.add_argument(
        "--seed", type=int, default=1, help="the same seed and N give the same data set, dated back from now"
    )
    bench.add_argument("--quiet", action="store_true", help="no progress bar")
    bench.set_defaults(func=cmd_bench_data)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())
