"""Campaigns: createCampaign, updateCampaign, and who may see a campaign."""

from __future__ import annotations

import pytest

from models import Campaign, CampaignMember, Permission
from resolvers.ids import encode_id
from tests.factories import gid, make_campaign, make_user

CAMPAIGN_FIELDS = """
  id code name description autoAssign allowDuplicateOpportunities registrationWaitMinutes
  manager { id }
  participants { id }
  rotation { id }
  stages { id name position probability }
"""
CREATE_CAMPAIGN = f"""
mutation CreateCampaign($input: CreateCampaignInput!) {{
  createCampaign(input: $input) {{ {CAMPAIGN_FIELDS} }}
}}
"""
UPDATE_CAMPAIGN = f"""
mutation UpdateCampaign($input: UpdateCampaignInput!) {{
  updateCampaign(input: $input) {{ {CAMPAIGN_FIELDS} }}
}}
"""
CAMPAIGN = """
query Campaign($id: ID!) {
  campaign(id: $id) { id name }
}
"""
CAMPAIGNS = """
query Campaigns($search: String) {
  campaigns(search: $search) { totalCount edges { node { id } } }
}
"""
NODE = """
query Node($id: ID!) {
  node(id: $id) { id ... on Campaign { name } }
}
"""


def ids(users) -> list[dict[str, str]]:
    return [{"id": gid("User", user)} for user in users]


async def create_campaign(api, viewer, **values):
    variables = {"input": {"name": "Spring push", "stages": ["New", "Won"], **values}}
    return await api.execute(CREATE_CAMPAIGN, variables, viewer=viewer)


# createCampaign


