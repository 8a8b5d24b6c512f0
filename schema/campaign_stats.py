"""Campaign.stats: the pipeline figures of a campaign over a window of card creation
(resolvers/campaign_stats.py computes them)."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry

from models import LossReason as LossReasonModel
from models import OpportunityResult
from resolvers import money
from resolvers.campaign_stats import CampaignFigures, StageFigures
from schema.loss_reason import LossReason

if TYPE_CHECKING:
    from schema.campaign import Stage

LazyStage = Annotated["Stage", strawberry.lazy("schema.campaign")]


@strawberry.type
class StageStats:
    stage: LazyStage
    entered: int = strawberry.field(
        description="Opportunities that entered this step at least once (first placement included)."
    )
    advanced: int = strawberry.field(
        description="Of those, how many later entered a step of higher position (as the steps "
        "are ordered now), or are won."
    )
    average_seconds_in_stage: float | None = strawberry.field(
        description="As Stage.averageSecondsInStage, over these opportunities."
    )
    lost_here: int = strawberry.field(
        description="Opportunities lost while in this step (its last stay, which the loss "
        "ended, was here)."
    )

    @strawberry.field(description="advanced / entered; null when none entered.")
    def conversion_rate(self) -> float | None:
        return self.advanced / self.entered if self.entered else None


@strawberry.type
class LossReasonCount:
    reason: LossReason | None
    count: int
    amount: Decimal


@strawberry.type
class ForecastMonth:
    month: str = strawberry.field(description="YYYY-MM, in UTC.")
    count: int
    weighted_amount: Decimal


@strawberry.type
class CampaignStats:
    opportunity_count: int
    open_count: int
    won_count: int
    lost_count: int
    win_rate: float | None = strawberry.field(
        description="wonCount / (wonCount + lostCount); null before any closed."
    )
    won_amount: Decimal = strawberry.field(description="Sum of amount over the won ones.")
    weighted_open_amount: Decimal = strawberry.field(
        description="Sum of amount x probability / 100 over the open ones."
    )
    stages: list[StageStats] = strawberry.field(
        description="One per stage, in board order (removed steps left out)."
    )
    loss_reasons: list[LossReasonCount] = strawberry.field(
        description="Lost opportunities by managed reason, in the order the reasons were added; "
        "reason null (last): lost with a note only. Reasons nobody lost with are left out."
    )
    forecast: list[ForecastMonth] = strawberry.field(
        description="Weighted open amount by month of expectedCloseAt, oldest month first; "
        "cards without one are left out."
    )

    @classmethod
    def of(
        cls,
        figures: CampaignFigures,
        stages: list[Stage],
        reasons: dict[int, LossReasonModel],
    ) -> CampaignStats:
        """`stages`: the board's steps in order; `reasons`: the loss reasons the figures
        name."""
        results = {result: figures.of_result(result) for result in OpportunityResult}
        return cls(
            opportunity_count=sum(sums.count for sums in results.values()),
            open_count=results[OpportunityResult.OPEN].count,
            won_count=results[OpportunityResult.WON].count,
            lost_count=results[OpportunityResult.LOST].count,
            win_rate=figures.win_rate,
            won_amount=money.amount(results[OpportunityResult.WON].cents),
            weighted_open_amount=money.weighted_amount(results[OpportunityResult.OPEN].weighted),
            stages=[
                _stage_stats(stage, figures.stages.get(stage.pk, StageFigures()))
                for stage in stages
            ],
            loss_reasons=[
                LossReasonCount(
                    reason=None if pk is None else LossReason.from_model(reasons[pk]),
                    count=sums.count,
                    amount=money.amount(sums.cents),
                )
                for pk, sums in sorted(
                    figures.losses.items(), key=lambda item: (item[0] is None, item[0] or 0)
                )
            ],
            forecast=[
                ForecastMonth(
                    month=month,
                    count=sums.count,
                    weighted_amount=money.weighted_amount(sums.weighted),
                )
                for month, sums in sorted(figures.forecast.items())
            ],
        )


def _stage_stats(stage: Stage, figures: StageFigures) -> StageStats:
    return StageStats(
        stage=stage,
        entered=figures.entered,
        advanced=figures.advanced,
        average_seconds_in_stage=figures.average_seconds,
        lost_here=figures.lost_here,
    )
