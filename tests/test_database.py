"""models/database.py: what counts as the database being out of reach, and waiting for it."""

from __future__ import annotations

import asyncpg
import pytest
from tortoise.exceptions import DBConnectionError, IntegrityError, OperationalError

from models.database import is_unreachable, until_reachable


def _raised_from(cause: BaseException, error: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as inner:
            raise error from inner
    except BaseException as outer:
        return outer


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        DBConnectionError("can't connect"),
        asyncpg.AdminShutdownError("terminating connection due to administrator command"),
        asyncpg.CannotConnectNowError("the database system is starting up"),
        asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        asyncpg.InternalClientError("cannot switch to state 12; another operation is in progress"),
        asyncpg.InterfaceError("cannot perform operation: connection is closed"),
        _raised_from(ConnectionRefusedError(), OperationalError("wrapped by the ORM")),
    ],
)
def test_errors_of_a_database_out_of_reach_are_recognised(error):
    assert is_unreachable(error)


@pytest.mark.parametrize(
    "error",
    [
        None,
        asyncpg.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        IntegrityError("duplicate key value violates unique constraint"),
        ValueError("a bug"),
    ],
)
def test_other_errors_are_not_an_outage(error):
    assert not is_unreachable(error)


async def test_until_reachable_waits_through_an_outage_then_answers():
    attempts = []

    async def work():
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectionRefusedError(111, "Connection refused")
        return "answer"

    assert await until_reachable(work, "testing") == "answer"
    assert len(attempts) == 3


async def test_until_reachable_raises_any_other_error_at_once():
    attempts = []

    async def work():
        attempts.append(1)
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        await until_reachable(work, "testing")
    assert len(attempts) == 1
