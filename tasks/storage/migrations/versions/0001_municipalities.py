"""Municipalities: every number a kommune has held, with validity, successor and written standard.

Revision ID: 0001_municipalities
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_municipalities"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "municipality",
        sa.Column("kommunenummer", sa.String(length=4), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("successor", sa.String(length=4), nullable=True),
        sa.Column("written_standard", sa.String(), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source_file", sa.String(), nullable=False),
        sa.CheckConstraint(
            "length(kommunenummer) = 4", name=op.f("ck_municipality_kommunenummer_length")
        ),
        sa.CheckConstraint(
            "written_standard IN ('bokmål', 'nynorsk')",
            name=op.f("ck_municipality_written_standard"),
        ),
        sa.PrimaryKeyConstraint("kommunenummer", name=op.f("pk_municipality")),
    )


def downgrade() -> None:
    op.drop_table("municipality")
