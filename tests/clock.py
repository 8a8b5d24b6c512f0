"""A clock the server takes for now (`with patch.object(timezone, "now", clock)`), moved
on by the test only: histories with controlled timestamps."""

from __future__ import annotations

from datetime import UTC, datetime


class Clock:
    def __init__(self, start: datetime = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now
