"""A campaign's members with their automatic-assignment settings (resolvers/members.py)."""

from __future__ import annotations

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from resolvers import members
from resolvers.context import Context
from resolvers.ids import decode_id
from schema.guards import IsAuthenticated, campaign_of_input
from schema.user import User, load_user


@strawberry.type
class CampaignMember:
    user_pk: strawberry.Private[int]
    is_manager: bool
    in_rotation: bool = strawberry.field(
        description="Receives opportunities by automatic assignment."
    )
    weight: int = strawberry.field(
        description="Relative share of automatic assignment (default 1): the next card goes "
        "to the available rotation member under capacity with the fewest open cards per unit "
        "of weight, ties in rotation order."
    )
    capacity: int | None = strawberry.field(
        description="Most open cards automatic assignment gives this member; null: no cap."
    )
    available: bool = strawberry.field(
        description="False while away: automatic assignment skips the member."
    )
    open_count: int

    @strawberry.field
    async def user(self, info: Info[Context, None]) -> User:
        user = await load_user(info, self.user_pk)
        assert user is not None, "a member's user is deleted with the membership (CASCADE)"
        return user

    @classmethod
    def of(cls, member: members.Member) -> CampaignMember:
        return cls(
            user_pk=member.user_pk,
            is_manager=member.is_manager,
            in_rotation=member.in_rotation,
            weight=member.weight,
            capacity=member.capacity,
            available=member.available,
            open_count=member.open_count,
        )


@strawberry.input
class UpdateCampaignMemberInput:
    campaign_id: strawberry.ID
    user_id: strawberry.ID
    weight: int | None = strawberry.field(default=UNSET, description="1 to 100.")
    capacity: int | None = strawberry.field(
        default=UNSET, description="Null clears it; omitted leaves it."
    )
    available: bool | None = UNSET


@strawberry.type
class MemberMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A member's assignment settings: the manager or CAMPAIGN_EDIT; a member "
        "may set their own `available`.",
    )
    async def update_campaign_member(
        self, info: Info[Context, None], input: UpdateCampaignMemberInput
    ) -> CampaignMember:
        campaign = await campaign_of_input(info.context, input)
        member = await members.update_member(
            campaign.pk,
            info.context.require_viewer(),
            decode_id(input.user_id, "User"),
            weight=input.weight,
            capacity=input.capacity,
            available=input.available,
        )
        return CampaignMember.of(member)
