"""Migration 0007 on a database with cards from before it: their stays, the seconds of
their stage changes and their stageEnteredAt come from their stage history."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from tortoise import Tortoise
from tortoise.migrations.api import migrate

from models import raw_sql
from models.database import apply_migrations, tortoise_config
from tests.conftest import BACKEND, _create_postgres_database, _drop_postgres_database

T0 = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
BEFORE_STAYS = "models.0006_stage_campaign_index"


@pytest.fixture
async def database_before_stays(tmp_path) -> AsyncIterator[str]:
    if BACKEND == "postgres":
        url = await _create_postgres_database()
    else:
        url = f"sqlite://{tmp_path / 'before.sqlite3'}"
    try:
        await migrate(config=tortoise_config(url), target=BEFORE_STAYS)
        yield url
    finally:
        await Tortoise.close_connections()
        if BACKEND == "postgres":
            await _drop_postgres_database(url)


async def _run(sql: str, *values: object) -> list[dict[str, object]]:
    return await raw_sql.rows(sql, *values)


async def _insert(table: str, **values: object) -> int:
    columns = ", ".join(values)
    found = await _run(
        f'INSERT INTO "{table}" ({columns}) VALUES ({raw_sql.marks(len(values))}) RETURNING id',
        *values.values(),
    )
    return int(found[0]["id"])  # type: ignore[call-overload]


async def _cards_from_before_stays() -> tuple[int, int, list[int]]:
    """A card placed, moved twice and won; another only placed, still open."""
    user = await _insert(
        "user",
        email="m@x.test",
        name="M",
        password_hash="x",
        permission_names="[]",
        created_at=T0,
        notification_seq=0,
    )
    campaign = await _insert(
        "campaign",
        code="OLD",
        name="Old",
        manager_id=user,
        auto_assign=False,
        allow_duplicate_opportunities=False,
        event_seq=0,
        created_at=T0,
    )
    stages = [
        await _insert("stage", campaign_id=campaign, name=name, position=position)
        for position, name in enumerate(("a", "b", "c"))
    ]
    customer = await _insert("customer", name="C", created_at=T0)

    async def card(stage: int, result: str, closed_at: datetime | None) -> int:
        return await _insert(
            "opportunity",
            campaign_id=campaign,
            customer_id=customer,
            stage_id=stage,
            name="card",
            probability=0,
            source="COMPANY_DATA",
            result=result,
            rank="m",
            version=1,
            overdue_notified=False,
            created_at=T0,
            updated_at=T0,
            closed_at=closed_at,
        )

    won = await card(stages[2], "WON", T0 + timedelta(seconds=1000))
    for to_stage, from_stage, seconds in ((0, None, 0), (1, 0, 100), (2, 1, 400)):
        await _insert(
            "stage_change",
            opportunity_id=won,
            from_stage_id=None if from_stage is None else stages[from_stage],
            to_stage_id=stages[to_stage],
            at=T0 + timedelta(seconds=seconds),
        )
    still_open = await card(stages[0], "OPEN", None)
    await _insert(
        "stage_change",
        opportunity_id=still_open,
        to_stage_id=stages[0],
        at=T0 + timedelta(seconds=50),
    )
    return won, still_open, stages


async def test_cards_from_before_stays_get_them_from_their_stage_history(database_before_stays):
    # given cards written before migration 0007
    url = database_before_stays
    await Tortoise.init(config=tortoise_config(url))
    try:
        won, still_open, stages = await _cards_from_before_stays()
    finally:
        await Tortoise.close_connections()
    # when the database is migrated to the newest schema
    await apply_migrations(url)
    # then their stays, change seconds and stageEnteredAt follow their history
    await Tortoise.init(config=tortoise_config(url))
    try:
        stays = await _run(
            "SELECT opportunity_id, stage_id, seconds, ended_by FROM stage_stay "
            "ORDER BY opportunity_id, entered_at"
        )
        assert [
            (s["opportunity_id"], s["stage_id"], s["seconds"], s["ended_by"]) for s in stays
        ] == [
            (won, stages[0], 100.0, "MOVED"),
            (won, stages[1], 300.0, "MOVED"),
            (won, stages[2], 600.0, "WON"),
            (still_open, stages[0], None, None),
        ]
        changes = await _run(
            "SELECT seconds_in_from_stage FROM stage_change WHERE opportunity_id = $1 ORDER BY at",
            won,
        )
        assert [change["seconds_in_from_stage"] for change in changes] == [None, 100.0, 300.0]
        entered = await _run("SELECT id, stage_entered_at FROM opportunity ORDER BY id")
        assert [_at(row["stage_entered_at"]) for row in entered] == [
            T0 + timedelta(seconds=400),
            T0 + timedelta(seconds=50),
        ]
    finally:
        await Tortoise.close_connections()


def _at(value: object) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed.astimezone(UTC)
