"""assignment changes: an assignment's edits, stops and restarts, and when a client chose their reminder times

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.models.types

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHANGE_KIND = sa.Enum("changed", "stopped", "restarted", name="changekind")


def upgrade() -> None:
    op.create_table(
        "assignment_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("kind", CHANGE_KIND, nullable=False),
        sa.Column("changed_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("changed_by_id", sa.Uuid(), nullable=True),
        sa.Column("before", sa.JSON(), nullable=False),
        sa.Column("after", sa.JSON(), nullable=False),
        sa.Column("seen_at", app.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["changed_by_id"], ["therapist.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("assignment_change") as batch:
        batch.create_index(batch.f("ix_assignment_change_assignment_id"), ["assignment_id"], unique=False)
        batch.create_index("ix_assignment_change_client_changed", ["client_id", "changed_at"], unique=False)
    with op.batch_alter_table("reminder") as batch:
        batch.add_column(sa.Column("chosen_at", app.models.types.UTCDateTime(), nullable=True))
    # Reminders that differ from what the therapist proposed were chosen by the client
    # (when exactly is not known: their last change is the best guess).
    op.execute(
        sa.text(
            "UPDATE reminder SET chosen_at = updated_at WHERE NOT EXISTS ("
            " SELECT 1 FROM assignment WHERE assignment.id = reminder.assignment_id"
            " AND CAST(assignment.proposed_times AS TEXT) = CAST(reminder.times AS TEXT))"
        )
    )


def downgrade() -> None:
    with op.batch_alter_table("reminder") as batch:
        batch.drop_column("chosen_at")
    with op.batch_alter_table("assignment_change") as batch:
        batch.drop_index("ix_assignment_change_client_changed")
        batch.drop_index(batch.f("ix_assignment_change_assignment_id"))
    op.drop_table("assignment_change")
    if op.get_bind().dialect.name == "postgresql":
        CHANGE_KIND.drop(op.get_bind(), checkfirst=True)
