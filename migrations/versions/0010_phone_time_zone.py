"""phone time zone: when the client's zone was set from their phone, and a "Not now" to another zone

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.models.types

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.add_column(sa.Column("timezone_set_at", app.models.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("zone_declined", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column("zone_declined_until", app.models.types.UTCDateTime(), nullable=True))
    # A zone other than the "UTC" placeholder was chosen by someone: the client's phone is asked
    # before it changes it. A client still on the placeholder takes their phone's zone at once.
    op.execute(sa.text("UPDATE client SET timezone_set_at = created_at WHERE timezone <> 'UTC'"))


def downgrade() -> None:
    with op.batch_alter_table("client") as batch:
        batch.drop_column("zone_declined_until")
        batch.drop_column("zone_declined")
        batch.drop_column("timezone_set_at")
