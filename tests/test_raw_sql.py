"""models/raw_sql.py: rows read by hand-written SQL become the same instances the ORM
would make, on either database."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from tortoise import timezone
from tortoise.models import Model

from models import Campaign, Customer, Opportunity, OpportunityResult, OpportunitySource, raw_sql
from models.raw_sql import _in
from tests.factories import make_campaign, make_customer, make_opportunity, make_user


def _state(instance: Model) -> dict[str, tuple[type, object]]:
    fields = type(instance)._meta.fields_db_projection
    return {name: (type(getattr(instance, name)), getattr(instance, name)) for name in fields}


async def _rows_of_every_kind() -> list[Model]:
    manager = await make_user()
    campaign = await make_campaign(manager, registration_wait_minutes=30)
    open_card = await make_opportunity(
        campaign, await make_customer(owner=manager), amount=Decimal("1234.50"), probability=40
    )
    closed = await make_opportunity(campaign, await make_customer(), owner=manager)
    closed.result = OpportunityResult.LOST
    closed.source = OpportunitySource.REFERRAL
    closed.failure_reason = "price"
    closed.closed_at = timezone.now() - timedelta(days=3)
    closed.registration_deadline = timezone.now() + timedelta(minutes=5)
    await closed.save()
    customer = await Customer.get(pk=open_card.customer_id)
    return [manager, campaign, customer, open_card, closed]


async def test_instances_equal_what_the_orm_reads_field_for_field(app):
    # given rows of each model the hand-written SQL reads, with every kind of column set
    for row in await _rows_of_every_kind():
        model = type(row)
        table = model._meta.db_table
        # when one is read by hand-written SQL and by the ORM
        [by_hand] = await raw_sql.instances(model, f'SELECT * FROM "{table}" WHERE id = $1', row.pk)
        by_orm = await model.get(pk=row.pk)
        # then both hold the same values, of the same types, and behave as saved rows
        assert _state(by_hand) == _state(by_orm), model.__name__
        assert by_hand.pk == row.pk and by_hand._saved_in_db


async def test_an_instance_saves_like_an_orm_one(app):
    # given a card read by hand-written SQL
    card = await make_opportunity(await make_campaign(await make_user()), await make_customer())
    [read] = await raw_sql.instances(
        Opportunity, "SELECT * FROM opportunity WHERE id = $1", card.pk
    )
    # when a field is changed and saved through the ORM
    read.name = "Renamed"
    await read.save()
    # then the row is updated, not inserted again
    assert (await Opportunity.get(pk=card.pk)).name == "Renamed"
    assert await Opportunity.filter(campaign_id=card.campaign_id).count() == 1


async def test_a_joined_row_makes_an_instance_of_each_model_it_carries(app):
    # given a card and its campaign read in one row, the campaign's columns prefixed
    manager = await make_user()
    campaign = await make_campaign(manager, registration_wait_minutes=15)
    card = await make_opportunity(campaign, await make_customer(), amount=Decimal("9.99"))
    [row] = await raw_sql.records(
        f"SELECT o.*, {raw_sql.columns(Campaign, 'c', 'campaign__')} FROM opportunity o "
        "JOIN campaign c ON c.id = o.campaign_id WHERE o.id = $1",
        card.pk,
    )
    # when each model is built from its part of the row
    read_card = raw_sql.builder(Opportunity)(row)
    read_campaign = raw_sql.builder(Campaign, "campaign__")(row)
    # then each equals what the ORM reads
    assert _state(read_card) == _state(await Opportunity.get(pk=card.pk))
    assert _state(read_campaign) == _state(await Campaign.get(pk=campaign.pk))


@pytest.mark.parametrize(
    ("written", "on_sqlite"),
    [
        (
            "SELECT * FROM campaign WHERE id = $1 FOR NO KEY UPDATE",
            "SELECT * FROM campaign WHERE id = ?",
        ),
        (
            "SELECT o.* FROM campaign c JOIN opportunity o ON o.campaign_id = c.id "
            "WHERE o.id = $1 AND c.id = $2 FOR NO KEY UPDATE OF c, o",
            "SELECT o.* FROM campaign c JOIN opportunity o ON o.campaign_id = c.id "
            "WHERE o.id = ? AND c.id = ?",
        ),
    ],
)
def test_sqlite_reads_the_statement_without_its_row_locks_and_numbers(written, on_sqlite):
    assert _in("sqlite", written) == on_sqlite
    assert _in("postgres", written) == written
