"""barrier check-ins: the client's word on why a due record was not done

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op
from sqlalchemy.dialects import postgresql

import app.models.types

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VISIBILITY = sa.Enum("shared", "private", "discuss", name="visibility").with_variant(
    postgresql.ENUM("shared", "private", "discuss", name="visibility", create_type=False), "postgresql"
)


def upgrade() -> None:
    op.create_table(
        "barrier_checkin",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("did_it_unrecorded", sa.Boolean(), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        # The entries' own enum type (on PostgreSQL it exists already).
        sa.Column("visibility", VISIBILITY, nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("content_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("barrier_checkin", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_barrier_checkin_assignment_id"), ["assignment_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_barrier_checkin_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_barrier_checkin_client_day", ["client_id", "day"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("barrier_checkin", schema=None) as batch_op:
        batch_op.drop_index("ix_barrier_checkin_client_day")
        batch_op.drop_index(batch_op.f("ix_barrier_checkin_client_id"))
        batch_op.drop_index(batch_op.f("ix_barrier_checkin_assignment_id"))
    op.drop_table("barrier_checkin")
