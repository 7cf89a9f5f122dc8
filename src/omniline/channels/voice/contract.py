"""The telephony adapter contract: what a PBX tells Omniline, and what Omniline tells it.

Adapters (``ari.py`` for Asterisk, ``cti.py`` for the generic HTTP CTI API) turn their
protocol into the events below and carry out the commands of :class:`Pbx`. The call
controller (``controller.py``) sees only this module, so a new PBX is a new adapter.

A *call* is the customer's leg, named by the PBX's id of it (``ref``). Omniline's own legs
(an agent's phone rung for a call, a customer dialled for a callback or a reminder) are
named by ids Omniline chooses (``leg``), so an event about them is recognised even when it
arrives before the command that created them has returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

HangupSide = Literal["customer", "agent", "system", "pbx"]


@dataclass(frozen=True, slots=True)
class CallOffered:
    """A customer's call reached Omniline (the PBX handed it to us, not yet answered)."""

    ref: str
    caller: str
    dialled: str
    at: datetime
    caller_name: str = ""
    language: str = ""


@dataclass(frozen=True, slots=True)
class Digits:
    ref: str
    digits: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PromptDone:
    """A prompt finished playing (or was stopped) on a call or a leg."""

    ref: str
    prompt_id: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegRinging:
    leg: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegAnswered:
    """A leg Omniline originated was picked up (an agent's phone, a dialled customer)."""

    leg: str
    at: datetime


@dataclass(frozen=True, slots=True)
class LegFailed:
    """A leg Omniline originated ended before it was answered."""

    leg: str
    reason: Literal["busy", "no_answer", "unavailable", "rejected", "failed"]
    at: datetime
    cause: int | None = None


@dataclass(frozen=True, slots=True)
class Held:
    ref: str
    on: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class HungUp:
    """A call or a leg ended (``ref`` is a call's ref or a leg id)."""

    ref: str
    at: datetime
    cause: int | None = None
    side: HangupSide | None = None


@dataclass(frozen=True, slots=True)
class Transferred:
    """The PBX moved the call elsewhere (a blind transfer it carried out itself)."""

    ref: str
    to: str
    at: datetime


@dataclass(frozen=True, slots=True)
class RecordingReady:
    ref: str
    name: str
    at: datetime
    duration_s: float | None = None
    format: str = "wav"
    url: str = ""  # where a provider keeps it (CTI); empty: the PBX's stored recordings


@dataclass(frozen=True, slots=True)
class LinkState:
    """The adapter lost or regained the PBX; ``refs`` lists the calls the PBX still holds
    (after a reconnect), so calls that ended meanwhile are closed in the statistics."""

    up: bool
    at: datetime
    refs: frozenset[str] | None = None
    error: str = ""
    # Customers' calls in our application the PBX holds: one that arrived while nobody
    # listened (or whose first batch never committed) is taken on now, not lost.
    waiting: tuple[CallOffered, ...] = ()


PbxEvent = (
    CallOffered
    | Digits
    | PromptDone
    | LegRinging
    | LegAnswered
    | LegFailed
    | Held
    | HungUp
    | Transferred
    | RecordingReady
    | LinkState
)


@dataclass(frozen=True, slots=True)
class Prompt:
    """Something to say: a recorded sound by name, or a text the PBX speaks (TTS)."""

    text: str = ""
    sound: str = ""
    digits: str = ""  # spoken digit by digit (a position in line, an amount)
    number: int | None = None  # spoken as a number ("twenty three")


@dataclass(slots=True)
class CommandFailed(Exception):
    """The PBX refused or could not carry out a command."""

    command: str
    ref: str
    reason: str
    status: int | None = None
    gone: bool = False  # the call or leg no longer exists on the PBX

    def __str__(self) -> str:
        return f"{self.command} {self.ref}: {self.reason}"


@dataclass(frozen=True, slots=True)
class RingSpec:
    """Ring an extension (an agent's phone) or dial a number (a customer) as a new leg."""

    leg: str
    endpoint: str = ""  # an agent's extension ("PJSIP/1001")
    number: str = ""  # a customer's number in E.164 ("+380501234567")
    caller_id: str = ""
    timeout_s: float = 20.0
    variables: dict[str, str] = field(default_factory=dict)


class Pbx(Protocol):
    """Commands; each raises :class:`CommandFailed` when the PBX refuses it."""

    async def answer(self, ref: str) -> None: ...

    async def play(
        self, ref: str, prompts: list[Prompt], language: str, prompt_id: str
    ) -> None: ...

    async def stop_prompt(self, prompt_id: str) -> None: ...

    async def music(self, ref: str, on: bool) -> None: ...

    async def ring(self, spec: RingSpec) -> None: ...

    async def connect(self, ref: str, leg: str) -> None:
        """Bridge the call with an answered leg (the agent, or the dialled customer)."""
        ...

    async def hold(self, ref: str, on: bool) -> None: ...

    async def transfer(self, ref: str, number: str) -> None:
        """Send the call to an external number (the bank's internal centre); it leaves us."""
        ...

    async def hangup(self, ref: str, reason: str = "normal") -> None: ...

    async def record(self, ref: str, name: str) -> None: ...

    async def refs(self) -> set[str]:
        """The calls and legs the PBX holds now (reconciliation after a reconnect)."""
        ...
