"""`between dispatcher`, `between reminders preview` and `between vapid-keys`."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from app.core.settings import Settings
    from app.dispatch.dispatcher import Dispatcher


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    dispatcher = sub.add_parser("dispatcher", help="run a reminder dispatcher (any number on PostgreSQL)")
    dispatcher.add_argument(
        "--health-port", type=int, default=None, help="serve /livez, /readyz and /metrics on this port"
    )
    dispatcher.add_argument("--health-host", default="127.0.0.1", help="address for --health-port")
    dispatcher.set_defaults(handler=cmd_dispatcher)

    reminders = sub.add_parser("reminders", help="reminder tools")
    reminders_sub = reminders.add_subparsers(dest="reminders_command", required=True)
    preview = reminders_sub.add_parser(
        "preview", help="print due instants (UTC, then local) with the dispatcher's own schedule code"
    )
    preview.add_argument("--tz", required=True, help="IANA time zone, e.g. Europe/London")
    preview.add_argument("--time", required=True, action="append", help="HH:MM (repeat for several)")
    preview.add_argument("--weekdays", default="", help="e.g. mon,tue,wed (default: every day)")
    preview.add_argument("--day-boundary", default="00:00", help="when the client's day ends, HH:MM")
    preview.add_argument("--quiet", default="", help="quiet hours, e.g. 22:00-07:00")
    preview.add_argument("--from", dest="start", required=True, help="first day, YYYY-MM-DD")
    preview.add_argument("--days", type=int, default=7)
    preview.set_defaults(handler=cmd_preview)

    keys = sub.add_parser("vapid-keys", help="print a new VAPID key pair for the production environment")
    keys.set_defaults(handler=cmd_vapid_keys)


def cmd_dispatcher(args: argparse.Namespace) -> int:
    from app.core import logs
    from app.core.settings import get_settings
    from app.dispatch.dispatcher import DispatcherLocked, run_loop
    from app.dispatch.vapid import VapidError

    settings = get_settings()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    health = (args.health_host, args.health_port) if args.health_port else None
    try:
        run_loop(run_forever(settings, health=health))
    except (DispatcherLocked, VapidError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def preview_lines(
    *,
    tz: str,
    times: list[str],
    weekdays: str,
    start: str,
    days: int,
    day_boundary: str = "00:00",
    quiet: str = "",
) -> list[str]:
    from app.core.timeutil import parse_hhmm, valid_timezone
    from app.services import reminders
    from app.services.reminders.schedule import ReminderTimes, instants_for_days

    errors: dict[str, str] = {}
    valid_timezone(tz)
    parsed_times = [parse_hhmm(value) for item in times for value in item.split(",") if value.strip()]
    chosen = reminders.parse_weekdays(weekdays.split(","), errors) if weekdays else list(range(1, 8))
    if errors:
        raise ValueError(next(iter(errors.values())))
    quiet_start = quiet_end = None
    if quiet:
        first, _sep, last = quiet.partition("-")
        quiet_start, quiet_end = parse_hhmm(first), parse_hhmm(last)
    schedule = ReminderTimes(
        timezone=tz,
        times=tuple(parsed_times),
        weekdays=frozenset(chosen),
        day_boundary=parse_hhmm(day_boundary),
        quiet_start=quiet_start,
        quiet_end=quiet_end,
    )
    zone = ZoneInfo(tz)
    lines = []
    for due in instants_for_days(schedule, date.fromisoformat(start), max(0, days)):
        local = due.at.astimezone(zone)
        lines.append(f"{due.at.strftime('%Y-%m-%dT%H:%M:%SZ')} {local.isoformat()} {local.strftime('%a %Z')}")
    return lines


def cmd_preview(args: argparse.Namespace) -> int:
    try:
        lines = preview_lines(
            tz=args.tz,
            times=args.time,
            weekdays=args.weekdays,
            start=args.start,
            days=args.days,
            day_boundary=args.day_boundary,
            quiet=args.quiet,
        )
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    for line in lines:
        print(line)
    return 0


def cmd_vapid_keys(args: argparse.Namespace) -> int:
    from app.dispatch.vapid import VapidKeys

    keys = VapidKeys.generate()
    print(f"BETWEEN_VAPID_PRIVATE_KEY={keys.private_key_b64}")
    print(f"# public key (applicationServerKey): {keys.public_key}")
    print("BETWEEN_VAPID_SUBJECT=mailto:you@your-practice.example")
    return 0


async def run_forever(settings: Settings, *, health: tuple[str, int] | None = None) -> None:
    """`between dispatcher`: a standalone dispatcher until SIGTERM/SIGINT; with `health`
    (host, port), /livez, /readyz and /metrics are served there meanwhile."""
    import asyncio
    import signal

    from app.core import error_reporting
    from app.core.db import engine_for
    from app.dispatch.dispatcher import Dispatcher, settle_heap

    error_reporting.init(settings)
    engine = engine_for(settings, "dispatcher")
    dispatcher = Dispatcher(engine=engine, settings=settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    dispatcher.start()
    server = HealthServer(engine=engine, settings=settings, dispatcher=dispatcher, address=health) if health else None
    settle_heap()
    try:
        await stop.wait()
    finally:
        if server is not None:
            server.stop()
        await dispatcher.stop()
        engine.dispose()


class HealthServer:
    """The dispatcher's /livez, /readyz and /metrics (app/routes/health.py), served by uvicorn
    in a thread of its own, so the dispatcher's event loop and signal handlers stay as they are."""

    def __init__(self, *, engine: Engine, settings: Settings, dispatcher: Dispatcher, address: tuple[str, int]) -> None:
        import threading

        import uvicorn

        from app.routes.health import health_app

        app = health_app(engine=engine, settings=settings, dispatcher=dispatcher)
        host, port = address
        config = uvicorn.Config(app, host=host, port=port, log_config=None, access_log=False, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="health", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
