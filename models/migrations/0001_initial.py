from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.opportunity import OpportunityResult, OpportunitySource
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(max_length=200)),
                ('password_hash', fields.CharField(max_length=200)),
                ('permission_names', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'user', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Campaign',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=64)),
                ('name', fields.CharField(max_length=200)),
                ('description', fields.TextField(null=True, unique=False)),
                ('manager', fields.ForeignKeyField('models.User', source_field='manager_id', db_constraint=True, to_field='id', related_name='managed_campaigns', on_delete=OnDelete.RESTRICT)),
                ('auto_assign', fields.BooleanField(default=False)),
                ('allow_duplicate_opportunities', fields.BooleanField(default=False)),
                ('registration_wait_minutes', fields.IntField(null=True)),
                ('event_seq', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'campaign', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CampaignMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='memberships', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('rotation_position', fields.IntField(null=True)),
            ],
            options={'table': 'campaign_member', 'app': 'models', 'unique_together': (('campaign', 'user'),), 'pk_attr': 'id', 'table_description': 'A participant of a campaign, in the rotation when rotation_position is set.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Customer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(db_index=True, max_length=200)),
                ('phone', fields.CharField(null=True, max_length=50)),
                ('email', fields.CharField(null=True, max_length=254)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='owned_customers', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'customer', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Stage',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='stages', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('position', fields.IntField()),
                ('probability', fields.IntField(null=True)),
            ],
            options={'table': 'stage', 'app': 'models', 'pk_attr': 'id', 'table_description': "An approach step: one column of a campaign's Kanban board."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Opportunity',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='opportunities', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='opportunities', on_delete=OnDelete.CASCADE)),
                ('stage', fields.ForeignKeyField('models.Stage', source_field='stage_id', db_constraint=True, to_field='id', related_name='opportunities', on_delete=OnDelete.RESTRICT)),
                ('owner', fields.ForeignKeyField('models.User', source_field='owner_id', null=True, db_constraint=True, to_field='id', related_name='owned_opportunities', on_delete=OnDelete.SET_NULL)),
                ('name', fields.CharField(max_length=200)),
                ('probability', fields.IntField(default=0)),
                ('amount', fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
                ('source', fields.CharEnumField(default=OpportunitySource.COMPANY_DATA, description='COMPANY_DATA: COMPANY_DATA\nCAMPAIGN: CAMPAIGN\nWEB_FORM: WEB_FORM\nREFERRAL: REFERRAL\nIMPORT: IMPORT\nOTHER: OTHER', enum_type=OpportunitySource, max_length=12)),
                ('result', fields.CharEnumField(default=OpportunityResult.OPEN, description='OPEN: OPEN\nWON: WON\nLOST: LOST', enum_type=OpportunityResult, max_length=4)),
                ('failure_reason', fields.TextField(null=True, unique=False)),
                ('rank', fields.CharField(max_length=255)),
                ('version', fields.IntField(default=1)),
                ('registration_deadline', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('overdue_notified', fields.BooleanField(default=False)),
                ('copied_from', fields.ForeignKeyField('models.Opportunity', source_field='copied_from_id', null=True, db_constraint=True, to_field='id', related_name='copies', on_delete=OnDelete.SET_NULL)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='created_opportunities', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'opportunity', 'app': 'models', 'indexes': [Index(fields=['stage_id', 'rank']), Index(fields=['campaign_id', 'customer_id'])], 'pk_attr': 'id', 'table_description': 'One customer inside one campaign: a card of the Kanban board.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StageChange',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('opportunity', fields.ForeignKeyField('models.Opportunity', source_field='opportunity_id', db_constraint=True, to_field='id', related_name='stage_changes', on_delete=OnDelete.CASCADE)),
                ('from_stage', fields.ForeignKeyField('models.Stage', source_field='from_stage_id', null=True, db_constraint=True, to_field='id', related_name='changes_from', on_delete=OnDelete.SET_NULL)),
                ('to_stage', fields.ForeignKeyField('models.Stage', source_field='to_stage_id', null=True, db_constraint=True, to_field='id', related_name='changes_to', on_delete=OnDelete.SET_NULL)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='stage_changes', on_delete=OnDelete.SET_NULL)),
                ('at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'stage_change', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One stage change of an opportunity, its first placement included.'},
            bases=['Model'],
        ),
    ]
