"""Render the install icons and the manifest's screenshots (`python -m tools.pwa_assets`).

The PNGs are committed under app/static/; run this again when the icon or the client's
Today page changes visibly. Icons are drawn from app/static/icons/icon.svg by Chromium;
the screenshots are the real Today page of the demo client, on a live server, at phone
(360×780) and desktop (1280×800) size.
"""

from __future__ import annotations

import re
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from app.web.staticfiles import STATIC_DIR
from tests.browser.live import PHONE, LiveServer, launch_options

ICON_SVG = STATIC_DIR / "icons" / "icon.svg"
BRAND = "#2f5d62"


def _glyph() -> str:
    """The icon's drawing without its rounded background."""
    svg = ICON_SVG.read_text()
    match = re.search(r"<path [^>]+/>", svg)
    if match is None:
        raise SystemExit("icons/icon.svg has no <path>: update tools/pwa_assets.py")
    return match.group(0)


def _full_bleed(scale: float) -> str:
    # Maskable icons fill the whole square and keep the drawing inside the central 80 %
    # "safe zone", since launchers cut them into circles, squircles or rounded squares.
    offset = 32 * (1 - scale)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<rect width="64" height="64" fill="{BRAND}"/>'
        f'<g transform="translate({offset:.2f} {offset:.2f}) scale({scale})">{_glyph()}</g></svg>'
    )


def _render_svg(page, svg: str, size: int, target: Path, *, transparent: bool) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": size, "height": size})
    page.set_content(
        "<!doctype html><html><body style='margin:0;background:transparent'>"
        f"<div style='width:{size}px;height:{size}px'>{svg.replace('<svg ', f'<svg width={size} height={size} ', 1)}"
        "</div></body></html>"
    )
    page.screenshot(path=str(target), omit_background=transparent, clip={"x": 0, "y": 0, "width": size, "height": size})
    print(f"wrote {target.relative_to(STATIC_DIR.parent.parent)}")


def icons(browser) -> None:  # type: ignore[no-untyped-def]
    page = browser.new_page(device_scale_factor=1)
    folder = STATIC_DIR / "icons"
    any_svg = ICON_SVG.read_text()
    for size in (192, 512):
        _render_svg(page, any_svg, size, folder / f"icon-{size}.png", transparent=True)
        _render_svg(page, _full_bleed(0.75), size, folder / f"maskable-{size}.png", transparent=False)
    # iOS rounds the corners itself and shows transparency as black: full bleed, larger drawing.
    _render_svg(page, _full_bleed(0.9), 180, folder / "apple-touch-icon.png", transparent=False)
    page.close()


def screenshots(browser) -> None:  # type: ignore[no-untyped-def]
    from app.services import demo

    folder = STATIC_DIR / "screenshots"
    folder.mkdir(exist_ok=True)
    server = LiveServer.start(Path(tempfile.mkdtemp()))
    try:
        with server.session() as session:
            info = demo.seed(session, base_url=server.url)
            session.commit()
        phone = browser.new_context(**{**PHONE, "device_scale_factor": 1}, base_url=server.url)
        page = phone.new_page()
        # The real way in: the invitation link, then "Continue on this phone".
        page.goto(info.invite_link)
        page.click("form[action='/join'] button[type=submit]")
        page.wait_for_url("**/c")
        page.screenshot(path=str(folder / "today-narrow.png"))
        cookies = phone.cookies()
        phone.close()
        desktop = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=server.url)
        desktop.add_cookies(cookies)
        page = desktop.new_page()
        page.goto("/c")
        page.screenshot(path=str(folder / "today-wide.png"))
        desktop.close()
        print("wrote app/static/screenshots/today-narrow.png, today-wide.png")
    finally:
        server.stop()


def main() -> int:
    with sync_playwright() as driver:
        browser = driver.chromium.launch(**launch_options())
        try:
            icons(browser)
            screenshots(browser)
        finally:
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
