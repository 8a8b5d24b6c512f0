"""schema/compiled_query.py: whenever a compiled plan answers a query, it answers exactly
what graphql-core answers (the same values, in the same order), and it never answers
where graphql-core reports an error; random documents over the whole query schema,
by viewers who see all, some or none of what they ask for."""

from __future__ import annotations

import asyncio
import random
from typing import Any, cast

import orjson
import pytest
import strawberry
from graphql import OperationType, parse

from models import Permission
from resolvers.context import Context
from schema.compiled_query import Bail, Plans
from schema.direct_operation import Operation, by_graphql_core
from schema.operation_guard import QueryLimits
from schema.schema import build_schema
from server.auth import JwtTokens
from tests.card_helpers import varied_cards
from tests.conftest import TEST_SECRET
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user

QUERIES = 300
LIMITS = QueryLimits(
    max_tokens=100_000, max_depth=50, max_aliases=500, max_fields=100_000, max_cost=10**9
)

# Each type's fields: a leaf, or (its arguments, the type it selects from).
FIELDS: dict[str, dict[str, Any]] = {
    "User": {"id": None, "name": None, "email": None, "permissions": None},
    "Customer": {
        "id": None,
        "name": None,
        "phone": None,
        "email": None,
        "owner": ("", "User"),
        "opportunities": ("(first: 3)", "OpportunityConnection"),
    },
    "Stage": {
        "id": None,
        "name": None,
        "position": None,
        "probability": None,
        "opportunityCount": None,
        "totalAmount": None,
        "weightedAmount": None,
        "opportunities": ("(first: 4)", "OpportunityConnection"),
    },
    "Campaign": {
        "id": None,
        "code": None,
        "name": None,
        "autoAssign": None,
        "createdAt": None,
        "manager": ("", "User"),
        "participants": ("", "User"),
        "stages": ("", "Stage"),
        "lossReasons": ("", "LossReason"),
        "opportunities": ("(first: 5)", "OpportunityConnection"),
    },
    "LossReason": {"id": None, "name": None, "archived": None},
    "Opportunity": {
        "id": None,
        "name": None,
        "probability": None,
        "amount": None,
        "source": None,
        "result": None,
        "failureReason": None,
        "rank": None,
        "version": None,
        "closedAt": None,
        "campaign": ("", "Campaign"),
        "customer": ("", "Customer"),
        "stage": ("", "Stage"),
        "owner": ("", "User"),
        "stageHistory": ("", "StageChange"),
    },
    "StageChange": {"at": None, "toStage": ("", "Stage"), "actor": ("", "User")},
    "OpportunityConnection": {
        "totalCount": None,
        "edges": ("", "OpportunityEdge"),
        "pageInfo": ("", "PageInfo"),
    },
    "OpportunityEdge": {"cursor": None, "node": ("", "Opportunity")},
    "CampaignConnection": {"totalCount": None, "edges": ("", "CampaignEdge")},
    "CampaignEdge": {"cursor": None, "node": ("", "Campaign")},
    "PageInfo": {"hasNextPage": None, "endCursor": None},
}
ROOTS = {
    "me": ("", "User"),
    "campaign": ("(id: $campaign)", "Campaign"),
    "campaigns": ("(first: 3)", "CampaignConnection"),
    "opportunity": ("(id: $card)", "Opportunity"),
    "customer": ("(id: $customer)", "Customer"),
}


