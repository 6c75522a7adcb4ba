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
        proxy_headers=True,
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
    from service.demo import has_users, seed_demo

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
            counts = await seed_demo(session, at=datetime.now(UTC))
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

    db = sub.add_parser("db", help="database migrations")
    db.add_argument("action", choices=["upgrade", "downgrade", "current"])
    db.add_argument("revision", nargs="?", help="target revision (upgrade: heads; downgrade: -1, or base)")
    db.set_defaults(func=cmd_db)

    seed = sub.add_parser("seed-demo", help="load the Vietnamese demo data set into an empty database")
    seed.add_argument(
        "--if-empty", action="store_true", help="only for the default SQLite file, and only when empty"
    )
    seed.set_defaults(func=cmd_seed_demo)

    users = sub.add_parser("users", help="create, disable or enable accounts")
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
    users.set_defaults(func=cmd_users)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(Settings.from_env(), args)


if __name__ == "__main__":
    sys.exit(main())
