"""Users: the User type, sign-in, me, users and createUser."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

import schema.enums  # noqa: F401  (publishes Permission)
from models import Permission as PermissionModel
from models import User as UserModel
from resolvers import users
from resolvers.context import Context
from resolvers.ids import encode_id
from resolvers.pagination import PageArgs
from schema.guards import CanAdministerUsers, IsAuthenticated, IsSelfOrUserAdmin
from schema.relay import Connection, Node


@strawberry.type
class User(Node):
    pk: strawberry.Private[int]
    name: str
    stored_email: strawberry.Private[str]
    stored_permissions: strawberry.Private[list[str]]

    @strawberry.field(
        permission_classes=[IsSelfOrUserAdmin],
        description="Guarded: the user themself or USER_ADMIN.",
    )
    def email(self) -> str | None:
        return self.stored_email

    @strawberry.field(permission_classes=[IsSelfOrUserAdmin], description="Guarded like email.")
    def permissions(self) -> list[PermissionModel] | None:
        return [PermissionModel(name) for name in self.stored_permissions]

    @classmethod
    def from_model(cls, user: UserModel) -> User:
        return cls(
            id=strawberry.ID(encode_id("User", user.pk)),
            pk=user.pk,
            name=user.name,
            stored_email=user.email,
            stored_permissions=list(user.permission_names),
        )


async def load_user(info: Info[Context, None], pk: int | None) -> User | None:
    if pk is None:
        return None
    user = await info.context.loaders.user_by_id.load(pk)
    return None if user is None else User.from_model(user)


@strawberry.type
class AuthPayload:
    token: str = strawberry.field(
        description="Bearer token for the Authorization header, and for the websocket "
        "connection_init payload."
    )
    expires_at: datetime
    user: User


@strawberry.input
class CreateUserInput:
    name: str
    email: str
    password: str
    permissions: list[PermissionModel] = strawberry.field(default_factory=list)


@strawberry.type
class UserQuery:
    @strawberry.field(description="UNAUTHENTICATED without a valid token.")
    def me(self, info: Info[Context, None]) -> User:
        return User.from_model(info.context.require_viewer())

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def users(
        self,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[User]:
        page = await users.list_users(search, PageArgs(first, after, last, before))
        return Connection.of(page, User.from_model)


@strawberry.type
class UserMutation:
    @strawberry.mutation(
        description="UNAUTHENTICATED with the same message for an unknown email and a wrong "
        "password."
    )
    async def login(self, info: Info[Context, None], email: str, password: str) -> AuthPayload:
        issued, user = await users.login(info.context, email, password)
        return AuthPayload(
            token=issued.token, expires_at=issued.expires_at, user=User.from_model(user)
        )

    @strawberry.mutation(permission_classes=[IsAuthenticated, CanAdministerUsers])
    async def create_user(self, input: CreateUserInput) -> User:
        user = await users.create_user(
            name=input.name,
            email=input.email,
            password=input.password,
            permissions=input.permissions,
        )
        return User.from_model(user)
