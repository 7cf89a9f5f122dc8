"""Bounded buffer of recent events for clients that reconnect."""

from __future__ import annotations

from collections import deque

from omniline.realtime.events import RealtimeEvent, parse_event_id


class EventBuffer:
    def __init__(self, size: int) -> None:
        self._events: deque[tuple[tuple[int, int], RealtimeEvent]] = deque()
        self._size = size
        # Events at or before ``_floor`` are gone; a client whose last id is older must resync.
        self._floor: tuple[int, int] = (0, 0)
        self.head_id = "0"

    def set_floor(self, event_id: str) -> None:
        self._floor = parse_event_id(event_id)
        self.head_id = event_id

    def clear(self) -> None:
        """Forget kept events (after a gap they no longer lead up to what comes next)."""
        self._events.clear()

    def append(self, event: RealtimeEvent) -> None:
        key = parse_event_id(event.id)
        self._events.append((key, event))
        self.head_id = event.id
        while len(self._events) > self._size:
            self._floor, _ = self._events.popleft()

    def since(self, last_id: str) -> list[RealtimeEvent] | None:
        """Events after ``last_id``, or ``None`` when some of them are no longer kept."""
        try:
            last = parse_event_id(last_id)
        except ValueError:
            return None
        # Older than what is kept, or newer than anything here (the server restarted
        # or the client talked to another bus): the client must reload.
        if last < self._floor or last > parse_event_id(self.head_id):
            return None
        return [ev for key, ev in self._events if key > last]