async def test_create_campaign_succeeds_with_campaign_create(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    # when
    result = await create_campaign(
        api,
        creator,
        code="SPRING-24",
        description="Call every lead",
        registrationWaitMinutes=30,
        autoAssign=True,
        allowDuplicateOpportunities=True,
    )
    # then
    campaign = result.ok()["createCampaign"]
    assert campaign["code"] == "SPRING-24"
    assert campaign["name"] == "Spring push"
    assert campaign["description"] == "Call every lead"
    assert campaign["registrationWaitMinutes"] == 30
    assert campaign["autoAssign"] is True
    assert campaign["allowDuplicateOpportunities"] is True
    assert await Campaign.filter(code="SPRING-24").count() == 1


async def test_create_campaign_is_forbidden_without_campaign_create(api):
    # given
    viewer = await make_user(Permission.CAMPAIGN_EDIT, Permission.VIEW_ALL)
    # when
    result = await create_campaign(api, viewer)
    # then
    assert result.codes == ["FORBIDDEN"]
    assert result.data is None
    assert await Campaign.all().count() == 0


async def test_create_campaign_is_unauthenticated_when_anonymous(api):
    # when
    result = await create_campaign(api, None)
    # then
    assert result.codes == ["UNAUTHENTICATED"]
    assert await Campaign.all().count() == 0


async def test_create_campaign_is_refused_without_stages(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    # when
    result = await create_campaign(api, creator, stages=[])
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "stages" in result.errors[0]["message"]
    assert await Campaign.all().count() == 0


async def test_create_campaign_generates_a_unique_code_when_omitted(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    # when
    first = (await create_campaign(api, creator)).ok()["createCampaign"]
    second = (await create_campaign(api, creator, code="  ")).ok()["createCampaign"]
    # then
    assert first["code"]
    assert second["code"]
    assert first["code"] != second["code"]


async def test_create_campaign_is_refused_when_code_is_taken(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    existing = await make_campaign(creator)
    # when
    result = await create_campaign(api, creator, code=existing.code)
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert existing.code in result.errors[0]["message"]
    assert await Campaign.all().count() == 1


async def test_create_campaign_is_managed_by_the_creator_by_default(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    # when
    result = await create_campaign(api, creator)
    # then
    assert result.ok()["createCampaign"]["manager"] == {"id": gid("User", creator)}
    assert result.ok()["createCampaign"]["participants"] == []


async def test_create_campaign_with_manager_id_is_managed_by_that_user(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    manager = await make_user()
    # when
    result = await create_campaign(api, creator, managerId=gid("User", manager))
    # then
    assert result.ok()["createCampaign"]["manager"] == {"id": gid("User", manager)}


async def test_create_campaign_rotation_defaults_to_all_participants(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    team = [await make_user() for _ in range(3)]
    # when
    result = await create_campaign(
        api, creator, participantIds=[gid("User", user) for user in team]
    )
    # then
    campaign = result.ok()["createCampaign"]
    assert campaign["participants"] == ids(team)
    assert campaign["rotation"] == ids(team)


async def test_create_campaign_keeps_the_rotation_given(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    a, b, c = [await make_user() for _ in range(3)]
    # when
    result = await create_campaign(
        api,
        creator,
        participantIds=[gid("User", a), gid("User", b), gid("User", c)],
        rotationUserIds=[gid("User", c), gid("User", a)],
    )
    # then
    campaign = result.ok()["createCampaign"]
    assert campaign["participants"] == ids([a, b, c])
    assert campaign["rotation"] == ids([c, a])


async def test_create_campaign_is_refused_when_rotation_user_is_not_a_participant(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    participant = await make_user()
    outsider = await make_user()
    # when
    result = await create_campaign(
        api,
        creator,
        participantIds=[gid("User", participant)],
        rotationUserIds=[gid("User", participant), gid("User", outsider)],
    )
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert "rotationUserIds" in result.errors[0]["message"]
    assert await Campaign.all().count() == 0


async def test_create_campaign_orders_stages_with_positions_from_zero(api):
    # given
    creator = await make_user(Permission.CAMPAIGN_CREATE)
    # when
    result = await create_campaign(api, creator, stages=["Lead", "Call", "Meet", "Close"])
    # then
    stages = result.ok()["createCampaign"]["stages"]
    assert [(stage["name"], stage["position"]) for stage in stages] == [
        ("Lead", 0),
        ("Call", 1),
        ("Meet", 2),
        ("Close", 3),
    ]


# updateCampaign


async def test_update_campaign_succeeds_for_the_manager(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager)
    # when
    result = await api.execute(
        UPDATE_CAMPAIGN,
        {"input": {"id": gid("Campaign", campaign), "name": "Renamed", "autoAssign": True}},
        viewer=manager,
    )
    # then
    assert result.ok()["updateCampaign"]["name"] == "Renamed"
    assert result.ok()["updateCampaign"]["autoAssign"] is True
    assert (await Campaign.get(id=campaign.pk)).name == "Renamed"


async def test_update_campaign_succeeds_for_a_participant_with_campaign_edit(api):
    # given
    editor = await make_user(Permission.CAMPAIGN_EDIT)
    campaign = await make_campaign(await make_user(), participants=[editor])
    # when
    result = await api.execute(
        UPDATE_CAMPAIGN,
        {"input": {"id": gid("Campaign", campaign), "name": "Renamed"}},
        viewer=editor,
    )
    # then
    assert result.ok()["updateCampaign"]["name"] == "Renamed"


async def test_update_campaign_is_forbidden_for_a_plain_participant(api):
    # given
    participant = await make_user(Permission.CAMPAIGN_CREATE)
    campaign = await make_campaign(await make_user(), participants=[participant])
    # when
    result = await api.execute(
        UPDATE_CAMPAIGN,
        {"input": {"id": gid("Campaign", campaign), "name": "Renamed"}},
        viewer=participant,
    )
    # then
    assert result.codes == ["FORBIDDEN"]
    assert result.data is None
    assert (await Campaign.get(id=campaign.pk)).name == campaign.name


async def test_update_campaign_is_not_found_for_a_user_who_cannot_see_it(api):
    # given an editor outside the campaign
    outsider = await make_user(Permission.CAMPAIGN_EDIT)
    campaign = await make_campaign(await make_user())
    # when
    hidden = await api.execute(
        UPDATE_CAMPAIGN,
        {"input": {"id": gid("Campaign", campaign), "name": "Renamed"}},
        viewer=outsider,
    )
    missing = await api.execute(
        UPDATE_CAMPAIGN,
        {"input": {"id": encode_id("Campaign", campaign.pk + 1000), "name": "Renamed"}},
        viewer=outsider,
    )
    # then it answers exactly like a campaign that does not exist
    assert hidden.codes == missing.codes == ["NOT_FOUND"]
    assert (await Campaign.get(id=campaign.pk)).name == campaign.name


async def test_update_campaign_leaves_fields_out_unchanged(api):
    # given
    manager = await make_user()
    a, b = await make_user(), await make_user()
    campaign = await make_campaign(
        manager,
        participants=[a, b],
        description="Keep me",
        registration_wait_minutes=45,
        allow_duplicate_opportunities=True,
    )
    # when only the name is given
    result = await api.execute(
        UPDATE_CAMPAIGN,
        {"input": {"id": gid("Campaign", campaign), "name": "Renamed"}},
        viewer=manager,
    )
    # then
    updated = result.ok()["updateCampaign"]
    assert updated["name"] == "Renamed"
    assert updated["code"] == campaign.code
    assert updated["description"] == "Keep me"
    assert updated["registrationWaitMinutes"] == 45
    assert updated["allowDuplicateOpportunities"] is True
    assert updated["autoAssign"] is False
    assert updated["manager"] == {"id": gid("User", manager)}
    assert updated["participants"] == ids([a, b])
    assert updated["rotation"] == ids([a, b])
    assert [stage["name"] for stage in updated["stages"]] == ["New", "Contacted", "Won"]


async def test_update_campaign_clears_a_field_given_as_null(api):
    # given
    manager = await make_user()
    campaign = await make_campaign(manager, description="Old", registration_wait_minutes=45)
    # when
    result = await api.execute(
        UPDATE_CAMPAIGN,
        {
            "input": {
                "id": gid("Campaign", campaign),
                "description": None,
                "registrationWaitMinutes": None,
            }
        },
        viewer=manager,
    )
    # then
    assert result.ok()["updateCampaign"]["description"] is None
    assert result.ok()["updateCampaign"]["registrationWaitMinutes"] is None


async def test_update_campaign_participant_ids_replaces_the_list(api):
    # given
    manager = await make_user()
    a, b, c = [await make_user() for _ in range(3)]
    campaign = await make_campaign(manager, participants=[a, b])
    # when
    result = await api.execute(
        UPDATE_CAMPAIGN,
        {
            "input": {
                "id": gid("Campaign", campaign),
                "participantIds": [gid("User", c), gid("User", a)],
            }
        },
        viewer=manager,
    )
    # then b is gone, c joins the rotation at its end
    updated = result.ok()["updateCampaign"]
    assert updated["participants"] == ids([c, a])
    assert updated["rotation"] == ids([a, c])
    assert await CampaignMember.filter(campaign_id=campaign.pk, user_id=b.pk).count() == 0


async def test_update_campaign_is_refused_when_rotation_user_is_not_a_participant(api):
    # given
    manager = await make_user()
    a, outsider = await make_user(), await make_user()
    campaign = await make_campaign(manager, participants=[a])
    # when
    result = await api.execute(
        UPDATE_CAMPAIGN,
        {"input": {"id": gid("Campaign", campaign), "rotationUserIds": [gid("User", outsider)]}},
        viewer=manager,
    )
    # then
    assert result.codes == ["BAD_USER_INPUT"]
    assert await CampaignMember.filter(campaign_id=campaign.pk).count() == 1


# Visibility


@pytest.mark.parametrize("role", ["manager", "participant", "view_all"])
async def test_campaign_is_visible_to_its_manager_participants_and_view_all(api, role):
    # given
    manager = await make_user()
    participant = await make_user()
    auditor = await make_user(Permission.VIEW_ALL)
    campaign = await make_campaign(manager, participants=[participant])
    viewer = {"manager": manager, "participant": participant, "view_all": auditor}[role]
    # when
    by_id = await api.execute(CAMPAIGN, {"id": gid("Campaign", campaign)}, viewer=viewer)
    as_node = await api.execute(NODE, {"id": gid("Campaign", campaign)}, viewer=viewer)
    listed = await api.execute(CAMPAIGNS, viewer=viewer)
    # then
    assert by_id.ok()["campaign"] == {"id": gid("Campaign", campaign), "name": campaign.name}
    assert as_node.ok()["node"] == {"id": gid("Campaign", campaign), "name": campaign.name}
    assert listed.ok()["campaigns"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": gid("Campaign", campaign)}}],
    }


async def test_campaign_is_hidden_from_anyone_else(api):
    # given a user with every permission but VIEW_ALL, and a campaign of theirs
    outsider = await make_user(*(p for p in Permission if p is not Permission.VIEW_ALL))
    own = await make_campaign(outsider)
    hidden = await make_campaign(await make_user(), participants=[await make_user()])
    # when
    by_id = await api.execute(CAMPAIGN, {"id": gid("Campaign", hidden)}, viewer=outsider)
    as_node = await api.execute(NODE, {"id": gid("Campaign", hidden)}, viewer=outsider)
    listed = await api.execute(CAMPAIGNS, viewer=outsider)
    # then
    assert by_id.data == {"campaign": None}
    assert by_id.error_at("campaign")["extensions"]["code"] == "NOT_FOUND"
    assert as_node.data == {"node": None}
    assert as_node.error_at("node")["extensions"]["code"] == "NOT_FOUND"
    assert listed.ok()["campaigns"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": gid("Campaign", own)}}],
    }


async def test_campaign_hidden_answers_like_one_that_does_not_exist(api):
    # given
    outsider = await make_user()
    hidden = await make_campaign(await make_user())
    missing_id = encode_id("Campaign", hidden.pk + 1000)
    # when
    hidden_result = await api.execute(CAMPAIGN, {"id": gid("Campaign", hidden)}, viewer=outsider)
    missing_result = await api.execute(CAMPAIGN, {"id": missing_id}, viewer=outsider)
    # then
    assert hidden_result.data == missing_result.data == {"campaign": None}
    assert hidden_result.codes == missing_result.codes == ["NOT_FOUND"]


async def test_campaigns_search_matches_name_or_exact_code(api):
    # given
    auditor = await make_user(Permission.VIEW_ALL)
    manager = await make_user()
    spring = await make_campaign(manager)
    await Campaign.filter(id=spring.pk).update(name="Spring push")
    coded = await make_campaign(manager)
    await Campaign.filter(id=coded.pk).update(code="SUMMER-1")
    await make_campaign(manager)
    # when
    by_name = await api.execute(CAMPAIGNS, {"search": "spring"}, viewer=auditor)
    by_code = await api.execute(CAMPAIGNS, {"search": "summer-1"}, viewer=auditor)
    # then
    assert by_name.ok()["campaigns"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": gid("Campaign", spring)}}],
    }
    assert by_code.ok()["campaigns"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": gid("Campaign", coded)}}],
    }


async def test_campaigns_search_still_hides_campaigns_the_viewer_may_not_see(api):
    # given
    viewer = await make_user()
    mine = await make_campaign(viewer)
    await Campaign.filter(id=mine.pk).update(name="Spring mine")
    theirs = await make_campaign(await make_user())
    await Campaign.filter(id=theirs.pk).update(name="Spring theirs", code="SPRING")
    # when
    result = await api.execute(CAMPAIGNS, {"search": "spring"}, viewer=viewer)
    # then
    assert result.ok()["campaigns"] == {
        "totalCount": 1,
        "edges": [{"node": {"id": gid("Campaign", mine)}}],
    }
