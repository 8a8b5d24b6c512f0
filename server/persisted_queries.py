"""Persisted queries: Apollo's automatic persisted queries, and trusted documents.

A request may name its document by hash, `extensions.persistedQuery`
(`{"version": 1, "sha256Hash": "<hex>"}`), over POST, GET or the websocket:

- with no query text, the document registered under that hash runs, or the answer is
  PERSISTED_QUERY_NOT_FOUND and the client sends the text with the hash;
- with the text, the hash is checked (BAD_USER_INPUT when it is not the text's), the
  document registered (realtime/query_store.py), and run.

With TRUSTED_DOCUMENTS (a JSON manifest of id -> document, as GraphQL Codegen and Relay
emit them; an id may be written `sha256:<hex>`), only those documents run: named by id
in `sha256Hash`, or sent as their exact text. Anything else is refused with
PERSISTED_QUERY_NOT_FOUND before it is parsed, and nothing is registered.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

from realtime.query_store import QueryStore

NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class PersistedQueryRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_graphql_error(self) -> GraphQLError:
        return GraphQLError(self.message, extensions={"code": self.code})


@dataclass(frozen=True, slots=True)
class TrustedDocuments:
    by_id: Mapping[str, str]
    texts: frozenset[str]

    @classmethod
    def of(cls, manifest: tuple[tuple[str, str], ...]) -> TrustedDocuments:
        """From the manifest's (id, document) pairs (server/settings.py reads it)."""
        by_id = {key.removeprefix("sha256:"): text for key, text in manifest}
        return cls(by_id, frozenset(by_id.values()))


@dataclass(frozen=True, slots=True)
class PersistedQueries:
    store: QueryStore
    trusted: TrustedDocuments | None = None

    async def document(self, query: str | None, extensions: Mapping[str, Any] | None) -> str | None:
        """The query text to run for a request's `query` and `extensions` (None: none was
        sent, nor named: the caller answers that as it would)."""
        persisted = extensions.get("persistedQuery") if extensions else None
        if self.trusted is not None:
            return self._trusted(self.trusted, query, persisted)
        if persisted is None:
            return query
        digest = _digest(persisted)
        if query is None:
            found = await self.store.get(digest)
            if found is None:
                raise PersistedQueryRefused(NOT_FOUND, "PersistedQueryNotFound")
            return found
        if _sha256(query) != digest:
            raise PersistedQueryRefused(
                "BAD_USER_INPUT", "provided sha256Hash does not match the query"
            )
        await self.store.put(digest, query)
        return query

    @staticmethod
    def _trusted(trusted: TrustedDocuments, query: str | None, persisted: object) -> str | None:
        if persisted is not None:
            found = trusted.by_id.get(_id(persisted))
            if found is None or (query is not None and query != found):
                raise PersistedQueryRefused(NOT_FOUND, "not one of the trusted documents")
            return found
        if query is None or query in trusted.texts:
            return query
        raise PersistedQueryRefused(NOT_FOUND, "only trusted documents run on this server")


def _id(persisted: object) -> str:
    found = persisted.get("sha256Hash") if isinstance(persisted, Mapping) else None
    if not isinstance(found, str):
        raise PersistedQueryRefused(
            "BAD_USER_INPUT", "extensions.persistedQuery needs a sha256Hash (text)"
        )
    return found.removeprefix("sha256:")


def _digest(persisted: object) -> str:
    """The hash a persistedQuery extension names, checked to be one."""
    if not isinstance(persisted, Mapping) or persisted.get("version") != 1:
        raise PersistedQueryRefused(
            "BAD_USER_INPUT", "extensions.persistedQuery must be {version: 1, sha256Hash}"
        )
    digest = _id(persisted).lower()
    if not _SHA256.fullmatch(digest):
        raise PersistedQueryRefused(
            "BAD_USER_INPUT", "extensions.persistedQuery.sha256Hash must be 64 hex digits"
        )
    return digest


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
