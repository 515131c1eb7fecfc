"""Pages keep their styling when reached by a link: with hx-boost only the <body> is swapped,
so a page whose stylesheet sat in its own <head> lost it (calendar without colours, legend as
a bullet list, tiny charts). Each page is reached by clicking from the first page, and the
computed styles of everything in it are compared with the same page loaded directly."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlmodel import select

from app.models import Client, Therapist
from app.models.types import utcnow
from app.services import demo
from tests.browser.journeys.journey import Journey
from tests.browser.live import LiveServer
from tests.factories import make_therapist

# What makes a page look as designed; sizes are compared for the charts only (text widths
# depend on what the page says, which may differ by a minute between two loads).
STYLE = """() => {
  const props = ["background-color", "color", "display", "list-style-type", "font-size", "font-weight",
                 "border-top-width", "border-left-color", "padding-top", "position", "text-align", "fill", "stroke"];
  // The message area comes and goes (a question about the phone's time zone, "Saved"): not the page's look.
  const nodes = Array.from(document.querySelectorAll("main *"))
    .filter(node => !node.closest("#messages")).slice(0, 1500);
  return nodes.map(node => {
    const style = getComputedStyle(node);
    return node.tagName.toLowerCase() + "." + (node.getAttribute("class") || "") + " " +
      props.map(name => name + ":" + style.getPropertyValue(name)).join(";");
  });
}"""
LOOKS = """() => {
  const style = (selector, name) => {
    const node = document.querySelector(selector);
    return node ? getComputedStyle(node).getPropertyValue(name) : null;
  };
  const chart = document.querySelector("svg.line-chart");
  return {
    done: style(".heatmap .day.state-done", "background-color"),
    key: style(".heatmap-key", "list-style-type"),
    swatch: style(".heatmap-key .swatch", "display"),
    chart: chart ? Math.round(chart.getBoundingClientRect().height) : null,
    chart_width: chart ? Math.round(chart.getBoundingClientRect().width) : null,
    chart_display: style("svg.line-chart", "display"),
  };
}"""


@dataclass
class Alex:
    therapist: Therapist
    client: Client


def six_weeks_of_alex(server: LiveServer) -> Alex:
    """A therapist of their own with the demo's Alex: six weeks of records and sessions."""
    with server.session() as session:
        therapist = make_therapist(session)
        demo._Seeder(session, therapist=therapist, now=utcnow(), rng=random.Random(11)).alex()
        session.commit()
        client = session.exec(
            select(Client).where(Client.therapist_id == therapist.id, Client.display_name == "Alex")
        ).one()
        return Alex(therapist, client)


def looks(page: Any) -> tuple[list[str], dict[str, Any]]:
    return page.evaluate(STYLE), page.evaluate(LOOKS)


def same_as_direct_load(journey: Journey, boosted: tuple[list[str], dict[str, Any]]) -> None:
    """The page now on screen looks exactly as it does when loaded directly."""
    url = journey.page.url
    direct_page = journey.context.new_page()
    try:
        direct_page.goto(url)
        direct_page.wait_for_load_state("load")
        direct = looks(direct_page)
    finally:
        direct_page.close()
    assert boosted[1] == direct[1], f"{url}: after a link {boosted[1]}, loaded directly {direct[1]}"
    differences = [(a, b) for a, b in zip(boosted[0], direct[0], strict=False) if a != b]
    assert len(boosted[0]) == len(direct[0]) and not differences, f"{url}: styles differ, e.g. {differences[:3]}"


def assert_charts_styled(seen: dict[str, Any]) -> None:
    assert seen["key"] == "none", seen  # the legend is a row of swatches, not a bullet list
    assert seen["swatch"] not in (None, "inline"), seen
    assert seen["done"] not in (None, "rgba(0, 0, 0, 0)"), seen  # a done day has its colour
    assert seen["chart_display"] == "block", seen
    assert seen["chart"] >= 100 and seen["chart_width"] >= 300, seen  # a chart, not a thumbnail


def test_therapist_pages_keep_their_styles_after_a_link(journey: Journey) -> None:
    alex = six_weeks_of_alex(journey.server)
    page = journey.start("/t/settings", who=alex.therapist)

    page.get_by_role("navigation").get_by_role("link", name=journey._("Clients"), exact=True).click()
    page.wait_for_url("**/t")
    journey.arrive("styles-caseload")
    same_as_direct_load(journey, looks(page))

    page.get_by_role("main").get_by_role("link", name="Alex", exact=True).first.click()
    page.wait_for_url(f"**/t/clients/{alex.client.id}")
    journey.arrive("styles-client")
    page.get_by_role("link", name=journey._("Pre-session brief")).first.click()
    page.wait_for_url("**/brief")
    journey.arrive("styles-brief")
    brief = looks(page)
    assert_charts_styled(brief[1])
    same_as_direct_load(journey, brief)

    page.get_by_role("main").get_by_role("link", name=journey._("Sessions"), exact=True).first.click()
    page.wait_for_url("**/sessions")
    journey.arrive("styles-sessions")
    same_as_direct_load(journey, looks(page))


def test_my_progress_keeps_its_styles_after_a_link(journey: Journey) -> None:
    alex = six_weeks_of_alex(journey.server)
    page = journey.start("/c", who=alex.client)

    page.get_by_role("navigation").get_by_role("link", name=journey._("My progress")).click()
    page.wait_for_url("**/c/progress")
    journey.arrive("styles-progress")
    progress = looks(page)
    assert_charts_styled(progress[1])
    same_as_direct_load(journey, progress)


def test_no_page_brings_a_stylesheet_of_its_own() -> None:
    """Styles for pages of the app live in stylesheets linked from base.html: a boosted link
    swaps only the body, so a stylesheet a page adds to its head would be missing there."""
    from app.web.render import TEMPLATES_DIR

    base = (TEMPLATES_DIR / "base.html").read_text()
    for template in TEMPLATES_DIR.rglob("*.html"):
        text = template.read_text()
        if template.name == "base.html" or "<html" in text:  # base.html and standalone pages
            continue
        assert 'rel="stylesheet"' not in text, f"{template.name}: link its stylesheet from base.html"
    for sheet in ("css/app.css", "css/insights.css"):
        assert f"static('{sheet}')" in base
