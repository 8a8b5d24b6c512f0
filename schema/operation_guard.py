"""What an operation must pass before it runs, cheapest first:

1. the caller's rate (before the document is even parsed);
2. the document's size once fragments are expanded, and its cost;
3. the length of every string and list it sends, and whether a database can store it;
4. GraphQL's own validation (fragment cycles and unknown fragments among it);
5. Strawberry's depth and alias limiters, and in production no introspection.

Strawberry's limiters walk every path through the fragments, so they run last, on
documents already known to be acyclic and of bounded size. Each refusal is an error of
the answer (never an exception from a hook), so HTTP and websockets answer alike; parse
and validation results, and the shape checks passed, are cached per operation text.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeVar

import orjson
from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    NoSchemaIntrospectionCustomRule,
    parse,
    validate,
)
from strawberry.extensions import (
    MaxAliasesLimiter,
    QueryDepthLimiter,
    SchemaExtension,
)
from strawberry.schema.schema import validate_document

from resolvers.context import Context
from resolvers.errors import RateLimited
from schema.input_limits import check_input_limits
from schema.operation_cost import measure


@dataclass(frozen=True, slots=True)
class QueryLimits:
    max_tokens: int
    max_depth: int
    max_aliases: int
    max_fields: int
    max_cost: int


@dataclass(frozen=True, slots=True)
class _LimitRules:
    """Strawberry's limiter rules, built once per schema: the validation cache knows a
    document by its rules too. Each rule's refusals get the name of their setting."""

    rules: tuple[type[ASTValidationRule], ...]
    settings: tuple[tuple[str, str], ...]

    @classmethod
    def build(cls, limits: QueryLimits, *, production: bool) -> _LimitRules:
        rules = [
            *QueryDepthLimiter(max_depth=limits.max_depth).validation_rules,
            *MaxAliasesLimiter(max_alias_count=limits.max_aliases).validation_rules,
        ]
        if production:
            rules.append(NoSchemaIntrospectionCustomRule)
        settings = (
            ("maximum operation depth", "MAX_QUERY_DEPTH"),
            ("aliases found", "MAX_QUERY_ALIASES"),
        )
        return cls(tuple(rules), settings)

    def named(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return [_named(error, self.settings) for error in errors]


_cached_parse = lru_cache(maxsize=256)(parse)


def _validation_errors(
    schema: GraphQLSchema,
    document: DocumentNode,
    rules: tuple[type[ASTValidationRule], ...],
    limit_rules: _LimitRules,
) -> tuple[GraphQLError, ...]:
    """GraphQL's validation, then (on a valid document only) the limiters' rules."""
    errors = validate_document(schema, document, rules)
    if not errors:
        errors = limit_rules.named(validate(schema, document, limit_rules.rules))
    return tuple(errors)


class _Verdicts:
    """What the guard found about each operation text, for the next operation sending the
    same text: validated once, measured once per set of variables. Keyed by the text,
    whose hash Python keeps, not by the parsed document, which hashes its whole tree."""

    def __init__(self) -> None:
        self._errors: dict[tuple[str, tuple[type[ASTValidationRule], ...]], Any] = {}
        self._fits: set[tuple[str, bytes]] = set()

    def validation_errors(
        self,
        query: str,
        document: DocumentNode,
        schema: GraphQLSchema,
        rules: tuple[type[ASTValidationRule], ...],
        limit_rules: _LimitRules,
    ) -> tuple[GraphQLError, ...]:
        key = (query, rules)
        errors: tuple[GraphQLError, ...] | None = self._errors.get(key)
        if errors is None:
            errors = _validation_errors(schema, document, rules, limit_rules)
            _bounded(self._errors)[key] = errors
        return errors

    def fits(self, query: str, variables: dict[str, Any] | None) -> tuple[str, bytes] | bool:
        """True when the text with these variables passed the shape checks before; else
        the key to `remember_fit` under once it passes (False: not to be remembered)."""
        try:
            key = (query, orjson.dumps(variables, option=orjson.OPT_SORT_KEYS))
        except TypeError:
            return False
        return True if key in self._fits else key

    def remember_fit(self, key: tuple[str, bytes]) -> None:
        _bounded(self._fits).add(key)


_VERDICTS_KEPT = 1024
_Cache = TypeVar("_Cache", dict[Any, Any], set[Any])


def _bounded(cache: _Cache) -> _Cache:
    if len(cache) >= _VERDICTS_KEPT:
        cache.clear()
    return cache


# Stands in for the document of a refused operation, which is never parsed.
_REFUSED = parse("{ __typename }")
_TOKENS_REFUSAL = "tokens. Parsing aborted"


class OperationChecks:
    """The checks above, shared by every operation of a schema (its rules, and what it
    found about the texts it has seen); each step is called by the operation's guard, or
    by the direct POST path (server/direct_post.py), which runs them in the same order."""

    def __init__(self, limits: QueryLimits, *, production: bool) -> None:
        self.limits = limits
        self.limit_rules = _LimitRules.build(limits, production=production)
        self.verdicts = _Verdicts()

    async def rate_refusal(self, operation_context: object) -> GraphQLError | None:
        if isinstance(operation_context, Context) and operation_context.throttle:
            try:
                await operation_context.throttle.operation(operation_context.rate_subject)
            except RateLimited as error:
                return error
        return None

    def parse(self, query: str) -> DocumentNode | GraphQLError | None:
        """The document; a refusal past MAX_QUERY_TOKENS; None for any other syntax
        error (which Strawberry, parsing again, answers)."""
        try:
            return _cached_parse(query, max_tokens=self.limits.max_tokens)
        except GraphQLError as error:
            if _TOKENS_REFUSAL in error.message:
                return GraphQLError(
                    f"the operation has more than {self.limits.max_tokens} tokens "
                    "(MAX_QUERY_TOKENS)"
                )
            return None

    def errors(
        self,
        schema: GraphQLSchema,
        query: str | None,
        document: DocumentNode,
        variables: dict[str, Any] | None,
        rules: tuple[type[ASTValidationRule], ...],
    ) -> list[GraphQLError]:
        """The shape refusal, else validation's errors (a list of its own: errors are
        rewritten in place later)."""
        refusal = self._shape_refusal(schema, query, document, variables)
        if refusal is not None:
            return [refusal]
        if query:
            return list(
                self.verdicts.validation_errors(query, document, schema, rules, self.limit_rules)
            )
        return list(_validation_errors(schema, document, rules, self.limit_rules))

    def _shape_refusal(
        self,
        schema: GraphQLSchema,
        query: str | None,
        document: DocumentNode,
        variables: dict[str, Any] | None,
    ) -> GraphQLError | None:
        known = self.verdicts.fits(query, variables) if query else False
        if known is True:
            return None
        refusal = self._measured_refusal(schema, document, variables)
        if refusal is None and known is not False:
            self.verdicts.remember_fit(known)
        return refusal

    def _measured_refusal(
        self, schema: GraphQLSchema, document: DocumentNode, variables: dict[str, Any] | None
    ) -> GraphQLError | None:
        shape = measure(schema, document, variables)
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
        return check_input_limits(schema, document, variables)


class OperationGuard(SchemaExtension):
    def __init__(self, checks: OperationChecks) -> None:
        self.checks = checks
        self.refusal: GraphQLError | None = None

    async def on_parse(self) -> AsyncIterator[None]:
        context = self.execution_context
        # graphql-core's parser stops past this many tokens (and so does Strawberry's
        # parse of a document with a syntax error, which it parses again to answer).
        context.parse_options["max_tokens"] = self.checks.limits.max_tokens
        self.refusal = await self.checks.rate_refusal(context.context)
        if self.refusal is None and context.query:
            parsed = self.checks.parse(context.query)
            if isinstance(parsed, GraphQLError):
                self.refusal = parsed
            elif parsed is not None:
                context.graphql_document = parsed
        if self.refusal is not None:
            context.graphql_document = _REFUSED
        yield

    async def on_validate(self) -> AsyncIterator[None]:
        context = self.execution_context
        document = context.graphql_document
        assert document is not None
        context.pre_execution_errors = (
            [self.refusal]
            if self.refusal is not None
            else self.checks.errors(
                context.schema._schema,
                context.query,
                document,
                context.variables,
                tuple(context.validation_rules),
            )
        )
        yield


def _named(error: GraphQLError, settings: tuple[tuple[str, str], ...]) -> GraphQLError:
    for phrase, setting in settings:
        if phrase in error.message:
            return GraphQLError(
                f"{error.message} ({setting})", error.nodes, error.source, error.positions
            )
    return error


def guard_extensions(checks: OperationChecks) -> list[Callable[[], Any]]:
    """The extensions that bound an operation: the guard alone (it sets the parser's
    token limit itself, as Strawberry's MaxTokensLimiter would, one extension fewer
    to run through every hook of every operation), a fresh one per operation."""
    return [lambda: OperationGuard(checks)]
