"""Campaigns: creating, changing, listing and finding them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import cast

from strawberry import UNSET
from strawberry.types.unset import UnsetType
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import Campaign, CampaignMember, EventKind, Stage, User
from resolvers.access import can_see_campaign, visible_campaigns
from resolvers.assignment import hand_over
from resolvers.context import Context
from resolvers.customers import user_pk
from resolvers.errors import BadUserInput, not_found
from resolvers.ids import decode_id
from resolvers.pagination import Page, PageArgs, paginate
from resolvers.validation import clean_optional_text, clean_text
from resolvers.writes import campaign_write, log_event

MAX_STAGES = 50
MAX_MEMBERS = 500
MAX_WAIT_MINUTES = 60 * 24 * 365


async def get_visible_campaign(context: Context, global_id: str) -> Campaign:
    """The campaign, or NOT_FOUND when it is missing or hidden from the viewer."""
    campaign = await context.loaders.campaign_by_id.load(decode_id(global_id, "Campaign"))
    if campaign is None or not await can_see_campaign(context, campaign):
        raise not_found("Campaign", global_id)
    return campaign


async def list_campaigns(
    viewer: User, search: str | None, page: PageArgs, include_archived: bool = False
) -> Page[Campaign]:
    query = visible_campaigns(viewer)
    if not include_archived:
        query = query.filter(archived_at__isnull=True)
    if search and search.strip():
        term = search.strip()
        query = query.filter(Q(name__icontains=term) | Q(code__iexact=term))
    return await paginate(query, page)


async def create_campaign(
    viewer: User,
    *,
    name: str,
    code: str | None,
    description: str | None,
    stages: Sequence[str],
    manager_id: str | None,
    participant_ids: Sequence[str],
    auto_assign: bool,
    rotation_user_ids: Sequence[str] | None,
    allow_duplicate_opportunities: bool,
    registration_wait_minutes: int | None,
) -> Campaign:
    stage_names = _stage_names(stages)
    participants = await _user_pks(participant_ids, "participantIds")
    rotation = await _rotation(participants, rotation_user_ids)
    campaign = Campaign(
        name=clean_text(name, "name"),
        description=clean_optional_text(description, "description"),
        manager_id=viewer.pk if manager_id is None else await user_pk(manager_id, "managerId"),
        auto_assign=auto_assign,
        allow_duplicate_opportunities=allow_duplicate_opportunities,
        registration_wait_minutes=_wait_minutes(registration_wait_minutes),
    )
    chosen_code = clean_optional_text(code, "code")
    try:
        async with in_transaction():
            if chosen_code is not None and await Campaign.exists(code=chosen_code):
                raise _code_taken(chosen_code)
            campaign.code = chosen_code or await _new_code()
            await campaign.save()
            await Stage.bulk_create(
                Stage(campaign_id=campaign.pk, name=stage_name, position=position)
                for position, stage_name in enumerate(stage_names)
            )
            await _write_members(campaign, participants, rotation)
    except IntegrityError:
        raise _code_taken(chosen_code or "") from None
    return campaign


async def update_campaign(
    campaign_pk: int,
    actor: User,
    *,
    name: str | UnsetType | None = UNSET,
    description: str | UnsetType | None = UNSET,
    manager_id: str | UnsetType | None = UNSET,
    participant_ids: Sequence[str] | UnsetType | None = UNSET,
    auto_assign: bool | UnsetType | None = UNSET,
    rotation_user_ids: Sequence[str] | UnsetType | None = UNSET,
    allow_duplicate_opportunities: bool | UnsetType | None = UNSET,
    registration_wait_minutes: int | UnsetType | None = UNSET,
) -> Campaign:
    """Apply the given fields; those left out (UNSET) stay as they are."""
    async with campaign_write(campaign_pk) as campaign:
        before = _settings_of(campaign)
        if isinstance(name, str):
            campaign.name = clean_text(name, "name")
        if not isinstance(description, UnsetType):
            campaign.description = clean_optional_text(description, "description")
        if isinstance(manager_id, str):
            campaign.manager_id = await user_pk(manager_id, "managerId")
        if isinstance(auto_assign, bool):
            campaign.auto_assign = auto_assign
        if isinstance(allow_duplicate_opportunities, bool):
            campaign.allow_duplicate_opportunities = allow_duplicate_opportunities
        if not isinstance(registration_wait_minutes, UnsetType):
            campaign.registration_wait_minutes = _wait_minutes(registration_wait_minutes)
        changed = [key for key, value in _settings_of(campaign).items() if before[key] != value]
        if changed:
            await campaign.save()
        members_changed, leaving = await _update_members(
            campaign, participant_ids, rotation_user_ids
        )
        changed += members_changed
        if changed:
            # Before the hand-over's events: a removed participant's stream ends here.
            await log_event(campaign, EventKind.CAMPAIGN_UPDATED, actor, changed_fields=changed)
        if leaving and campaign.auto_assign:
            await hand_over(campaign, leaving, actor)
    return campaign


def _settings_of(campaign: Campaign) -> dict[str, object]:
    """The campaign's own fields, by their GraphQL names."""
    return {
        "name": campaign.name,
        "description": campaign.description,
        "manager": campaign.manager_id,
        "autoAssign": campaign.auto_assign,
        "allowDuplicateOpportunities": campaign.allow_duplicate_opportunities,
        "registrationWaitMinutes": campaign.registration_wait_minutes,
    }


