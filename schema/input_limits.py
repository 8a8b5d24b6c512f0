"""Limits on every string and list an operation sends, checked before it runs: their
length, and what the databases can store.

Every argument is checked where it is written, literal or variable, in the operation
and in each fragment (once each). Strings take the limit of their field's name
(TEXT_LIMITS), IDs, decimals and dates the limit of their scalar; lists the limit of
their field's name (LIST_LIMITS) or DEFAULT_LIST_LIMIT. No string may hold a character
that no database stores (NUL, a lone surrogate), and a DateTime must fall in years 1 to
9999 once in UTC. The first value that breaks a rule is refused with BAD_USER_INPUT
naming the argument path.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    ArgumentNode,
    DocumentNode,
    GraphQLError,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    GraphQLSchema,
    ListValueNode,
    ObjectValueNode,
    OperationDefinitionNode,
    StringValueNode,
    TypeInfo,
    TypeInfoVisitor,
    ValueNode,
    VariableNode,
    Visitor,
    visit,
)

from resolvers.campaigns import MAX_MEMBERS, MAX_STAGES
from resolvers.errors import BadUserInput
from resolvers.validation import (
    check_moment,
    check_storable_text,
    moment_out_of_range,
    text_limit,
)

SCALAR_LIMITS = {"ID": 100, "Decimal": 50, "DateTime": 50}
LIST_LIMITS = {
    "stages": MAX_STAGES,
    "participantIds": MAX_MEMBERS,
    "rotationUserIds": MAX_MEMBERS,
    "ids": 500,
    "permissions": 50,
}
DEFAULT_LIST_LIMIT = 100


def check_input_limits(
    schema: GraphQLSchema, document: DocumentNode, variables: Mapping[str, Any] | None
) -> BadUserInput | None:
    """The first value over its limit, as the error to answer; None when all fit."""
    checker = _Checker(document, variables or {})
    type_info = TypeInfo(schema)
    visit(document, TypeInfoVisitor(type_info, _ArgumentVisitor(type_info, checker)))
    return checker.error


class _Checker:
    def __init__(self, document: DocumentNode, variables: Mapping[str, Any]) -> None:
        self.variables = variables
        # Every operation's defaults for a name: a fragment may serve several operations.
        self.defaults: dict[str, list[ValueNode]] = {}
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                for variable in definition.variable_definitions or ():
                    if variable.default_value is not None:
                        name = variable.variable.name.value
                        self.defaults.setdefault(name, []).append(variable.default_value)
        self.error: BadUserInput | None = None

    def node(self, value: ValueNode, type_: GraphQLInputType, name: str, path: str) -> None:
        """Checks a value written in the document (a variable: the value sent for it)."""
        if self.error:
            return
        type_ = _nullable(type_)
        if isinstance(value, VariableNode):
            variable = value.name.value
            if variable in self.variables:
                self.raw(self.variables[variable], type_, name, path)
            for default in self.defaults.get(variable, ()):
                self.node(default, type_, name, path)
        elif isinstance(value, ListValueNode) and isinstance(type_, GraphQLList):
            self.count(len(value.values), name, path)
            for index, item in enumerate(value.values):
                self.node(item, type_.of_type, name, f"{path}[{index}]")
        elif isinstance(value, ObjectValueNode) and isinstance(type_, GraphQLInputObjectType):
            for field in value.fields:
                definition = type_.fields.get(field.name.value)
                if definition is not None:
                    key = field.name.value
                    self.node(field.value, definition.type, key, f"{path}.{key}")
        elif isinstance(value, StringValueNode):
            self.text(value.value, type_, name, path)
        elif isinstance(type_, GraphQLList):
            self.node(value, type_.of_type, name, path)  # one value where a list goes

    def raw(self, value: object, type_: GraphQLInputType, name: str, path: str) -> None:
        """Checks a variable's JSON value; shapes that do not fit are left to coercion."""
        if self.error:
            return
        type_ = _nullable(type_)
        if isinstance(type_, GraphQLList):
            if isinstance(value, list):
                self.count(len(value), name, path)
                for index, item in enumerate(value):
                    self.raw(item, type_.of_type, name, f"{path}[{index}]")
            else:
                self.raw(value, type_.of_type, name, path)
        elif isinstance(type_, GraphQLInputObjectType) and isinstance(value, dict):
            for key, item in value.items():
                definition = type_.fields.get(key)
                if definition is not None:
                    self.raw(item, definition.type, key, f"{path}.{key}")
        elif isinstance(value, str):
            self.text(value, type_, name, path)

    def text(self, value: str, type_: GraphQLInputType, name: str, path: str) -> None:
        try:
            if isinstance(type_, GraphQLScalarType):
                _check_length(value, type_, name, path)
            check_storable_text(value, path)  # any string, an enum name's too
            if isinstance(type_, GraphQLScalarType) and type_.name == "DateTime":
                _check_moment(value, type_, path)
        except BadUserInput as error:
            self.error = error

    def count(self, length: int, name: str, path: str) -> None:
        limit = LIST_LIMITS.get(name, DEFAULT_LIST_LIMIT)
        if length > limit:
            self.error = BadUserInput(
                f"{path} has {length} items; at most {limit} are allowed",
                field=path,
                limit=limit,
            )


class _ArgumentVisitor(Visitor):
    def __init__(self, type_info: TypeInfo, checker: _Checker) -> None:
        super().__init__()
        self.type_info = type_info
        self.checker = checker

    def enter_argument(self, node: ArgumentNode, *_: object) -> object:
        argument = self.type_info.get_argument()
        if argument is not None:
            name = node.name.value
            self.checker.node(node.value, argument.type, name, name)
        return self.SKIP if self.checker.error is None else self.BREAK


def _check_length(value: str, scalar: GraphQLScalarType, name: str, path: str) -> None:
    limit = SCALAR_LIMITS.get(scalar.name) or text_limit(name)
    if len(value) > limit:
        raise BadUserInput(
            f"{path} is {len(value)} characters long; at most {limit} are allowed",
            field=path,
            limit=limit,
        )


def _check_moment(value: str, scalar: GraphQLScalarType, path: str) -> None:
    """Parsed by the served scalar itself, so both read the same moment."""
    try:
        moment = scalar.parse_value(value)
    except OverflowError:
        # "9999-12-31T24:00:00" is the first moment of year 10000.
        raise moment_out_of_range(path) from None
    except GraphQLError:
        return  # not a DateTime: coercion says so
    check_moment(moment, path)


def _nullable(type_: GraphQLInputType) -> GraphQLInputType:
    return type_.of_type if isinstance(type_, GraphQLNonNull) else type_
