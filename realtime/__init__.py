"""Event log, Redis transport (through broadcaster) and subscription streams."""
