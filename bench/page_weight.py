"""How light the client's pages are: bytes on the wire and requests, first load, in Chromium.

A fresh browser profile (cold cache) opens the client's Today page at phone size, and
another fresh one opens a record form directly (as from a reminder). Bytes are what
Chromium's DevTools protocol reports as received for each request (`encodedDataLength`:
compressed body plus headers), summed over every request the page made until the network
was idle. The service worker's own precache (it installs after the first load, in the
background) is reported separately: the compressed sizes of the shell it fetches.
Target: under 100 KB per first load.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

TARGET_KB = 100.0


def _load(browser: Any, server: Any, client: Any, path: str) -> dict[str, float]:
    from tests.browser.live import PHONE

    context = browser.new_context(**PHONE, base_url=server.url)
    try:
        server.sign_in(context, client)
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        received: dict[str, float] = {}
        requests: set[str] = set()
        cdp.on("Network.requestWillBeSent", lambda event: requests.add(event["requestId"]))
        cdp.on(
            "Network.loadingFinished",
            lambda event: received.__setitem__(event["requestId"], event["encodedDataLength"]),
        )
        cdp.send("Network.enable")
        page.goto(path, wait_until="networkidle")
        cdp.send("Network.disable")
        return {"kb": round(sum(received.values()) / 1024, 1), "requests": len(requests)}
    finally:
        context.close()


def _precache_kb(server: Any) -> float:
    import httpx

    from app.routes.pwa import OFFLINE_PATH, SHELL
    from app.web.staticfiles import static_url

    total = 0
    with httpx.Client(base_url=server.url, headers={"Accept-Encoding": "gzip"}) as http:
        for url in [*(static_url(name) for name in SHELL), OFFLINE_PATH, "/sw.js", "/sw-offline.js"]:
            response = http.get(url)
            total += int(response.headers.get("content-length") or len(response.content))
    return round(total / 1024, 1)


def measure() -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from tests.browser.live import LiveServer, launch_options
    from tests.browser.people import client_with_records

    server = LiveServer.start(Path(tempfile.mkdtemp()))
    try:
        person = client_with_records(server, "mood_log", "thought_record", "sleep_diary")
        record = person.record_path("thought_record")
        with sync_playwright() as driver:
            browser = driver.chromium.launch(**launch_options())
            try:
                today = _load(browser, server, person.client, "/c")
                form = _load(browser, server, person.client, record)
            finally:
                browser.close()
        return {
            "today_kb": today["kb"],
            "today_requests": int(today["requests"]),
            "record_form_kb": form["kb"],
            "record_form_requests": int(form["requests"]),
            "sw_precache_kb": _precache_kb(server),
            "target_kb": TARGET_KB,
        }
    finally:
        server.stop()


def main() -> dict[str, Any]:
    from bench.common import record

    figures = measure()
    record("page_weight", figures)
    return figures


if __name__ == "__main__":
    print(main())
