"""A campaign's managed loss reasons: added by its manager or CAMPAIGN_EDIT, archived
(hidden from new losses; cards lost with one keep it), chosen when a card is lost."""

from __future__ import annotations

from tortoise import timezone

from models import Campaign, EventKind, LossReason, User
from resolvers.errors import BadUserInput, NotFound
from resolvers.ids import decode_id
from resolvers.validation import clean_text
from resolvers.writes import campaign_write, log_event


def _key(name: str) -> str:
    return name.casefold()


async def add_loss_reason(campaign: Campaign, actor: User, name: str) -> LossReason:
    name = clean_text(name, "name")
    async with campaign_write(campaign.pk) as locked:
        # Under the campaign's lock, so two adds of one name cannot both pass the check.
        if await LossReason.filter(campaign_id=locked.pk, name_key=_key(name)).exists():
            raise BadUserInput(f"this campaign already has the loss reason {name!r}", field="name")
        reason = await LossReason.create(campaign_id=locked.pk, name=name, name_key=_key(name))
        await log_event(locked, EventKind.CAMPAIGN_UPDATED, actor, changed_fields=["lossReasons"])
    return reason


async def archive_loss_reason(reason: LossReason, actor: User) -> LossReason:
    async with campaign_write(reason.campaign_id) as locked:
        reason = await LossReason.get(id=reason.pk)
        if reason.archived_at is None:
            reason.archived_at = timezone.now()
            await reason.save()
            await log_event(
                locked, EventKind.CAMPAIGN_UPDATED, actor, changed_fields=["lossReasons"]
            )
    return reason


async def usable_loss_reason(campaign: Campaign, global_id: str) -> int:
    """The pk of a loss reason a card of `campaign` may be lost with: one of its own, not
    archived (read under the campaign's lock); BAD_USER_INPUT otherwise."""
    try:
        pk = decode_id(global_id, "LossReason")
    except NotFound:
        pk = 0
    reason = await LossReason.get_or_none(id=pk, campaign_id=campaign.pk)
    if reason is None or reason.archived_at is not None:
        raise BadUserInput(
            "lossReasonId must be a loss reason of this campaign that is not archived",
            field="lossReasonId",
        )
    return int(reason.pk)
