"""Plans made together, walked on two screens at once: in session the therapist opens "Plan
together" on the laptop (1280 px), the client joins from Today on the phone (360 px, touch),
each writes part of the plan and sees the other's words arrive, the phone's first "Confirm"
is answered with what is still missing, then the client confirms. The laptop turns into the
agreed plan by itself; Today shows the plan's first line and, on demand, the client's
reason; the brief shows the agreement. English and Spanish, axe-core on every page reached."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlmodel import select

from app.models import Plan, PlanState
from app.services import reminders
from tests.browser.journeys.conftest import OpenJourney
from tests.browser.live import LiveServer
from tests.browser.steps import wait_until
from tests.factories import library_template, make_assignment, make_client, make_therapist

WORDS = {
    "en": {
        "cue": "I get home from work",
        "action": "fill in the mood log on the bus",
        "obstacle": "I'm too tired",
        "obstacle_plan": "just rate my mood",
        "why": "To see the good days too.",
    },
    "es": {
        "cue": "llego a casa del trabajo",
        "action": "relleno el registro de ánimo en el autobús",
        "obstacle": "estoy demasiado cansada",
        "obstacle_plan": "solo puntúo mi ánimo",
        "why": "Para ver también los días buenos.",
    },
}
FIELD_VALUE = "([id, value]) => document.getElementById(id) && document.getElementById(id).value === value"


def _words(locator: Any) -> str:
    return " ".join(str(locator.inner_text()).split())


@pytest.mark.parametrize("lang", ["en", "es"])
def test_a_plan_is_made_on_two_screens_and_confirmed_on_the_phone(
    open_journey: OpenJourney, live_server: LiveServer, lang: str
) -> None:
    began = time.monotonic()
    words = WORDS[lang]
    with live_server.session() as session:
        therapist = make_therapist(session, name="Dr. Inés Vidal")
        client = make_client(session, therapist=therapist, name=f"Noa {lang}", timezone="UTC")
        make_assignment(
            session, client=client, template=library_template(session, "mood_log"), proposed_times=["20:00"]
        )

    # The laptop: "Plan together" on the client's page opens the plan with a code to scan.
    desk = open_journey("desktop", lang)
    _ = desk._
    page = desk.start(f"/t/clients/{client.id}", who=therapist, name="plan-client-page")
    page.get_by_role("button", name=_("Plan together"), exact=True).click()
    page.wait_for_url("**/t/plans/*")
    desk.arrive("plan-desk-start")
    qr = page.get_by_role("img", name=_("QR code of the plan for %(name)s", name=client.display_name))
    box = qr.bounding_box()
    assert box is not None and box["width"] >= 150
    page.get_by_label(_("Record"), exact=True).select_option(label=_("Mood log"))
    page.get_by_label(_("When…"), exact=True).fill(words["cue"])
    page.get_by_label(_("When…"), exact=True).press("Tab")

    # The phone: Today invites the client in; the therapist's words are already there.
    phone = open_journey("phone", lang)
    p = phone.start("/c", who=client, name="plan-today-join")
    p.get_by_role("link", name=_("Join the plan")).tap()
    p.wait_for_url("**/c/plans/*")
    phone.arrive("plan-phone-draft")
    wait_until(p, FIELD_VALUE, ["plan-cue", words["cue"]])
    assert _words(p.locator("[data-plan-record]")) == _("Mood log")
    # The times the reminder had are where the client starts from; the client chooses others.
    assert p.get_by_label(_("Reminder time %(num)s", num=1)).input_value() == "20:00"
    p.get_by_label(_("Reminder time %(num)s", num=1)).fill("21:30")
    p.get_by_label(_("Why this matters to me"), exact=True).tap()
    p.get_by_label(_("Why this matters to me"), exact=True).fill(words["why"])
    p.get_by_label(_("If that happens, I will…"), exact=True).tap()

    # The laptop sees the phone's words arrive, and writes the likely obstacle, which the phone sees.
    wait_until(page, FIELD_VALUE, ["plan-why", words["why"]])
    wait_until(page, "t => document.querySelector('[data-plan-times]').textContent.includes(t)", "21:30")
    page.get_by_label(_("What might get in the way?"), exact=True).fill(words["obstacle"])
    page.get_by_label(_("What might get in the way?"), exact=True).press("Tab")
    desk.arrive("plan-desk-together")
    wait_until(p, FIELD_VALUE, ["plan-obstacle", words["obstacle"]])
    p.get_by_label(_("If that happens, I will…"), exact=True).fill(words["obstacle_plan"])

    # "Confirm" before the if-then plan is whole: said kindly, next to the empty box.
    p.get_by_role("button", name=_("Confirm this plan")).tap()
    p.get_by_role("alert").wait_for()
    phone.arrive("plan-phone-missing")
    assert _("Say what you will do.") in _words(p.locator("#plan-field-action"))
    p.get_by_label(_("I will…"), exact=True).fill(words["action"])
    p.get_by_role("button", name=_("Confirm this plan")).tap()
    p.wait_for_url("**/c/plans/*?confirmed=1")
    phone.arrive("plan-phone-confirmed")
    sentence = _("When %(cue)s, I will %(action)s.", cue=words["cue"], action=words["action"])
    assert _words(p.locator("#plan-preview .plan-line")) == sentence

    # The laptop turns into the agreed plan by itself.
    page.get_by_role("heading", name=_("The plan %(name)s agreed to", name=client.display_name)).wait_for()
    desk.arrive("plan-desk-agreed")
    assert sentence in _words(page.locator("main"))

    # Today: the plan's first line with the record, the reason when the client wants it.
    p.get_by_role("link", name=_("Go to Today")).tap()
    p.wait_for_url("**/c")
    phone.arrive("plan-today")
    task_plan = p.locator("[data-plan]")
    assert _words(task_plan.locator(".plan-line")) == sentence
    assert not task_plan.get_by_text(words["why"]).is_visible()
    task_plan.get_by_text(_("Why this matters to me")).tap()
    task_plan.get_by_text(words["why"]).wait_for()
    phone.arrive("plan-today-why")

    # The brief: the agreement, and that it is too soon to tell whether it held.
    page.get_by_role("link", name=_("Go to %(name)s", name=client.display_name)).click()
    page.wait_for_url(f"**/t/clients/{client.id}")
    desk.arrive(None)
    page.get_by_role("link", name=_("Pre-session brief")).click()
    page.wait_for_url("**/brief")
    desk.arrive("plan-brief")
    agreement = page.locator("#agreement")
    assert sentence in _words(agreement)
    assert agreement.locator("[data-outcome='too_soon']").count() == 1
    after_date = _("Agreed on %(date)s: too soon to tell how it is going.", date="\0").split("\0")[1]
    assert after_date in _words(agreement.locator("[data-held]"))

    with live_server.session() as session:
        plan = session.exec(select(Plan).where(Plan.client_id == client.id)).one()
        assert plan.state is PlanState.confirmed and plan.why == words["why"]
        reminder = reminders.for_assignment(session, assignment_id=plan.assignment_id)
        assert reminder is not None and reminder.times == ["21:30"]
    print(f"\nplan made together on two screens ({lang}): {time.monotonic() - began:.1f} s of test time")
