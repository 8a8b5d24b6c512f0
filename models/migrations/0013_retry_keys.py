from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0012_member_assignment")]

    operations = [
        ops.CreateModel(
            name="RetryKey",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("user", fields.ForeignKeyField("models.User", source_field="user_id", db_constraint=True, to_field="id", related_name="retry_keys", on_delete=OnDelete.CASCADE)),
                ("key", fields.CharField(max_length=200)),
                ("operation", fields.CharField(max_length=64)),
                ("fingerprint", fields.CharField(max_length=64)),
                ("result", fields.JSONField()),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "retry_key", "app": "models", "unique_together": (("user", "key"),), "pk_attr": "id", "table_description": "A mutation's clientMutationId, stored in the mutation's own transaction."},
            bases=["Model"],
        ),
    ]
