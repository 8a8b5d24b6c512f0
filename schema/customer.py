"""Customers: the Customer type, customers, customer and createCustomer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from models import Customer as CustomerModel
from resolvers import customers, opportunity_reads
from resolvers.context import Context
from resolvers.errors import not_found
from resolvers.ids import decode_id, encode_id
from resolvers.pagination import PageArgs
from schema.cards import card_nodes
from schema.guards import CanSeeContactDetails, IsAuthenticated
from schema.opportunity import Communication
from schema.relay import Connection, Node
from schema.user import User, load_user

if TYPE_CHECKING:
    from schema.opportunity import Communication, Opportunity

LazyOpportunity = Annotated["Opportunity", strawberry.lazy("schema.opportunity")]
LazyCommunication = Annotated["Communication", strawberry.lazy("schema.opportunity")]

CONTACT_GUARD_HELP = (
    "Guarded contact field: visible to the customer's owner, to the owner of one of the "
    "customer's opportunities, to the manager of a campaign that holds one of them, and to "
    "VIEW_ALL. Others get null and a FORBIDDEN error at this path."
)


@strawberry.type
class Customer(Node):
    pk: strawberry.Private[int]
    owner_pk: strawberry.Private[int | None]
    name: str
    stored_phone: strawberry.Private[str | None]
    stored_email: strawberry.Private[str | None]

    @strawberry.field
    async def owner(self, info: Info[Context, None]) -> User | None:
        return await load_user(info, self.owner_pk)

    @strawberry.field(permission_classes=[CanSeeContactDetails], description=CONTACT_GUARD_HELP)
    def phone(self) -> str | None:
        return self.stored_phone

    @strawberry.field(permission_classes=[CanSeeContactDetails], description="Guarded like phone.")
    def email(self) -> str | None:
        return self.stored_email

    @strawberry.field(description="Only the opportunities the viewer may see.")
    async def opportunities(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[LazyOpportunity]:
        page = await opportunity_reads.opportunities_of_customer(
            info.context.require_viewer(), self.pk, PageArgs(first, after)
        )
        return Connection.of(page, await card_nodes(info, page.items))

    @strawberry.field(
        description="Every communication with this customer, across all of its opportunities, "
        "newest first."
    )
    async def communications(
        self, info: Info[Context, None], first: int | None = None, after: str | None = None
    ) -> Connection[LazyCommunication]:
        page = await opportunity_reads.communications_of_customer(
            info.context.require_viewer(), self.pk, PageArgs(first, after)
        )
        return Connection.of(page, Communication.from_model)

    @classmethod
    def from_model(cls, customer: CustomerModel) -> Customer:
        return cls(
            id=strawberry.ID(encode_id("Customer", customer.id)),
            pk=customer.id,
            owner_pk=customer.owner_id,
            name=customer.name,
            stored_phone=customer.phone,
            stored_email=customer.email,
        )


async def load_customer(info: Info[Context, None], pk: int) -> Customer | None:
    customer = await info.context.loaders.customer_by_id.load(pk)
    return None if customer is None else Customer.from_model(customer)


@strawberry.input
class CreateCustomerInput:
    name: str
    phone: str | None = None
    email: str | None = None
    owner_id: strawberry.ID | None = strawberry.field(
        default=None, description="Defaults to the creator."
    )


@strawberry.type
class CustomerQuery:
    @strawberry.field(permission_classes=[IsAuthenticated])
    async def customers(
        self,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Customer]:
        page = await customers.list_customers(search, PageArgs(first, after, last, before))
        return Connection.of(page, Customer.from_model)

    @strawberry.field(permission_classes=[IsAuthenticated])
    async def customer(self, info: Info[Context, None], id: strawberry.ID) -> Customer | None:
        found = await load_customer(info, decode_id(id, "Customer"))
        if found is None:
            raise not_found("Customer", id)
        return found


@strawberry.type
class CustomerMutation:
    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def create_customer(
        self, info: Info[Context, None], input: CreateCustomerInput
    ) -> Customer:
        customer = await customers.create_customer(
            info.context.require_viewer(),
            name=input.name,
            phone=input.phone,
            email=input.email,
            owner_id=input.owner_id,
        )
        return Customer.from_model(customer)
