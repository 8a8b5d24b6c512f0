"""Customers: createCustomer, customers, customer, and the guard on contact fields."""

from __future__ import annotations

from models import Customer, Permission
from resolvers.ids import encode_id
from tests.factories import gid, make_campaign, make_customer, make_opportunity, make_user

CREATE_CUSTOMER = """
mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) { id name phone email owner { id } }
}
"""
CREATE_CUSTOMER_FOR_OWNER = """
mutation CreateCustomer($input: CreateCustomerInput!) {
  createCustomer(input: $input) { id owner { id } }
}
"""
CUSTOMERS = """
query Customers($search: String) {
  customers(search: $search) { totalCount edges { node { id name } } }
}
"""
CUSTOMER = """
query Customer($id: ID!) {
  customer(id: $id) { id name owner { id } }
}
"""
CUSTOMER_PHONES = "{ customers { edges { node { name phone } } } }"
CUSTOMER_CONTACT = """
query CustomerContact($id: ID!) {
  customer(id: $id) { id name phone email }
}
"""


async def test_create_customer_is_owned_by_the_creator_by_default(api):
    # given
    seller = await make_user()
    # when
    result = await api.execute(
        CREATE_CUSTOMER,
        {"input": {"name": "  Acme Ltd ", "phone": "+84 90 123 4567", "email": "Buy@Acme.VN"}},
        viewer=seller,
    )
    # then
    created = result.ok()["createCustomer"]
    assert created["name"] == "Acme Ltd"
    assert created["phone"] == "+84 90 123 4567"
    assert created["email"] == "buy@acme.vn"
    assert created["owner"] == {"id": gid("User", seller)}


async def test_create_customer_with_owner_id_is_owned_by_that_user(api):
    # given
    seller = await make_user()
    colleague = await make_user()
    # when
    result = await api.execute(
        CREATE_CUSTOMER_FOR_OWNER,
        {"input": {"name": "Acme Ltd", "ownerId": gid("User", colleague)}},
        viewer=seller,
    )
    # then
    created = result.ok()["createCustomer"]
    assert created["owner"] == {"id": gid("User", colleague)}
    stored = await Customer.get(name="Acme Ltd")
    assert stored.owner_id == colleague.pk


async def test_create_customer_is_refused_when_name_is_blank(api):
    # given
    seller = await make_user()
    # when
    result = await api.execute(CREATE_CUSTOMER, {"input": {"name": "   "}}, viewer=seller)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "name" in result.errors[0]["message"]
    assert await Customer.all().count() == 0


async def test_create_customer_is_unauthenticated_when_anonymous(api):
    # when
    result = await api.execute(CREATE_CUSTOMER, {"input": {"name": "Acme Ltd"}})
    # then
    assert result.codes == ["UNAUTHENTICATED"]
    assert await Customer.all().count() == 0


async def test_customers_search_finds_customers_by_part_of_their_name(api):
    # given
    viewer = await make_user()
    acme = await make_customer(name="Acme Ltd")
    acme_vn = await make_customer(name="ACME Vietnam")
    await make_customer(name="Globex")
    # when
    result = await api.execute(CUSTOMERS, {"search": "acme"}, viewer=viewer)
    # then
    customers = result.ok()["customers"]
    assert [edge["node"]["id"] for edge in customers["edges"]] == [
        gid("Customer", acme),
        gid("Customer", acme_vn),
    ]
    assert customers["totalCount"] == 2


async def test_customers_without_search_lists_every_customer(api):
    # given
    viewer = await make_user()
    first = await make_customer()
    second = await make_customer(owner=await make_user())
    # when
    result = await api.execute(CUSTOMERS, viewer=viewer)
    # then
    customers = result.ok()["customers"]
    assert [edge["node"]["id"] for edge in customers["edges"]] == [
        gid("Customer", first),
        gid("Customer", second),
    ]
    assert customers["totalCount"] == 2


async def test_customers_is_unauthenticated_when_anonymous(api):
    # given
    await make_customer()
    # when
    result = await api.execute(CUSTOMERS)
    # then
    assert result.codes == ["UNAUTHENTICATED"]
    assert result.data is None


async def test_customer_by_id_returns_the_customer(api):
    # given
    owner = await make_user()
    customer = await make_customer(owner=owner, name="Acme Ltd")
    viewer = await make_user()
    # when
    result = await api.execute(CUSTOMER, {"id": gid("Customer", customer)}, viewer=viewer)
    # then
    assert result.ok()["customer"] == {
        "id": gid("Customer", customer),
        "name": "Acme Ltd",
        "owner": {"id": gid("User", owner)},
    }


