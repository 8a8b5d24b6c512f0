from tortoise import migrations
from tortoise.migrations import operations as ops
from models.activity import CommunicationKind
from models.notification import NotificationKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_rank_byte_order')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Communication',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('kind', fields.CharEnumField(description='CALL: CALL\nEMAIL: EMAIL\nSMS: SMS\nMEETING: MEETING\nNOTE: NOTE', enum_type=CommunicationKind, max_length=7)),
                ('content', fields.TextField(unique=False)),
                ('occurred_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('author', fields.ForeignKeyField('models.User', source_field='author_id', null=True, db_constraint=True, to_field='id', related_name='communications', on_delete=OnDelete.SET_NULL)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='communications', on_delete=OnDelete.CASCADE)),
                ('opportunity', fields.ForeignKeyField('models.Opportunity', source_field='opportunity_id', null=True, db_constraint=True, to_field='id', related_name='communications', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'communication', 'app': 'models', 'indexes': [Index(fields=['customer_id', 'occurred_at'])], 'pk_attr': 'id', 'table_description': 'A call, email, meeting... with a customer, logged on one of its opportunities.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('recipient', fields.ForeignKeyField('models.User', source_field='recipient_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='OPPORTUNITY_ADDED: OPPORTUNITY_ADDED\nOPPORTUNITY_ASSIGNED: OPPORTUNITY_ASSIGNED\nREGISTRATION_OVERDUE: REGISTRATION_OVERDUE', enum_type=NotificationKind, max_length=20)),
                ('opportunity', fields.ForeignKeyField('models.Opportunity', source_field='opportunity_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.SET_NULL)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('actor', fields.ForeignKeyField('models.User', source_field='actor_id', null=True, db_constraint=True, to_field='id', related_name='caused_notifications', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('read_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notification', 'app': 'models', 'indexes': [Index(fields=['recipient_id', 'id'])], 'pk_attr': 'id', 'table_description': 'Something one user is told about, never the user who caused it.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Order',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('amount', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('note', fields.TextField(null=True, unique=False)),
                ('opportunity', fields.ForeignKeyField('models.Opportunity', source_field='opportunity_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.CASCADE)),
                ('customer', fields.ForeignKeyField('models.Customer', source_field='customer_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.CASCADE)),
                ('campaign', fields.ForeignKeyField('models.Campaign', source_field='campaign_id', db_constraint=True, to_field='id', related_name='orders', on_delete=OnDelete.CASCADE)),
                ('created_by', fields.ForeignKeyField('models.User', source_field='created_by_id', null=True, db_constraint=True, to_field='id', related_name='created_orders', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'order', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Task',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('title', fields.CharField(max_length=500)),
                ('due_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('done', fields.BooleanField(default=False)),
                ('assignee', fields.ForeignKeyField('models.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.SET_NULL)),
                ('opportunity', fields.ForeignKeyField('models.Opportunity', source_field='opportunity_id', db_constraint=True, to_field='id', related_name='tasks', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'task', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
