"""Types of the modules that import the one asking for them, found by name once.

GraphQL's types refer to one another in circles (a card's campaign, a campaign's
cards); Python's imports may not. The module lower in the import order annotates such a
type with `strawberry.lazy` and builds its values through `lazy_type`, which imports the
type's module on the first call (by then every module is loaded) and keeps the class:
cards build one customer each, thousands on a board.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any


@cache
def lazy_type(module: str, name: str) -> Any:
    """The class `name` of `module`."""
    return getattr(importlib.import_module(module), name)