async def test_customer_by_id_is_not_found_when_unknown_or_malformed(api):
    # given
    viewer = await make_user()
    customer = await make_customer()
    ids = [
        encode_id("Customer", customer.pk + 1000),  # unknown
        "not-an-id",  # malformed
        "",  # empty
        gid("User", viewer),  # another type's id
    ]
    for global_id in ids:
        # when
        result = await api.execute(CUSTOMER, {"id": global_id}, viewer=viewer)
        # then
        assert result.data == {"customer": None}, global_id
        assert result.error_at("customer")["extensions"]["code"] == "NOT_FOUND", global_id


async def test_customer_contact_is_visible_to_the_customer_owner(api):
    # given
    owner = await make_user()
    customer = await make_customer(owner=owner)
    # when
    result = await api.execute(CUSTOMER_CONTACT, {"id": gid("Customer", customer)}, viewer=owner)
    # then
    assert result.ok()["customer"]["phone"] == customer.phone
    assert result.ok()["customer"]["email"] == customer.email


async def test_customer_contact_is_visible_with_view_all(api):
    # given
    customer = await make_customer(owner=await make_user())
    auditor = await make_user(Permission.VIEW_ALL)
    # when
    result = await api.execute(CUSTOMER_CONTACT, {"id": gid("Customer", customer)}, viewer=auditor)
    # then
    assert result.ok()["customer"]["phone"] == customer.phone
    assert result.ok()["customer"]["email"] == customer.email


async def test_customer_contact_is_null_and_forbidden_for_another_user(api):
    # given a user with no link to the customer, one of whose opportunities others hold
    owner = await make_user()
    customer = await make_customer(owner=owner, name="Acme Ltd")
    campaign = await make_campaign(await make_user(), participants=[await make_user()])
    await make_opportunity(campaign, customer, owner=owner)
    stranger = await make_user(Permission.CAMPAIGN_EDIT, Permission.USER_ADMIN)
    # when
    result = await api.execute(CUSTOMER_CONTACT, {"id": gid("Customer", customer)}, viewer=stranger)
    # then
    assert result.data == {
        "customer": {
            "id": gid("Customer", customer),
            "name": "Acme Ltd",
            "phone": None,
            "email": None,
        },
    }
    assert result.error_at("customer", "phone")["extensions"]["code"] == "FORBIDDEN"
    assert result.error_at("customer", "email")["extensions"]["code"] == "FORBIDDEN"
    assert len(result.errors) == 2


async def test_customer_contact_is_visible_to_the_owner_of_one_of_its_opportunities(api):
    # given
    customer = await make_customer(owner=await make_user())
    seller = await make_user()
    campaign = await make_campaign(await make_user(), participants=[seller])
    await make_opportunity(campaign, customer, owner=seller)
    # when
    result = await api.execute(CUSTOMER_CONTACT, {"id": gid("Customer", customer)}, viewer=seller)
    # then
    assert result.ok()["customer"]["phone"] == customer.phone
    assert result.ok()["customer"]["email"] == customer.email


async def test_customer_contact_is_visible_to_the_manager_of_a_campaign_holding_it(api):
    # given an unowned opportunity of the customer in the manager's campaign
    customer = await make_customer(owner=await make_user())
    manager = await make_user()
    campaign = await make_campaign(manager)
    await make_opportunity(campaign, customer)
    # when
    result = await api.execute(CUSTOMER_CONTACT, {"id": gid("Customer", customer)}, viewer=manager)
    # then
    assert result.ok()["customer"]["phone"] == customer.phone
    assert result.ok()["customer"]["email"] == customer.email


async def test_customer_contact_is_forbidden_to_a_participant_without_its_opportunity(api):
    # given a participant of the campaign who does not own the customer's opportunity
    customer = await make_customer(owner=await make_user())
    participant = await make_user()
    campaign = await make_campaign(await make_user(), participants=[participant])
    await make_opportunity(campaign, customer)
    # when
    result = await api.execute(
        CUSTOMER_CONTACT, {"id": gid("Customer", customer)}, viewer=participant
    )
    # then
    assert result.data["customer"]["phone"] is None
    assert result.error_at("customer", "phone")["extensions"]["code"] == "FORBIDDEN"


async def test_customer_contact_is_guarded_per_customer_inside_a_list(api):
    # given
    seller = await make_user()
    mine = await make_customer(owner=seller, name="Mine")
    await make_customer(owner=await make_user(), name="Theirs")
    # when
    result = await api.execute(CUSTOMER_PHONES, viewer=seller)
    # then
    assert result.data == {
        "customers": {
            "edges": [
                {"node": {"name": "Mine", "phone": mine.phone}},
                {"node": {"name": "Theirs", "phone": None}},
            ]
        },
    }
    assert result.error_at("customers", "edges", 1, "node", "phone")["extensions"]["code"] == (
        "FORBIDDEN"
    )
    assert len(result.errors) == 1
