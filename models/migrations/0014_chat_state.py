from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0013_retry_keys")]

    operations = [
        ops.AddField(model_name="ChatMessage", name="edited_at", field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
        ops.AddField(model_name="ChatMessage", name="deleted_at", field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
        ops.AddField(model_name="ChatMessage", name="mention_ids", field=fields.JSONField(default=list, db_default=[])),
        ops.AddField(
            model_name="Notification",
            name="chat_message",
            field=fields.ForeignKeyField("models.ChatMessage", source_field="chat_message_id", null=True, db_constraint=True, to_field="id", related_name="notifications", on_delete=OnDelete.CASCADE),
        ),
        ops.CreateModel(
            name="ChatRead",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("user", fields.ForeignKeyField("models.User", source_field="user_id", db_constraint=True, to_field="id", related_name="chat_reads", on_delete=OnDelete.CASCADE)),
                ("campaign", fields.ForeignKeyField("models.Campaign", source_field="campaign_id", db_constraint=True, to_field="id", related_name="chat_reads", on_delete=OnDelete.CASCADE)),
                ("seq", fields.BigIntField()),
            ],
            options={"table": "chat_read", "app": "models", "unique_together": (("user", "campaign"),), "pk_attr": "id", "table_description": "How far one user has read one campaign's chat."},
            bases=["Model"],
        ),
    ]
