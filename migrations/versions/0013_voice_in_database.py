"""voice notes in the database: voice_note_blob holds each note's audio, moved in from the upload folder

Upgrading reads each note's file (`upload_dir/voice/<id hex>`, as the settings say) into
`voice_note_blob`; the files are left in place and `between migrate` removes them once
this has committed (app/cli/legacy_voice_files.py). Downgrading writes every note's audio
back to its file before the table goes.

On PostgreSQL the audio column is stored uncompressed out of line (`STORAGE EXTERNAL`):
audio is compressed already, and it lets `substring()` read one piece of a recording
without reading all of it.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger("alembic.runtime.migration")

# As they are at this revision, independent of the models.
NOTES = sa.table("voice_note", sa.column("id", sa.Uuid()))
BLOBS = sa.table("voice_note_blob", sa.column("note_id", sa.Uuid()), sa.column("data", sa.LargeBinary()))


def voice_folder() -> Path:
    """Where the voice-note files were (and go back to): `upload_dir/voice`."""
    from app.core.settings import get_settings

    settings = get_settings()
    return (settings.upload_dir or settings.data_dir / "uploads") / "voice"


def upgrade() -> None:
    op.create_table(
        "voice_note_blob",
        sa.Column("note_id", sa.Uuid(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["note_id"], ["voice_note.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("note_id"),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("ALTER TABLE voice_note_blob ALTER COLUMN data SET STORAGE EXTERNAL")
    note_ids = list(bind.execute(sa.select(NOTES.c.id)).scalars())
    if not note_ids:
        return  # nothing to move: the settings are not even read
    folder = voice_folder()
    moved = missing = 0
    for note_id in note_ids:
        try:
            data = (folder / note_id.hex).read_bytes()
        except FileNotFoundError:
            missing += 1  # played as "no such voice note" before, and after
            continue
        bind.execute(BLOBS.insert().values(note_id=note_id, data=data))
        moved += 1
    log.info("voice notes: %d moved from %s into the database, %d had no file", moved, folder, missing)


def downgrade() -> None:
    bind = op.get_bind()
    note_ids = list(bind.execute(sa.select(BLOBS.c.note_id)).scalars())
    if note_ids:
        folder = voice_folder()
        folder.mkdir(parents=True, exist_ok=True)
        for note_id in note_ids:
            data = bind.execute(sa.select(BLOBS.c.data).where(BLOBS.c.note_id == note_id)).scalar_one()
            # Written under a temporary name and moved into place, readable only by the app.
            partial = folder / f".{secrets.token_hex(8)}.part"
            partial.write_bytes(bytes(data))
            partial.chmod(0o600)
            os.replace(partial, folder / note_id.hex)
        log.info("voice notes: %d written back to %s", len(note_ids), folder)
    op.drop_table("voice_note_blob")
