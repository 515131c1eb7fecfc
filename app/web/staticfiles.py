"""Static files with content-hashed names, so they can be cached forever.

The names come from `app/static/manifest.json`, written once per release by
`between assets` (the Dockerfile runs it at build): every replica of a release names
the same files, without hashing anything at start. Without a manifest (development),
or with one older than a static file, the files are hashed at start instead.

During a rolling deploy a page from one release may ask a replica of another for its
files. So `between assets` keeps copies of the previous releases' hashed files under
`app/static/dist/` (while that folder is kept between builds), and a replica answers a
hashed name it does not know: from such a copy when it has one (cached forever), or
else with the file's current content, marked `no-cache` so that no browser keeps it
under that name. A request for a hashed name is never a 404 as long as the file exists.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import re
import shutil
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

STATIC_DIR = Path(__file__).parent.parent / "static"
PREFIX = "/static/"
MANIFEST_NAME = "manifest.json"
DIST = "dist"
# Previous releases whose hashed files `between assets` keeps in dist/.
KEEP_RELEASES = 3
IMMUTABLE = "public, max-age=31536000, immutable"
_HASHED = re.compile(r"^(?P<stem>.+)\.(?P<digest>[0-9a-f]{10})(?P<suffix>\.[^./]+)?$")

log = logging.getLogger("between")


def hashed_name(relative: str, digest: str) -> str:
    stem, dot, suffix = relative.rpartition(".")
    if not dot or "/" in suffix:
        return f"{relative}.{digest}"
    return f"{stem}.{digest}.{suffix}"


def _plain_of(hashed: str) -> str | None:
    """'css/app.3f2a9c1b00.css' -> 'css/app.css' (None if it is not a hashed name)."""
    match = _HASHED.match(hashed)
    if match is None:
        return None
    return match["stem"] + (match["suffix"] or "")


def hash_files(directory: Path) -> dict[str, str]:
    """Map every static file ('css/app.css') to its hashed name ('css/app.3f2a9c1b00.css')."""
    mapping = {}
    for path in sorted(directory.rglob("*")):
        if not path.is_file():
            continue
        relative = path.relative_to(directory).as_posix()
        if relative == MANIFEST_NAME or relative.startswith(DIST + "/"):
            continue
        mapping[relative] = hashed_name(relative, hashlib.sha256(path.read_bytes()).hexdigest()[:10])
    return mapping


def read_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((directory / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("files"), dict) else None


def build(directory: Path = STATIC_DIR, *, keep: int = KEEP_RELEASES) -> dict[str, Any]:
    """`between assets`: write the manifest (sorted, content hashes: the same files give the
    same bytes) and copy each hashed file to dist/, keeping the last `keep` releases' copies."""
    files = hash_files(directory)
    previous = read_manifest(directory) or {}
    releases: list[list[str]] = [
        sorted(release) for release in previous.get("previous", []) if isinstance(release, list)
    ]
    old_files = previous.get("files")
    if isinstance(old_files, dict) and sorted(old_files.values()) != sorted(files.values()):
        releases.insert(0, sorted(str(name) for name in old_files.values()))
    releases = releases[:keep]
    dist = directory / DIST
    for plain, hashed in files.items():
        target = dist / hashed
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(directory / plain, target)
    wanted = set(files.values()).union(*releases) if releases else set(files.values())
    if dist.exists():
        for path in sorted(dist.rglob("*"), reverse=True):
            if path.is_file() and path.relative_to(dist).as_posix() not in wanted:
                path.unlink()
            elif path.is_dir() and not any(path.iterdir()):
                path.rmdir()
    # Only releases whose copies are here are worth naming.
    releases = [[name for name in release if (dist / name).is_file()] for release in releases]
    manifest = {"files": dict(sorted(files.items())), "previous": releases}
    (directory / MANIFEST_NAME).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def load(directory: Path) -> dict[str, str]:
    """The release's manifest, or the files hashed now when there is none or it does not
    match them (a file added, removed, or changed since: in development)."""
    manifest = read_manifest(directory)
    if manifest is not None:
        files = {str(key): str(value) for key, value in manifest["files"].items()}
        stale = _stale(directory, files)
        if stale is None:
            return files
        log.warning("static manifest is out of date (%s): hashing the files now", stale)
    return hash_files(directory)


