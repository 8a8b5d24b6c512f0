"""Queries executed from a plan compiled once per document, and re-run by graphql-core
whenever anything goes off the plain path.

graphql-core sets up an executor, collects each selection set and builds a resolve info
for every field of every request; on a simple query that costs more than the rest of
the request. A plan does that work once per operation text: which fields each object
selects, in order, with their definitions, how to complete each value, and (through
schema/plain_lists.py) which fields are attribute reads that need no resolver call.
Running it calls the resolvers with the same arguments and infos graphql-core would
give them (a field without arguments or guards: its function itself, as Strawberry
would call it, schema/direct_resolvers.py), concurrently where graphql-core would
gather them, so dataloaders batch the same way; a plain step that cannot answer for
its source (a card's owner not preloaded) calls the field's resolver instead.

A plan answers only when nothing goes wrong. A resolver that raises, a null where
the schema says non-null, a value that does not serialize, a resolver asking for
graphql-core's helpers: the attempt is abandoned (its pending work settled first) and
graphql-core executes the operation again, with the same context, so errors, their
paths and null propagation come from graphql-core as always. Only queries are
planned (running one twice changes nothing), and not documents with directives
(their selections could depend on the variables), interfaces or unions (the runtime
type comes from the value), or introspection: those go to graphql-core at once.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from graphql import (
    DocumentNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    OperationDefinitionNode,
    OperationType,
    default_field_resolver,
    get_operation_ast,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import (
    VariableValues,
    get_argument_values,
    get_variable_values,
)
from graphql.pyutils import Path, Undefined
from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import _OperationContextAwareGraphQLResolveInfo as ResolveInfo
from strawberry.types import Info

from resolvers.context import Context
from schema.direct_resolvers import direct_resolver
from schema.plain_lists import NotPlain, field_step, type_check

_PLANS_KEPT = 1024
_NO_VARIABLES = VariableValues(sources={}, coerced={})
_NO_EXTENSIONS: dict[str, Any] = {}
_TYPENAME = GraphQLField(GraphQLNonNull(GraphQLString))  # __typename, read by its plain step


class Bail(Exception):
    """This run left the plain path: graphql-core executes the operation instead."""


class NotPlanned(Exception):
    """This document is not planned (raised while compiling)."""


Complete = Callable[[Any, "_Run", Path], Any]


@dataclass(frozen=True, slots=True)
class _Run:
    """One execution's state, shared by its fields."""

    context: Context
    variables: VariableValues
    schema: GraphQLSchema
    fragments: dict[str, FragmentDefinitionNode]
    operation: OperationDefinitionNode


@dataclass(frozen=True, slots=True)
class _Plan:
    schema: GraphQLSchema
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    root: list[tuple[str, _Field]]

    async def data(self, context: Context, variables: dict[str, Any] | None) -> dict[str, Any]:
        """The operation's data; Bail when graphql-core must execute it."""
        coerced = _NO_VARIABLES
        if self.operation.variable_definitions:
            values = get_variable_values(
                self.schema, self.operation.variable_definitions, variables or {}
            )
            if not isinstance(values, VariableValues):
                raise Bail  # graphql-core reports the variables' errors
            coerced = values
        run = _Run(context, coerced, self.schema, self.fragments, self.operation)
        data = _fields(self.root, None, run, None)
        return cast(dict[str, Any], await data if optimized_is_awaitable(data) else data)


