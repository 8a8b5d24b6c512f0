"""What an operation must pass before it runs: the caller's rate, its size and cost, the
length of its input, and validation (with the depth, alias and, in production,
introspection rules). The cheap checks come first, so a hostile document is refused
before the validator walks it; validation results are cached per document.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from graphql import ASTValidationRule, GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import SchemaExtension
from strawberry.extensions.max_aliases import create_validator as max_aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as max_depth_rule
from strawberry.schema.schema import validate_document

from resolvers.context import Context
from resolvers.errors import RateLimited
from schema.input_limits import check_input_limits
from schema.operation_cost import measure


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_tokens: int = 3_000
    max_depth: int = 12
    max_aliases: int = 30
    max_fields: int = 1_000
    max_cost: int = 20_000


def limit_rules(limits: QueryLimits, *, production: bool) -> tuple[type[ASTValidationRule], ...]:
    """The validation rules added to GraphQL's own. Build them once per schema: the
    validation cache knows a document by its rules too."""
    rules = [
        max_depth_rule(limits.max_depth, None, None),
        max_aliases_rule(limits.max_aliases),
    ]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


_cached_validate = lru_cache(maxsize=256)(validate_document)


class OperationGuard(SchemaExtension):
    def __init__(self, limits: QueryLimits, rules: tuple[type[ASTValidationRule], ...]) -> None:
        self.limits = limits
        self.rules = rules

    def on_operation(self) -> Any:
        # The tokens limit is the parser's own, so even a huge document parses cheaply.
        self.execution_context.parse_options["max_tokens"] = self.limits.max_tokens
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        refusal = await self._refusal()
        if refusal is not None:
            context.pre_execution_errors = [refusal]
        else:
            assert context.graphql_document is not None
            context.pre_execution_errors = _cached_validate(
                context.schema._schema,
                context.graphql_document,
                (*context.validation_rules, *self.rules),
            )
        yield

    async def _refusal(self) -> GraphQLError | None:
        context = self.execution_context
        operation_context = context.context
        if isinstance(operation_context, Context) and operation_context.throttle:
            try:
                await operation_context.throttle.operation(operation_context.rate_subject)
            except RateLimited as error:
                return error
        document = context.graphql_document
        assert document is not None
        schema = context.schema._schema
        shape = measure(schema, document, context.variables)
        if shape.fields > self.limits.max_fields:
            return GraphQLError(
                f"the operation selects {shape.fields} fields once its fragments are "
                f"expanded; at most {self.limits.max_fields} are allowed (MAX_QUERY_FIELDS)"
            )
        if shape.cost > self.limits.max_cost:
            return GraphQLError(
                f"the operation may cost {shape.cost}; at most {self.limits.max_cost} is "
                "allowed (MAX_QUERY_COST; a connection multiplies what it selects by "
                "its page size)"
            )
        return check_input_limits(schema, document, context.variables)


def operation_guard(limits: QueryLimits, *, production: bool) -> Callable[[], OperationGuard]:
    """A factory giving each operation its own guard, all sharing one set of rules."""
    rules = limit_rules(limits, production=production)
    return lambda: OperationGuard(limits, rules)
