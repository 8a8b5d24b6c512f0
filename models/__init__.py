"""Tortoise ORM models and their migrations."""

from models.activity import Communication, CommunicationKind, Order, Task
from models.campaign import Campaign, CampaignMember
from models.chat_read import ChatRead
from models.customer import Customer
from models.event import AssignmentReason, CampaignEvent, ChatMessage, EventKind
from models.loss_reason import LossReason
from models.notification import Notification, NotificationKind
from models.opportunity import Opportunity, OpportunityResult, OpportunitySource, StageChange
from models.permission import Permission
from models.retry_key import RetryKey
from models.stage import Stage
from models.stay import StageStay, StayEnd
from models.user import User
from models.webhook import Webhook, WebhookDelivery, WebhookDeliveryStatus

__all__ = [
    "AssignmentReason",
    "Campaign",
    "CampaignEvent",
    "CampaignMember",
    "ChatMessage",
    "ChatRead",
    "Communication",
    "CommunicationKind",
    "Customer",
    "EventKind",
    "LossReason",
    "Notification",
    "NotificationKind",
    "Opportunity",
    "OpportunityResult",
    "OpportunitySource",
    "Order",
    "Permission",
    "RetryKey",
    "Stage",
    "StageChange",
    "StageStay",
    "StayEnd",
    "Task",
    "User",
    "Webhook",
    "WebhookDelivery",
    "WebhookDeliveryStatus",
]
