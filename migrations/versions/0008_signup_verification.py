"""signup verification: a therapist's email is confirmed by an emailed link before sign-in

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.types

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("therapist") as batch:
        batch.add_column(sa.Column("email_verified_at", app.models.types.UTCDateTime(), nullable=True))
    # Accounts made before sign-up asked for confirmation keep signing in as they did.
    op.execute(sa.text("UPDATE therapist SET email_verified_at = created_at"))

    op.create_table(
        "email_verification",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("therapist_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("display_name", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("expires_at", app.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["therapist_id"], ["therapist.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("email_verification") as batch:
        batch.create_index(batch.f("ix_email_verification_therapist_id"), ["therapist_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("email_verification") as batch:
        batch.drop_index(batch.f("ix_email_verification_therapist_id"))
    op.drop_table("email_verification")
    with op.batch_alter_table("therapist") as batch:
        batch.drop_column("email_verified_at")
