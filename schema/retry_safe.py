"""The field extension that makes a mutation safe to retry with a clientMutationId
(resolvers/retry_keys.py), and what each kind of mutation answers a repeat with."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension
from strawberry.types import Info
from tortoise.exceptions import IntegrityError
from tortoise.models import Model

from models import ChatMessage as ChatMessageModel
from models import Communication as CommunicationModel
from models import Order as OrderModel
from models import Task as TaskModel
from resolvers import retry_keys
from resolvers.access import visible_card
from resolvers.context import Context
from resolvers.errors import AppError, not_found
from resolvers.ids import encode_id
from schema.lazy_types import lazy_type

KEY_DESCRIPTION = (
    "Idempotency key, unique per user for 24 hours: a repeat returns the first result and "
    "changes nothing; events carry it."
)

# A mutation's clientMutationId when it is an argument of its own (not in its input).
RetryKeyArgument = Annotated[str | None, strawberry.argument(description=KEY_DESCRIPTION)]

Answer = Callable[[Info[Context, None], dict[str, Any]], Awaitable[Any]]


class RetrySafe(FieldExtension):
    """Runs the mutation under its key, or answers a repeat of it without running it."""

    def __init__(self, answer: Answer) -> None:
        super().__init__()
        self.answer = answer

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Info, **kwargs: Any
    ) -> Any:
        key = kwargs.get("client_mutation_id")
        if key is None and "input" in kwargs:
            key = getattr(kwargs["input"], "client_mutation_id", None)
        if key is None:
            return await next_(source, info, **kwargs)
        viewer = info.context.require_viewer()
        key = retry_keys.checked_key(key)
        print_ = retry_keys.fingerprint(info.field_name, kwargs)
        found = await retry_keys.answered(viewer.pk, key, info.field_name, print_)
        if found is None:
            pending = retry_keys.Pending(viewer.pk, key, info.field_name, print_)
            with retry_keys.keyed(pending):
                try:
                    return await next_(source, info, **kwargs)
                except (AppError, IntegrityError):
                    # A twin call with the key may have committed first: answer as it did.
                    found = await retry_keys.answered(viewer.pk, key, info.field_name, print_)
                    if found is None:
                        raise
        return await self.answer(info, found)


def retry_safe(answer: Answer, *permissions: type[BasePermission]) -> list[FieldExtension]:
    """The field's permission checks, and outside them (Strawberry runs the last extension
    first) the key: a repeat is answered before them, so that deleting a card can be
    retried; the answer itself reads only what the viewer may see."""
    checks = PermissionExtension([permission() for permission in permissions], use_directives=False)
    return [checks, RetrySafe(answer)]


async def card_answer(info: Info[Context, None], result: dict[str, Any]) -> Any:
    card = await visible_card(info.context, encode_id("Opportunity", int(result["Opportunity"])))
    return lazy_type("schema.opportunity", "Opportunity").from_model(card)


async def deleted_answer(info: Info[Context, None], result: dict[str, Any]) -> Any:
    return strawberry.ID(encode_id("Opportunity", int(result["Opportunity"])))


# The rows a repeat may be answered with: (model, the module of their GraphQL type).
_ROWS: dict[str, tuple[type[Model], str]] = {
    "Communication": (CommunicationModel, "schema.opportunity"),
    "Task": (TaskModel, "schema.opportunity"),
    "Order": (OrderModel, "schema.opportunity"),
    "ChatMessage": (ChatMessageModel, "schema.chat"),
}


def row_answer(kind: str) -> Answer:
    """The row `result` names, as its type shows it now (NOT_FOUND once it is gone)."""
    model, module = _ROWS[kind]

    async def answer(info: Info[Context, None], result: dict[str, Any]) -> Any:
        row = await model.get_or_none(id=int(result[kind]))
        if row is None:
            raise not_found(kind, encode_id(kind, int(result[kind])))
        return lazy_type(module, kind).from_model(row)

    return answer
