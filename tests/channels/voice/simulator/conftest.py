"""An ARI client as an adapter would be: httpx for REST, websockets for the events socket."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import websockets

from omniline.channels.voice.simulator import RunningSimulator, run_simulator

SPEED = 20.0  # one simulated second is 50 ms


class Ari:
    def __init__(self, sim: RunningSimulator, http: httpx.AsyncClient, ws: Any) -> None:
        self.sim, self.http, self.ws = sim, http, ws
        self.seen: list[dict[str, Any]] = []

    async def next(self, timeout: float = 3.0) -> dict[str, Any]:
        message = json.loads(await asyncio.wait_for(self.ws.recv(), timeout))
        message["_at"] = time.monotonic()
        self.seen.append(message)
        return message

    async def take(self, count: int) -> list[dict[str, Any]]:
        return [await self.next() for _ in range(count)]

    async def until(self, kind: str, timeout: float = 3.0) -> dict[str, Any]:
        while True:
            message = await self.next(timeout)
            if message["type"] == kind:
                return message

    async def call(self, **spec: Any) -> str:
        spec.setdefault("caller", "+380501234567")
        spec.setdefault("dialled", "+380443334455")
        response = await self.http.post("/_sim/calls", json=spec)
        assert response.status_code == 201, response.text
        start = await self.until("StasisStart")
        assert start["channel"]["id"] == response.json()["id"]
        return str(response.json()["id"])


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


@pytest.fixture
async def sim() -> AsyncIterator[RunningSimulator]:
    async with run_simulator(speed=SPEED, password="secret") as running:
        yield running


@pytest.fixture
async def ari(sim: RunningSimulator) -> AsyncIterator[Ari]:
    url = f"{sim.events_url}?app={sim.app}&api_key={sim.user}:{sim.password}"
    async with (
        httpx.AsyncClient(base_url=sim.base_url, auth=sim.auth, timeout=5) as http,
        websockets.connect(url) as ws,
    ):
        yield Ari(sim, http, ws)
