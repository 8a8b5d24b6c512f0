"""Rows loaded for one live event, shared by every group's execution of it.

Groups whose viewers differ in scope execute one event separately, but the rows
their payloads name (the card, its stage, its customer, the actor) are the same:
each is read once per event per process. Only viewer-neutral loaders share
(resolvers/loaders.py); a guard's own reads stay per viewer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar

from realtime.shared_task import SharedTask

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
Load = Callable[[list[K]], Awaitable[Sequence[V]]]


class EventRows:
    def __init__(self) -> None:
        self._loaded: dict[tuple[str, Hashable], Any] = {}
        self._loading: dict[tuple[str, Hashable], SharedTask[dict[Hashable, Any]]] = {}

    def sharing(self, name: str, load: Load[K, V]) -> Load[K, V]:
        """`load` (a dataloader's batch function, named `name`), reading only the keys
        no execution of this event has read or is reading."""

        async def shared(keys: list[K]) -> list[V]:
            fresh = [
                key
                for key in dict.fromkeys(keys)
                if (name, key) not in self._loaded and (name, key) not in self._loading
            ]
            if fresh:
                batch = SharedTask(self._read(name, load, fresh))
                for key in fresh:
                    self._loading[(name, key)] = batch
            values: list[V] = []
            for key in keys:
                if (name, key) not in self._loaded:
                    found = await self._loading[(name, key)].result()
                    values.append(found[key])
                else:
                    values.append(self._loaded[(name, key)])
            return values

        return shared

    async def _read(self, name: str, load: Load[K, V], keys: list[K]) -> dict[Hashable, Any]:
        try:
            found: dict[Hashable, Any] = dict(zip(keys, await load(keys), strict=True))
        finally:
            for key in keys:
                self._loading.pop((name, key), None)  # failed: the next execution reads again
        for read_key, value in found.items():
            self._loaded[(name, read_key)] = value
        return found
