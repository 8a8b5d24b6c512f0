"""Signing in, creating users and listing them."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Permission, User
from models.user import DUMMY_PASSWORD_HASH, hash_password, verify_password
from resolvers.context import Context, IssuedToken
from resolvers.errors import BadUserInput, Unauthenticated
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.validation import clean_email, clean_text, text_limit

MIN_PASSWORD_LENGTH = 8
BAD_CREDENTIALS = "the email or the password is wrong"


async def login(context: Context, email: str, password: str) -> tuple[IssuedToken, User]:
    """A token for the user; the same UNAUTHENTICATED answer for every failure."""
    throttle, address = context.throttle, context.client_address
    if throttle:
        await throttle.login_attempt(email, address)
    user = await User.get_or_none(email=email.strip().lower())
    # Unknown emails cost a hash check too, so timing does not tell them apart. The check
    # (about 0.1 s of CPU) runs in a worker thread: argon2 releases the GIL, and the event
    # loop keeps serving everyone else during a flood of logins.
    password_hash = DUMMY_PASSWORD_HASH if user is None else user.password_hash
    matches = await asyncio.to_thread(verify_password, password_hash, password)
    if user is None or not matches:
        raise Unauthenticated(BAD_CREDENTIALS)
    if throttle:
        await throttle.login_succeeded(email, address)
    context.sign_in(user)
    return context.tokens.issue(user), user


async def create_user(
    *, name: str, email: str, password: str, permissions: Iterable[Permission]
) -> User:
    """A new user; BAD_USER_INPUT for a taken email or a short password."""
    email = clean_email(email, "email")
    name = clean_text(name, "name")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise BadUserInput(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if len(password) > text_limit("password"):
        raise BadUserInput(
            f"password must be at most {text_limit('password')} characters", field="password"
        )
    password_hash = await asyncio.to_thread(hash_password, password)
    try:
        async with in_transaction():
            if await User.exists(email=email):
                raise _email_taken(email)
            return await User.create(
                email=email,
                name=name,
                password_hash=password_hash,
                permission_names=sorted({Permission(p).value for p in permissions}),
            )
    except IntegrityError:
        raise _email_taken(email) from None


def _email_taken(email: str) -> BadUserInput:
    return BadUserInput(f"a user with email {email!r} already exists", field="email")


async def list_users(search: str | None, page: PageArgs) -> Page[User]:
    query = User.all()
    if search and search.strip():
        query = query.filter(name__icontains=search.strip())
    return await paginate(query, page)
