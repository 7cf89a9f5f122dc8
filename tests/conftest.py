"""Shared fixtures: a migrated database per test (SQLite, and PostgreSQL when configured),
the app with its lifespan, an HTTP client, a live server for sockets and browsers."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from omniline import db
from omniline.config import Settings, set_settings
from omniline.kit.models import Base


def _worker_database(url: str | None) -> str | None:
    """Under pytest-xdist each worker gets its own PostgreSQL database (`test_gw0`, ...),
    created when missing: the per-test TRUNCATE of one worker must not empty another's."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not url or not worker:
        return url
    import asyncpg

    base, name = url.rsplit("/", 1)
    target = f"{name}_{worker}"
    dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def create() -> None:
        conn = await asyncpg.connect(dsn, timeout=10)
        try:
            found = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", target)
            if not found:
                await conn.execute(f'CREATE DATABASE "{target}"')
        finally:
            await conn.close()

    asyncio.run(create())
    worker_url = f"{base}/{target}"
    os.environ["OMNILINE_TEST_DATABASE_URL"] = worker_url
    return worker_url


PG_URL = _worker_database(os.environ.get("OMNILINE_TEST_DATABASE_URL"))
SECRET = "test-secret-key-0123456789abcdef"
_template: dict[str, Path] = {}
_pg_ready = False


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend" in metafunc.fixturenames:
        # Browser tests check the UI; the database matrix is covered by the API tests.
        sqlite_only = any(
            metafunc.definition.get_closest_marker(m) is not None
            for m in ("browser", "sqlite_only")
        )
        params = ["sqlite"] + (["postgres"] if PG_URL and not sqlite_only else [])
        metafunc.parametrize("backend", params, scope="function")


def _migrate(url: str) -> None:
    from omniline.migrate import upgrade

    upgrade(url)


def _sqlite_template(tmp_root: Path) -> Path:
    if "sqlite" not in _template:
        path = tmp_root / "template.db"
        _migrate(f"sqlite+aiosqlite:///{path}")
        _template["sqlite"] = path
    return _template["sqlite"]


async def _reset_postgres(url: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        await conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def quick_password_hashes() -> Iterator[None]:
    """Argon2id with its smallest costs in tests: the demo seed hashes four passwords and
    tests sign in thousands of times, at about 0.15 s each with the production costs (64 MiB,
    three passes), most of the suite's time. Hashing and verifying stay real argon2id; a
    hash records its own costs, so either kind verifies. tests/auth checks the production
    costs."""
    from argon2 import PasswordHasher

    from omniline.auth import passwords

    strong = passwords._hasher
    passwords._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    yield
    passwords._hasher = strong


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("omniline")


@pytest.fixture
def backend() -> str:  # overridden by parametrisation in pytest_generate_tests
    return "sqlite"


@pytest.fixture
async def database_url(backend: str, tmp_root: Path, tmp_path: Path) -> AsyncIterator[str]:
    global _pg_ready
    if backend == "postgres":
        assert PG_URL
        if not _pg_ready:
            engine = create_async_engine(PG_URL)
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE"))
                await conn.execute(text("CREATE SCHEMA public"))
            await engine.dispose()
            await asyncio.to_thread(_migrate, PG_URL)
            _pg_ready = True
        await _reset_postgres(PG_URL)
        yield PG_URL
    else:
        template = await asyncio.to_thread(_sqlite_template, tmp_root)
        target = tmp_path / "omniline.db"
        shutil.copyfile(template, target)
        yield f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Iterator[Settings]:
    s = Settings(
        database_url=database_url,
        secret_key=SECRET,
        demo_mode=True,
        var_dir=tmp_path / "var",
        run_jobs=False,
        public_base_url="http://testserver",
        upload_max_bytes=1024 * 1024,
    )
    set_settings(s)
    yield s
    set_settings(None)


@pytest.fixture
async def engine(settings: Settings) -> AsyncIterator[None]:
    db.init_engine(settings)
    yield
    await db.dispose_engine()


@dataclass
class Demo:
    workspace_id: int
    inbox_key: str
    inbox_id: int
    identity_secret: str
    users: dict[str, int]
    queues: dict[str, int]


@pytest.fixture
async def demo(engine: None) -> Demo:
    """The demo lender's workspace (the same seed `make demo` uses)."""
    from sqlalchemy import select

    from omniline.auth.models import User
    from omniline.demo.seed import seed
    from omniline.inboxes.models import Inbox
    from omniline.workspaces.models import Queue, Workspace

    async with db.unit_of_work() as session:
        await seed(session)
    async with db.sessionmaker()() as session:
        ws = await session.scalar(select(Workspace).where(Workspace.slug == "demo"))
        assert ws is not None
        inbox = await session.scalar(select(Inbox).where(Inbox.key == "demo-widget"))
        assert inbox is not None
        users = {u.email.split("@")[0]: u.id for u in await session.scalars(select(User))}
        queues = {q.name: q.id for q in await session.scalars(select(Queue))}
        return Demo(ws.id, inbox.key, inbox.id, inbox.identity_secret, users, queues)


@pytest.fixture
async def app(settings: Settings, engine: None) -> AsyncIterator[Any]:
    from omniline.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveServer:
    url: str
    port: int


@pytest.fixture
async def live_server(settings: Settings, engine: None) -> AsyncIterator[LiveServer]:
    """The real app on a real port (sockets, browsers), in this test's event loop."""
    from omniline.app import create_app

    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws_ping_interval=None,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "the test server did not start"
    yield LiveServer(url=f"http://127.0.0.1:{port}", port=port)
    server.should_exit = True
    await asyncio.wait_for(task, 10)


async def staff_token(client: httpx.AsyncClient, email: str, password: str) -> str:
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def visitor(client: httpx.AsyncClient, inbox_key: str = "demo-widget", **extra: Any) -> str:
    r = await client.post("/api/v1/widget/sessions", json={"inbox_key": inbox_key, **extra})
    assert r.status_code == 201, r.text
    return str(r.json()["session_token"])
