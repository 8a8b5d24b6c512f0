"""The size of an operation before it runs: how many fields it selects once fragments are
expanded, and what it may cost, counting every object it can fetch.

A connection multiplies what it selects by its page size (`first`/`last`, 50 when
omitted, at most 200), so `first: 200` inside `first: 200` costs 40,000. A list that is not
a connection counts as LIST_ESTIMATE items. Each fragment is measured once, so a fragment
that spreads another many times (a "fragment bomb") costs linear time to measure, however
large the expansion it describes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
    is_composite_type,
)
from graphql.type.definition import GraphQLInterfaceType

from resolvers.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

LIST_ESTIMATE = 10
# Wrappers around the objects a connection fetches, not objects themselves.
_FREE_SUFFIXES = ("Connection", "Edge")
_FREE_TYPES = frozenset({"PageInfo"})


@dataclass(frozen=True, slots=True)
class Shape:
    fields: int = 0
    cost: int = 0

    def __add__(self, other: Shape) -> Shape:
        return Shape(self.fields + other.fields, self.cost + other.cost)


def measure(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None
) -> Shape:
    """The largest shape among the document's operations (only one of them runs)."""
    walker = _Walker(schema, document, variables or {})
    shapes = [
        walker.operation(node)
        for node in document.definitions
        if isinstance(node, OperationDefinitionNode)
    ]
    return Shape(
        fields=max((shape.fields for shape in shapes), default=0),
        cost=max((shape.cost for shape in shapes), default=0),
    )


class _Walker:
    def __init__(
        self, schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any]
    ) -> None:
        self.schema = schema
        self.variables = variables
        self.fragments = {
            node.name.value: node
            for node in document.definitions
            if isinstance(node, FragmentDefinitionNode)
        }
        self.measured: dict[tuple[str, int], Shape] = {}
        self.measuring: set[str] = set()
        self.defaults: dict[str, ValueNode] = {}

    def operation(self, node: OperationDefinitionNode) -> Shape:
        self.measured.clear()  # fragments may use this operation's variable defaults
        self.defaults = {
            variable.variable.name.value: variable.default_value
            for variable in node.variable_definitions or ()
            if variable.default_value is not None
        }
        root = self.schema.get_root_type(node.operation)
        return self.selections(node.selection_set, root, DEFAULT_PAGE_SIZE) if root else Shape()

    def selections(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType, page: int
    ) -> Shape:
        shape = Shape()
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                shape += self.field(selection, parent, page)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                target = self.schema.get_type(condition.name.value) if condition else parent
                shape += self.selections(selection.selection_set, target or parent, page)
            elif isinstance(selection, FragmentSpreadNode):
                shape += self.fragment(selection.name.value, page)
        return shape

    def fragment(self, name: str, page: int) -> Shape:
        definition = self.fragments.get(name)
        if definition is None or name in self.measuring:
            return Shape()  # unknown or circular: validation reports it
        key = (name, page)
        if key not in self.measured:
            self.measuring.add(name)
            target = self.schema.get_type(definition.type_condition.name.value)
            self.measured[key] = (
                self.selections(definition.selection_set, target, page) if target else Shape()
            )
            self.measuring.discard(name)
        return self.measured[key]

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int) -> Shape:
        name = node.name.value
        if name.startswith("__") or not isinstance(
            parent, GraphQLObjectType | GraphQLInterfaceType
        ):
            return Shape(fields=1)
        definition = parent.fields.get(name)
        if definition is None:
            return Shape(fields=1)
        named = get_named_type(definition.type)
        if not is_composite_type(named):
            return Shape(fields=1)
        child_page = self.page_size(node) if named.name.endswith("Connection") else page
        inner = self.selections(node.selection_set, named, child_page)
        count = (
            (page if parent.name.endswith("Connection") else LIST_ESTIMATE)
            if _is_list(definition.type)
            else 1
        )
        weight = 0 if named.name.endswith(_FREE_SUFFIXES) or named.name in _FREE_TYPES else 1
        return Shape(fields=1 + inner.fields, cost=count * (weight + inner.cost))

    def page_size(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value not in ("first", "last"):
                continue
            value = argument.value
            if isinstance(value, VariableNode):
                name = value.name.value
                if name in self.variables:
                    raw = self.variables[name]
                    if isinstance(raw, int) and not isinstance(raw, bool):
                        return _bounded(raw)
                    continue
                value = self.defaults.get(name, value)
            if isinstance(value, IntValueNode):
                return _bounded(int(value.value))
        return DEFAULT_PAGE_SIZE


def _bounded(size: int) -> int:
    # Above the maximum the resolver refuses the page, so it never costs more than that.
    return max(0, min(size, MAX_PAGE_SIZE))


def _is_list(type_: GraphQLOutputType) -> bool:
    if isinstance(type_, GraphQLNonNull):
        type_ = type_.of_type
    return isinstance(type_, GraphQLList)
