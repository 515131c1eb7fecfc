"""The installable app's files: manifest, service worker, offline page."""

from __future__ import annotations

import json

from app.routes.pwa import SHELL, shell_version
from app.web.staticfiles import STATIC_DIR, static_url


def test_manifest_names_the_app_its_icons_and_screenshots(web) -> None:  # type: ignore[no-untyped-def]
    response = web.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/manifest+json")
    manifest = response.json()
    assert (manifest["start_url"], manifest["scope"], manifest["display"]) == ("/c", "/", "standalone")
    assert manifest["name"] == manifest["short_name"] == "Between"
    assert manifest["theme_color"] and manifest["background_color"]
    pngs = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"] if icon["type"] == "image/png"}
    assert {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"), ("512x512", "maskable")} <= pngs
    assert {shot["form_factor"] for shot in manifest["screenshots"]} == {"narrow", "wide"}
    for image in manifest["icons"] + manifest["screenshots"]:
        assert web.get(image["src"]).status_code == 200, image["src"]


def test_manifest_speaks_the_persons_language(web) -> None:  # type: ignore[no-untyped-def]
    spanish = web.get("/manifest.webmanifest", headers={"Accept-Language": "es"}).json()
    assert spanish["lang"] == "es"


def test_service_worker_has_root_scope_and_is_always_revalidated(web) -> None:  # type: ignore[no-untyped-def]
    worker = web.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["service-worker-allowed"] == "/"
    assert worker.headers["cache-control"] == "no-cache"
    assert worker.headers["content-type"].startswith("text/javascript")
    assert 'importScripts("/sw-offline.js")' in worker.text
    assert shell_version() in worker.text
    offline = web.get("/sw-offline.js")
    assert offline.headers["cache-control"] == "no-cache"
    config = json.loads(offline.text.split("\n", 1)[0].removeprefix("self.BETWEEN_SW = ").rstrip(";"))
    assert config["version"] == shell_version()
    assert config["shell"] == {name: static_url(name) for name in SHELL}
    for url in config["shell"].values():
        assert web.get(url).status_code == 200, url


def test_the_shell_version_changes_with_any_static_file(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from app.routes import pwa
    from app.web import staticfiles

    before = shell_version()
    changed = {**staticfiles._manifest(), "js/client.js": "js/client.0000000000.js"}
    pwa.shell_version.cache_clear()
    monkeypatch.setattr(staticfiles, "_manifest", lambda: changed)
    try:
        assert pwa.shell_version() != before
    finally:
        pwa.shell_version.cache_clear()


def test_offline_page_and_gzip_static(web) -> None:  # type: ignore[no-untyped-def]
    page = web.get("/offline")
    assert page.status_code == 200 and "offline" in page.text.lower()
    css = web.get(static_url("css/app.css"), headers={"Accept-Encoding": "gzip"})
    assert css.headers["content-encoding"] == "gzip"
    assert css.headers["vary"] == "Accept-Encoding"
    assert css.content == (STATIC_DIR / "css" / "app.css").read_bytes()  # decoded by the client
    plain = web.get(static_url("css/app.css"), headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers


def test_client_pages_link_the_manifest_and_the_phone_scripts(web, session) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import make_client, signed_in

    phone = signed_in(web, session, make_client(session))
    page = phone.get("/c").text
    assert '<link rel="manifest" href="/manifest.webmanifest">' in page
    for script in ("js/outbox-core.js", "js/client.js", "js/voice.js"):
        assert static_url(script) in page
    assert "data-outbox-list" in page and "data-ios-install" in page and "data-client-strings" in page
