"""Health and metrics for operators: /livez, /readyz, /metrics (and the older /healthz).

- `/livez`: the process answers; touches nothing else. For restarts.
- `/readyz`: the database answers, its migrations are the ones this code expects and, in a
  process that runs a reminder dispatcher, that dispatcher's heartbeat is fresh; 503 with a
  JSON `reason` otherwise. For load balancers and `depends_on`.
- `/metrics`: Prometheus text, only to loopback clients or with the bearer token from
  `BETWEEN_METRICS_TOKEN`; anyone else gets the app's ordinary 404.

`between dispatcher --health-port N` serves the same three on a small app of its own
(`health_app`), since a dispatcher has no web server otherwise.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import logging
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from starlette.exceptions import HTTPException

from app.core.settings import Settings
from app.models.types import utcnow
from app.services import metrics

router = APIRouter(tags=["health"])
# Alembic announces each plugin it loads when the migration scripts are first read.
logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


@router.get("/healthz", summary="Liveness and database status (older; see /livez and /readyz)")
def healthz(request: Request) -> JSONResponse:
    try:
        with request.app.state.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return JSONResponse({"status": "ok" if status == 200 else "degraded", "database": database}, status_code=status)


@router.get("/livez", summary="The process is up (nothing else is checked)")
async def livez() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="Ready for traffic: database, migrations, and this process's dispatcher",
    responses={503: {"description": "Not ready; `reason` says why"}},
)
async def readyz(request: Request) -> JSONResponse:
    state = request.app.state
    settings: Settings = state.settings
    dispatcher = getattr(state, "dispatcher", None)
    own = dispatcher.name if dispatcher is not None else None
    if own is None and getattr(state, "run_dispatcher", False):
        return _answer({"status": "unavailable", "reason": "dispatcher_not_running"})
    try:
        report = await asyncio.wait_for(
            asyncio.to_thread(
                readiness, state.engine, stale_after=settings.dispatch_heartbeat_stale_seconds, own_dispatcher=own
            ),
            settings.health_timeout_seconds,
        )
    except TimeoutError:
        report = {"status": "unavailable", "reason": "database_timeout"}
    return _answer(report)


def _answer(report: dict[str, Any]) -> JSONResponse:
    return JSONResponse(report, status_code=200 if report["status"] == "ok" else 503)


@lru_cache(maxsize=1)
def _revisions() -> tuple[str, frozenset[str]]:
    """This code's head revision and every revision it knows."""
    from alembic.script import ScriptDirectory

    from app.core.migrate import alembic_config

    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head()
    assert head is not None
    return head, frozenset(revision.revision for revision in script.walk_revisions())


def migration_state(versions: list[str]) -> str:
    """current, pending (the database is behind this code), missing (never migrated) or
    ahead (a newer release migrated it: this one keeps serving during a rolling deploy)."""
    head, known = _revisions()
    if not versions:
        return "missing"
    if head in versions:
        return "current"
    if all(version in known for version in versions):
        return "pending"
    return "ahead"


def readiness(engine: Engine, *, stale_after: float, own_dispatcher: str | None) -> dict[str, Any]:
    from app.services.heartbeat import beats

    now = utcnow()
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            versions: list[str] = []
            if inspect(connection).has_table("alembic_version"):
                versions = list(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
            state = migration_state(versions)
            if state not in ("current", "ahead"):
                return {"status": "unavailable", "reason": f"migrations_{state}", "migrations": state}
            found = beats(connection, now=now)
    except SQLAlchemyError:
        return {"status": "unavailable", "reason": "database_unavailable"}
    stale = sum(1 for beat in found if beat.age_seconds > stale_after)
    report: dict[str, Any] = {
        "status": "ok",
        "database": "ok",
        "migrations": state,
        # Every dispatcher's freshness, for information: a web replica stays ready without them.
        "dispatchers": {"fresh": len(found) - stale, "stale": stale},
    }
    if own_dispatcher is not None:
        mine = next((beat for beat in found if beat.name == own_dispatcher), None)
        age = mine.age_seconds if mine is not None else None
        report["heartbeat_age_seconds"] = round(age, 1) if age is not None else None
        if age is None or age > stale_after:
            report["status"] = "unavailable"
            report["reason"] = "dispatcher_heartbeat_stale"
    return report


# --- /metrics -----------------------------------------------------------------------------------


def metrics_allowed(request: Request, settings: Settings) -> bool:
    """Loopback clients, or the operator's bearer token. Behind a proxy, the client is the
    address the proxy forwarded (uvicorn's --forwarded-allow-ips), not the proxy's own."""
    host = request.client.host if request.client else ""
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    token = settings.metrics_token
    if not token:
        return False
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


@router.get("/metrics", include_in_schema=False)
async def metrics_page(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    if not metrics_allowed(request, settings):
        raise HTTPException(status_code=404)
    scrape = metrics.Scrape(request.app.state.engine, stale_after=settings.dispatch_heartbeat_stale_seconds)
    try:
        body = await asyncio.wait_for(asyncio.to_thread(metrics.exposition, scrape), settings.health_timeout_seconds)
    except TimeoutError:
        body = metrics.exposition(scrape, database=False)
    return Response(body, media_type=metrics.CONTENT_TYPE)


def health_app(*, engine: Engine, settings: Settings, dispatcher: Any) -> FastAPI:
    """/livez, /readyz and /metrics for a process without the web app (`between dispatcher`)."""
    app = FastAPI(title="Between dispatcher health", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.engine = engine
    app.state.settings = settings
    app.state.dispatcher = dispatcher
    app.state.run_dispatcher = True
    app.include_router(router)
    return app
