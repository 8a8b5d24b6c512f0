"""A live event's way from its group's execution to each subscriber's socket.

The first subscriber of a group to reach an event yields it: Strawberry executes it
(schema/event_execution.py) and sends the `next` message. Every other subscriber of
the group gets the rendered frame written to its own socket, with only its operation
id spliced in: no execution, no result processing, no JSON encoding. The hub lets the
first subscriber start the execution before it offers the event to the others, whose
streams then wait for it to finish (`running`, realtime/hub.py). A stream that waits
with that event alone to pass on has its frame sent from there (`served`), and does
not run at all; any other is woken once, and sends the frame itself (`sent`).

A frame goes out at once while its socket takes it. A socket whose write buffer is
full gets the rest of that send in a task of its own and its stream is woken for
what follows, so a stalled socket holds up only its own stream; meanwhile its inbox
fills, overflows, and the stream goes on from the log (realtime/hub.py).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Protocol

from strawberry.types import Info

from schema.live_groups import Execution, Frames, Group, Rendered, SharedEvent, group_of


class Sink(Protocol):
    """An operation's socket, for the `next` messages of its group's answers."""

    async def __call__(self, rendered: Rendered) -> None:
        """Sends it, from the operation's stream."""

    def send_now(self, rendered: Rendered) -> bool:
        """Sends it with no await (or, if the socket is not ready, before anything else
        goes to it); False when the stream must send it itself."""
        ...


_sink: ContextVar[Sink | None] = ContextVar("live frame sink", default=None)


def next_frame(operation_id: str, rendered: Rendered) -> str:
    """The graphql-transport-ws `next` message carrying a rendered payload."""
    return f"{next_prefix(operation_id)}{rendered.text}}}"


def next_prefix(operation_id: str) -> str:
    return f'{{"id":{json.dumps(operation_id)},"type":"next","payload":'


@contextmanager
def sending_to(sink: Sink) -> Iterator[None]:
    """Streams started inside this block send their groups' frames to `sink`."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)


class Delivery:
    """One subscription's group, and its direct way to its socket (when it has one)."""

    def __init__(self, info: Info[Any, Any]) -> None:
        raw = info._raw_info
        self.group: Group = group_of(raw.schema, raw.operation, raw.fragments, info.variable_values)
        self._frames: Frames = info.schema.frames  # type: ignore[attr-defined]
        self._sink = _sink.get()

    def running(
        self, channel: str, seq: int, scope: Hashable | None, viewer_pk: int | None
    ) -> Execution | None:
        """The execution of its group's answer to event `seq` of `channel`, if started;
        None too when this stream cannot send it itself."""
        if self._sink is None:
            return None
        return self._frames.running(self.group.key_of(channel, seq, scope, viewer_pk))

    def served(self, channel: str, seq: int, scope: Hashable | None, viewer_pk: int | None) -> bool:
        """True when its group's answer to event `seq` of `channel` was executed and is
        sent now, with no await; False when the stream must see to it."""
        sink = self._sink
        if sink is None:
            return False
        execution = self._frames.running(self.group.key_of(channel, seq, scope, viewer_pk))
        if execution is None or not execution.succeeded():
            return False
        return sink.send_now(execution.task.result())

    async def sent(self, event: SharedEvent) -> bool:
        """True once the event's frame went out to this socket; False when the stream
        must yield it (no execution of its group yet, or that execution failed)."""
        if self._sink is None:
            return False
        execution = self._frames.running(event.key)
        rendered = None if execution is None else await execution.rendered()
        if rendered is None:
            return False
        await self._sink(rendered)
        return True
