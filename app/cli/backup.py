"""`between backup PATH` and `between restore PATH`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from app.core.settings import get_settings


def cmd_backup(args: argparse.Namespace) -> int:
    from app.services.backup import BackupError, backup

    try:
        path = backup(get_settings().database_url, Path(args.path))
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"backed up the database to {path}")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from app.services.backup import BackupError, restore

    if not args.yes:
        answer = input("This replaces everything in the database with the backup. Type 'restore' to go on: ")
        if answer.strip() != "restore":
            print("nothing was changed")
            return 1
    try:
        restore(get_settings().database_url, Path(args.path))
    except BackupError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print("restored; run `between migrate` if the backup is from an older version")
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    backup = sub.add_parser("backup", help="copy the database to a file (safe while the app runs)")
    backup.add_argument("path", help="where to write the backup")
    backup.set_defaults(handler=cmd_backup)
    restore = sub.add_parser("restore", help="replace the database with a backup (stop the app first)")
    restore.add_argument("path", help="a file written by `between backup`")
    restore.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    restore.set_defaults(handler=cmd_restore)
