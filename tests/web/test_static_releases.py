"""Static files across releases: one manifest per release (`between assets`), the same on
every replica, and replicas of two releases serve each other's hashed names (rolling deploy)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from app import cli
from app.web import staticfiles
from app.web.staticfiles import IMMUTABLE, HashedStaticFiles


def _release(directory: Path, css: str) -> None:
    (directory / "css").mkdir(parents=True, exist_ok=True)
    (directory / "js").mkdir(exist_ok=True)
    (directory / "css" / "app.css").write_text(css)
    (directory / "js" / "client.js").write_text("console.log('same in every release');\n")


def _replica(directory: Path) -> TestClient:
    files = staticfiles.load(directory)
    app = Starlette(routes=[Mount("/static", HashedStaticFiles(directory=directory, manifest=files))])
    return TestClient(app)


def test_the_manifest_is_deterministic_and_sorted(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    _release(first, "body { color: #222; }\n")
    _release(second, "body { color: #222; }\n")
    staticfiles.build(first)
    staticfiles.build(second)
    written = (first / "manifest.json").read_bytes()
    assert written == (second / "manifest.json").read_bytes()
    staticfiles.build(first)  # again, unchanged: the same bytes, no earlier release
    assert (first / "manifest.json").read_bytes() == written
    manifest = json.loads(written)
    assert list(manifest["files"]) == sorted(manifest["files"])
    assert manifest["previous"] == []
    assert manifest["files"] == staticfiles.hash_files(first)


def test_two_releases_serve_each_others_hashed_names(tmp_path: Path) -> None:
    old, new = tmp_path / "old", tmp_path / "new"
    _release(old, "body { color: #111; }\n")
    staticfiles.build(old)
    # The next release is built in the same tree (the build keeps app/static/dist/).
    shutil.copytree(old, new)
    (new / "css" / "app.css").write_text("body { color: #333; }\n")
    assert cli.main(["assets", "--directory", str(new)]) == 0

    old_files, new_files = staticfiles.load(old), staticfiles.load(new)
    old_css, new_css = old_files["css/app.css"], new_files["css/app.css"]
    assert old_css != new_css
    assert old_files["js/client.js"] == new_files["js/client.js"]
    assert json.loads((new / "manifest.json").read_text())["previous"] == [sorted(old_files.values())]

    with _replica(old) as old_replica, _replica(new) as new_replica:
        # A page from the old release, its CSS asked of a new replica: the old bytes, from dist/.
        answer = new_replica.get(f"/static/{old_css}")
        assert answer.status_code == 200
        assert answer.text == "body { color: #111; }\n"
        assert answer.headers["cache-control"] == IMMUTABLE
        # A page from the new release asked of an old replica: served, but never kept under that name.
        answer = old_replica.get(f"/static/{new_css}")
        assert answer.status_code == 200
        assert answer.text == "body { color: #111; }\n"
        assert answer.headers["cache-control"] == "no-cache"
        # Each release's own names as before.
        for replica, name, text in ((old_replica, old_css, "#111"), (new_replica, new_css, "#333")):
            own = replica.get(f"/static/{name}")
            assert own.status_code == 200 and text in own.text
            assert own.headers["cache-control"] == IMMUTABLE
        assert new_replica.get("/static/css/missing.0123456789.css").status_code == 404
        assert new_replica.get("/static/css/app.css").headers["cache-control"] == "no-cache"


def test_only_the_last_releases_are_kept(tmp_path: Path) -> None:
    names = []
    for number in range(staticfiles.KEEP_RELEASES + 2):
        _release(tmp_path, f"body {{ order: {number}; }}\n")
        names.append(staticfiles.build(tmp_path)["files"]["css/app.css"])
    kept = sorted(path.relative_to(tmp_path / "dist").as_posix() for path in (tmp_path / "dist" / "css").iterdir())
    assert kept == sorted(names[-(staticfiles.KEEP_RELEASES + 1) :])


def test_without_a_current_manifest_the_files_are_hashed_at_start(tmp_path: Path) -> None:
    _release(tmp_path, "body { color: #111; }\n")
    assert staticfiles.load(tmp_path) == staticfiles.hash_files(tmp_path)  # no manifest (development)
    staticfiles.build(tmp_path)
    built = staticfiles.load(tmp_path)
    # Copied after the manifest (as installing a package does) but unchanged: the manifest holds.
    edited = tmp_path / "css" / "app.css"
    later = (tmp_path / "manifest.json").stat().st_mtime + 5
    os.utime(edited, (later, later))
    assert staticfiles.load(tmp_path) == built
    # A file edited after the manifest was written: hashed again, never a stale name.
    edited.write_text("body { color: #999; }\n")
    os.utime(edited, (later, later))
    assert staticfiles.load(tmp_path)["css/app.css"] != built["css/app.css"]
    assert staticfiles.load(tmp_path) == staticfiles.hash_files(tmp_path)
    # So is a file added since.
    staticfiles.build(tmp_path)
    (tmp_path / "js" / "new.js").write_text("// new\n")
    assert "js/new.js" in staticfiles.load(tmp_path)


def test_the_assets_command_refuses_a_missing_folder(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    assert cli.main(["assets", "--directory", str(tmp_path / "nowhere")]) == 2
    assert "not a folder" in capsys.readouterr().err
