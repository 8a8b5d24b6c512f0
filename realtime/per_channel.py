"""What the hub and the notice channels share: one broadcast subscription per channel
per process, opened by its first user and closed after its last."""

from __future__ import annotations

import asyncio
from typing import Protocol, TypeVar


class Subscribed(Protocol):
    ready: asyncio.Future[None]  # set once the broadcast subscription is in place
    closing: bool
    task: asyncio.Task[None] | None  # the pump that holds the subscription


S = TypeVar("S", bound=Subscribed)


def close(channels: dict[str, S], channel: str, state: S) -> None:
    """Forget the channel's state and stop its pump. A pump still subscribing is not
    cancelled (broadcaster would leave the backend subscribed): it sees `closing` and
    leaves by itself."""
    if channels.get(channel) is state:
        del channels[channel]
    state.closing = True
    if state.ready.done() and state.task is not None:
        state.task.cancel()
