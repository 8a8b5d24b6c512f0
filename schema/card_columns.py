"""The columns of its cards that a page of cards reads, from the page's selection.

A board selects a few fields of each card (name, rank, probability, amount, owner,
customer), and reading all thirty columns of 2,000 cards cost more than the rest of
its query: PostgreSQL sending them and asyncpg decoding them. When every field the
cards select is an attribute field (which `Opportunity.from_model` copies from the
card's column of the same name) or is answered by a key (owner, customer), the page
reads just those columns; any other field, a resolver that may read the card's row,
makes it read them all.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    InlineFragmentNode,
    SelectionSetNode,
    get_named_type,
)
from graphql.execution.collect_fields import (
    FieldDetails,
    FieldDetailsList,
    FragmentDetails,
    collect_subfields,
)
from graphql.execution.values import VariableValues
from strawberry.types import Info

from models import Opportunity as OpportunityModel
from schema.plain_lists import attribute_read, field_definition

# Resolvers that read nothing of the card but one key: their answers come preloaded
# by that key for the whole page (schema/cards.py).
_BY_KEY = {"owner": "owner_id", "customer": "customer_id"}
_COLUMN_OF = OpportunityModel._meta.fields_db_projection
_SEEN_KEPT = 256


class _Wide(Exception):
    """A field that may read any column of the card."""


# Per selection (its field nodes, which a cached document keeps): nodes, columns.
_seen: dict[tuple[int, ...], tuple[list[Any], frozenset[str] | None]] = {}


def card_columns(info: Info[Any, Any]) -> frozenset[str] | None:
    """The card columns a page of cards selected by `info`'s field reads; None: all."""
    raw: GraphQLResolveInfo[Any] = info._raw_info
    nodes = raw.field_nodes
    key = tuple(map(id, nodes))
    seen = _seen.get(key)
    if seen is not None and all(a is b for a, b in zip(seen[0], nodes, strict=True)):
        return seen[1]
    try:
        columns: frozenset[str] | None = frozenset(_read_by(raw, info.variable_values))
    except _Wide:
        columns = None
    if not any(_has_directives(node.selection_set, raw.fragments) for node in nodes):
        # Without @skip or @include, the same selection reads the same columns.
        if len(_seen) >= _SEEN_KEPT:
            _seen.clear()
        _seen[key] = (list(nodes), columns)
    return columns


def _read_by(raw: GraphQLResolveInfo[Any], variable_values: dict[str, Any]) -> set[str]:
    fragments = {name: FragmentDetails(node) for name, node in raw.fragments.items()}
    variables = VariableValues(sources={}, coerced=variable_values)

    def fields(
        object_type: GraphQLObjectType, details: FieldDetailsList
    ) -> list[tuple[str, FieldDetailsList, GraphQLNamedType]]:
        """Each field `details` select of `object_type`: name, details, named type."""
        grouped, new_defer_usages, *_ = collect_subfields(
            raw.schema, fragments, variables, raw.operation, object_type, details
        )
        if new_defer_usages:
            raise _Wide
        found = []
        for entries in grouped.values():
            name = entries[0].node.name.value
            field = object_type.fields.get(name)
            found.append((name, entries, get_named_type(field.type) if field else object_type))
        return found

    columns: set[str] = set()
    connection = [FieldDetails(node, None) for node in raw.field_nodes]
    for name, edges, edge_type in fields(_object(raw.return_type), connection):
        if name in ("pageInfo", "totalCount", "__typename"):
            continue
        if name != "edges":
            raise _Wide
        for edge_name, card, card_type in fields(_object(edge_type), edges):
            if edge_name in ("cursor", "__typename"):
                continue
            if edge_name != "node":
                raise _Wide
            card_object = _object(card_type)
            columns.update(
                _card_column(card_object, field) for field, *_ in fields(card_object, card)
            )
    columns.discard("")
    return columns


def _object(output: GraphQLOutputType | GraphQLNamedType) -> GraphQLObjectType:
    named = get_named_type(output)
    if not isinstance(named, GraphQLObjectType):
        raise _Wide
    return named


def _card_column(card_type: GraphQLObjectType, name: str) -> str:
    """The column a card's field reads ("" for none), or _Wide."""
    if name == "__typename":
        return ""
    field = card_type.fields[name]
    definition = field_definition(field)
    if definition is None:
        raise _Wide
    if definition.python_name in _BY_KEY:
        return _BY_KEY[definition.python_name]
    attribute = attribute_read(definition, field)
    column = None if attribute is None else _COLUMN_OF.get(attribute)
    if column is None:
        raise _Wide
    return column


def _has_directives(
    selections: SelectionSetNode | None, fragments: dict[str, FragmentDefinitionNode]
) -> bool:
    if selections is None:
        return False
    for selection in selections.selections:
        if selection.directives:
            return True
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            if fragment.directives or _has_directives(fragment.selection_set, fragments):
                return True
        elif isinstance(selection, FieldNode | InlineFragmentNode) and _has_directives(
            selection.selection_set, fragments
        ):
            return True
    return False
