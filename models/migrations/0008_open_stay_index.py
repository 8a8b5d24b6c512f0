from tortoise import migrations
from tortoise.migrations import operations as ops


async def open_stay_index(apps, schema_editor):
    # A card's open stay, found in one index probe however long its history: every move
    # and close ends it ("WHERE opportunity_id = ? AND left_at IS NULL"), which through
    # (opportunity_id, entered_at) read all of the card's stays.
    await schema_editor.client.execute_script(
        'CREATE INDEX IF NOT EXISTS "stage_stay_open" '
        'ON "stage_stay" ("opportunity_id") WHERE "left_at" IS NULL'
    )


async def drop_open_stay_index(apps, schema_editor):
    await schema_editor.client.execute_script('DROP INDEX IF EXISTS "stage_stay_open"')


class Migration(migrations.Migration):
    dependencies = [("models", "0007_pipeline")]

    operations = [ops.RunPython(open_stay_index, drop_open_stay_index)]
