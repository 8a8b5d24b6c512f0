"""A request's headers by name, read once per request.

Starlette's `Headers.get` walks the whole list on every call, and a GraphQL POST asks
for five of them (the guard's media type and length, the request id, the token, the
`Accept`) in four places: on a simple query those walks cost more than its resolver.
Here the list becomes a dict once, kept in the scope for whoever asks next.
"""

from __future__ import annotations

from starlette.types import Scope

_KEY = "funnelgraph.headers"


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """Each header's value by its name (lowercase, as ASGI gives it); of a repeated
    header, the first, as Starlette's `Headers.get` answers."""
    found: dict[bytes, bytes] | None = scope.get(_KEY)
    if found is None:
        found = scope[_KEY] = dict(reversed(scope["headers"]))
    return found


def header(scope: Scope, name: bytes) -> str | None:
    """One header's value as text (latin-1, as Starlette decodes it), or None."""
    value = headers_of(scope).get(name)
    return None if value is None else value.decode("latin-1")