class Document:
    """A random document: aliases, repeated fields, inline and named fragments."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.fragments: list[str] = []

    def selection(self, type_name: str, depth: int) -> str:
        fields = FIELDS[type_name]
        names = [name for name, kind in fields.items() if kind is None or depth < 3]
        chosen = self.rng.sample(names, self.rng.randint(1, min(4, len(names))))
        parts = [self.field(name, fields[name], depth) for name in chosen]
        if self.rng.random() < 0.15:
            parts.append("__typename")
        if self.rng.random() < 0.2:
            again = self.field(chosen[0], fields[chosen[0]], depth)
            parts.append(f"... on {type_name} {{ {again} }}")
        if self.rng.random() < 0.15:
            name = f"F{len(self.fragments)}"
            self.fragments.append(
                f"fragment {name} on {type_name} {{ {self.selection(type_name, depth + 1)} }}"
            )
            parts.append(f"...{name}")
        self.rng.shuffle(parts)
        return " ".join(parts)

    def field(self, name: str, kind: Any, depth: int) -> str:
        alias = f"{name}{self.rng.randint(1, 2)}: " if self.rng.random() < 0.2 else ""
        if kind is None:
            return f"{alias}{name}"
        arguments, type_name = kind
        return f"{alias}{name}{arguments} {{ {self.selection(type_name, depth + 1)} }}"

    def text(self) -> str:
        roots = self.rng.sample(list(ROOTS), self.rng.randint(1, 2))
        body = " ".join(self.field(root, ROOTS[root], 0) for root in roots)
        text = body + "".join(self.fragments)
        used = [name for name in ("campaign", "card", "customer") if f"${name}" in text]
        header = ", ".join(f"${name}: ID!" for name in used)
        query = f"query Q{'(' + header + ')' if header else ''} {{ {body} }}"
        return " ".join([query, *self.fragments])


async def a_sales_floor() -> tuple[list[Any], list[dict[str, str]]]:
    """Viewers (manager, participant, participant without OPPORTUNITY_ACCESS, VIEW_ALL,
    outsider) and sets of ids to ask for: four of the campaign's, one of another's."""
    manager = await make_user(Permission.OPPORTUNITY_ACCESS, name="Manager")
    owner = await make_user(Permission.OPPORTUNITY_ACCESS, name="Owner")
    watcher = await make_user(name="No card access")
    admin = await make_user(Permission.OPPORTUNITY_ACCESS, Permission.VIEW_ALL, name="Admin")
    outsider = await make_user(Permission.OPPORTUNITY_ACCESS, name="Outsider")
    campaign = await make_campaign(manager, participants=[owner, watcher])
    other = await make_campaign(outsider)
    cards = await varied_cards(campaign, owner, manager, count=12, seed=11, close_every=5)
    hidden = await make_opportunity(other, await make_customer(outsider), owner=outsider)
    ids = [
        {
            "campaign": gid("Campaign", campaign),
            "card": gid("Opportunity", card),
            "customer": gid("Customer", await card.customer),
        }
        for card in cards[:4]
    ]
    ids.append(
        {
            "campaign": gid("Campaign", other),
            "card": gid("Opportunity", hidden),
            "customer": gid("Customer", await hidden.customer),
        }
    )
    return [manager, owner, watcher, admin, outsider], ids


async def test_a_plan_answers_what_graphql_core_answers_or_leaves_it_to_graphql_core(api):
    # given a sales floor, viewers who see all, some or none of it, and random documents
    viewers, ids = await a_sales_floor()
    tokens = JwtTokens(TEST_SECRET, 3600)
    schema = build_schema(LIMITS)
    rng = random.Random(20261204)
    answered = errors_left = 0
    for _ in range(QUERIES):
        query = Document(rng).text()
        document = schema.checks.parse(query) if schema.checks else None
        assert document is not None and not isinstance(document, Exception), query
        assert not schema.checks.errors(schema._schema, query, document, None, ()), query
        viewer, variables = rng.choice(viewers), rng.choice(ids)
        plan = schema.plans.plan(schema._schema, query, document, "Q")
        assert plan is not None, f"every document of this pool is planned: {query}"
        # when the plan and graphql-core each execute it, with contexts of their own
        oracle = await by_graphql_core(
            schema,
            Operation(query, document, variables, "Q", OperationType.QUERY, "Q"),
            Context(viewer=viewer, tokens=tokens),
        )
        try:
            data = await plan.data(Context(viewer=viewer, tokens=tokens), variables)
        except Bail:
            # then a plan that gives up leaves the answer to graphql-core ...
            errors_left += oracle.errors is not None
            continue
        # ... and a plan that answers gives graphql-core's answer, in its order
        assert oracle.errors is None, (query, oracle.errors)
        assert orjson.dumps(data) == orjson.dumps(oracle.data), query
        answered += 1
    # and plans answered most documents, and gave up on every one that has an error
    assert answered > QUERIES / 2
    assert errors_left > 10


finished: list[str] = []


@strawberry.type
class Thing:
    name: str

    @strawberry.field
    async def slow(self) -> int:
        await asyncio.sleep(0.01)
        finished.append(self.name)
        return 1

    @strawberry.field
    def broken(self) -> int:
        raise ValueError("a resolver that fails at once")


@strawberry.type
class Things:
    @strawberry.field
    def thing(self) -> Thing:
        return Thing(name="one")

    @strawberry.field
    def things(self) -> list[Thing]:
        return [Thing(name="first"), None]  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("query", "started"),
    [("{ thing { slow broken } }", ["one"]), ("{ things { slow } }", ["first"])],
)
async def test_a_plan_that_gives_up_first_lets_the_work_it_started_finish(query, started):
    # given a plan whose fields start async work before a sibling fails at once
    schema = strawberry.Schema(query=Things)
    plan = Plans().plan(schema._schema, query, parse(query), None)
    assert plan is not None
    finished.clear()
    # when it runs, then it gives up (graphql-core is to execute the query) ...
    with pytest.raises(Bail):
        await plan.data(cast(Context, None), None)
    # ... once the work already started has finished: nothing is left running
    assert finished == started
