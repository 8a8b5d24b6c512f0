"""Small async factories for test data; each call makes fresh rows."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal

from models import (
    Campaign,
    CampaignMember,
    Customer,
    Opportunity,
    Permission,
    Stage,
    StageChange,
    StageStay,
    User,
)
from models.ranking import keys_after
from models.user import hash_password
from resolvers.ids import encode_id

_numbers = itertools.count(1)
PASSWORD = "correct horse battery"
_PASSWORD_HASH = hash_password(PASSWORD)


async def make_user(*permissions: Permission, name: str | None = None) -> User:
    number = next(_numbers)
    return await User.create(
        email=f"user{number}@example.com",
        name=name or f"User {number}",
        password_hash=_PASSWORD_HASH,
        permission_names=sorted(p.value for p in permissions),
    )


async def make_customer(owner: User | None = None, name: str | None = None) -> Customer:
    number = next(_numbers)
    return await Customer.create(
        name=name or f"Customer {number}",
        phone=f"+84 90 000 {number:04d}",
        email=f"customer{number}@example.com",
        owner_id=owner.pk if owner else None,
    )


async def make_campaign(
    manager: User,
    participants: Sequence[User] = (),
    stages: Sequence[str] = ("New", "Contacted", "Won"),
    **values: object,
) -> Campaign:
    number = next(_numbers)
    campaign = await Campaign.create(
        code=f"TEST-{number}", name=f"Campaign {number}", manager_id=manager.pk, **values
    )
    for position, name in enumerate(stages):
        await Stage.create(campaign_id=campaign.pk, name=name, position=position)
    for position, user in enumerate(participants):
        await CampaignMember.create(
            campaign_id=campaign.pk,
            user_id=user.pk,
            position=position,
            rotation_position=position,
        )
    return campaign


async def stages_of(campaign: Campaign) -> list[Stage]:
    return list(await Stage.filter(campaign_id=campaign.pk).order_by("position"))


async def make_opportunity(
    campaign: Campaign,
    customer: Customer,
    *,
    stage: Stage | None = None,
    owner: User | None = None,
    amount: Decimal | None = None,
    probability: int = 0,
) -> Opportunity:
    stage = stage or (await stages_of(campaign))[0]
    last = await Opportunity.filter(stage_id=stage.pk).order_by("-rank").first()
    card = await Opportunity.create(
        campaign_id=campaign.pk,
        customer_id=customer.pk,
        stage_id=stage.pk,
        owner_id=owner.pk if owner else None,
        name=customer.name,
        probability=probability,
        amount=amount,
        rank=keys_after(last.rank if last else None, 1)[0],
    )
    card.stage_entered_at = card.created_at
    await card.save(update_fields=["stage_entered_at"])
    await StageChange.create(opportunity_id=card.pk, to_stage_id=stage.pk, at=card.created_at)
    await StageStay.create(opportunity_id=card.pk, stage_id=stage.pk, entered_at=card.created_at)
    return card


def gid(type_name: str, row: object) -> str:
    return encode_id(type_name, row.pk)  # type: ignore[attr-defined]
