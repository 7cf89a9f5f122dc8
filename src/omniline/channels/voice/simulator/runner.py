"""Serve the simulator inside the caller's event loop, for tests, the demo and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import uvicorn

from omniline.channels.voice.simulator.app import build_app
from omniline.channels.voice.simulator.traffic import World
from omniline.channels.voice.simulator.world import SimOptions


@dataclass
class RunningSimulator:
    base_url: str  # http://127.0.0.1:PORT
    ari_url: str  # base_url + "/ari"
    events_url: str  # ws://127.0.0.1:PORT/ari/events
    user: str
    password: str
    app: str
    world: World

    @property
    def auth(self) -> tuple[str, str]:
        return (self.user, self.password)


@contextlib.asynccontextmanager
async def run_simulator(
    host: str = "127.0.0.1", port: int = 0, **options: Any
) -> AsyncIterator[RunningSimulator]:
    """Serve on host:port (0 picks a free port) until the block ends.

    options are SimOptions fields: app, user, password, speed, sound_s, sounds, ...
    """
    world = World(SimOptions(**options))
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(world=world),
        log_level="warning",
        access_log=False,  # in the demo the app's logging config would log every ARI request
        ws="websockets-sansio",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    task = asyncio.get_running_loop().create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    base = f"http://{host}:{port}"
    opts = world.options
    try:
        yield RunningSimulator(
            base,
            base + "/ari",
            f"ws://{host}:{port}/ari/events",
            opts.user,
            opts.password,
            opts.app,
            world,
        )
    finally:
        world.shutdown()
        server.should_exit = True
        await task
        sock.close()
