"""The outside world of the builder's test chat: the real CRM and FAQ, no conversation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omniline.bots import faq
from omniline.bots.graph import Graph


@dataclass
class DraftEffects:
    flow_id: int
    revision: int
    graph: Graph
    secrets: dict[str, str]

    async def http(
        self, method: str, url: str, headers: dict[str, str], body: Any, seconds: float
    ) -> Any:
        from omniline.bots.turns import call_http

        return await call_http(method, url, headers, body, seconds)

    async def faq(self, text: str) -> tuple[str | None, float]:
        # Drafts get models of their own, apart from versions' (negative keys).
        return await faq.match(
            ("draft", self.flow_id, self.revision, id(self.graph)), self.graph, text
        )

    async def business_hours(self, calendar_id: int) -> bool:
        return True

    async def has_event(self, name: str) -> bool:
        return False

    async def set_attribute(self, name: str, value: str) -> None:
        return None

    async def add_tag(self, tag: str) -> None:
        return None

    def secret(self, name: str) -> str | None:
        return self.secrets.get(name)
