"""A field's resolver called as Strawberry calls it, without Strawberry's wrapper.

For every field, Strawberry's resolver converts the arguments, finds the reserved
parameters (self, root, info), chains the field extensions and only then calls the
function: on `{ me { id name } }` that wrapper cost more than the resolver. A field
with no arguments and no field extensions (no guard, no permission classes) needs
none of it, so a compiled plan (schema/compiled_query.py) calls the function itself,
with what Strawberry would pass: the source as `self`, `root` or `parent`, and an
`Info` of the schema's class.

Strawberry's field exception handlers are not applied here; they need not be: a plan
that meets an exception gives up, and graphql-core executes the operation again
through Strawberry's own resolvers, handlers and all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import GraphQLField, GraphQLResolveInfo
from strawberry.types import Info

from schema.plain_lists import field_definition

Resolve = Callable[[Any, GraphQLResolveInfo[Any]], Any]


def direct_resolver(field: GraphQLField, info_class: type[Info[Any, Any]]) -> Resolve | None:
    """How to call `field`'s own function directly; None when Strawberry's wrapper has
    work to do (arguments, field extensions) or the field has no function."""
    definition = field_definition(field)
    if definition is None or definition.base_resolver is None or definition.arguments:
        return None
    resolver = definition.base_resolver
    function = resolver.wrapped_func
    if not callable(function):
        return None  # Strawberry's own call raises its error: let it
    passes_self = resolver.self_parameter is not None
    as_source = [
        parameter.name
        for parameter in (resolver.parent_parameter, resolver.root_parameter)
        if parameter is not None
    ]
    info_name = resolver.info_parameter.name if resolver.info_parameter else None

    def resolve(source: Any, info: GraphQLResolveInfo[Any]) -> Any:
        kwargs: dict[str, Any] = dict.fromkeys(as_source, source)
        if info_name is not None:
            kwargs[info_name] = info_class(_raw_info=info, _field=definition)
        return function(source, **kwargs) if passes_self else function(**kwargs)

    return resolve
