"""Bearer tokens: HS256 JWTs carrying the user id, and the viewer they name."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import jwt

from models import User
from resolvers.context import IssuedToken
from resolvers.viewers import fresh_viewer

ALGORITHM = "HS256"
# Tokens verified once and then known by their text until they expire: a client sends
# the same token with every request.
KNOWN_TOKENS = 10_000


class JwtTokens:
    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._key = secret_key
        self._ttl = timedelta(seconds=ttl_seconds)
        self._known: dict[str, tuple[int, float]] = {}  # token -> (user pk, expires at)

    def issue(self, user: User) -> IssuedToken:
        now = datetime.now(UTC)
        expires_at = now + self._ttl
        claims = {"sub": str(user.pk), "iat": now, "exp": expires_at}
        return IssuedToken(jwt.encode(claims, self._key, algorithm=ALGORITHM), expires_at)

    def claims(self, token: str) -> dict[str, object] | None:
        """The verified claims, or None for a forged, malformed or expired token."""
        try:
            claims: dict[str, object] = jwt.decode(
                token, self._key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]}
            )
        except jwt.PyJWTError:
            return None
        return claims

    async def viewer(self, authorization: str | None) -> User | None:
        """The user an `Authorization: Bearer <token>` value names, if valid."""
        user_pk = self.bearer_pk(authorization)
        return None if user_pk is None else await fresh_viewer(user_pk)

    def bearer_pk(self, authorization: str | None) -> int | None:
        """The id of the user an `Authorization: Bearer <token>` value names, if valid."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.user_pk(token.strip())

    def user_pk(self, token: str) -> int | None:
        """The user a valid token names; verified once, then remembered until it expires."""
        known = self._known.get(token)
        if known is not None:
            user_pk, expires_at = known
            if time.time() < expires_at:
                return user_pk
            del self._known[token]
            return None
        claims = self.claims(token)
        subject = claims.get("sub") if claims else None
        expiry = claims.get("exp") if claims else None
        if not isinstance(subject, str) or not subject.isdigit():
            return None
        if isinstance(expiry, int | float):
            if len(self._known) >= KNOWN_TOKENS:
                self._known.clear()
            self._known[token] = (int(subject), float(expiry))
        return int(subject)
