"""A plan made together on two screens: what each page shows, and how a screen catches up.

Both pages hold the same form. A change on either screen is saved at once (htmx posts the
form on `change`, with the version the screen last saw), and each screen asks every two
seconds what changed since its version (`sync`). The answer puts in only the fields the
*other* side changed, so what someone is typing is never replaced by an echo of itself;
204 when nothing changed. When the plan leaves the draft state (the client confirmed, the
therapist put it aside) both pages reload.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import Request
from sqlmodel import Session
from starlette.datastructures import FormData
from starlette.responses import Response

from app.core import i18n
from app.core.errors import Invalid
from app.models import (
    Client,
    Plan,
    PlanActor,
    PlanClientEdit,
    PlanState,
    PlanTherapistEdit,
    Therapist,
)
from app.models.plan import WORD_LIMITS, WORDS
from app.services import assignment_lookup, plans, record_types, reminders
from app.services.entry_text import is_library_version, tr
from app.web.render import render

# Empty boxes for reminder times on the phone: a plan rarely needs more.
TIME_SLOTS = 3


def sync_url(plan: Plan, actor: PlanActor) -> str:
    prefix = "/t" if actor is PlanActor.therapist else "/c"
    return f"{prefix}/plans/{plan.id}/sync?since={plan.version}&state={plan.state.value}"


def join_link(base_url: str, plan: Plan) -> str:
    """What the QR code on the therapist's screen holds: the plan's page on the phone
    (no secret: only the client's own signed-in phone can open it)."""
    return f"{base_url.rstrip('/')}/c/plans/{plan.id}"


def values_of(session: Session, plan: Plan) -> dict[str, Any]:
    """The form's values as stored now (a confirmed plan's times are its reminder's)."""
    values: dict[str, Any] = {name: getattr(plan, name) for name in WORDS}
    values["times"] = plans.current_value(session, plan, "times")
    values["record"] = plans.record_key(plan) or ""
    return values


def time_slots(times: list[str]) -> list[str]:
    return list(times) + [""] * max(0, TIME_SLOTS - len(times))


Choices = list[tuple[str, list[tuple[str, str]]]]


def record_choices(session: Session, *, therapist: Therapist, client: Client) -> Choices:
    """The records a plan can be about: those assigned now, then record types to assign
    when the client agrees (library titles in the page's language)."""
    running = assignment_lookup.active_for_client(session, client_id=client.id)
    given = {assignment.template_id for assignment, _version in running}
    assigned_now = [
        (f"assignment:{assignment.id}", tr(version.title, library=is_library_version(session, version)))
        for assignment, version in running
    ]
    to_assign = [
        (f"template:{template.id}", i18n.gettext(version.title) if template.is_library else version.title)
        for template, version in record_types.available(session, therapist=therapist)
        if template.id not in given
    ]
    return [
        (i18n.gettext("Assigned now"), assigned_now),
        (i18n.gettext("Assign it when you both agree"), to_assign),
    ]


def page_context(
    session: Session,
    plan: Plan,
    *,
    actor: PlanActor,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> dict[str, Any]:
    shown = {**values_of(session, plan), **(values or {})}
    return {
        "plan": plan,
        "actor": actor.value,
        "title": plans.title_of(session, plan),
        "first_line": plans.first_line(plan),
        "obstacle_line": plans.obstacle_line(plan),
        "values": shown,
        "slots": time_slots(shown["times"]),
        "errors": errors or {},
        "limits": WORD_LIMITS,
        "sync_url": sync_url(plan, actor),
        "needs_times": plans.needs_times(session, plan),
    }


def client_edit(form: FormData) -> PlanClientEdit:
    """The plan form on the phone: the words and the reminder times."""
    times = [str(item) for item in form.getlist("times")] if "times" in form else None
    return PlanClientEdit(**_form_words(form), times=times, since=form_since(form, default=None))


def therapist_edit(form: FormData) -> PlanTherapistEdit:
    """The plan form on the therapist's screen: the words and the record."""
    assignment_id = template_id = None
    kind, _sep, raw = str(form.get("record", "") or "").partition(":")
    if raw:
        try:
            chosen = uuid.UUID(raw)
        except ValueError:
            message = i18n.gettext("Choose a record.")
            raise Invalid(message, errors={"record": message}) from None
        assignment_id = chosen if kind == "assignment" else None
        template_id = chosen if kind == "template" else None
    return PlanTherapistEdit(
        **_form_words(form), assignment_id=assignment_id, template_id=template_id, since=form_since(form, default=None)
    )


def _form_words(form: FormData) -> dict[str, Any]:
    return {name: str(form[name]) for name in WORDS if name in form}


def form_since(form: FormData, *, default: int | None) -> Any:
    """The version the screen's form was showing (`default` when missing or not a number)."""
    raw = str(form.get("since", "") or "")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else default


def submitted_values(form: FormData) -> dict[str, Any]:
    """What was typed, to show it again with the errors."""
    shown: dict[str, Any] = {name: str(form[name]) for name in WORDS if name in form}
    if "times" in form:
        shown["times"] = [str(item) for item in form.getlist("times") if str(item).strip()]
    if "record" in form:
        shown["record"] = str(form["record"])
    return shown


def sync(
    request: Request,
    session: Session,
    plan: Plan,
    *,
    actor: PlanActor,
    since: int,
    state: str,
    saved: bool = False,
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """What this screen needs to catch up from version `since`: the fields the other side
    changed, a word about it, and the poller with the new version. 204: nothing new."""
    if plan.state.value != state or plan.state is not PlanState.draft:
        # Confirmed or put aside: the page is another one now.
        return Response(status_code=200, headers={"HX-Refresh": "true"})
    changed = plans.changed_since(session, plan=plan, since=since, by_other_than=actor)
    if errors:
        # Each field with a problem comes back as typed, with its message.
        changed = {name for name in changed | set(errors) if name in plans.FIELDS}
    if not changed and not saved and since == plan.version:
        return Response(status_code=204)
    news = ""
    others = [name for name in plans.FIELDS if name in changed and name not in (errors or {})]
    if errors:
        news = i18n.gettext("Not saved yet: %(problem)s", problem=next(iter(errors.values())))
    elif others:
        labels = ", ".join(i18n.gettext(plans.FIELD_LABELS[name]) for name in others)
        if actor is PlanActor.therapist:
            news = i18n.gettext("The client changed: %(fields)s", fields=labels)
        else:
            news = i18n.gettext("Your therapist changed: %(fields)s", fields=labels)
    elif saved:
        news = i18n.gettext("Saved.")
    context = page_context(session, plan, actor=actor, errors=errors, values=values)
    if actor is PlanActor.therapist and "record" in changed:
        therapist = getattr(request.state, "viewer", None)
        client = session.get(Client, plan.client_id)
        if isinstance(therapist, Therapist) and client is not None:
            context["choices"] = record_choices(session, therapist=therapist, client=client)
    context.update(changed=changed, news=news)
    return render(request, "_plan_sync.html", context, status_code=status_code)


def reminder_note(session: Session, plan: Plan) -> str:
    """For a confirmed plan: when the reminder rings now, in words."""
    if plan.assignment_id is None:
        return ""
    reminder = reminders.for_assignment(session, assignment_id=plan.assignment_id)
    if reminder is None or not reminder.times:
        return ""
    return i18n.gettext("Reminders at %(times)s.", times=", ".join(reminder.times))


def today_context(session: Session, client: Client) -> dict[str, Any]:
    """For Today: a draft to join, and the plan in force for each record."""
    return {
        "plan_to_join": plans.draft_to_join(session, client=client),
        "plans_in_force": plans.in_force(session, client_id=client.id),
        "plan_line": plans.first_line,
    }
