"""voice notes: who recorded each audio file, and which entry it answers

Revision ID: 0004
Revises: 0003
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "voice_note",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("content_type", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("seconds", sa.Float(), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("entry_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["entry_id"], ["entry.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("voice_note", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_voice_note_client_id"), ["client_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_voice_note_entry_id"), ["entry_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("voice_note", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_voice_note_entry_id"))
        batch_op.drop_index(batch_op.f("ix_voice_note_client_id"))
    op.drop_table("voice_note")
