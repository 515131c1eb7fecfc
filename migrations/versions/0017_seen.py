"""seen reminders: when a reminder was seen, and each device's sent, accepted and seen counts

Revision ID: 0017_seen
Revises: 0016_day_before
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "0017_seen"
down_revision: str | None = "0016_day_before"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_occurrence") as batch:
        batch.add_column(sa.Column("seen_at", app.models.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table("push_subscription") as batch:
        batch.add_column(sa.Column("sent_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("accepted_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("seen_count", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("last_seen_at", app.models.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_subscription") as batch:
        batch.drop_column("last_seen_at")
        batch.drop_column("seen_count")
        batch.drop_column("accepted_count")
        batch.drop_column("sent_count")
    with op.batch_alter_table("reminder_occurrence") as batch:
        batch.drop_column("seen_at")
