"""Static files with content-hashed names, so they can be cached forever."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/static/"


@cache
def _manifest() -> dict[str, str]:
    """Map 'css/app.css' -> 'css/app.3f2a9c1b.css'."""
    mapping = {}
    for path in STATIC_DIR.rglob("*"):
        if path.is_file():
            relative = path.relative_to(STATIC_DIR).as_posix()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            stem, dot, suffix = relative.rpartition(".")
            mapping[relative] = f"{stem}.{digest}.{suffix}" if dot else f"{relative}.{digest}"
    return mapping


@cache
def _reverse() -> dict[str, str]:
    return {hashed: plain for plain, hashed in _manifest().items()}


def static_url(name: str) -> str:
    return PREFIX + _manifest().get(name, name)


class HashedStaticFiles(StaticFiles):
    """Serves hashed names with far-future caching; plain names stay short-lived."""

    def get_path(self, scope: Scope) -> str:
        path = super().get_path(scope)
        return _reverse().get(path.replace("\\", "/"), path)

    async def get_response(self, path: str, scope: Scope):  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        requested = scope["path"].removeprefix(PREFIX.rstrip("/")).lstrip("/")
        if requested in _reverse():
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        else:
            response.headers["Cache-Control"] = "no-cache"
        return response
