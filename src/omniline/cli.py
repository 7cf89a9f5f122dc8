"""The ``omniline`` command: serve, worker, migrate, demo, staff and inboxes, voice replay,
reports."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import getpass
import logging
import logging.config
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

from omniline.config import Settings, set_settings

Command = Callable[[argparse.Namespace], Awaitable[int] | int]


def _settings(**overrides: Any) -> Settings:
    try:
        settings = Settings(**overrides)
    except ValueError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
    set_settings(settings)
    return settings


def _migrate(settings: Settings) -> None:
    from omniline.inboxes.commands import encrypt_stored_secrets
    from omniline.migrate import upgrade

    settings.var_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database_url)
    encrypt_stored_secrets()


# Collect young objects every 10,000 allocations instead of 700: a push to thousands of
# sockets or a batch of messages allocates many short-lived objects, and with the default
# each one set off collections (and full ones across every socket's objects, 0.25-0.7 s
# at 5,000 sockets) that were most of the time such a push took. See docs/benchmarks.md.
GC_THRESHOLDS = (10_000, 20, 20)


def _raise_open_files() -> None:
    """One descriptor per socket: the usual soft limit of 1,024 caps a server's sockets."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def _tune_gc() -> None:
    import gc

    gc.set_threshold(*GC_THRESHOLDS)
    # What start-up built lives as long as the process: leave it out of every collection.
    gc.freeze()


def _server(settings: Settings, host: str, port: int) -> Any:
    import uvicorn

    from omniline.app import create_app
    from omniline.ops import logs

    app = create_app(settings)
    _raise_open_files()
    _tune_gc()
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=logs.config(settings.log_level, settings.log_format),
        ws=settings.ws_impl,
        ws_per_message_deflate=settings.ws_per_message_deflate,
        ws_ping_interval=None,  # our own heartbeats; fewer timers per idle socket
        proxy_headers=True,
    )
    return uvicorn.Server(config)


def _serve(settings: Settings, host: str, port: int) -> None:
    _server(settings, host, port).run()


def cmd_serve(args: argparse.Namespace) -> int:
    settings = _settings(**({"run_jobs": False} if args.no_jobs else {}))
    if args.migrate:
        _migrate(settings)
    _serve(settings, args.host, args.port)
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    _migrate(settings)
    print(f"database is up to date: {settings.database_url.split('@')[-1]}")
    return 0


async def _run_worker() -> None:
    from omniline import db
    from omniline.config import get_settings
    from omniline.jobs.runner import Runner
    from omniline.kit.background import Background
    from omniline.realtime.service import init_realtime
    from omniline.wiring import register_all

    settings = get_settings()
    from omniline.kit import log_redaction
    from omniline.ops import logs

    log_redaction.install()
    logging.config.dictConfig(logs.config(settings.log_level, settings.log_format))
    register_all()
    db.init_engine(settings)
    realtime = init_realtime(settings.redis_url, settings.realtime_buffer)
    await realtime.start()
    runner = Runner()
    runner.start()
    background = Background()
    background.start()
    print("worker running; Ctrl+C stops it", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await background.stop()
        await runner.stop()
        await realtime.stop()


def cmd_worker(args: argparse.Namespace) -> int:
    _settings()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_run_worker())
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from omniline.demo.run import run_demo

    os.environ.setdefault("OMNILINE_DEMO_MODE", "1")
    base = f"http://{args.host}:{args.port}"
    settings = _settings(
        demo_mode=True, public_base_url=base, smtp_receiver_port=args.smtp_port or None
    )
    _migrate(settings)

    async def serve() -> None:
        await _server(settings, args.host, args.port).serve()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_demo(
                base=base,
                host=args.host,
                smtp_port=args.smtp_port,
                phone_line=not args.no_phone,
                serve=serve,
            )
        )
    return 0


def _run(coro_fn: Callable[..., Awaitable[Any]], *a: Any) -> Any:
    from omniline import db

    async def wrapper() -> Any:
        db.init_engine()
        try:
            async with db.unit_of_work() as session:
                return await coro_fn(session, *a)
        finally:
            await db.dispose_engine()

    from omniline.errors import DomainError

    try:
        return asyncio.run(wrapper())
    except DomainError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        raise SystemExit(1) from exc


