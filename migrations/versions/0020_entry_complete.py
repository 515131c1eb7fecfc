"""whether an entry has the parts of its form that carry the work (the quality figures)

Revision ID: 0020_entry_complete
Revises: 0019_silent_devices
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_entry_complete"
down_revision: str | None = "0019_silent_devices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The library's `work` fields when this revision was written (a revision never imports the app).
WORK = {
    "thought_record": ("balanced_thought", "emotions_after"),
    "abc_record": ("consequence_emotions", "consequence_behaviour"),
    "exposure_log": ("suds_after",),
}


def _answered(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, list | dict | tuple):
        return bool(value)
    return True


def upgrade() -> None:
    with op.batch_alter_table("entry") as batch:
        batch.add_column(sa.Column("complete", sa.Boolean(), nullable=True))
    # Backfill entries of library records with work parts, a batch of rows at a time.
    entry = sa.table(
        "entry",
        sa.column("id", sa.Uuid()),
        sa.column("answers", sa.JSON()),
        sa.column("nothing_to_report", sa.Boolean()),
        sa.column("deleted_at", sa.DateTime()),
        sa.column("template_version_id", sa.Uuid()),
        sa.column("complete", sa.Boolean()),
    )
    version = sa.table("template_version", sa.column("id", sa.Uuid()), sa.column("template_id", sa.Uuid()))
    template = sa.table("record_template", sa.column("id", sa.Uuid()), sa.column("slug", sa.String()))
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(entry.c.id, entry.c.answers, template.c.slug)
        .join(version, version.c.id == entry.c.template_version_id)
        .join(template, template.c.id == version.c.template_id)
        .where(
            template.c.slug.in_(list(WORK)),
            entry.c.deleted_at.is_(None),
            sa.not_(entry.c.nothing_to_report),
        )
    ).all()
    done = [row.id for row in rows if all(_answered((row.answers or {}).get(key)) for key in WORK[row.slug])]
    marked = set(done)
    not_done = [row.id for row in rows if row.id not in marked]
    for ids, value in ((done, True), (not_done, False)):
        for start in range(0, len(ids), 500):
            connection.execute(
                sa.update(entry).where(entry.c.id.in_(ids[start : start + 500])).values(complete=value)
            )


def downgrade() -> None:
    with op.batch_alter_table("entry") as batch:
        batch.drop_column("complete")