def _stale(directory: Path, files: dict[str, str]) -> str | None:
    """The first file the manifest does not describe, or None. Only files modified after the
    manifest was written are hashed again (none, when it was written last)."""
    written = (directory / MANIFEST_NAME).stat().st_mtime
    present = set()
    for path in directory.rglob("*"):
        relative = path.relative_to(directory).as_posix()
        if not path.is_file() or relative == MANIFEST_NAME or relative.startswith(DIST + "/"):
            continue
        present.add(relative)
        if relative not in files:
            return relative
        if path.stat().st_mtime > written:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()[:10]
            if hashed_name(relative, digest) != files[relative]:
                return relative
    missing = sorted(set(files) - present)
    return missing[0] if missing else None


@cache
def _manifest() -> dict[str, str]:
    """Map 'css/app.css' -> 'css/app.3f2a9c1b00.css'."""
    return load(STATIC_DIR)


def hashed_names() -> list[str]:
    """Every static file's hashed name: a fingerprint of the whole set."""
    return sorted(_manifest().values())


def static_url(name: str) -> str:
    return PREFIX + _manifest().get(name, name)


class HashedStaticFiles(StaticFiles):
    """Serves hashed names with far-future caching; plain names stay short-lived.

    A hashed name of another release is served from its copy in dist/ when there is one,
    else with the current file under `no-cache` (see the module's notes)."""

    def __init__(self, *, directory: Path, manifest: dict[str, str] | None = None) -> None:
        super().__init__(directory=directory)
        self._root = Path(directory)
        self._fixed = manifest
        self._reversed: tuple[dict[str, str], dict[str, str]] | None = None

    @property
    def files(self) -> dict[str, str]:
        return self._fixed if self._fixed is not None else _manifest()

    def _reverse(self) -> dict[str, str]:
        files = self.files
        cached = self._reversed
        if cached is None or cached[0] is not files:
            cached = self._reversed = (files, {hashed: plain for plain, hashed in files.items()})
        return cached[1]

    def _resolve(self, requested: str) -> tuple[str, bool]:
        """The file to send for a requested name, and whether it may be cached forever."""
        plain = self._reverse().get(requested)
        if plain is not None:
            return plain, True
        original = _plain_of(requested)
        if original is None:
            return requested, False
        if (self._root / DIST / requested).is_file():
            return f"{DIST}/{requested}", True
        if original in self.files:
            return original, False
        return requested, False

    def get_path(self, scope: Scope) -> str:
        path = super().get_path(scope).replace("\\", "/")
        return self._resolve(path)[0]

    async def get_response(self, path: str, scope: Scope):  # type: ignore[no-untyped-def]
        response = await super().get_response(path, scope)
        requested = scope["path"].removeprefix(PREFIX.rstrip("/")).lstrip("/")
        forever = self._resolve(requested)[1]
        response.headers["Cache-Control"] = IMMUTABLE if forever else "no-cache"
        return _gzipped(response, path, scope, self._root)


# Text compresses to a third or less; images and audio are compressed already.
COMPRESSIBLE = (".css", ".js", ".svg", ".json", ".txt", ".html", ".webmanifest", ".map")


def _gzipped(response: Response, path: str, scope: Scope, root: Path = STATIC_DIR) -> Response:
    """The same file gzip-compressed, when the browser takes it: a client page stays light."""
    if (
        response.status_code != 200
        or not path.endswith(COMPRESSIBLE)
        or "gzip" not in Headers(scope=scope).get("accept-encoding", "")
    ):
        return response
    file = root / path
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
