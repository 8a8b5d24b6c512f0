from tortoise import migrations
from tortoise.migrations import operations as ops
from models.stay import StayEnd
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

from models.stay_history import stays_from_stage_history

class Migration(migrations.Migration):
    dependencies = [('models', '0006_stage_campaign_index')]

    initial = False

    operations = [
        ops.CreateModel(
            name='LossReason',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='loss_reasons', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=200)),
                ('name_key', fields.CharField(max_length=200)),
                ('archived_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'loss_reason', 'app': 'models', 'unique_together': (('campaign', 'name_key'),), 'pk_attr': 'id', 'table_description': "A campaign's managed reason for losing an opportunity (Getfly's failure reason)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StageStay',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('opportunity', fields.ForeignKeyField('models.Opportunity', source_field='opportunity_id', db_constraint=True, to_field='id', related_name='stays', on_delete=OnDelete.CASCADE)),
                ('stage', fields.ForeignKeyField('models.Stage', source_field='stage_id', db_constraint=True, to_field='id', related_name='stays', on_delete=OnDelete.CASCADE)),
                ('entered_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('left_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('seconds', fields.FloatField(null=True)),
                ('ended_by', fields.CharEnumField(null=True, description='MOVED: MOVED\nWON: WON\nLOST: LOST', enum_type=StayEnd, max_length=8)),
            ],
            options={'table': 'stage_stay', 'app': 'models', 'indexes': [Index(fields=['stage_id', 'left_at']), Index(fields=['opportunity_id', 'entered_at'])], 'pk_attr': 'id', 'table_description': 'One stay of an opportunity in an approach step: from entering it (creation, copy,'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Opportunity',
            name='expected_close_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Opportunity',
            name='loss_reason',
            field=fields.ForeignKeyField('models.LossReason', source_field='loss_reason_id', null=True, db_constraint=True, to_field='id', related_name='opportunities', on_delete=OnDelete.SET_NULL),
        ),
        ops.AddField(
            model_name='Opportunity',
            name='rotting_logged_for',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Opportunity',
            name='stage_entered_at',
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='Stage',
            name='rotting_days',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='StageChange',
            name='seconds_in_from_stage',
            field=fields.FloatField(null=True),
        ),
        ops.RunPython(stays_from_stage_history),
    ]
