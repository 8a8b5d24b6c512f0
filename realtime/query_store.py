"""Where persisted query documents are kept, by the hex SHA-256 of their text: in Redis
when it is configured (shared by every process, each kept for KEEP_SECONDS after it was
last registered), else in this process's memory (the most recently used, up to MAX_KEPT
of them and MAX_KEPT_CHARS in all). A document over MAX_DOCUMENT_CHARS is not kept.

A store that does not answer, or did not keep a document, loses nothing but a round
trip: the client is told the query is not found, and sends its text again."""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from realtime.channels import DEFAULT_REDIS_PREFIX
from realtime.redis_pool import bounded_redis

logger = logging.getLogger("funnelgraph.persisted")

MAX_KEPT = 10_000
MAX_KEPT_CHARS = 32 * 1024 * 1024
MAX_DOCUMENT_CHARS = 64 * 1024
KEEP_SECONDS = 7 * 24 * 3600
POOL_SIZE = 4  # Redis connections per process for persisted queries


class QueryStore(Protocol):
    async def get(self, digest: str) -> str | None: ...

    async def put(self, digest: str, document: str) -> None: ...


class MemoryQueryStore:
    def __init__(self, max_kept: int = MAX_KEPT, max_chars: int = MAX_KEPT_CHARS) -> None:
        self._documents: OrderedDict[str, str] = OrderedDict()
        self._max_kept = max_kept
        self._max_chars = max_chars
        self._chars = 0

    async def get(self, digest: str) -> str | None:
        document = self._documents.get(digest)
        if document is not None:
            self._documents.move_to_end(digest)
        return document

    async def put(self, digest: str, document: str) -> None:
        if len(document) > MAX_DOCUMENT_CHARS or digest in self._documents:
            return
        self._documents[digest] = document
        self._chars += len(document)
        while len(self._documents) > self._max_kept or self._chars > self._max_chars:
            self._chars -= len(self._documents.popitem(last=False)[1])


class RedisQueryStore:
    def __init__(self, redis: Redis, prefix: str = DEFAULT_REDIS_PREFIX) -> None:
        self._redis = redis
        self._prefix = f"{prefix}apq:"

    async def get(self, digest: str) -> str | None:
        try:
            found = await self._redis.get(self._prefix + digest)
        except (OSError, RedisError) as error:
            logger.warning("reading a persisted query from Redis: %s", error)
            return None
        return found.decode() if isinstance(found, bytes) else found

    async def put(self, digest: str, document: str) -> None:
        if len(document) > MAX_DOCUMENT_CHARS:
            return
        try:
            await self._redis.set(self._prefix + digest, document, ex=KEEP_SECONDS)
        except (OSError, RedisError) as error:
            logger.warning("keeping a persisted query in Redis: %s", error)


@asynccontextmanager
async def open_query_store(
    redis_url: str | None, prefix: str = DEFAULT_REDIS_PREFIX
) -> AsyncIterator[QueryStore]:
    """Redis when configured (its keys after `prefix`), else memory."""
    if not redis_url:
        yield MemoryQueryStore()
        return
    async with bounded_redis(redis_url, POOL_SIZE, wait=1, connect_timeout=1, timeout=1) as redis:
        yield RedisQueryStore(redis, prefix)
