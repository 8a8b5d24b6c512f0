from tortoise import fields, migrations
from tortoise.migrations import operations as ops


async def longer_notification_kinds(apps, schema_editor):
    # NO_ASSIGNEE_AVAILABLE is longer than the 20 characters the first kinds needed.
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            "ALTER TABLE notification ALTER COLUMN kind TYPE VARCHAR(32)"
        )


async def shorter_notification_kinds(apps, schema_editor):
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            "ALTER TABLE notification ALTER COLUMN kind TYPE VARCHAR(20)"
        )


class Migration(migrations.Migration):
    dependencies = [("models", "0011_campaign_archive")]

    operations = [
        ops.AddField(model_name="CampaignMember", name="weight", field=fields.IntField(default=1)),
        ops.AddField(
            model_name="CampaignMember", name="capacity", field=fields.IntField(null=True)
        ),
        ops.AddField(
            model_name="CampaignMember",
            name="available",
            field=fields.BooleanField(default=True),
        ),
        ops.RunPython(longer_notification_kinds, shorter_notification_kinds),
    ]
