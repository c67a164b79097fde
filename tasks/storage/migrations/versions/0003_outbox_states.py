"""outbox delivery states, per-recipient replies, retry time, language, installation id

Revision ID: 0003_outbox_states
Revises: 0002_trial_state
Create Date: 2026-12-01 10:05:00.000000
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_outbox_states"
down_revision: str | None = "0002_trial_state"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("state", sa.String(), nullable=False, server_default="queued")
        )
        batch_op.add_column(sa.Column("language", sa.String(), nullable=False, server_default="nb"))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claimed_by", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("replies", sa.Text(), nullable=True))
        batch_op.create_index(batch_op.f("ix_outgoing_mail_state"), ["state"], unique=False)
    op.execute("UPDATE outgoing_mail SET state = 'sent' WHERE sent_at IS NOT NULL")
    op.execute("UPDATE outgoing_mail SET state = 'skipped' WHERE skipped IS NOT NULL")
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.alter_column("state", server_default=None)
        batch_op.alter_column("language", server_default=None)

    installation = op.create_table(
        "sio_installation",
        sa.Column("id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sio_installation")),
    )
    op.bulk_insert(installation, [{"id": uuid.uuid4().hex[:16]}])


def downgrade() -> None:
    op.drop_table("sio_installation")
    with op.batch_alter_table("outgoing_mail", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outgoing_mail_state"))
        batch_op.drop_column("replies")
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("claimed_by")
        batch_op.drop_column("next_attempt_at")
        batch_op.drop_column("language")
        batch_op.drop_column("state")
