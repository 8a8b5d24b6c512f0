"""The Schema object: every domain's queries and mutations, with caches and error codes."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext

from schema.bulk import BulkMutation
from schema.campaign import CampaignMutation, CampaignQuery
from schema.cards import CardQuery
from schema.chat import ChatMutation
from schema.compiled_query import Plans
from schema.customer import CustomerMutation, CustomerQuery
from schema.errors import answer_errors
from schema.event_execution import EventExecutor, SoloExecutor
from schema.live_groups import Frames
from schema.loss_reason import LossReasonMutation
from schema.members import MemberMutation
from schema.node import NodeQuery
from schema.notification import NotificationMutation, NotificationQuery
from schema.observed import Observer, observed
from schema.operation_context import ContextPerOperation
from schema.operation_guard import OperationChecks, QueryLimits, guard_extensions
from schema.opportunity import OpportunityQuery
from schema.opportunity_mutations import OpportunityMutation
from schema.presence import PresenceMutation
from schema.subscription import Subscription
from schema.user import UserMutation, UserQuery
from schema.webhook import WebhookMutation

Query = merge_types(
    "Query",
    (
        NodeQuery,
        UserQuery,
        CampaignQuery,
        OpportunityQuery,
        CardQuery,
        CustomerQuery,
        NotificationQuery,
    ),
)
Mutation = merge_types(
    "Mutation",
    (
        UserMutation,
        CustomerMutation,
        CampaignMutation,
        OpportunityMutation,
        ChatMutation,
        PresenceMutation,
        NotificationMutation,
        LossReasonMutation,
        MemberMutation,
        BulkMutation,
        WebhookMutation,
    ),
)


class Schema(strawberry.Schema):
    production = False
    checks: OperationChecks | None = None  # the guard's; None: operations are not bounded
    plans: Plans  # compiled queries (schema/compiled_query.py)
    frames: Frames  # the payloads of recent live events, per group (one per app)
    observer: Observer | None = None  # hears of each operation (the direct path's too)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Expected errors (guards, bad input) are answers, not incidents: log the rest,
        # and give every error its contract code.
        answer_errors(errors, production=self.production)


def build_schema(
    limits: QueryLimits | None = None,
    *,
    production: bool = False,
    grouped: bool = True,
    observer: Observer | None = None,
) -> Schema:
    """The schema; `limits` bound every operation (the server always passes them), and
    production hides introspection and field suggestions. `grouped=False` executes
    each live event once per subscriber (the oracle grouped execution is tested on).
    `observer` hears of every operation's outcome (schema/observed.py)."""
    # A fresh guard extension per operation; its checks (rules and caches) are the schema's.
    checks = OperationChecks(limits, production=production) if limits else None
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[
            *(guard_extensions(checks) if checks else []),
            ContextPerOperation,
            *([observed(observer)] if observer else []),
        ],
        execution_context_class=EventExecutor if grouped else SoloExecutor,
    )
    schema.production = production
    schema.checks = checks
    schema.plans = Plans(schema.config.info_class)
    schema.frames = Frames()
    schema.observer = observer
    return schema


def export_sdl() -> str:
    return build_schema().as_str() + "\n"
