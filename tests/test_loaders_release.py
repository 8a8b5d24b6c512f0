"""resolvers/loaders.py: once an operation is answered, its loaders let go of the rows
they read at once (no collection needed), and a later load reads again."""

from __future__ import annotations

import gc
import weakref

from models import Permission
from resolvers.loaders import Loaders
from tests.factories import make_campaign, make_user


async def test_released_loaders_hold_no_row_and_read_again(api):
    # given loaders that read a user and a campaign
    manager = await make_user(Permission.OPPORTUNITY_ACCESS, name="Before")
    campaign = await make_campaign(manager)
    loaders = Loaders(manager)
    user = await loaders.user_by_id.load(manager.pk)
    assert user is not None and user.name == "Before"
    assert await loaders.campaign_by_id.load(campaign.pk) is not None
    held = weakref.ref(user)
    del user
    # when they are released, with the collector off
    gc.disable()
    try:
        loaders.release()
        # then the row they read is freed at once: nothing holds it, no cycle keeps it
        assert held() is None
    finally:
        gc.enable()
    # and a later load reads the row as it is now
    manager.name = "After"
    await manager.save()
    again = await loaders.user_by_id.load(manager.pk)
    assert again is not None and again.name == "After"
