"""Lists of plain objects completed in one pass, without graphql-core's work per field.

A board answers 2,000 cards of seven fields each: graphql-core builds a resolve info,
calls a resolver and completes a value for every one of them, which costs far more
than reading the attributes. When every field a list's items select is *plain*, the
items are built here instead, from a plan made once per selection:

- a field without a resolver of its own (Strawberry's basic field: an attribute read),
  without arguments, field extensions or guards, whose type is a scalar, an enum, a
  plain object or a list of these;
- a resolver marked with `answers_from_source`, which says how to answer from the
  source object alone when it can (a card's owner and customer, preloaded for its
  page);
- `__typename`.

Anything else (a guarded field, an async resolver, an interface, a null where the
schema says non-null, a resolver that cannot answer from its source) makes the plan
give up, and graphql-core completes the list as always: the answer is the same either
way, errors and their paths included.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from functools import lru_cache
from types import CodeType
from typing import Any, TypeVar, cast

from graphql import (
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLInt,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLString,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.pyutils import Undefined
from strawberry.types.field import StrawberryField

F = TypeVar("F", bound=Callable[..., Any])

# The attribute `answers_from_source` sets on a resolver.
_FROM_SOURCE = "funnelgraph_from_source"
_STRAWBERRY_FIELD = "strawberry-definition"


class NotPlain(Exception):
    """This item cannot be completed here: graphql-core completes the list."""


NOT_PLAIN = NotPlain()


def answers_from_source(answer: Callable[[Any], Any]) -> Callable[[F], F]:
    """Marks a resolver that, for some sources, needs nothing but the source: `answer`
    gets the source and returns the value, or raises NotPlain when it cannot."""

    def mark(resolver: F) -> F:
        setattr(resolver, _FROM_SOURCE, answer)
        return resolver

    return mark


Step = Callable[[Any], Any]
Collect = Callable[[GraphQLObjectType, FieldDetailsList], Any]


def object_plan(
    object_type: GraphQLObjectType, fields: FieldDetailsList, collect: Collect
) -> Step | None:
    """How to build the result of `object_type` with the sub-selection of `fields`, or
    None when some field it selects is not plain. `collect` is the executor's
    collect_subfields (memoized per selection, fragments and directives applied)."""
    checkable, is_type_of = type_check(object_type)
    if not checkable:
        return None
    grouped, new_defer_usages, *_ = collect(object_type, fields)
    if new_defer_usages:
        return None
    parts: list[_Part] = []
    for response_key, details in grouped.items():
        part = _inline_part(object_type, details) or field_step(object_type, details, collect)
        if part is None:
            return None
        parts.append((response_key, part))
    return _compiled_build(object_type.name, parts, is_type_of)


# A field of an object plan: a step, or an attribute read completed as a built-in
# scalar (attribute, scalar, nullable), which the compiled build does inline.
_Inline = tuple[str, GraphQLScalarType, bool]
_Part = tuple[str, Step | _Inline]

# How a built-in scalar's value passes unchanged: its exact class (and Int's range).
_KEPT_AS_IS: dict[GraphQLScalarType, str] = {
    GraphQLString: "v.__class__ is str",
    GraphQLID: "v.__class__ is str",
    GraphQLBoolean: "v.__class__ is bool",
    GraphQLInt: "v.__class__ is int and -2147483648 <= v <= 2147483647",
}


def _inline_part(parent: GraphQLObjectType, details: FieldDetailsList) -> _Inline | None:
    """An attribute read of a built-in scalar, which the build completes inline."""
    node = details[0].node
    field = parent.fields.get(node.name.value)
    if field is None or node.arguments or any(d.fragment_variable_values for d in details):
        return None
    definition = field_definition(field)
    attribute = None if definition is None else attribute_read(definition, field)
    if attribute is None or not attribute.isidentifier():
        return None
    output = field.type
    nullable = not isinstance(output, GraphQLNonNull)
    scalar = output.of_type if isinstance(output, GraphQLNonNull) else output
    if not isinstance(scalar, GraphQLScalarType) or scalar not in _KEPT_AS_IS:
        return None
    return attribute, scalar, nullable


def _compiled_build(
    type_name: str, parts: list[_Part], is_type_of: Callable[[Any, Any], Any] | None
) -> Step:
    """One function that builds the object's dict, its built-in scalars read and checked
    inline: on a board that is 14,000 values, and a call chain per value (read, complete,
    coerce) cost most of the build. Values are completed as `_completion` would."""
    names: dict[str, Any] = {"NOT_PLAIN": NOT_PLAIN, "Undefined": Undefined}
    lines = ["def build(source):"]
    if is_type_of is not None:
        names["is_type_of"] = is_type_of
        lines.append("    if not is_type_of(source, None): raise NOT_PLAIN")
    for index, (_key, part) in enumerate(parts):
        if callable(part):
            names[f"step{index}"] = part
            lines.append(f"    v{index} = step{index}(source)")
            continue
        attribute, scalar, nullable = part
        names[f"coerce{index}"] = scalar.coerce_output_value
        lines += [
            f"    v = source.{attribute}",
            "    if v is None:",
            "        pass" if nullable else "        raise NOT_PLAIN",
            f"    elif not ({_KEPT_AS_IS[scalar]}):",
            f"        v = coerce{index}(v)",
            "        if v is None or v is Undefined: raise NOT_PLAIN",
            f"    v{index} = v",
        ]
    entries = ", ".join(f"{key!r}: v{index}" for index, (key, _) in enumerate(parts))
    lines.append(f"    return {{{entries}}}")
    exec(_code("\n".join(lines), type_name), names)
    return cast(Step, names["build"])


@lru_cache(maxsize=512)
def _code(source: str, type_name: str) -> CodeType:
    """Compiled once per text: a plan is made per operation that graphql-core executes
    (schema/event_execution.py), and the same selections give the same text."""
    return compile(source, f"<plain {type_name}>", "exec")


def list_items(plan: Step, items: Iterable[Any], nullable_items: bool) -> list[Any]:
    """The list completed by `plan`; NotPlain when an item needs graphql-core."""
    completed: list[Any] = []
    for item in items:
        if item is None:
            if not nullable_items:
                raise NOT_PLAIN
            completed.append(None)
        else:
            completed.append(plan(item))
    return completed


def field_step(
    parent: GraphQLObjectType, details: FieldDetailsList, collect: Collect
) -> Step | None:
    node = details[0].node
    name = node.name.value
    if name == "__typename":
        type_name = parent.name
        return lambda _source: type_name
    if node.arguments or any(detail.fragment_variable_values for detail in details):
        return None
    field = parent.fields.get(name)
    definition = field_definition(field)
    if field is None or definition is None:
        return None
    read = _reader(definition, field)
    if read is None:
        return None
    complete = _completion(field.type, details, collect)
    if complete is None:
        return None
    return lambda source: complete(read(source))


def field_definition(field: GraphQLField | None) -> StrawberryField | None:
    """The Strawberry field behind `field`; None when it has field extensions (a guard,
    permission classes) or is not Strawberry's."""
    definition = (field.extensions or {}).get(_STRAWBERRY_FIELD) if field else None
    if not isinstance(definition, StrawberryField) or definition.extensions:
        return None
    return definition


