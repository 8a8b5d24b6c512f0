"""`funnelgraph seed-demo`: a demo team, customers and two campaigns with cards."""

from __future__ import annotations

from decimal import Decimal

from models import Opportunity, Permission, Stage, StageChange, User
from models.ranking import keys_after
from resolvers.campaigns import create_campaign
from resolvers.customers import create_customer
from resolvers.ids import encode_id
from resolvers.users import create_user

PASSWORD = "demo-password"
TEAM = [
    ("manager@demo.funnelgraph.dev", "Mai Manager", list(Permission)),
    (
        "an@demo.funnelgraph.dev",
        "An Sales",
        [Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_EDIT],
    ),
    (
        "binh@demo.funnelgraph.dev",
        "Binh Sales",
        [Permission.OPPORTUNITY_ACCESS, Permission.OPPORTUNITY_CREATE, Permission.OPPORTUNITY_EDIT],
    ),
]
CUSTOMERS = [
    ("Hanoi Coffee Roasters", "+84 24 3826 0001"),
    ("Saigon Textiles", "+84 28 3822 0002"),
    ("Da Nang Logistics", "+84 236 382 0003"),
    ("Hue Ceramics", "+84 234 382 0004"),
    ("Mekong Foods", "+84 292 382 0005"),
    ("Halong Travel", "+84 203 382 0006"),
]


async def seed_demo() -> list[str]:
    """Create the demo data; returns the lines to print (the logins)."""
    if await User.exists(email=TEAM[0][0]):
        return [f"demo data already present; sign in as {email} / {PASSWORD}" for email, *_ in TEAM]
    manager, *sales = [
        await create_user(name=name, email=email, password=PASSWORD, permissions=permissions)
        for email, name, permissions in TEAM
    ]
    customers = [
        await create_customer(manager, name=name, phone=phone, email=None, owner_id=None)
        for name, phone in CUSTOMERS
    ]
    staff = [encode_id("User", user.pk) for user in sales]
    for name, steps in (
        ("Spring upsell", ["New", "Contacted", "Demo", "Proposal", "Negotiation"]),
        ("Trade fair leads", ["Met at fair", "Follow-up call", "Quote sent"]),
    ):
        campaign = await create_campaign(
            manager,
            name=name,
            code=None,
            description=f"Demo campaign: {name}",
            stages=steps,
            manager_id=None,
            participant_ids=staff,
            auto_assign=False,
            rotation_user_ids=None,
            allow_duplicate_opportunities=False,
            registration_wait_minutes=None,
        )
        stages = list(await Stage.filter(campaign_id=campaign.pk).order_by("position"))
        for index, customer in enumerate(customers):
            stage = stages[index % len(stages)]
            owner = sales[index % len(sales)]
            last = await Opportunity.filter(stage_id=stage.pk).order_by("-rank").first()
            card = await Opportunity.create(
                campaign_id=campaign.pk,
                customer_id=customer.pk,
                stage_id=stage.pk,
                owner_id=owner.pk,
                name=customer.name,
                probability=10 + 15 * stage.position,
                amount=Decimal(1000 * (index + 1)),
                rank=keys_after(last.rank if last else None, 1)[0],
                created_by_id=manager.pk,
            )
            await StageChange.create(
                opportunity_id=card.pk,
                from_stage_id=None,
                to_stage_id=stage.pk,
                actor_id=manager.pk,
            )
    return [f"sign in as {email} / {PASSWORD}" for email, *_ in TEAM]
