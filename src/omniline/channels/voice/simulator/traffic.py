"""The whole simulated PBX, with a Poisson stream of callers for the demo and benchmarks."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import Any

from omniline.channels.voice.simulator.calls import Calls
from omniline.channels.voice.simulator.world import AriError


@dataclass
class TrafficPlan:
    """Arrival times and callers drawn up front from the seed, so the count is known."""

    arrivals: list[dict[str, Any]]
    started: int = 0
    refused: int = 0  # arrived while the app had no socket or the PBX was down
    channel_ids: list[str] = field(default_factory=list)


def plan_traffic(spec: dict[str, Any]) -> TrafficPlan:
    rate = float(spec.get("rate_per_s") or 0)
    duration = float(spec.get("duration_s") or 0)
    if rate <= 0 or duration <= 0:
        raise AriError(400, "rate_per_s and duration_s must be positive")
    rng = random.Random(spec.get("seed", 0))
    patience = spec.get("patience_s_mean")
    talk = spec.get("talk_s_mean")
    digits = [str(d) for d in spec.get("digits") or []]
    prefix = str(spec.get("caller_prefix") or "+38050")
    dialled = str(spec.get("dialled") or "+380443334455")
    arrivals, at = [], 0.0
    while True:
        at += rng.expovariate(rate)
        if at > duration:
            break
        script: list[dict[str, Any]] = []
        for digit in digits:
            script += [{"wait_playbacks": 1}, {"press": digit}]
        arrivals.append(
            {
                "at": round(at, 3),
                "caller": prefix + "".join(rng.choice("0123456789") for _ in range(7)),
                "dialled": dialled,
                "script": script,
                "patience_s": round(rng.expovariate(1 / patience), 3) if patience else None,
                "talk_s": round(rng.expovariate(1 / talk), 3) if talk else None,
            }
        )
    return TrafficPlan(arrivals)


class World(Calls):
    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.traffic: TrafficPlan | None = None
        self._traffic_task: asyncio.Task[Any] | None = None

    def start_traffic(self, spec: dict[str, Any]) -> TrafficPlan:
        self.stop_traffic()
        plan = plan_traffic(spec)
        self.traffic = plan
        self._traffic_task = self.spawn(None, self._run_traffic(plan))
        return plan

    async def _run_traffic(self, plan: TrafficPlan) -> None:
        clock = 0.0
        for arrival in plan.arrivals:
            await self.sleep(arrival["at"] - clock)
            clock = arrival["at"]
            try:
                ch = self.inbound(arrival)
            except AriError:
                plan.refused += 1
                continue
            plan.started += 1
            plan.channel_ids.append(ch.id)

    def stop_traffic(self) -> None:
        if self._traffic_task is not None:
            self._traffic_task.cancel()
            self._traffic_task = None

    def reset(self) -> None:
        """Back to an empty PBX; sockets stay connected, so the app stays registered."""
        self.stop_traffic()
        self.traffic = None
        self.wipe("reset")
        self.history.clear()
        self.log.clear()
        self.phones.clear()
        self.numbers.clear()
        self.stored.clear()
        self.down = False

    def shutdown(self) -> None:
        self.stop_traffic()
        self.wipe("shutdown")
        for sub in list(self.subscribers):
            sub.queue.put_nowait(None)
        for task in list(self._loose):
            task.cancel()
