"""Users: createUser, users(search), and the guards on a user's private fields."""

from __future__ import annotations

import pytest

from models import Permission, User
from tests.factories import gid, make_user

CREATE_USER = """
mutation CreateUser($input: CreateUserInput!) {
  createUser(input: $input) { id name email permissions }
}
"""
LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token user { id name } }
}
"""
ME = "{ me { id name email permissions } }"
USERS = """
query Users($search: String) {
  users(search: $search) { totalCount edges { node { id name } } }
}
"""
USER_EMAILS = "{ users { edges { node { name email } } } }"
USER_PRIVATE_FIELDS = """
query User($id: ID!) {
  node(id: $id) { id ... on User { name email permissions } }
}
"""


def new_user_input(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "name": "Mai Tran",
        "email": "mai@example.com",
        "password": "a long enough password",
        "permissions": [],
    }
    values.update(overrides)
    return {"input": values}


async def test_create_user_succeeds_for_user_admin(api):
    # given
    admin = await make_user(Permission.USER_ADMIN)
    # when
    result = await api.execute(
        CREATE_USER,
        new_user_input(permissions=["CAMPAIGN_CREATE", "VIEW_ALL"]),
        viewer=admin,
    )
    # then
    created = result.ok()["createUser"]
    assert created["name"] == "Mai Tran"
    assert created["email"] == "mai@example.com"
    assert sorted(created["permissions"]) == ["CAMPAIGN_CREATE", "VIEW_ALL"]


async def test_create_user_is_forbidden_without_user_admin(api):
    # given
    clerk = await make_user(Permission.VIEW_ALL, Permission.CAMPAIGN_CREATE)
    # when
    result = await api.execute(CREATE_USER, new_user_input(), viewer=clerk)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert result.data is None
    assert not await User.exists(email="mai@example.com")


async def test_create_user_is_unauthenticated_when_anonymous(api):
    # when
    result = await api.execute(CREATE_USER, new_user_input())
    # then
    assert result.codes == ["UNAUTHENTICATED"]
    assert result.data is None
    assert not await User.exists(email="mai@example.com")


async def test_create_user_is_refused_when_email_is_taken(api):
    # given
    admin = await make_user(Permission.USER_ADMIN)
    existing = await make_user()
    # when the same address is given in another case
    result = await api.execute(
        CREATE_USER, new_user_input(email=existing.email.upper()), viewer=admin
    )
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert existing.email in result.errors[0]["message"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("password", "short"), ("email", "not-an-email"), ("name", "   ")],
)
async def test_create_user_is_refused_when_input_is_invalid(api, field, value):
    # given
    admin = await make_user(Permission.USER_ADMIN)
    # when
    result = await api.execute(CREATE_USER, new_user_input(**{field: value}), viewer=admin)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert field in result.errors[0]["message"]
    assert not await User.exists(name="Mai Tran")


async def test_create_user_gives_a_user_who_can_log_in_with_the_permissions_given(api):
    # given
    admin = await make_user(Permission.USER_ADMIN)
    created = (
        await api.execute(
            CREATE_USER, new_user_input(permissions=["OPPORTUNITY_ACCESS"]), viewer=admin
        )
    ).ok()["createUser"]
    # when
    login = await api.execute(
        LOGIN, {"email": "mai@example.com", "password": "a long enough password"}
    )
    token = login.ok()["login"]["token"]
    me = await api.execute(ME, token=token)
    # then
    assert login.ok()["login"]["user"] == {"id": created["id"], "name": "Mai Tran"}
    assert me.ok()["me"] == {
        "id": created["id"],
        "name": "Mai Tran",
        "email": "mai@example.com",
        "permissions": ["OPPORTUNITY_ACCESS"],
    }


async def test_users_search_finds_users_by_part_of_their_name(api):
    # given
    viewer = await make_user(name="Viewer")
    lan = await make_user(name="Nguyen Thi Lan")
    landon = await make_user(name="Landon Smith")
    await make_user(name="Minh Pham")
    # when
    result = await api.execute(USERS, {"search": "lan"}, viewer=viewer)
    # then
    users = result.ok()["users"]
    found = [edge["node"]["id"] for edge in users["edges"]]
    assert found == [gid("User", lan), gid("User", landon)]
    assert users["totalCount"] == 2


async def test_users_without_search_lists_everyone(api):
    # given
    viewer = await make_user()
    other = await make_user()
    # when
    result = await api.execute(USERS, {"search": None}, viewer=viewer)
    # then
    ids = [edge["node"]["id"] for edge in result.ok()["users"]["edges"]]
    assert ids == [gid("User", viewer), gid("User", other)]


async def test_users_is_unauthenticated_when_anonymous(api):
    # given
    await make_user(name="Nguyen Thi Lan")
    # when
    result = await api.execute(USERS, {"search": "Lan"})
    # then
    assert result.codes == ["UNAUTHENTICATED"]
    assert result.data is None


async def test_user_private_fields_are_visible_to_the_user_themself(api):
    # given
    user = await make_user(Permission.CAMPAIGN_CREATE)
    # when
    result = await api.execute(USER_PRIVATE_FIELDS, {"id": gid("User", user)}, viewer=user)
    # then
    assert result.ok()["node"] == {
        "id": gid("User", user),
        "name": user.name,
        "email": user.email,
        "permissions": ["CAMPAIGN_CREATE"],
    }


async def test_user_private_fields_are_visible_to_a_user_admin(api):
    # given
    user = await make_user(Permission.VIEW_ALL)
    admin = await make_user(Permission.USER_ADMIN)
    # when
    result = await api.execute(USER_PRIVATE_FIELDS, {"id": gid("User", user)}, viewer=admin)
    # then
    assert result.ok()["node"]["email"] == user.email
    assert result.ok()["node"]["permissions"] == ["VIEW_ALL"]


async def test_user_private_fields_are_null_and_forbidden_for_another_viewer(api):
    # given a viewer with every permission but USER_ADMIN
    user = await make_user(Permission.CAMPAIGN_CREATE)
    other = await make_user(*(p for p in Permission if p is not Permission.USER_ADMIN))
    # when
    result = await api.execute(USER_PRIVATE_FIELDS, {"id": gid("User", user)}, viewer=other)
    # then the guarded fields are null with an error each, the rest is answered
    assert result.data == {
        "node": {"id": gid("User", user), "name": user.name, "email": None, "permissions": None}
    }
    assert result.error_at("node", "email")["extensions"]["code"] == "FORBIDDEN"
    assert result.error_at("node", "permissions")["extensions"]["code"] == "FORBIDDEN"
    assert len(result.errors) == 2


async def test_user_private_fields_are_guarded_per_user_inside_a_list(api):
    # given
    viewer = await make_user(name="Alice")
    other = await make_user(name="Bob")
    # when
    result = await api.execute(USER_EMAILS, viewer=viewer)
    # then only the viewer's own email is shown
    assert result.data == {
        "users": {
            "edges": [
                {"node": {"name": "Alice", "email": viewer.email}},
                {"node": {"name": "Bob", "email": None}},
            ]
        }
    }
    assert result.error_at("users", "edges", 1, "node", "email")["extensions"]["code"] == (
        "FORBIDDEN"
    )
    assert len(result.errors) == 1
    assert other.email not in str(result.errors)
