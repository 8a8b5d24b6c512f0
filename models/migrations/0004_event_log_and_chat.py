from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.event import EventKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0003_activities_and_notifications')]

    initial = False

    operations = [
        ops.CreateModel(
            name='CampaignEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('seq', fields.BigIntField()),
                ('kind', fields.CharEnumField(description='OPPORTUNITY_CREATED: OpportunityCreated\nOPPORTUNITY_UPDATED: OpportunityUpdated\nOPPORTUNITY_MOVED: OpportunityMoved\nOPPORTUNITY_ASSIGNED: OpportunityAssigned\nOPPORTUNITY_CLOSED: OpportunityClosed\nOPPORTUNITY_REOPENED: OpportunityReopened\nOPPORTUNITY_DELETED: OpportunityDeleted\nCHAT_MESSAGE_POSTED: ChatMessagePosted\nCAMPAIGN_UPDATED: CampaignUpdated', enum_type=EventKind, max_length=32)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='campaign_events', on_delete=OnDelete.SET_NULL)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
            ],
            options={'table': 'campaign_event', 'app': 'models', 'unique_together': (('campaign', 'seq'),), 'pk_attr': 'id', 'table_description': 'One change to a campaign, numbered gap-free per campaign in commit order.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChatMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='chat_messages', on_delete=OnDelete.CASCADE)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', db_constraint=True, to_field='id', related_name='chat_messages', on_delete=OnDelete.CASCADE)),
                ('body', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('seq', fields.BigIntField()),
            ],
            options={'table': 'chat_message', 'app': 'models', 'unique_together': (('campaign', 'seq'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Notification',
            name='seq',
            field=fields.BigIntField(default=0),
        ),
        ops.AddIndex(
            model_name='Notification',
            index=Index(fields=['recipient_id', 'seq']),
        ),
        ops.AddField(
            model_name='User',
            name='notification_seq',
            field=fields.BigIntField(default=0),
        ),
    ]
