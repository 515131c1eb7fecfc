"""as it happens: a frequency for records that follow events (counted, never "missed")

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_VALUES = ("daily", "times_per_day", "weekdays", "weekly")


def upgrade() -> None:
    # SQLite keeps the frequency as text of the longest value's length, which "as_it_happens"
    # does not exceed: only PostgreSQL's enum type needs the new value.
    if op.get_bind().dialect.name == "postgresql":
        op.execute(sa.text("ALTER TYPE frequency ADD VALUE IF NOT EXISTS 'as_it_happens'"))


def downgrade() -> None:
    # Records that were counted as they happened become daily ones again.
    op.execute(sa.text("UPDATE assignment SET frequency = 'daily' WHERE frequency = 'as_it_happens'"))
    if op.get_bind().dialect.name != "postgresql":
        return
    # PostgreSQL cannot drop a value from an enum type: build the old type and move the column onto it.
    op.execute(sa.text("ALTER TYPE frequency RENAME TO frequency_with_events"))
    sa.Enum(*OLD_VALUES, name="frequency").create(op.get_bind())
    op.execute(
        sa.text("ALTER TABLE assignment ALTER COLUMN frequency TYPE frequency USING frequency::text::frequency")
    )
    op.execute(sa.text("DROP TYPE frequency_with_events"))
