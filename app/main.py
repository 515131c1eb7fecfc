"""The application factory."""

from __future__ import annotations

import gc
import inspect
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from sqlalchemy.engine import Engine

from app.core import error_reporting, migrate
from app.core.db import engine_for, open_session
from app.core.security import configure_password_work
from app.core.settings import Settings, get_settings
from app.routes import ROUTERS
from app.routes.api import voice_notes
from app.services import library
from app.web import errors
from app.web.access import AccessMiddleware
from app.web.csrf import csrf_protect
from app.web.input_checks import InputCheckMiddleware
from app.web.limits import rate_limits
from app.web.middleware import RequestContextMiddleware
from app.web.staticfiles import STATIC_DIR, HashedStaticFiles

log = logging.getLogger("between")


async def _guards(request: Request) -> None:
    # One global dependency rather than two: FastAPI solves each dependency anew on
    # every request. CSRF first, so a forged request is not counted against the limits.
    await csrf_protect(request)
    await rate_limits(request)


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, run_dispatcher: bool = False
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or engine_for(settings, "web")
    configure_password_work(slots=settings.password_check_slots, wait_seconds=settings.password_check_wait_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with open_session(engine) as session:
            migrate.serialized(session.connection())
            library.sync(session)
            session.commit()
        for hook in app.state.startup_hooks:
            if inspect.isawaitable(started := hook(app)):
                await started
        # Everything loaded so far lives as long as the process: keeping it out of the
        # collector's full passes makes big pages (a 200-client caseload) noticeably cheaper.
        gc.freeze()
        yield
        for hook in app.state.shutdown_hooks:
            if inspect.isawaitable(stopped := hook(app)):
                await stopped

    app = FastAPI(
        title="Between",
        version="1.0",
        summary="Self-records between psychotherapy sessions.",
        lifespan=lifespan,
        dependencies=[Depends(_guards)],
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.startup_hooks = []
    app.state.shutdown_hooks = []
    # The embedded default (`between serve`) runs one dispatcher in the web process.
    app.state.run_dispatcher = run_dispatcher
    # Added first, so it runs inside RequestContextMiddleware (language, body size, headers).
    app.add_middleware(InputCheckMiddleware, upload_paths=[voice_notes.UPLOAD_PATH])
    app.add_middleware(
        RequestContextMiddleware,
        secure_cookies=settings.secure_cookies,
        secret_key=settings.secret_key,
        max_body=settings.max_request_bytes,
        body_limits={voice_notes.UPLOAD_PATH: settings.voice_max_bytes + voice_notes.MULTIPART_OVERHEAD},
    )
    # Added last, so it is the outermost: a request id, timing, metrics and the access line.
    app.add_middleware(AccessMiddleware, access_log=settings.access_log)
    error_reporting.init(settings)
    if run_dispatcher:
        from app.dispatch.dispatcher import install as install_dispatcher

        install_dispatcher(app)
    errors.install(app)
    app.mount("/static", HashedStaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    app.state.startup_hooks.append(voice_notes.sweep_on_start)
    return app
