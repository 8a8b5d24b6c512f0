"""Relay plumbing: the Node interface, PageInfo and generic connections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

import strawberry
from tortoise.models import Model

from resolvers.pagination import Page
from schema.plain_lists import answers_from_source

T = TypeVar("T")
M = TypeVar("M", bound=Model)


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursors: strawberry.Private[Sequence[str]]  # the page's, encoded when asked for
    index: strawberry.Private[int]

    @strawberry.field
    @answers_from_source(lambda edge: edge.cursors[edge.index])
    def cursor(self) -> str:
        return self.cursors[self.index]


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field
    async def total_count(self) -> int:
        """How many items the whole list holds, across every page."""
        return await self.count()

    @classmethod
    def empty(cls) -> Connection[T]:
        async def zero() -> int:
            return 0

        return cls(
            edges=[],
            page_info=PageInfo(
                has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
            ),
            count=zero,
        )

    @classmethod
    def of(cls, page: Page[M], convert: Callable[[M], T]) -> Connection[T]:
        return cls(
            edges=[
                Edge(node=convert(item), cursors=page.cursors, index=index)
                for index, item in enumerate(page.items)
            ],
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=page.cursors[0] if page.cursors else None,
                end_cursor=page.cursors[-1] if page.cursors else None,
            ),
            count=page.count,
        )
