from tortoise import migrations
from tortoise.migrations import operations as ops


async def rank_collate_c(apps, schema_editor):
    # Ranks are fractional indexes compared as bytes; PostgreSQL's default
    # collation would order them by locale rules. SQLite already uses BINARY.
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            'ALTER TABLE "opportunity" ALTER COLUMN "rank" TYPE VARCHAR(255) COLLATE "C"'
        )


class Migration(migrations.Migration):
    dependencies = [("models", "0001_initial")]

    operations = [ops.RunPython(rank_collate_c, ops.RunPython.noop)]
