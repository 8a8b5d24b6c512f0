"""Tortoise ORM models and their migrations."""

from models.campaign import Campaign, CampaignMember
from models.customer import Customer
from models.opportunity import Opportunity, OpportunityResult, OpportunitySource, StageChange
from models.permission import Permission
from models.stage import Stage
from models.user import User

__all__ = [
    "Campaign",
    "CampaignMember",
    "Customer",
    "Opportunity",
    "OpportunityResult",
    "OpportunitySource",
    "Permission",
    "Stage",
    "StageChange",
    "User",
]
