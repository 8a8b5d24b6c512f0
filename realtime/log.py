"""The logs streams follow: a campaign's events and a user's notifications, appended in
the change's transaction and read, per channel, by the hub and its streams."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise import timezone
from tortoise.fields import JSONField

from models import Campaign, CampaignEvent, EventKind, Notification, User, raw_sql
from realtime.channels import CAMPAIGN, USER, ChannelGone, channel_kind

BATCH = 500


async def append_event(
    campaign: Campaign,
    kind: EventKind,
    actor: User | None,
    *,
    writes: Sequence[raw_sql.Statement] = (),
    merged: raw_sql.Statement | None = None,
    **data: Any,
) -> CampaignEvent:
    """Log one event of `campaign`, whose row the caller holds locked (campaign_write),
    with the change's own `writes` (made in the same round trip where the database can).
    `merged` (PostgreSQL) is a jsonb expression the database merges into the data.

    The seq comes from the locked campaign row, so it is gap-free and in commit order.
    The event returned is the row as stored, as a read of the log gives it.
    """
    campaign.event_seq += 1
    seq = campaign.event_seq
    number = ("UPDATE campaign SET event_seq = $1 WHERE id = $2", (seq, campaign.pk))
    values = [campaign.pk, seq, kind.value, actor.pk if actor else None, timezone.now()]
    values.append(_encoded(data))
    stored = "$6"
    if merged is not None:
        stored = f"$6::jsonb || {raw_sql.shifted(merged[0], len(values))}"
        values.extend(merged[1])
    append = (
        "INSERT INTO campaign_event (campaign_id, seq, kind, actor_id, occurred_at, data) "
        f"VALUES ($1, $2, $3, $4, $5, {stored}) RETURNING *",
        values,
    )
    [inserted] = await raw_sql.write_then_return([*writes, number], append)
    return raw_sql.builder(CampaignEvent)(inserted)


def _encoded(data: dict[str, Any]) -> str:
    """The event's data as its model field stores it."""
    field = CampaignEvent._meta.fields_map["data"]
    assert isinstance(field, JSONField)
    return str(field.encoder(data))


async def events_after(
    campaign_pk: int, seq: int, kinds: frozenset[EventKind] | None = None, limit: int = BATCH
) -> list[CampaignEvent]:
    query = CampaignEvent.filter(campaign_id=campaign_pk, seq__gt=seq)
    if kinds is not None:
        query = query.filter(kind__in=list(kinds))
    return list(await query.order_by("seq").limit(limit))


async def oldest_kept_seq(campaign_pk: int) -> int | None:
    """The smallest seq still in the log (None when the log is empty)."""
    oldest = await CampaignEvent.filter(campaign_id=campaign_pk).order_by("seq").first()
    return oldest.seq if oldest else None


async def last_seq(campaign_pk: int) -> int:
    campaign = await Campaign.get_or_none(id=campaign_pk)
    return campaign.event_seq if campaign else 0


async def purge_before(moment: datetime) -> int:
    """Drop events older than `moment` (retention); streams behind them must resync."""
    return await CampaignEvent.filter(occurred_at__lt=moment).delete()


async def notifications_after(user_pk: int, seq: int, limit: int = BATCH) -> list[Notification]:
    return list(
        await Notification.filter(recipient_id=user_pk, seq__gt=seq).order_by("seq").limit(limit)
    )


class Log:
    """The log behind each channel: rows after a seq, in seq order."""

    batch = BATCH

    async def rows_after(self, channel: str, seq: int) -> list[Any]:
        """The rows; ChannelGone when there are none because the campaign was deleted
        (checked only then: a read that finds rows costs no second query)."""
        kind, pk = channel_kind(channel)
        if kind == CAMPAIGN:
            rows = await events_after(pk, seq)
            if not rows and not await Campaign.exists(id=pk):
                raise ChannelGone(channel)
            return rows
        if kind == USER:
            return await notifications_after(pk, seq)
        raise ValueError(f"no log behind channel {channel!r}")

    @staticmethod
    def seq_of(row: Any) -> int:
        return int(row.seq)
