"""The Schema object: every domain's queries and mutations, with caches and error codes."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.campaign import CampaignMutation, CampaignQuery
from schema.chat import ChatMutation
from schema.customer import CustomerMutation, CustomerQuery
from schema.errors import answer_errors
from schema.node import NodeQuery
from schema.notification import NotificationMutation, NotificationQuery
from schema.operation_context import ContextPerOperation
from schema.operation_guard import QueryLimits, operation_guard
from schema.opportunity_mutations import OpportunityMutation, OpportunityQuery
from schema.subscription import Subscription
from schema.user import UserMutation, UserQuery

Query = merge_types(
    "Query",
    (NodeQuery, UserQuery, CampaignQuery, OpportunityQuery, CustomerQuery, NotificationQuery),
)
Mutation = merge_types(
    "Mutation",
    (
        UserMutation,
        CustomerMutation,
        CampaignMutation,
        OpportunityMutation,
        ChatMutation,
        NotificationMutation,
    ),
)


class Schema(strawberry.Schema):
    hide_suggestions = False

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors (guards, bad input) are answers, not incidents: log the rest,
        # and give every error its contract code.
        answer_errors(errors, hide_suggestions=self.hide_suggestions)


def build_schema(limits: QueryLimits | None = None, *, production: bool = False) -> Schema:
    """The schema; production hides introspection and field suggestions."""
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            # Factories: a fresh extension per operation; the LRU caches are module-wide.
            lambda: ParserCache(maxsize=256),
            operation_guard(limits or QueryLimits(), production=production),
            ContextPerOperation,
        ],
    )
    schema.hide_suggestions = production
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
