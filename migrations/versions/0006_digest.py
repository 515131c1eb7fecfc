"""digest: the therapist's opt-in email before each session, and how many hours before

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("therapist") as batch:
        batch.add_column(sa.Column("digest_enabled", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("digest_hours_before", sa.Integer(), server_default=sa.text("24"), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("therapist") as batch:
        batch.drop_column("digest_hours_before")
        batch.drop_column("digest_enabled")
