from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0005_stage_soft_removal")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Stage",
            index=Index(fields=["campaign_id", "position"]),
        ),
    ]
