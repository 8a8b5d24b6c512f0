"""One execution per group of identical subscriptions, for each event.

Subscribers whose answers to an event cannot differ form a group: same document,
operation and variables (those the payload's selection reads), and the same viewer
scope. The scope holds what can change an answer for a viewer who may see the
campaign: OPPORTUNITY_ACCESS, VIEW_ALL, being its manager or a participant. A
document that selects any field outside VIEWER_NEUTRAL (contact fields, a user's
email or permissions, anything that reaches other campaigns) is grouped per viewer
too. The first member of a group to reach an event executes it; the others get the
same serialized payload.
"""

from __future__ import annotations

import asyncio
import json
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    Node,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    VariableNode,
    Visitor,
    get_named_type,
    print_ast,
    visit,
)

from realtime.shared_task import SharedTask
from resolvers.event_rows import EventRows

ALL = None
# Fields whose value is the same for every viewer who may see the campaign, once the
# scope is equal (type name -> field names; ALL: every field of the type).
VIEWER_NEUTRAL: dict[str, frozenset[str] | None] = {
    "CampaignEvent": ALL,
    "OpportunityCreated": ALL,
    "OpportunityUpdated": ALL,
    "OpportunityMoved": ALL,
    "OpportunityAssigned": ALL,
    "OpportunityClosed": ALL,
    "OpportunityReopened": ALL,
    "OpportunityDeleted": ALL,
    "ChatMessagePosted": ALL,
    "ChatMessageEdited": ALL,
    "ChatMessageDeleted": ALL,
    "CampaignPresence": ALL,
    "PresenceEntry": ALL,
    "CampaignUpdated": ALL,
    "Campaign": ALL,  # but the VIEWER_RELATIVE fields below
    "Stage": ALL,
    "ChatMessage": ALL,
    "Order": ALL,
    "Task": ALL,
    "StageChange": ALL,
    "PageInfo": ALL,
    "OpportunityConnection": ALL,
    "OpportunityEdge": ALL,
    "ChatMessageConnection": ALL,
    "ChatMessageEdge": ALL,
    # Not copiedFrom (a card of another campaign) nor communications (the customer's rule).
    "Opportunity": frozenset(
        [
            "id",
            "name",
            "probability",
            "amount",
            "source",
            "result",
            "failureReason",
            "rank",
            "version",
            "createdAt",
            "updatedAt",
            "closedAt",
            "campaign",
            "customer",
            "stage",
            "owner",
            "registrationDeadline",
            "createdBy",
            "orders",
            "tasks",
            "stageHistory",
        ]
    ),
    "User": frozenset({"id", "name"}),  # not email, permissions
    "Customer": frozenset({"id", "name", "owner"}),  # not contacts, other campaigns' cards
}
# Fields of a neutral type whose value is the viewer's own.
VIEWER_RELATIVE: dict[str, frozenset[str]] = {
    "Campaign": frozenset({"unreadChatCount", "chatReadCursor"}),
}
FRAMES_KEPT = 2_000  # recent events' payloads, for the subscribers still catching up


@dataclass(frozen=True, slots=True)
class Rendered:
    """A `next` message's payload, serialized once for a whole group."""

    text: str


@dataclass(frozen=True, slots=True)
class SharedEvent:
    """What a live stream yields: event `seq` of `channel`, whose root value `load`
    makes; executed once for every subscriber of the same group. `scope` None: the
    group is this viewer's own subscriptions."""

    channel: str
    seq: int
    scope: Hashable | None
    viewer_pk: int | None
    load: Callable[[], Awaitable[Any]]
    group: Group

    @property
    def key(self) -> Hashable:
        """Subscribers whose events have equal keys get the same payload."""
        return self.group.key(self)


@dataclass(frozen=True, slots=True)
class Group:
    """The document half of a group key, worked out once per subscription."""

    document: str
    variables: str
    neutral: bool

    def key(self, event: SharedEvent) -> Hashable:
        return self.key_of(event.channel, event.seq, event.scope, event.viewer_pk)

    def key_of(
        self, channel: str, seq: int, scope: Hashable | None, viewer_pk: int | None
    ) -> Hashable:
        """The key of event `seq` of `channel` as this viewer, of this scope, is shown it."""
        who = viewer_pk if scope is None or not self.neutral else None
        return (channel, seq, self.document, self.variables, scope, who)


