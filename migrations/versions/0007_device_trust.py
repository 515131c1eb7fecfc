"""device trust: a client's new device shows private entries only once the client confirms it

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("device_session") as batch:
        batch.add_column(sa.Column("confirmed_at", app.models.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("invited_by_id", sa.Uuid(), nullable=True))
        batch.add_column(sa.Column("revoked_by", sa.String(length=16), server_default="", nullable=False))
        batch.create_foreign_key(
            "fk_device_session_invited_by_id_therapist", "therapist", ["invited_by_id"], ["id"], ondelete="SET NULL"
        )
    # Devices signed in before this rule existed keep what they showed: each is listed,
    # with its date, on the client's devices page, where it can be signed out.
    op.execute("UPDATE device_session SET confirmed_at = created_at WHERE kind = 'client'")
    with op.batch_alter_table("entry") as batch:
        batch.add_column(sa.Column("device_id", sa.Uuid(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("device_id")
    with op.batch_alter_table("device_session") as batch:
        batch.drop_constraint("fk_device_session_invited_by_id_therapist", type_="foreignkey")
        batch.drop_column("revoked_by")
        batch.drop_column("invited_by_id")
        batch.drop_column("confirmed_at")