class _Field:
    """One response key of an object: how to resolve it and complete its value."""

    __slots__ = ("args", "complete", "definition", "key", "nodes", "parent", "plain", "resolve")

    def __init__(
        self,
        plan: _Planner,
        parent: GraphQLObjectType,
        key: str,
        details: FieldDetailsList,
    ) -> None:
        node = details[0].node
        name = node.name.value
        self.key = key
        self.plain = field_step(parent, details, plan.collect)
        definition = parent.fields.get(name)
        if definition is None:
            if self.plain is None:
                raise NotPlanned  # introspection
            definition = _TYPENAME
        self.definition = definition
        self.resolve: Callable[..., Any] = (
            direct_resolver(definition, plan.info_class)
            or definition.resolve
            or default_field_resolver
        )
        self.nodes = [detail.node for detail in details]
        self.parent = parent
        self.args = bool(node.arguments) or bool(definition.args)
        # Also for a plain field: its step may not answer for some sources.
        self.complete = (
            None if definition is _TYPENAME else _completion(definition.type, details, plan)
        )

    def run(self, source: Any, run: _Run, path: Path | None) -> Any:
        if self.plain is not None:
            try:
                return self.plain(source)
            except NotPlain:
                if self.complete is None:
                    raise Bail from None
        here = Path(path, self.key, self.parent.name)
        definition = self.definition
        info = ResolveInfo(
            self.nodes[0].name.value,
            self.nodes,
            definition.type,
            self.parent,
            here,
            run.schema,
            run.fragments,
            None,
            run.operation,
            run.variables.coerced,
            run.context,
            optimized_is_awaitable,
            None,
            _HELPERS,
            _NO_EXTENSIONS,
        )
        try:
            args = (
                get_argument_values(definition, self.nodes[0], run.variables) if self.args else {}
            )
            value = self.resolve(source, info, **args)
        except Exception as error:
            raise Bail from error
        assert self.complete is not None
        if optimized_is_awaitable(value):
            return _later(value, self.complete, run, here)
        return self.complete(value, run, here)


async def _later(value: Awaitable[Any], complete: Complete, run: _Run, path: Path) -> Any:
    try:
        resolved = await value
    except Exception as error:
        raise Bail from error
    completed = complete(resolved, run, path)
    return await completed if optimized_is_awaitable(completed) else completed


def _fields(fields: list[tuple[str, _Field]], source: Any, run: _Run, path: Path | None) -> Any:
    result: dict[str, Any] = {}
    waiting: list[str] = []
    for key, field in fields:
        try:
            value = field.run(source, run, path)
        except Bail:
            if waiting:
                return _settled_then_bail([result[key] for key in waiting])
            raise
        if optimized_is_awaitable(value):
            waiting.append(key)
        result[key] = value
    if not waiting:
        return result
    return _settled(result, waiting)


async def _settled(result: dict[str, Any], keys: list[str]) -> dict[str, Any]:
    if len(keys) == 1:
        result[keys[0]] = await result[keys[0]]
        return result
    values = await _all([result[key] for key in keys])
    for key, value in zip(keys, values, strict=True):
        result[key] = value
    return result


async def _settled_then_bail(pending: list[Any]) -> Any:
    """Bail, once the work already started beside the field that failed has settled
    (none left unawaited, nor running beside graphql-core's execution)."""
    with contextlib.suppress(Bail):
        await _all(pending)
    raise Bail


async def _all(awaitables: list[Any]) -> list[Any]:
    """Every value, once all have settled (none left running); Bail if one failed."""
    values = await asyncio.gather(*awaitables, return_exceptions=True)
    for value in values:
        if isinstance(value, BaseException):
            if isinstance(value, Exception):
                raise Bail from value
            raise value  # cancellation
    return values


