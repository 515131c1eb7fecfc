"""The `between` command: serve, migrate, seed demo data, create accounts.

Each part of the product registers its subcommands in COMMANDS below.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from app.core.db import open_session
from app.core.settings import Settings, get_settings

Handler = Callable[[argparse.Namespace], int]


def _engine():  # type: ignore[no-untyped-def]
    from app.core.db import engine_for

    return engine_for(get_settings(), "command")


def cmd_migrate(args: argparse.Namespace) -> int:
    from app.core import migrate
    from app.services import library

    engine = _engine()
    migrate.upgrade(engine)
    with open_session(engine) as session:
        migrate.serialized(session.connection())
        library.sync(session)
        session.commit()
    print("database is up to date")
    _retire_voice_files(engine)
    return 0


def _retire_voice_files(engine) -> None:  # type: ignore[no-untyped-def]
    """Voice notes are kept in the database (migration 0013): remove the files it made redundant."""
    from app.cli import legacy_voice_files

    settings = get_settings()
    folder = (settings.upload_dir or settings.data_dir / "uploads") / "voice"
    retired = legacy_voice_files.retire(engine, folder=folder)
    if retired.removed:
        print(f"voice notes: removed {retired.removed} files from {folder}; the database holds them")
    for path in retired.kept:
        print(f"voice notes: left {path}: not (yet) in the database; the next migrate looks again", file=sys.stderr)


# While `between serve` runs, where it can be reached, for `between demo` in another terminal:
# `PORT=8080 make run` and then `make demo` print links to port 8080.
SERVING_FILE = "serving.json"


def _record_serving(settings: Settings, *, host: str, port: int) -> Path | None:
    # An explicit BETWEEN_BASE_URL is what links use; otherwise the address served on.
    derived = settings.base_url == f"http://{settings.host}:{settings.port}"
    base_url = f"http://{host}:{port}" if derived else settings.base_url
    path = settings.data_dir / SERVING_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"base_url": base_url, "pid": os.getpid()}))
    except OSError:
        return None  # a read-only data directory: `between demo` falls back to HOST and PORT
    return path


def serving_base_url(settings: Settings) -> str | None:
    """The address a running `between serve` of this data directory recorded, if one runs."""
    try:
        recorded = json.loads((settings.data_dir / SERVING_FILE).read_text())
        pid, base_url = int(recorded["pid"]), str(recorded["base_url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None  # left behind by a server that was killed
    except PermissionError:
        pass  # running, as another user
    return base_url if base_url.startswith(("http://", "https://")) else None


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from app.core import logs
    from app.main import create_app

    settings = get_settings()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    app = create_app(settings, run_dispatcher=not args.no_dispatcher)
    host, port = args.host or settings.host, args.port or settings.port
    serving = _record_serving(settings, host=host, port=port)

    def stopped(signum: int, _frame: object) -> None:
        # uvicorn, having shut down on SIGTERM, raises it again; tidy up, then end as it asked.
        if serving is not None:
            serving.unlink(missing_ok=True)
        signal.signal(signum, signal.SIG_DFL)
        signal.raise_signal(signum)

    signal.signal(signal.SIGTERM, stopped)
    try:
        uvicorn.run(
            app,
            host=host,
            port=port,
            proxy_headers=True,
            forwarded_allow_ips=args.forwarded_allow_ips,
            # uvicorn's own lines go through the root logger (app/core/logs.py: JSON on stdout).
            log_config=None,
            log_level=settings.log_level.lower(),
            # Its access lines would carry raw paths (entry ids): app/web/access.py logs route templates.
            access_log=False,
        )
    finally:
        if serving is not None:
            serving.unlink(missing_ok=True)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from app.services import demo

    settings = get_settings()
    engine = _engine()
    with open_session(engine) as session:
        if args.if_empty and not demo.is_empty(session):
            print("database has data: demo not seeded")
            return 0
        # Links to the server that runs now, wherever it was started; else HOST and PORT.
        info = demo.seed(session, base_url=serving_base_url(settings) or settings.base_url)
        session.commit()
    print(demo.instructions(info))
    return 0


def cmd_create_therapist(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from app.core.errors import ServiceError
    from app.models import TherapistCreate
    from app.services import accounts

    password = args.password or getpass.getpass("Password (10+ characters): ")
    try:
        data = TherapistCreate(email=args.email, display_name=args.name, password=password)
        with open_session(_engine()) as session:
            therapist = accounts.create_therapist(session, data=data)
            session.commit()
            email = therapist.email
    except (ValidationError, ServiceError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"created therapist {email}")
    return 0


def cmd_assets(args: argparse.Namespace) -> int:
    from app.web import staticfiles

    directory = args.directory or staticfiles.STATIC_DIR
    if not directory.is_dir():
        print(f"error: {directory} is not a folder", file=sys.stderr)
        return 2
    manifest = staticfiles.build(directory)
    kept = sum(len(release) for release in manifest["previous"])
    print(
        f"wrote {directory / staticfiles.MANIFEST_NAME}: {len(manifest['files'])} files,"
        f" {kept} of {len(manifest['previous'])} earlier release(s) kept in {staticfiles.DIST}/"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="between", description="Self-records between sessions.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the web app (and, by default, one reminder dispatcher)")
    serve.add_argument("--host", default=None)
    serve.add_argument("--port", type=int, default=None)
    serve.add_argument("--no-dispatcher", action="store_true", help="web only (scale-out replicas)")
    serve.add_argument("--forwarded-allow-ips", default="127.0.0.1")
    serve.set_defaults(handler=cmd_serve)

    sub.add_parser("migrate", help="create or upgrade the database").set_defaults(handler=cmd_migrate)

    assets = sub.add_parser("assets", help="write the static files' manifest (once per release, at build)")
    assets.add_argument("--directory", type=Path, default=None, help="the static folder (default: the app's)")
    assets.set_defaults(handler=cmd_assets)

    demo_cmd = sub.add_parser("demo", help="seed a demo therapist and three clients")
    demo_cmd.add_argument("--if-empty", action="store_true", help="only on an empty database")
    demo_cmd.set_defaults(handler=cmd_demo)

    create = sub.add_parser("create-therapist", help="create a therapist account")
    create.add_argument("--email", required=True)
    create.add_argument("--name", required=True)
    create.add_argument("--password", help="prompted for when omitted")
    create.set_defaults(handler=cmd_create_therapist)

    for register in EXTENSIONS:
        register(sub)
    return parser


# Later parts add their subcommands here: each is called with the subparsers object.
EXTENSIONS: list[Callable[[argparse._SubParsersAction], None]] = []  # type: ignore[type-arg]


def _register_reminders(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from app.cli.dispatch import register

    register(sub)


EXTENSIONS.append(_register_reminders)


def _register_backups(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from app.cli.backup import register

    register(sub)


EXTENSIONS.append(_register_backups)


def main(argv: list[str] | None = None) -> int:
    from app.core import logs

    # JSON lines on stdout; `serve` and `dispatcher` apply BETWEEN_LOG_FORMAT / BETWEEN_LOG_LEVEL.
    logs.configure()
    args = build_parser().parse_args(argv)
    handler: Handler = args.handler
    return handler(args)
