from tortoise import migrations
from tortoise.migrations import operations as ops

# PostgreSQL keeps each step's card count, amount (in cents) and open weighted amount
# (cents x percent) on its row, moved by a trigger with every card row that enters,
# leaves or changes in it: a card event's totals and a board's column headers read two
# rows instead of summing a column (resolvers/stage_totals.py). SQLite sums its rows.
_FOLLOW = """
CREATE FUNCTION stage_totals_follow_card() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    UPDATE stage SET
      card_count = card_count - 1,
      card_cents = card_cents - COALESCE(ROUND(OLD.amount * 100), 0),
      open_weighted = open_weighted - CASE WHEN OLD.result = 'OPEN'
        THEN COALESCE(ROUND(OLD.amount * 100), 0) * OLD.probability ELSE 0 END
    WHERE id = OLD.stage_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    UPDATE stage SET
      card_count = card_count + 1,
      card_cents = card_cents + COALESCE(ROUND(NEW.amount * 100), 0),
      open_weighted = open_weighted + CASE WHEN NEW.result = 'OPEN'
        THEN COALESCE(ROUND(NEW.amount * 100), 0) * NEW.probability ELSE 0 END
    WHERE id = NEW.stage_id;
  END IF;
  RETURN NULL;
END $$;

CREATE TRIGGER stage_totals_on_insert_or_delete AFTER INSERT OR DELETE ON opportunity
FOR EACH ROW EXECUTE FUNCTION stage_totals_follow_card();

CREATE TRIGGER stage_totals_on_update AFTER UPDATE OF stage_id, amount, probability, result
ON opportunity FOR EACH ROW
WHEN (OLD.stage_id IS DISTINCT FROM NEW.stage_id OR OLD.amount IS DISTINCT FROM NEW.amount
      OR OLD.probability IS DISTINCT FROM NEW.probability OR OLD.result IS DISTINCT FROM NEW.result)
EXECUTE FUNCTION stage_totals_follow_card();
"""

_COLUMNS = """
ALTER TABLE stage
  ADD COLUMN card_count INT NOT NULL DEFAULT 0,
  ADD COLUMN card_cents NUMERIC NOT NULL DEFAULT 0,
  ADD COLUMN open_weighted NUMERIC NOT NULL DEFAULT 0;
UPDATE stage SET card_count = sums.count, card_cents = sums.cents,
                 open_weighted = sums.weighted
FROM (
  SELECT stage_id, COUNT(*) AS count, COALESCE(SUM(ROUND(amount * 100)), 0) AS cents,
         COALESCE(SUM(CASE WHEN result = 'OPEN'
                           THEN ROUND(amount * 100) * probability END), 0) AS weighted
  FROM opportunity GROUP BY stage_id
) sums
WHERE sums.stage_id = stage.id;
"""


async def running_totals(apps, schema_editor):
    if schema_editor.client.capabilities.dialect == "postgres":
        # The card rows are locked first, so no card changes between the count and the
        # trigger's start.
        await schema_editor.client.execute_script(
            f"LOCK TABLE opportunity IN SHARE MODE; {_COLUMNS} {_FOLLOW}"
        )


async def no_running_totals(apps, schema_editor):
    if schema_editor.client.capabilities.dialect == "postgres":
        await schema_editor.client.execute_script(
            "DROP TRIGGER IF EXISTS stage_totals_on_update ON opportunity; "
            "DROP TRIGGER IF EXISTS stage_totals_on_insert_or_delete ON opportunity; "
            "DROP FUNCTION IF EXISTS stage_totals_follow_card(); "
            "ALTER TABLE stage DROP COLUMN card_count, DROP COLUMN card_cents, "
            "DROP COLUMN open_weighted"
        )


class Migration(migrations.Migration):
    dependencies = [("models", "0008_open_stay_index")]

    operations = [ops.RunPython(running_totals, no_running_totals)]
