"""Alembic environment for sio's application database; see README and tasks/database.py."""
