from tortoise import migrations
from tortoise.migrations import operations as ops

# OpportunityFilter.search is "UPPER(CAST(name AS VARCHAR)) LIKE UPPER('%term%')" on a
# card's name and on its customer's (resolvers/card_filter.py): on PostgreSQL a trigram
# index on exactly that expression answers each side without reading every row. pg_trgm
# is a trusted extension: the database's owner may create it.
_SEARCH = """
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX IF NOT EXISTS opportunity_name_trgm
  ON opportunity USING gin (UPPER(CAST(name AS VARCHAR)) gin_trgm_ops);
CREATE INDEX IF NOT EXISTS customer_name_trgm
  ON customer USING gin (UPPER(CAST(name AS VARCHAR)) gin_trgm_ops);
"""

# Query.opportunities pages every visible card newest first; a search finds the cards of
# the customers it matched (and Customer.opportunities its cards) by customer.
_NEWEST = (
    'CREATE INDEX IF NOT EXISTS "opportunity_newest" ON "opportunity" ("created_at", "id"); '
    'CREATE INDEX IF NOT EXISTS "opportunity_customer" ON "opportunity" ("customer_id")'
)


async def card_search(apps, schema_editor):
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(_SEARCH)
    await schema_editor.client.execute_script(_NEWEST)


async def no_card_search(apps, schema_editor):
    await schema_editor.client.execute_script(
        "DROP INDEX IF EXISTS opportunity_name_trgm; DROP INDEX IF EXISTS customer_name_trgm; "
        'DROP INDEX IF EXISTS "opportunity_newest"; DROP INDEX IF EXISTS "opportunity_customer"'
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0009_running_column_totals")]

    operations = [ops.RunPython(card_search, no_card_search)]
