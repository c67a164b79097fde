"""Alembic environment for sio's application database; see README and tasks/storage/database.py."""
