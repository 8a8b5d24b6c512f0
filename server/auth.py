"""Bearer tokens: HS256 JWTs carrying the user id, and the viewer they name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

from models import User
from resolvers.context import IssuedToken

ALGORITHM = "HS256"


class JwtTokens:
    def __init__(self, secret_key: str, ttl_seconds: int) -> None:
        self._key = secret_key
        self._ttl = timedelta(seconds=ttl_seconds)

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
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        claims = self.claims(token.strip())
        subject = claims.get("sub") if claims else None
        if not isinstance(subject, str) or not subject.isdigit():
            return None
        return await User.get_or_none(id=int(subject))
