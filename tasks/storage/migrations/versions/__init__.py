"""Alembic revisions, oldest first by their numeric prefix (this file makes them installable)."""
