"""Who is on a campaign now (campaignPresence's answers) and setTyping."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

import schema.enums  # noqa: F401  (publishes PresenceActivity)
from resolvers import presence
from resolvers.context import Context
from resolvers.ids import encode_id
from resolvers.presence import Activity, Entry
from schema.guards import CanPostInCampaign, IsAuthenticated, visible_campaign
from schema.user import User


@strawberry.type
class PresenceEntry:
    user: User
    activity: Activity


@strawberry.type
class CampaignPresence:
    campaign_id: strawberry.ID
    users: list[PresenceEntry] = strawberry.field(description="Ordered by name.")

    @classmethod
    def of(cls, campaign_pk: int, entries: list[Entry]) -> CampaignPresence:
        return cls(
            campaign_id=strawberry.ID(encode_id("Campaign", campaign_pk)),
            users=[
                PresenceEntry(user=User.from_model(e.user), activity=e.activity) for e in entries
            ],
        )


@strawberry.type
class PresenceMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated, CanPostInCampaign],
        description="The viewer is typing in the campaign's chat; it lapses 5 s after the "
        "last true.",
    )
    async def set_typing(
        self, info: Info[Context, None], campaign_id: strawberry.ID, typing: bool
    ) -> bool:
        campaign = await visible_campaign(info.context, campaign_id)
        await presence.set_typing(info.context, campaign, typing)
        return typing
