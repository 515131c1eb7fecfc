"""silent devices: when Between was last opened on a device with reminders on

Revision ID: 0019_silent_devices
Revises: 0018_pattern_switches
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "0019_silent_devices"
down_revision: str | None = "0018_pattern_switches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("push_subscription") as batch:
        batch.add_column(sa.Column("last_open_at", app.models.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_subscription") as batch:
        batch.drop_column("last_open_at")
