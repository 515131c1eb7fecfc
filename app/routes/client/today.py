"""The client's Today: what is due, notices, and the one question a day about what got in the way."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.services import (
    assignment_changes,
    assignments,
    day_before,
    device_trust,
    entries,
)
from app.services.entry_text import entry_views, is_library_version, tr
from app.web.deps import ClientAccess, CurrentClient, SessionDep
from app.web.presenters import barriers as barrier_prompt
from app.web.presenters import plans as plan_view
from app.web.render import render

router = APIRouter(prefix="/c", include_in_schema=False)


@router.get("")
def today_page(request: Request, session: SessionDep, client: CurrentClient, access: ClientAccess) -> Response:
    tasks = assignments.today(session, client=client)
    recent = entries.list_for_client(session, client=client, access=access, limit=5)
    library = {task.version.id: is_library_version(session, task.version) for task in tasks}
    # New devices waiting for the client's word are asked about where the client looks first.
    waiting = device_trust.waiting(session, client=client) if access.everything else []
    titles = {task.assignment.id: tr(task.version.title, library=library[task.version.id]) for task in tasks}
    context = {
        "client": client,
        "tasks": tasks,
        "recent": entry_views(session, recent),
        "library": library,
        "change_notices": assignment_changes.notices(session, client=client, titles=titles),
        "devices_waiting": waiting,
        # At most one "Not today, because…" question a day, about a recently missed record.
        "barrier_prompt": barrier_prompt.today_prompt(request, session, client),
        # A session coming up: "Anything you want to bring?" is a tap away.
        "session_soon": day_before.soon(session, client=client),
        # A plan being made in session to join, and each record's plan in force.
        **plan_view.today_context(session, client),
    }
    return render(request, "pages/client/today.html", context, block="content")
