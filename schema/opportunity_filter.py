"""The OpportunityFilter input, decoded into resolvers/card_filter.py's CardFilter."""

from __future__ import annotations

from datetime import datetime

import strawberry

import schema.enums  # noqa: F401  (publishes OpportunityResult)
from models import OpportunityResult
from resolvers.card_filter import CardFilter
from resolvers.errors import BadUserInput
from resolvers.ids import decode_any
from resolvers.validation import utc_moment


@strawberry.input
class OpportunityFilter:
    campaign_ids: list[strawberry.ID] | None = None
    stage_ids: list[strawberry.ID] | None = None
    owner_ids: list[strawberry.ID] | None = None
    unowned: bool | None = strawberry.field(
        default=None, description="true: only unowned ones; false: only owned ones."
    )
    results: list[OpportunityResult] | None = None
    rotting: bool | None = None
    search: str | None = strawberry.field(
        default=None,
        description="Case-insensitive substring of the opportunity's name or its customer's name.",
    )
    created_after: datetime | None = None
    created_before: datetime | None = None
    expected_close_before: datetime | None = None

    def decoded(self) -> CardFilter:
        """BAD_USER_INPUT for an ID of another type or a moment out of range. An ID of
        nothing, or of something the viewer may not see, simply matches no card."""
        search = None if self.search is None else self.search.strip()
        return CardFilter(
            campaign_pks=_pks(self.campaign_ids, "Campaign", "filter.campaignIds"),
            stage_pks=_pks(self.stage_ids, "Stage", "filter.stageIds"),
            owner_pks=_pks(self.owner_ids, "User", "filter.ownerIds"),
            unowned=self.unowned,
            results=self.results,
            rotting=self.rotting,
            search=search or None,
            created_after=_moment(self.created_after, "filter.createdAfter"),
            created_before=_moment(self.created_before, "filter.createdBefore"),
            expected_close_before=_moment(self.expected_close_before, "filter.expectedCloseBefore"),
        )


def _pks(ids: list[strawberry.ID] | None, type_name: str, field: str) -> list[int] | None:
    if ids is None:
        return None
    pks = []
    for global_id in ids:
        decoded = decode_any(global_id)
        if decoded is None or decoded[0] != type_name:
            raise BadUserInput(f"{field}: {global_id!r} is not a {type_name} ID", field=field)
        pks.append(decoded[1])
    return pks


def _moment(value: datetime | None, field: str) -> datetime | None:
    return None if value is None else utc_moment(value, field)
