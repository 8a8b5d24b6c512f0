"""The typed per-operation context every resolver and guard receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from models import Permission, User
from realtime.bus import Bus
from resolvers.errors import Unauthenticated
from resolvers.loaders import Loaders
from resolvers.throttle import Throttle
from resolvers.webhook_urls import UrlRules


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    expires_at: datetime


class TokenIssuer(Protocol):
    def issue(self, user: User) -> IssuedToken: ...


@dataclass
class Context:
    viewer: User | None
    tokens: TokenIssuer
    request: Any = None
    response: Any = None
    connection_params: dict[str, Any] | None = None
    throttle: Throttle | None = None
    client_address: str = "unknown"
    bus: Bus | None = None  # the process's realtime bus: streams follow it, writes signal on it
    webhook_urls: UrlRules = field(default_factory=UrlRules)  # where webhooks may send
    loaders: Loaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = Loaders(self.viewer)

    def sign_in(self, user: User) -> None:
        """From now on in this operation (the login payload), `user` is the viewer."""
        self.viewer = user
        self.loaders = Loaders(user)

    def forget_reads(self) -> None:
        """Once the operation is answered: its loaders let go of the rows they hold."""
        self.loaders.release()

    def require_viewer(self) -> User:
        if self.viewer is None:
            raise Unauthenticated("sign in first: send 'Authorization: Bearer <token>'")
        return self.viewer

    @property
    def rate_subject(self) -> str:
        """Whose operations count together: the viewer's, else the client address's."""
        return f"user:{self.viewer.pk}" if self.viewer else f"address:{self.client_address}"

    def viewer_can(self, permission: Permission) -> bool:
        return self.viewer is not None and self.viewer.can(permission)