async def _update_members(
    campaign: Campaign,
    participant_ids: Sequence[str] | UnsetType | None,
    rotation_user_ids: Sequence[str] | UnsetType | None,
) -> tuple[list[str], set[int]]:
    """Replace participants and/or rotation; returns which of the two changed, and who left."""
    old_participants = await _current_participants(campaign)
    old_rotation = await _kept_rotation(campaign, old_participants)
    if participant_ids is not None and not isinstance(participant_ids, UnsetType):
        participants = await _user_pks(participant_ids, "participantIds")
    elif rotation_user_ids is not None and not isinstance(rotation_user_ids, UnsetType):
        participants = old_participants
    else:
        return [], set()
    kept_rotation = None if isinstance(rotation_user_ids, UnsetType) else rotation_user_ids
    rotation = (
        await _rotation(participants, kept_rotation)
        if kept_rotation is not None
        else await _kept_rotation(campaign, participants)
    )
    await _write_members(campaign, participants, rotation)
    changed = ["participants"] if participants != old_participants else []
    changed += ["rotation"] if rotation != old_rotation else []
    return changed, set(old_participants) - set(participants)


def _stage_names(stages: Sequence[str]) -> list[str]:
    if not stages:
        raise BadUserInput("stages: a campaign needs at least one approach step", field="stages")
    if len(stages) > MAX_STAGES:
        raise BadUserInput(f"stages: at most {MAX_STAGES} approach steps", field="stages")
    return [clean_text(stage, "stages") for stage in stages]


def _wait_minutes(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_WAIT_MINUTES:
        raise BadUserInput(
            f"registrationWaitMinutes must be between 1 and {MAX_WAIT_MINUTES}, or null",
            field="registrationWaitMinutes",
        )
    return value


async def _user_pks(global_ids: Sequence[str], field: str) -> list[int]:
    if len(global_ids) > MAX_MEMBERS:
        raise BadUserInput(f"{field}: at most {MAX_MEMBERS} users", field=field)
    pks: list[int] = []
    for global_id in global_ids:
        pk = decode_id(global_id, "User")
        if pk not in pks:
            pks.append(pk)
    found = set(cast("list[int]", await User.filter(id__in=pks).values_list("id", flat=True)))
    missing = [global_id for global_id in global_ids if decode_id(global_id, "User") not in found]
    if missing:
        raise BadUserInput(f"{field}: no user {missing[0]!r}", field=field)
    return pks


async def _rotation(participants: list[int], rotation_ids: Sequence[str] | None) -> list[int]:
    if rotation_ids is None:
        return list(participants)
    rotation = await _user_pks(rotation_ids, "rotationUserIds")
    outsiders = [pk for pk in rotation if pk not in participants]
    if outsiders:
        raise BadUserInput(
            "rotationUserIds: every user in the rotation must also be a participant",
            field="rotationUserIds",
        )
    return rotation


async def _current_participants(campaign: Campaign) -> list[int]:
    rows = await CampaignMember.filter(campaign_id=campaign.pk).order_by("position")
    return [row.user_id for row in rows]


async def _kept_rotation(campaign: Campaign, participants: list[int]) -> list[int]:
    """The old rotation order for those who stay; new participants join at the end."""
    rows = await CampaignMember.filter(campaign_id=campaign.pk).order_by("position")
    old_rotation = sorted(
        (row for row in rows if row.rotation_position is not None),
        key=lambda row: row.rotation_position or 0,
    )
    old_members = {row.user_id for row in rows}
    kept = [row.user_id for row in old_rotation if row.user_id in participants]
    return kept + [pk for pk in participants if pk not in old_members]


async def _write_members(campaign: Campaign, participants: list[int], rotation: list[int]) -> None:
    await CampaignMember.filter(campaign_id=campaign.pk).delete()
    await CampaignMember.bulk_create(
        CampaignMember(
            campaign_id=campaign.pk,
            user_id=user_id,
            position=position,
            rotation_position=rotation.index(user_id) if user_id in rotation else None,
        )
        for position, user_id in enumerate(participants)
    )


async def _new_code() -> str:
    while True:
        code = "CMP-" + secrets.token_hex(4).upper()
        if not await Campaign.exists(code=code):
            return code


def _code_taken(code: str) -> BadUserInput:
    return BadUserInput(
        f"code {code!r} is already used by another campaign: choose another or leave it blank",
        field="code",
    )
