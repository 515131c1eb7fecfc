"""The client's "Got it" on the notice that tells them what their therapist changed."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from app.services import assignment_changes
from app.web.deps import CurrentClient, SessionDep
from app.web.render import redirect

router = APIRouter(prefix="/c", include_in_schema=False)


@router.post("/assignments/{assignment_id}/seen")
def dismiss_notice(
    request: Request,
    assignment_id: uuid.UUID,
    session: SessionDep,
    client: CurrentClient,
    back: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    """The client read what their therapist changed: the notice goes (from Today and the record)."""
    assignment_changes.mark_seen(session, client=client, assignment_id=assignment_id)
    session.commit()
    return redirect(request, f"/c/record/{assignment_id}" if back == "record" else "/c")
