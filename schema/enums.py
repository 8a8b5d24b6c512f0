"""The schema's enums: the models' own enums, published as they are.

strawberry.enum registers a class in place, so annotations elsewhere use the
model enums directly; importing this module is what publishes them.
"""

from __future__ import annotations

import strawberry

from models import (
    AssignmentReason,
    CommunicationKind,
    NotificationKind,
    OpportunityResult,
    OpportunitySource,
    WebhookDeliveryStatus,
)
from models import Permission as PermissionModel
from resolvers.opportunities import OwnerChoice
from resolvers.presence import Activity

Permission = strawberry.enum(
    PermissionModel,
    description="Function permissions, granted per user. Names follow the domain they guard.",
)
strawberry.enum(OpportunityResult)
strawberry.enum(OpportunitySource)
strawberry.enum(CommunicationKind)
strawberry.enum(NotificationKind)
strawberry.enum(AssignmentReason)
strawberry.enum(WebhookDeliveryStatus)
strawberry.enum(OwnerChoice, description="Who owns a new opportunity.")
strawberry.enum(Activity, name="PresenceActivity")
