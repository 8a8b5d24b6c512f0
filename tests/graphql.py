"""A small GraphQL client over httpx for the tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx

from models import User
from server.auth import JwtTokens
from server.settings import Settings


@dataclass
class Result:
    data: dict[str, Any] | None
    errors: list[dict[str, Any]]

    @property
    def codes(self) -> list[str]:
        return [error.get("extensions", {}).get("code") for error in self.errors]

    def error_at(self, *path: str | int) -> dict[str, Any]:
        for error in self.errors:
            if tuple(error.get("path") or ()) == path:
                return error
        raise AssertionError(f"no error at {path}: {self.errors}")

    def ok(self) -> dict[str, Any]:
        assert not self.errors, self.errors
        assert self.data is not None
        return self.data


class GraphQLClient:
    def __init__(self, http: httpx.AsyncClient, settings: Settings) -> None:
        self.http = http
        self.tokens = JwtTokens(settings.secret_key, settings.token_ttl_seconds)

    def token_for(self, user: User) -> str:
        return self.tokens.issue(user).token

    async def execute(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        viewer: User | None = None,
        token: str | None = None,
    ) -> Result:
        headers = {"Content-Type": "application/json"}
        if viewer is not None:
            token = self.token_for(viewer)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        # JSON's escapes, as httpx's own encoder would not: they can carry a lone surrogate.
        body = json.dumps({"query": query, "variables": variables or {}})
        response = await self.http.post("/graphql", content=body, headers=headers)
        assert response.status_code == 200, response.text
        body = response.json()
        return Result(body.get("data"), answered_errors(response, body))


def answered_errors(response: httpx.Response, body: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's errors, each checked to name the response's request id (and given
    back without it, so that a test compares what is particular to the error)."""
    errors: list[dict[str, Any]] = body.get("errors") or []
    for error in errors:
        extensions = error.get("extensions") or {}
        assert extensions.pop("requestId", None) == response.headers["x-request-id"], error
    return errors
