"""My patterns: what the client's own records say, in words and small charts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.services import patterns
from app.web.deps import ClientAccess, CurrentClient, SessionDep
from app.web.presenters import charts
from app.web.presenters import patterns as pattern_view
from app.web.render import render

router = APIRouter(prefix="/c", include_in_schema=False)


@router.get("/patterns")
def patterns_page(request: Request, session: SessionDep, client: CurrentClient, access: ClientAccess) -> Response:
    data = patterns.for_client(session, client=client, access=access)
    context = {
        "client": client,
        "cards": pattern_view.cards(data, prefix="mine"),
        "weeks": patterns.WINDOW.days // 7,
        **charts.page_helpers(),
    }
    return render(request, "pages/client/patterns.html", context, block="content")
