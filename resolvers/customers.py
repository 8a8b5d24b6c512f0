"""Creating, listing and reading customers."""

from __future__ import annotations

from models import Customer, User
from resolvers.errors import NotFound
from resolvers.ids import decode_id
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.validation import clean_email, clean_optional_text, clean_text


async def create_customer(
    viewer: User, *, name: str, phone: str | None, email: str | None, owner_id: str | None
) -> Customer:
    owner_pk = viewer.pk if owner_id is None else await user_pk(owner_id, "ownerId")
    return await Customer.create(
        name=clean_text(name, "name"),
        phone=clean_optional_text(phone, "phone"),
        email=clean_email(email, "email") if email and email.strip() else None,
        owner_id=owner_pk,
    )


async def user_pk(global_id: str, field: str) -> int:
    """The pk of an existing user; NOT_FOUND naming the field otherwise."""
    pk = decode_id(global_id, "User")
    if not await User.exists(id=pk):
        raise NotFound(f"{field}: user {global_id!r} was not found", field=field)
    return pk


async def list_customers(search: str | None, page: PageArgs) -> Page[Customer]:
    query = Customer.all()
    if search and search.strip():
        query = query.filter(name__icontains=search.strip())
    return await paginate(query, page)