def group_of(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> Group:
    """The group of a subscription operation (one root field, as the spec requires)."""
    shape = _shape_of(schema, operation, fragments)
    values = {name: variables.get(name) for name in shape.variables}
    return Group(shape.document, json.dumps(values, sort_keys=True, default=str), shape.neutral)


@dataclass(frozen=True, slots=True)
class _Shape:
    """What a group takes of its operation's document, whatever the variables' values."""

    document: str
    variables: tuple[str, ...]  # those the payload's selection reads
    neutral: bool


# Per operation node (Strawberry keeps one parsed document per query text, so the
# subscribers of one document share it): the node, its schema, its shape. Printing and
# walking the document for each subscriber made most of the work of subscribing.
_shapes: dict[int, tuple[OperationDefinitionNode, GraphQLSchema, _Shape]] = {}
_SHAPES_KEPT = 512


def _shape_of(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
) -> _Shape:
    seen = _shapes.get(id(operation))
    if seen is not None and seen[0] is operation and seen[1] is schema:
        return seen[2]
    root = _root_field(operation)
    used = _fragments_used(root.selection_set, fragments) if root else []
    document = "\n".join(print_ast(node) for node in [operation, *used])
    # The root field's own arguments (campaignId, after) only choose the stream; its
    # directives and everything below it make the answer.
    reading = [*(root.directives or ()), root.selection_set] if root else []
    names = tuple(sorted(_variables_read(reading, used)))
    shape = _Shape(document, names, _only_neutral_fields(schema, operation, used))
    if len(_shapes) >= _SHAPES_KEPT:
        _shapes.clear()
    _shapes[id(operation)] = (operation, schema, shape)
    return shape


def _root_field(operation: OperationDefinitionNode) -> FieldNode | None:
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            return selection
    return None


def _fragments_used(
    selection_set: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> list[FragmentDefinitionNode]:
    found: dict[str, FragmentDefinitionNode] = {}
    pending = [selection_set]
    while pending:
        node = pending.pop()
        if node is None:
            continue
        for spread in _spreads(node):
            fragment = fragments.get(spread)
            if fragment is not None and spread not in found:
                found[spread] = fragment
                pending.append(fragment.selection_set)
    return [found[name] for name in sorted(found)]


def _spreads(selection_set: SelectionSetNode) -> list[str]:
    names: list[str] = []

    class Spreads(Visitor):
        def enter_fragment_spread(self, node: FragmentSpreadNode, *_: Any) -> None:
            names.append(node.name.value)

    visit(selection_set, Spreads())
    return names


def _variables_read(
    nodes: Sequence[Node | None], fragments: list[FragmentDefinitionNode]
) -> set[str]:
    names: set[str] = set()

    class Variables(Visitor):
        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            names.add(node.name.value)

    for node in [*nodes, *fragments]:
        if node is not None:
            visit(node, Variables())
    return names


def _only_neutral_fields(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: list[FragmentDefinitionNode],
) -> bool:
    outside: list[str] = []

    class Fields(Visitor):
        def __init__(self, type_info: TypeInfo) -> None:
            super().__init__()
            self.type_info = type_info

        def enter_field(self, node: FieldNode, *_: Any) -> None:
            parent = self.type_info.get_parent_type()
            if parent is None or node.name.value == "__typename":
                return
            if parent is schema.subscription_type:
                return  # the stream's own field: its access is checked per event
            if not _neutral(get_named_type(parent), node.name.value):
                outside.append(f"{parent}.{node.name.value}")

    for node in [operation, *fragments]:
        type_info = TypeInfo(schema)
        visit(node, TypeInfoVisitor(type_info, Fields(type_info)))
    return not outside


def _neutral(parent: GraphQLNamedType, field: str) -> bool:
    if parent.name not in VIEWER_NEUTRAL or field in VIEWER_RELATIVE.get(parent.name, ()):
        return False
    fields = VIEWER_NEUTRAL[parent.name]
    return fields is ALL or field in fields


def rendered_payload(message: object) -> Rendered | None:
    """The payload of a `next` message whose data was rendered for a group, if it is one."""
    if not isinstance(message, dict) or message.get("type") != "next":
        return None
    payload = message.get("payload")
    data = payload.get("data") if isinstance(payload, dict) else None
    return data if isinstance(data, Rendered) else None


class Execution(SharedTask[Rendered]):
    """One group's execution of one event: awaited by every subscriber of the group,
    cancelled with none of them."""

    __slots__ = ()

    async def rendered(self) -> Rendered | None:
        """The payload; None when the execution failed (the subscriber must execute it)."""
        await self.finished()
        return self.task.result() if self.succeeded() else None


class Frames:
    """The executions of recent live events, one per group key; bounded."""

    def __init__(self, kept: int = FRAMES_KEPT) -> None:
        self._kept = kept
        self._executions: OrderedDict[Hashable, Execution] = OrderedDict()
        self._rows: OrderedDict[tuple[str, int], EventRows] = OrderedDict()
        self.executions = 0

    def rows(self, event: SharedEvent) -> EventRows:
        """The rows of `event` read so far, shared by every group that executes it."""
        key = (event.channel, event.seq)
        rows = self._rows.get(key)
        if rows is None:
            rows = self._rows[key] = EventRows()
            if len(self._rows) > self._kept:
                self._rows.popitem(last=False)
        return rows

    def running(self, key: Hashable) -> Execution | None:
        """The key's execution, if one was started (and did not fail)."""
        return self._executions.get(key)

    def claim(
        self, key: Hashable, execute: Callable[[], Coroutine[Any, Any, Rendered]]
    ) -> Execution:
        """The key's execution, started by this call when there is none yet."""
        execution = self._executions.get(key)
        if execution is None:
            execution = Execution(execute(), name="live event execution")
            execution.task.add_done_callback(partial(self._done, key, execution))
            self._executions[key] = execution
            if len(self._executions) > self._kept:
                self._executions.popitem(last=False)
            self.executions += 1
        return execution

    def _done(self, key: Hashable, execution: Execution, task: asyncio.Task[Rendered]) -> None:
        failed = task.cancelled() or task.exception() is not None
        if failed and self._executions.get(key) is execution:
            # Each subscriber that waited got the error; the next ones try again.
            del self._executions[key]

    def stats(self) -> dict[str, int]:
        return {"event_executions": self.executions, "frames_kept": len(self._executions)}
