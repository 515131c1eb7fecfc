"""plans made together: the homework agreement for a record, and every change to it

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.types

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PLAN_STATE = sa.Enum("draft", "confirmed", "replaced", "discarded", name="planstate")
CHANGE_KIND = sa.Enum("started", "edited", "confirmed", "changed", "discarded", "replaced", name="planchangekind")
ACTOR = sa.Enum("therapist", "client", name="planactor")


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("therapist_id", sa.Uuid(), nullable=True),
        sa.Column("assignment_id", sa.Uuid(), nullable=True),
        sa.Column("template_id", sa.Uuid(), nullable=True),
        sa.Column("state", PLAN_STATE, nullable=False),
        sa.Column("times", sa.JSON(), nullable=False),
        sa.Column("cue", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("obstacle", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("obstacle_plan", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("why", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("confirmed_at", app.models.types.UTCDateTime(), nullable=True),
        sa.Column("closed_at", app.models.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["assignment_id"], ["assignment.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["template_id"], ["record_template.id"]),
        sa.ForeignKeyConstraint(["therapist_id"], ["therapist.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("plan") as batch:
        batch.create_index(batch.f("ix_plan_assignment_id"), ["assignment_id"], unique=False)
        batch.create_index(batch.f("ix_plan_client_id"), ["client_id"], unique=False)
        batch.create_index("ix_plan_client_state", ["client_id", "state"], unique=False)
    op.create_table(
        "plan_change",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("plan_id", sa.Uuid(), nullable=False),
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", CHANGE_KIND, nullable=False),
        sa.Column("actor", ACTOR, nullable=False),
        sa.Column("changed_at", app.models.types.UTCDateTime(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["client_id"], ["client.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["plan_id"], ["plan.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("plan_change") as batch:
        batch.create_index(batch.f("ix_plan_change_client_id"), ["client_id"], unique=False)
        batch.create_index("ix_plan_change_plan_version", ["plan_id", "version"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("plan_change") as batch:
        batch.drop_index("ix_plan_change_plan_version")
        batch.drop_index(batch.f("ix_plan_change_client_id"))
    op.drop_table("plan_change")
    with op.batch_alter_table("plan") as batch:
        batch.drop_index("ix_plan_client_state")
        batch.drop_index(batch.f("ix_plan_client_id"))
        batch.drop_index(batch.f("ix_plan_assignment_id"))
    op.drop_table("plan")
    if op.get_bind().dialect.name == "postgresql":
        for kind in (ACTOR, CHANGE_KIND, PLAN_STATE):
            kind.drop(op.get_bind(), checkfirst=True)