def _completion(output: GraphQLOutputType, details: FieldDetailsList, plan: _Planner) -> Complete:
    nullable = not isinstance(output, GraphQLNonNull)
    inner = output.of_type if isinstance(output, GraphQLNonNull) else output
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        coerce = inner.coerce_output_value

        def leaf(value: Any, run: _Run, path: Path) -> Any:
            if value is None:
                if nullable:
                    return None
                raise Bail
            try:
                coerced = coerce(value)
            except Exception as error:
                raise Bail from error
            if coerced is None or coerced is Undefined:
                raise Bail
            return coerced

        return leaf
    if isinstance(inner, GraphQLObjectType):
        fields = plan.object_fields(inner, details)
        checkable, is_type_of = type_check(inner)
        if not checkable:
            raise NotPlanned  # its check may need graphql-core's info

        def object_value(value: Any, run: _Run, path: Path) -> Any:
            if value is None:
                if nullable:
                    return None
                raise Bail
            if is_type_of is not None and not is_type_of(value, None):
                raise Bail
            return _fields(fields, value, run, path)

        return object_value
    if isinstance(inner, GraphQLList):
        item = _completion(inner.of_type, details, plan)

        def list_value(value: Any, run: _Run, path: Path) -> Any:
            if value is None:
                if nullable:
                    return None
                raise Bail
            if not isinstance(value, list | tuple):
                raise Bail  # generators, async iterables, strings: graphql-core's checks
            items = []
            for index, entry in enumerate(value):
                try:
                    items.append(item(entry, run, Path(path, index, None)))
                except Bail:
                    pending = [done for done in items if optimized_is_awaitable(done)]
                    if pending:
                        return _settled_then_bail(pending)
                    raise
            if not any(optimized_is_awaitable(entry) for entry in items):
                return items
            return _list_settled(items)

        return list_value
    raise NotPlanned  # interfaces and unions


async def _list_settled(items: list[Any]) -> list[Any]:
    positions = [index for index, entry in enumerate(items) if optimized_is_awaitable(entry)]
    values = await _all([items[index] for index in positions])
    for index, value in zip(positions, values, strict=True):
        items[index] = value
    return items


class _Planner:
    """Compiles one operation; collects selections as graphql-core does (no directive
    is in the document, so no variable changes what is selected)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        info_class: type[Info[Any, Any]],
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.info_class = info_class
        self.fragments = {
            definition.name.value: FragmentDetails(definition)
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }

    def collect(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> Any:
        return collect_subfields(
            self.schema, self.fragments, _NO_VARIABLES, self.operation, object_type, details
        )

    def root_fields(self, root: GraphQLObjectType) -> list[tuple[str, _Field]]:
        grouped = collect_fields(
            self.schema, self.fragments, _NO_VARIABLES, root, self.operation
        ).grouped_field_set
        return [(key, _Field(self, root, key, details)) for key, details in grouped.items()]

    def object_fields(
        self, object_type: GraphQLObjectType, details: FieldDetailsList
    ) -> list[tuple[str, _Field]]:
        grouped = self.collect(object_type, details).grouped_field_set
        return [(key, _Field(self, object_type, key, entries)) for key, entries in grouped.items()]


def _refused(_: Any) -> Any:
    raise Bail


_HELPERS = GraphQLResolveInfoHelpers(gather=_refused, track=_refused)


class Plans:
    """The plans of the operation texts seen, None for those not planned."""

    def __init__(self, info_class: type[Info[Any, Any]] = Info) -> None:
        self._plans: dict[tuple[str, str | None], _Plan | None] = {}
        self._info_class = info_class  # what resolvers called directly get as their info

    def plan(
        self, schema: GraphQLSchema, query: str, document: DocumentNode, operation_name: str | None
    ) -> _Plan | None:
        key = (query, operation_name)
        if key in self._plans:
            return self._plans[key]
        plan = _compiled(schema, query, document, operation_name, self._info_class)
        if len(self._plans) >= _PLANS_KEPT:
            self._plans.clear()
        self._plans[key] = plan
        return plan


def _compiled(
    schema: GraphQLSchema,
    query: str,
    document: DocumentNode,
    operation_name: str | None,
    info_class: type[Info[Any, Any]],
) -> _Plan | None:
    operation = get_operation_ast(document, operation_name)
    root = schema.query_type
    if operation is None or operation.operation is not OperationType.QUERY or root is None:
        return None
    if "@" in query:
        return None  # a directive, or a string that holds an @: either way not planned
    planner = _Planner(schema, document, operation, info_class)
    try:
        fields = planner.root_fields(root)
    except NotPlanned:
        return None
    fragments = {name: details.definition for name, details in planner.fragments.items()}
    return _Plan(schema, operation, fragments, fields)
