"""ASGI app, settings, auth and CLI."""
