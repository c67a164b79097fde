"""announcements, replanning decisions, rejection reasons, the day a meeting time was agreed

Revision ID: 0005_agendas
Revises: 0004_payout_approval
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_agendas"
down_revision: str | None = "0004_payout_approval"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "announcement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.String(), nullable=False),
        sa.Column("kommunenummer", sa.String(length=4), nullable=False),
        sa.Column("event_key", sa.String(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("mail_key", sa.String(), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_announcement")),
        sa.UniqueConstraint(
            "round_id", "kommunenummer", "event_key", "sequence", name="uq_announcement_round_id"
        ),
    )
    with op.batch_alter_table("announcement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_announcement_round_id"), ["round_id"], unique=False)
    op.create_table(
        "replan_decision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("target", sa.String(), nullable=True),
        sa.Column("kommunenummer", sa.String(length=4), nullable=True),
        sa.Column("to_date", sa.Date(), nullable=True),
        sa.Column("to_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_on", sa.Date(), nullable=False),
        sa.Column("decided_by", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_replan_decision")),
    )
    with op.batch_alter_table("replan_decision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_replan_decision_round_id"), ["round_id"], unique=False)
    with op.batch_alter_table("selection_decision", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(), nullable=True))
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agreed_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_column("agreed_on")
    with op.batch_alter_table("selection_decision", schema=None) as batch_op:
        batch_op.drop_column("reason")
    with op.batch_alter_table("announcement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_announcement_round_id"))
    op.drop_table("announcement")
    with op.batch_alter_table("replan_decision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_replan_decision_round_id"))
    op.drop_table("replan_decision")
