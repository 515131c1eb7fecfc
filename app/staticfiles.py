"""Static files with content-hashed names, so they can be cached forever."""

from __future__ import annotations

import gzip
import hashlib
from functools import cache, lru_cache
from pathlib import Path

from starlette.datastructures import Headers
from starlette.responses import Response
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


def hashed_names() -> list[str]:
    """Every static file's hashed name: a fingerprint of the whole set."""
    return sorted(_manifest().values())


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
        return _gzipped(response, path, scope)


# Text compresses to a third or less; images and audio are compressed already.
COMPRESSIBLE = (".css", ".js", ".svg", ".json", ".txt", ".html", ".webmanifest", ".map")


def _gzipped(response: Response, path: str, scope: Scope) -> Response:
    """The same file gzip-compressed, when the browser takes it: a client page stays light."""
    if (
        response.status_code != 200
        or not path.endswith(COMPRESSIBLE)
        or "gzip" not in Headers(scope=scope).get("accept-encoding", "")
    ):
        return response
    file = STATIC_DIR / path
    try:
        stat = file.stat()
    except OSError:
        return response
    compressed = _compress(file, stat.st_mtime_ns, stat.st_size)
    headers = {
        key: value
        for key, value in response.headers.items()
        if key in ("content-type", "cache-control", "last-modified")
    }
    etag = response.headers.get("etag")
    if etag:
        # Weak: the bytes differ from the identity encoding, the file is the same one
        # (Starlette compares ETags ignoring W/, so revalidation still answers 304).
        headers["etag"] = "W/" + etag.removeprefix("W/")
    headers["content-encoding"] = "gzip"
    headers["vary"] = "Accept-Encoding"
    return Response(compressed, status_code=200, headers=headers)


@lru_cache(maxsize=256)
def _compress(path: Path, mtime_ns: int, size: int) -> bytes:
    # Compressed once per version of a file, at the highest level; keyed by its modification
    # time and size so an edited file (in development) is never served stale.
    return gzip.compress(path.read_bytes(), compresslevel=9, mtime=0)