async def _workspace_id(session: Any, slug: str) -> int:
    from omniline.errors import NotFound
    from omniline.workspaces import repository

    ws = await repository.by_slug(session, slug)
    if ws is None:
        raise NotFound(f"no workspace with the slug {slug}")
    return ws.id


def cmd_workspace_create(args: argparse.Namespace) -> int:
    from omniline.workspaces import service

    _settings()

    async def go(session: Any) -> None:
        ws = await service.do_create_workspace(session, name=args.name, slug=args.slug)
        print(f"workspace {ws.slug} created (id {ws.id})")

    _run(go)
    return 0


def cmd_user_create(args: argparse.Namespace) -> int:
    from omniline.auth import service

    _settings()
    password = args.password or getpass.getpass("Password (8+ characters): ")

    async def go(session: Any) -> None:
        user = await service.do_create_user(
            session,
            workspace_id=await _workspace_id(session, args.workspace),
            email=args.email,
            name=args.name,
            password=password,
            role=args.role,
            locale=args.locale,
        )
        print(f"user {user.email} ({user.role}) created (id {user.id})")

    _run(go)
    return 0


def cmd_user_passwd(args: argparse.Namespace) -> int:
    from omniline.auth import repository, service
    from omniline.errors import NotFound

    _settings()
    password = args.password or getpass.getpass("New password (8+ characters): ")

    async def go(session: Any) -> None:
        user = await repository.user_by_email(session, args.email)
        if user is None:
            raise NotFound(f"no user {args.email}")
        await service.do_update_user(session, user, password=password)
        print(f"password of {user.email} changed")

    _run(go)
    return 0


def cmd_user_list(args: argparse.Namespace) -> int:
    from omniline.auth import repository

    _settings()

    async def go(session: Any) -> None:
        for user in await repository.users_of(
            session, await _workspace_id(session, args.workspace)
        ):
            state = "" if user.active else "  (disabled)"
            print(f"{user.id:>5}  {user.role:<10} {user.email:<40} {user.name}{state}")

    _run(go)
    return 0


def cmd_team_create(args: argparse.Namespace) -> int:
    from omniline.workspaces import service

    _settings()

    async def go(session: Any) -> None:
        team = await service.do_create_team(
            session, await _workspace_id(session, args.workspace), args.name
        )
        print(f"team {team.name} created (id {team.id})")

    _run(go)
    return 0


def cmd_queue_create(args: argparse.Namespace) -> int:
    from omniline.auth import repository as users
    from omniline.errors import NotFound
    from omniline.workspaces import service

    _settings()

    async def go(session: Any) -> None:
        ws_id = await _workspace_id(session, args.workspace)
        queue = await service.do_create_queue(session, ws_id, args.name, team_id=args.team_id)
        for email in args.member or []:
            user = await users.user_by_email(session, email)
            if user is None or user.workspace_id != ws_id:
                raise NotFound(f"no user {email} in this workspace")
            await service.do_add_queue_member(session, ws_id, queue.id, user.id)
        print(f"queue {queue.name} created (id {queue.id})")

    _run(go)
    return 0


def cmd_inbox_create(args: argparse.Namespace) -> int:
    from omniline.inboxes import service

    settings = _settings()

    async def go(session: Any) -> None:
        inbox = await service.do_create_inbox(
            session,
            await _workspace_id(session, args.workspace),
            channel=args.channel,
            name=args.name,
            key=args.key,
            default_queue_id=args.queue_id,
        )
        print(f"inbox {inbox.name} created (id {inbox.id}, key {inbox.key})")
        if inbox.channel == "webchat":
            print("paste into your site:")
            print(
                f'  <script src="{settings.public_base_url}/widget.js" '
                f'data-inbox-key="{inbox.key}" async></script>'
            )
            print(f"identity secret for logged-in customers: {inbox.identity_secret}")

    _run(go)
    return 0


