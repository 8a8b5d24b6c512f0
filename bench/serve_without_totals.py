"""`funnelgraph serve` whose card events are logged without their column totals: the
"before" of bench.totals_cost, the same code with that one step left out. Not for use
outside the bench: its events lack the totals that boards read."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from models import raw_sql
from resolvers import stage_totals
from server.cli import main


def _nothing(stage_ids: Sequence[int], replaced: stage_totals.Replaced | None) -> raw_sql.Statement:
    """An empty jsonb object to merge into the event's data, in place of its totals."""
    return "'{}'::jsonb", ()


if __name__ == "__main__":
    stage_totals.in_event = _nothing
    sys.exit(main())
