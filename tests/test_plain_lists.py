"""schema/plain_lists.py: lists completed in one pass answer exactly what graphql-core's
own completion answers, for random selections of the board, by several viewers."""

from __future__ import annotations

import random
from typing import Any

from graphql import GraphQLObjectType
from graphql.execution.collect_fields import FieldDetailsList

from models import Campaign, Permission, User
from resolvers.context import Context
from schema.event_execution import EventExecutor
from schema.live_groups import Frames
from schema.operation_context import ContextPerOperation
from schema.plain_lists import Step
from schema.schema import Mutation, Query, Schema, Subscription
from server.auth import JwtTokens
from tests.card_helpers import CARD_SCALARS, varied_cards
from tests.conftest import TEST_SECRET
from tests.factories import gid, make_campaign, make_user

CARD = [*CARD_SCALARS, "__typename"]
OWNER = ["id", "name", "email", "permissions", "__typename"]
CUSTOMER = ["id", "name", "phone", "email", "__typename"]
STAGE = ["id", "name", "position"]
QUERIES = 120


class OnePass(EventExecutor):
    """The app's executor, counting the lists it completed in one pass."""

    completed_in_one_pass = 0

    def _plan(self, item_type: GraphQLObjectType, fields: FieldDetailsList) -> Step | None:
        plan = super()._plan(item_type, fields)
        if plan is not None:
            OnePass.completed_in_one_pass += 1
        return plan


class GraphQLCoreOnly(EventExecutor):
    """The oracle: every list completed by graphql-core, field by field."""

    def _plan(self, item_type: GraphQLObjectType, fields: FieldDetailsList) -> Step | None:
        return None


def schema_with(executor: type[EventExecutor]) -> Schema:
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=[ContextPerOperation],
        execution_context_class=executor,
    )
    schema.frames = Frames()
    return schema


def pick(rng: random.Random, names: list[str], nested: dict[str, str]) -> str:
    """Some of `names` (and of the nested selections), aliased, fragmented, @included."""
    chosen = [(name, "") for name in rng.sample(names, rng.randint(1, len(names)))]
    chosen += [(field, f"{{ {selection} }}") for field, selection in nested.items()]
    rng.shuffle(chosen)
    parts = []
    for number, (name, selection) in enumerate(chosen):
        alias = f"a{number}: " if rng.random() < 0.2 and not name.startswith("__") else ""
        roll = rng.random()
        directive = (
            " @include(if: $yes)" if roll < 0.1 else " @skip(if: $yes)" if roll < 0.15 else ""
        )
        parts.append(f"{alias}{name}{directive} {selection}")
    return " ".join(parts)


def random_board(rng: random.Random) -> str:
    nested = {}
    if rng.random() < 0.7:
        nested["owner"] = pick(rng, OWNER, {})
    if rng.random() < 0.7:
        nested["customer"] = pick(rng, CUSTOMER, {})
    if rng.random() < 0.15:
        nested["stage"] = pick(rng, STAGE, {})
    card = pick(rng, CARD, nested)
    if rng.random() < 0.3:
        card = f"... on Opportunity {{ {card} }} id"
    elif rng.random() < 0.3:
        card = "...Card"
    edge = pick(rng, ["cursor", "__typename"], {"node": card})
    first = rng.choice([1, 5, 50, 200])
    fragment = ""
    if "...Card" in card:
        fragment = f"fragment Card on Opportunity {{ {pick(rng, CARD, {})} }}"
    return (
        "query Board($id: ID!, $yes: Boolean!) { campaign(id: $id) { id @skip(if: $yes) stages { "
        f"opportunities(first: {first}) {{ totalCount edges {{ {edge} }} }} }} }} }} {fragment}"
    )


async def a_board() -> tuple[Campaign, list[User]]:
    manager = await make_user(Permission.OPPORTUNITY_ACCESS, name="Manager")
    owner = await make_user(Permission.OPPORTUNITY_ACCESS, name="Owner")
    admin = await make_user(
        Permission.OPPORTUNITY_ACCESS, Permission.VIEW_ALL, Permission.USER_ADMIN, name="Admin"
    )
    campaign = await make_campaign(manager, participants=[owner])
    await varied_cards(campaign, owner, manager, count=40, seed=3, close_every=7)
    return campaign, [manager, owner, admin]


def comparable(result: Any) -> tuple[Any, list[tuple[str, ...]]]:
    errors = sorted(
        (str(error.path), error.message, str((error.extensions or {}).get("code")))
        for error in result.errors or []
    )
    return result.data, errors


async def test_one_pass_lists_answer_what_graphql_core_answers(api):
    # given a board, three viewers, and the app's executor beside the oracle
    campaign, viewers = await a_board()
    tokens = JwtTokens(TEST_SECRET, 3600)
    one_pass, oracle = schema_with(OnePass), schema_with(GraphQLCoreOnly)
    rng = random.Random(20261203)
    OnePass.completed_in_one_pass = 0
    for _ in range(QUERIES):
        query = random_board(rng)
        viewer = rng.choice(viewers)
        variables = {"id": gid("Campaign", campaign), "yes": rng.random() < 0.5}
        # when both execute it
        answers = [
            await schema.execute(query, variables, Context(viewer=viewer, tokens=tokens))
            for schema in (one_pass, oracle)
        ]
        # then they agree on every value and every error
        assert comparable(answers[0]) == comparable(answers[1]), query
        assert answers[0].data is not None, (query, answers[0].errors)
    # and most of those boards did take the one-pass path
    assert OnePass.completed_in_one_pass > QUERIES / 3
