"""Signing in, tokens and `me`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import jwt

from models import Permission, User
from resolvers.viewers import RECHECK_SECONDS
from server.auth import JwtTokens
from tests.conftest import TEST_SECRET
from tests.factories import PASSWORD, gid, make_user

LOGIN = """
mutation Login($email: String!, $password: String!) {
  login(email: $email, password: $password) { token expiresAt user { id name email } }
}
"""
ME = "{ me { id name email permissions } }"


async def test_login_with_right_password_returns_a_token_that_me_accepts(api):
    # given
    user = await make_user(Permission.VIEW_ALL, name="Lan")
    # when
    login = (await api.execute(LOGIN, {"email": user.email.upper(), "password": PASSWORD})).ok()
    me = await api.execute(ME, token=login["login"]["token"])
    # then
    assert login["login"]["user"] == {"id": gid("User", user), "name": "Lan", "email": user.email}
    assert me.ok()["me"] == {
        "id": gid("User", user),
        "name": "Lan",
        "email": user.email,
        "permissions": ["VIEW_ALL"],
    }


async def test_login_failure_is_the_same_for_unknown_email_and_wrong_password(api):
    # given
    user = await make_user()
    # when
    wrong_password = await api.execute(LOGIN, {"email": user.email, "password": "nope-nope"})
    unknown_email = await api.execute(LOGIN, {"email": "ghost@example.com", "password": PASSWORD})
    # then
    assert wrong_password.codes == unknown_email.codes == ["UNAUTHENTICATED"]
    assert wrong_password.errors[0]["message"] == unknown_email.errors[0]["message"]
    assert wrong_password.data is None and unknown_email.data is None


async def test_me_without_token_is_unauthenticated(api):
    result = await api.execute(ME)
    assert result.codes == ["UNAUTHENTICATED"]


async def test_me_with_forged_token_is_unauthenticated(api):
    # given a token signed with another key
    user = await make_user()
    forged = jwt.encode(
        {"sub": str(user.pk), "exp": datetime.now(UTC) + timedelta(hours=1)},
        "another-secret-key-of-enough-length-000000",
        algorithm="HS256",
    )
    # when
    result = await api.execute(ME, token=forged)
    # then
    assert result.codes == ["UNAUTHENTICATED"]


async def test_me_with_expired_token_is_unauthenticated(api):
    user = await make_user()
    expired = jwt.encode(
        {"sub": str(user.pk), "exp": datetime.now(UTC) - timedelta(seconds=5)},
        TEST_SECRET,
        algorithm="HS256",
    )
    result = await api.execute(ME, token=expired)
    assert result.codes == ["UNAUTHENTICATED"]


async def test_token_expiry_follows_the_ttl_setting(api):
    user = await make_user()
    before = datetime.now(UTC)
    login = (await api.execute(LOGIN, {"email": user.email, "password": PASSWORD})).ok()
    expires_at = datetime.fromisoformat(login["login"]["expiresAt"])
    assert timedelta(seconds=3590) < expires_at - before < timedelta(seconds=3610)
    claims = jwt.decode(login["login"]["token"], TEST_SECRET, algorithms=["HS256"])
    assert claims["sub"] == str(user.pk)


async def test_a_token_accepted_before_is_refused_once_it_expires(api):
    # given a token valid for one more second, accepted once (and remembered)
    user = await make_user()
    token = jwt.encode(
        {"sub": str(user.pk), "exp": datetime.now(UTC) + timedelta(seconds=1)},
        TEST_SECRET,
        algorithm="HS256",
    )
    assert (await api.execute(ME, token=token)).ok()["me"]["id"] == gid("User", user)
    # when it is sent again after its expiry
    await asyncio.sleep(1.1)
    later = await api.execute(ME, token=token)
    # then
    assert later.codes == ["UNAUTHENTICATED"]


async def test_a_deleted_user_is_signed_out_within_the_recheck_time(api):
    # given a user whose token works
    user = await make_user(name="Leaving")
    token = JwtTokens(TEST_SECRET, 3600).issue(user).token
    assert (await api.execute(ME, token=token)).ok()["me"]["name"] == "Leaving"
    # when the user is deleted (from another process, say)
    await User.filter(id=user.pk).delete()
    await asyncio.sleep(2 * RECHECK_SECONDS + 0.1)
    after = await api.execute(ME, token=token)
    # then
    assert after.codes == ["UNAUTHENTICATED"]
