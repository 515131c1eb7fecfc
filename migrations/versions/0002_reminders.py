"""reminders: reminder settings, occurrences, push subscriptions, client switches

Revision ID: 0002
Revises: 0001
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OCCURRENCE_KIND = sa.Enum("scheduled", "random", "snooze", name="occurrencekind")
OCCURRENCE_STATUS = sa.Enum(
    "pending", "sent", "retried_sent", "suppressed", "email", "missed", name="occurrencestatus"
)


def upgrade() -> None:
    op.create_table(
        "push_subscription",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("endpoint", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("p256dh", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("auth", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_agent", sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("last_success_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("last_failure_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("expired_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("endpoint"),
    )
    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_push_subscription_client_id"), ["client_id"], unique=False)

    op.create_table(
        "reminder",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("times", sa.JSON(), nullable=False),
        sa.Column("weekdays", sa.JSON(), nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("random_start", sa.Time(), nullable=True),
        sa.Column("random_end", sa.Time(), nullable=True),
        sa.Column("random_count", sa.Integer(), nullable=False),
        sa.Column("random_min_gap_minutes", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.Column("snoozed_until", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("next_due_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("assignment_id", name="uq_reminder_assignment"),
    )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_reminder_client_id"), ["client_id"], unique=False)
        batch_op.create_index("ix_reminder_due", ["paused", "next_due_at"], unique=False)

    op.create_table(
        "reminder_occurrence",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("reminder_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("due_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("kind", OCCURRENCE_KIND, nullable=False),
        sa.Column("status", OCCURRENCE_STATUS, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("sent_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reminder_id"], ["reminder.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reminder_id", "due_at", name="uq_occurrence_reminder_due"),
    )
    with op.batch_alter_table("reminder_occurrence", schema=None) as batch_op:
        batch_op.create_index("ix_occurrence_client_due", ["client_id", "due_at"], unique=False)
        batch_op.create_index("ix_occurrence_work", ["status", "next_attempt_at"], unique=False)

    # Existing clients start with every switch off: nothing changes for them until they opt in.
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminders_paused", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("email_fallback", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(
            sa.Column("lock_screen_detail", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("client", schema=None) as batch_op:
        batch_op.drop_column("lock_screen_detail")
        batch_op.drop_column("email_fallback")
        batch_op.drop_column("reminders_paused")

    with op.batch_alter_table("reminder_occurrence", schema=None) as batch_op:
        batch_op.drop_index("ix_occurrence_work")
        batch_op.drop_index("ix_occurrence_client_due")
    op.drop_table("reminder_occurrence")

    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_due")
        batch_op.drop_index(batch_op.f("ix_reminder_client_id"))
    op.drop_table("reminder")

    with op.batch_alter_table("push_subscription", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_push_subscription_client_id"))
    op.drop_table("push_subscription")

    # PostgreSQL keeps enum types after their table is dropped; SQLite has none.
    bind = op.get_bind()
    OCCURRENCE_STATUS.drop(bind, checkfirst=True)
    OCCURRENCE_KIND.drop(bind, checkfirst=True)
