"""What makes Between an installable, offline-capable app: manifest, service worker, offline and locked pages.

The service worker is `app/static/sw.js`, served at the root so its scope is the
whole site. It pulls in the offline logic with `importScripts("/sw-offline.js")`:
that script is `app/static/js/sw-offline.js` preceded by one generated line naming
the app shell (the hashed static URLs) and a cache version derived from every
static file's hash. A deploy that changes any static file therefore changes the
bytes of the imported script, the browser installs the new worker, and the new
worker deletes the old shell cache when it activates.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from app.core import i18n
from app.web.render import render
from app.web.staticfiles import STATIC_DIR, hashed_names, static_url

router = APIRouter(include_in_schema=False)

THEME_COLOR = "#2f5d62"
BACKGROUND_COLOR = "#f6f4ef"
OFFLINE_PATH = "/offline"
# Shown offline instead of any kept client page once the app PIN is due (see js/sw-offline.js).
LOCKED_PATH = "/locked"
NO_CACHE = "no-cache"

# Precached when the worker installs, so every client page can start with no network.
SHELL = (
    "css/app.css",
    "vendor/htmx.min.js",
    "js/app.js",
    "js/outbox-core.js",
    "js/client.js",
    "js/voice.js",
    "js/push.js",
    "js/zone.js",
    "icons/icon.svg",
)


@cache
def shell_version() -> str:
    """Changes whenever any static file changes: a deploy gets a fresh shell cache."""
    return hashlib.sha256("\n".join(hashed_names()).encode()).hexdigest()[:12]


@cache
def _worker_config() -> str:
    config = {
        "version": shell_version(),
        "shell": {name: static_url(name) for name in SHELL},
        "offline": OFFLINE_PATH,
        "locked": LOCKED_PATH,
        "core": static_url("js/outbox-core.js"),
    }
    return f"self.BETWEEN_SW = {json.dumps(config, sort_keys=True)};\n"


def _script(body: str, *, worker: bool = False) -> Response:
    headers = {"Cache-Control": NO_CACHE}
    if worker:
        headers["Service-Worker-Allowed"] = "/"
    return Response(body, media_type="text/javascript", headers=headers)


@router.get("/sw.js")
def service_worker() -> Response:
    # The version comment makes a deploy visible in the worker script itself too, for
    # browsers that do not compare imported scripts when checking for an update.
    body = (STATIC_DIR / "sw.js").read_text()
    return _script(f"{body}\n// shell {shell_version()}\n", worker=True)


@router.get("/sw-offline.js")
def service_worker_offline() -> Response:
    return _script(_worker_config() + (STATIC_DIR / "js" / "sw-offline.js").read_text())


@router.get(OFFLINE_PATH)
def offline_page(request: Request) -> Response:
    return render(request, "pages/offline.html", headers={"Cache-Control": NO_CACHE})


@router.get(LOCKED_PATH)
def locked_page(request: Request) -> Response:
    return render(request, "pages/locked.html", headers={"Cache-Control": NO_CACHE})


@router.get("/manifest.webmanifest")
def web_manifest(request: Request) -> Response:
    i18n.set_locale(getattr(request.state, "locale", i18n.DEFAULT_LOCALE))
    return JSONResponse(
        manifest(locale=i18n.get_locale()),
        media_type="application/manifest+json",
        headers={"Cache-Control": NO_CACHE, "Vary": "Accept-Language, Cookie"},
    )


def manifest(*, locale: str) -> dict[str, Any]:
    def icon(name: str, size: int, purpose: str) -> dict[str, str]:
        return {"src": static_url(name), "sizes": f"{size}x{size}", "type": "image/png", "purpose": purpose}

    return {
        "id": "/c",
        "name": "Between",
        "short_name": "Between",
        "description": i18n.gettext("Your self-records between sessions, on your phone, online or not."),
        "lang": locale,
        "dir": "ltr",
        "start_url": "/c",
        "scope": "/",
        "display": "standalone",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "categories": ["health", "lifestyle", "medical"],
        "prefer_related_applications": False,
        "icons": [
            {"src": static_url("icons/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"},
            icon("icons/icon-192.png", 192, "any"),
            icon("icons/icon-512.png", 512, "any"),
            icon("icons/maskable-192.png", 192, "maskable"),
            icon("icons/maskable-512.png", 512, "maskable"),
        ],
        "screenshots": [
            {
                "src": static_url("screenshots/today-narrow.png"),
                "sizes": "360x780",
                "type": "image/png",
                "form_factor": "narrow",
                "label": i18n.gettext("Today's records on a phone"),
            },
            {
                "src": static_url("screenshots/today-wide.png"),
                "sizes": "1280x800",
                "type": "image/png",
                "form_factor": "wide",
                "label": i18n.gettext("Today's records on a larger screen"),
            },
        ],
    }