def attribute_read(definition: StrawberryField, field: GraphQLField) -> str | None:
    """The attribute of its source that `field` reads, when that is all it does (no
    resolver of its own)."""
    if definition.base_resolver is None and getattr(field.resolve, "_is_default", False):
        return definition.python_name
    return None


def _reader(definition: StrawberryField, field: GraphQLField) -> Step | None:
    if definition.base_resolver is None:
        attribute = attribute_read(definition, field)
        return None if attribute is None else lambda source: getattr(source, attribute)
    answer = getattr(definition.base_resolver.wrapped_func, _FROM_SOURCE, None)
    return answer if callable(answer) else None


def _completion(
    output: GraphQLOutputType, details: FieldDetailsList, collect: Collect
) -> Step | None:
    """How to complete a value of `output`, as graphql-core would when nothing fails."""
    nullable = not isinstance(output, GraphQLNonNull)
    inner = output.of_type if isinstance(output, GraphQLNonNull) else output
    if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
        coerce = inner.coerce_output_value

        def leaf(value: Any) -> Any:
            if value is None:
                if nullable:
                    return None
                raise NOT_PLAIN
            coerced = coerce(value)
            if coerced is None or coerced is Undefined:
                raise NOT_PLAIN  # graphql-core makes that an error
            return coerced

        return leaf
    if isinstance(inner, GraphQLObjectType):
        plan = object_plan(inner, details, collect)
        if plan is None:
            return None
        return _or_null(plan, nullable)
    if isinstance(inner, GraphQLList):
        item = inner.of_type
        item_nullable = not isinstance(item, GraphQLNonNull)
        item_inner = item.of_type if isinstance(item, GraphQLNonNull) else item
        if not isinstance(item_inner, GraphQLObjectType):
            return None
        plan = object_plan(item_inner, details, collect)
        if plan is None:
            return None
        return _or_null(lambda items: list_items(plan, _iterable(items), item_nullable), nullable)
    return None  # interfaces and unions: their runtime type is resolved per item


def _or_null(step: Step, nullable: bool) -> Step:
    def complete(value: Any) -> Any:
        if value is None:
            if nullable:
                return None
            raise NOT_PLAIN
        return step(value)

    return complete


def _iterable(value: Any) -> Iterable[Any]:
    if isinstance(value, list | tuple):
        return value
    raise NOT_PLAIN  # generators, async iterables, strings: graphql-core's checks apply


def type_check(object_type: GraphQLObjectType) -> tuple[bool, Callable[[Any, Any], Any] | None]:
    """Whether the type's is_type_of can run without a resolve info (Strawberry's own is
    an isinstance check; another might read the info), and that check."""
    is_type_of = object_type.is_type_of
    if is_type_of is None:
        return True, None
    return "_get_is_type_of" in getattr(is_type_of, "__qualname__", ""), is_type_of
