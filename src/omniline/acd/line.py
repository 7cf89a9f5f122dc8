"""The waiting calls of one queue, in service order: priority (high first), then entry time.

Two sorted lists: ``all`` for positions (a call being offered keeps its place in line)
and ``pending`` for the calls no agent is ringing, the only ones an agent may be offered.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterator

# (-priority, entered_at, sequence number, call id): the sequence number makes equal
# priorities and entry times first come, first served, and keys unique.
CallKey = tuple[int, float, int, str]


class Line:
    __slots__ = ("all", "pending")

    def __init__(self) -> None:
        self.all: list[CallKey] = []
        self.pending: list[CallKey] = []

    def __len__(self) -> int:
        return len(self.all)

    def add(self, key: CallKey) -> None:
        insort(self.all, key)
        insort(self.pending, key)

    def drop(self, key: CallKey) -> None:
        _remove(self.all, key)
        _remove(self.pending, key)

    def ringing(self, key: CallKey) -> None:
        _remove(self.pending, key)

    def back(self, key: CallKey) -> None:
        """An offer ended unanswered: the call is pending again, in its old place."""
        i = bisect_left(self.pending, key)
        if i == len(self.pending) or self.pending[i] != key:
            self.pending.insert(i, key)

    def position(self, key: CallKey) -> int:
        return bisect_left(self.all, key) + 1

    def pending_ids(self) -> Iterator[str]:
        return (k[3] for k in self.pending)


def _remove(keys: list[CallKey], key: CallKey) -> None:
    i = bisect_left(keys, key)
    if i < len(keys) and keys[i] == key:
        del keys[i]
