"""The client's pages stay light: first load under 100 KB on the wire (see bench/page_weight.py)."""

from __future__ import annotations

from typing import Any

from bench.page_weight import TARGET_KB, _load
from tests.browser.live import LiveServer
from tests.browser.people import client_with_records


def test_today_and_a_record_form_load_under_100_kb_compressed(browser: Any, live_server: LiveServer) -> None:
    person = client_with_records(live_server, "mood_log", "thought_record", "sleep_diary")
    today = _load(browser, live_server, person.client, "/c")
    form = _load(browser, live_server, person.client, person.record_path("thought_record"))
    assert today["kb"] < TARGET_KB, today
    assert form["kb"] < TARGET_KB, form
    # htmx, the styles and the scripts: one request each, no framework, nothing from elsewhere.
    assert today["requests"] <= 12, today
    assert form["requests"] <= 12, form


def test_static_files_are_served_compressed_and_cached_forever(live_server: LiveServer) -> None:
    import httpx

    from app.web.staticfiles import static_url

    with httpx.Client(base_url=live_server.url) as http:
        response = http.get(static_url("vendor/htmx.min.js"), headers={"Accept-Encoding": "gzip"})
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert int(response.headers["content-length"]) < 25_000
        image = http.get(static_url("icons/icon-512.png"), headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in image.headers  # already compressed
