"""a voice note on a "Not today, because…" check-in: voice_note.barrier_checkin_id

Revision ID: 0021_checkin_voice
Revises: 0020_entry_complete
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021_checkin_voice"
down_revision: str | None = "0020_entry_complete"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FOREIGN_KEY = "fk_voice_note_barrier_checkin_id_barrier_checkin"
ONE_OWNER = "ck_voice_note_one_owner"


def upgrade() -> None:
    with op.batch_alter_table("voice_note") as batch:
        batch.add_column(sa.Column("barrier_checkin_id", sa.Uuid(), nullable=True))
        # Like an entry's: a check-in that goes lets its note go (swept once unattached).
        batch.create_foreign_key(FOREIGN_KEY, "barrier_checkin", ["barrier_checkin_id"], ["id"], ondelete="SET NULL")
        batch.create_index("ix_voice_note_barrier_checkin_id", ["barrier_checkin_id"], unique=False)
        batch.create_check_constraint(ONE_OWNER, "entry_id IS NULL OR barrier_checkin_id IS NULL")


def downgrade() -> None:
    # Notes of check-ins become unattached, and are swept like any note no entry answers with.
    with op.batch_alter_table("voice_note") as batch:
        batch.drop_constraint(ONE_OWNER, type_="check")
        batch.drop_index("ix_voice_note_barrier_checkin_id")
        batch.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        batch.drop_column("barrier_checkin_id")