def cmd_token_create(args: argparse.Namespace) -> int:
    from omniline.auth import repository, service
    from omniline.auth.models import TokenKind
    from omniline.errors import NotFound

    _settings()

    async def go(session: Any) -> None:
        user = await repository.user_by_email(session, args.email)
        if user is None:
            raise NotFound(f"no user {args.email}")
        secret, _ = await service.do_issue_token(
            session, user, TokenKind.api, hours=None, name=args.name
        )
        print(secret)

    _run(go)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="omniline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the web app (and run jobs unless --no-jobs)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--no-jobs", action="store_true", help="leave jobs to 'omniline worker'")
    p.add_argument("--migrate", action="store_true", help="apply migrations first")
    p.set_defaults(fn=cmd_serve)

    sub.add_parser("worker", help="run durable jobs only").set_defaults(fn=cmd_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)

    p = sub.add_parser("demo", help="migrate, seed the demo workspace and serve (demo mode)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument(
        "--smtp-port",
        type=int,
        default=2525,
        help="built-in SMTP receiver for the demo mailbox (0 turns it off)",
    )
    p.add_argument(
        "--no-phone",
        action="store_true",
        help="no simulated Asterisk and no Hotline phone line",
    )
    p.set_defaults(fn=cmd_demo)

    ws = sub.add_parser("workspace", help="manage workspaces").add_subparsers(
        dest="action", required=True
    )
    p = ws.add_parser("create")
    p.add_argument("name")
    p.add_argument("slug")
    p.set_defaults(fn=cmd_workspace_create)

    us = sub.add_parser("user", help="manage staff users").add_subparsers(
        dest="action", required=True
    )
    p = us.add_parser("create")
    p.add_argument("--workspace", required=True, help="workspace slug")
    p.add_argument("--email", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", default="agent", choices=["agent", "supervisor", "qa", "admin"])
    p.add_argument("--locale", default="en", choices=["en", "ru", "uk"])
    p.add_argument("--password", help="prompted for when left out")
    p.set_defaults(fn=cmd_user_create)
    p = us.add_parser("passwd")
    p.add_argument("--email", required=True)
    p.add_argument("--password")
    p.set_defaults(fn=cmd_user_passwd)
    p = us.add_parser("list")
    p.add_argument("--workspace", required=True)
    p.set_defaults(fn=cmd_user_list)

    tm = sub.add_parser("team", help="manage teams").add_subparsers(dest="action", required=True)
    p = tm.add_parser("create")
    p.add_argument("--workspace", required=True)
    p.add_argument("--name", required=True)
    p.set_defaults(fn=cmd_team_create)

    qu = sub.add_parser("queue", help="manage queues").add_subparsers(dest="action", required=True)
    p = qu.add_parser("create")
    p.add_argument("--workspace", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--team-id", type=int)
    p.add_argument("--member", action="append", help="email of an agent (repeatable)")
    p.set_defaults(fn=cmd_queue_create)

    ib = sub.add_parser("inbox", help="manage inboxes").add_subparsers(dest="action", required=True)
    p = ib.add_parser("create")
    p.add_argument("--workspace", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--channel", default="webchat")
    p.add_argument("--key")
    p.add_argument("--queue-id", type=int)
    p.set_defaults(fn=cmd_inbox_create)

    tk = sub.add_parser("token", help="API tokens").add_subparsers(dest="action", required=True)
    p = tk.add_parser("create", help="print a long-lived API token for a user")
    p.add_argument("--email", required=True)
    p.add_argument("--name", default="integration")
    p.set_defaults(fn=cmd_token_create)

    from omniline.bots import commands as bots_commands

    bots_commands.register(sub)
    from omniline.inboxes import commands as inbox_commands

    inbox_commands.register(sub)
    from omniline.acd import commands as voice_commands
    from omniline.channels.voice.simulator import cli as voice_simulator

    voice_simulator.register(voice_commands.register(sub))
    from omniline.analytics import cli as analytics_cli

    analytics_cli.register(sub)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    result = args.fn(args)
    raise SystemExit(result if isinstance(result, int) else 0)
