"""the sections of "My patterns" a therapist switched off for a client

Revision ID: 0018_pattern_switches
Revises: 0017_seen
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_pattern_switches"
down_revision: str | None = "0017_seen"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.add_column(sa.Column("patterns_off", sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.drop_column("patterns_off")
