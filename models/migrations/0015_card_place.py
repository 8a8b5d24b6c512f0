from tortoise import migrations
from tortoise.migrations import operations as ops

# Where a dragged card goes (resolvers/board.py), for PostgreSQL: the target step, the
# card to follow and the rank after it. The move's locking statement calls it once it
# holds the lock: a VOLATILE function reads in a snapshot of its own, taken then, where
# the rest of that statement sees the one taken before it waited. So the lock and the
# place are one round trip, and the lock is held one round trip less.
_PLACE = """
CREATE FUNCTION card_place(INT, INT, INT)
RETURNS TABLE (
  step_campaign_id INT, step_probability INT, step_removed_at TIMESTAMPTZ,
  previous_id INT, previous_stage_id INT, previous_rank VARCHAR, following VARCHAR
)
LANGUAGE sql VOLATILE AS $$
SELECT s.campaign_id, s.probability, s.removed_at, p.id, p.stage_id, p.rank,
       (SELECT f.rank FROM opportunity f
         WHERE f.stage_id = s.id AND f.id <> $1 AND (p.id IS NULL OR f.rank > p.rank)
         ORDER BY f.rank, f.id LIMIT 1)
FROM stage s LEFT JOIN opportunity p ON p.id = $2
WHERE s.id = $3
$$;
"""


async def card_place(apps, schema_editor):
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(_PLACE)


async def no_card_place(apps, schema_editor):
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            "DROP FUNCTION IF EXISTS card_place(INT, INT, INT)"
        )


class Migration(migrations.Migration):
    dependencies = [("models", "0014_chat_state")]

    operations = [ops.RunPython(card_place, no_card_place)]
