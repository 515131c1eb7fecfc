"""privacy: when each device was last used unlocked (the client's optional app PIN)

Revision ID: 0005
Revises: 0004
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("device_session") as batch:
        batch.add_column(sa.Column("unlocked_at", app.models.types.UTCDateTime(), nullable=True))
    # Devices signed in before the PIN existed count as just unlocked.
    op.execute(sa.text("UPDATE device_session SET unlocked_at = last_seen_at"))


def downgrade() -> None:
    with op.batch_alter_table("device_session") as batch:
        batch.drop_column("unlocked_at")
