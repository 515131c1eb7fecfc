"""The client's progress: their own records as charts."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.services import brief
from app.web.deps import ClientAccess, CurrentClient, SessionDep
from app.web.presenters import charts
from app.web.render import render

router = APIRouter(prefix="/c", include_in_schema=False)


@router.get("/progress")
def progress_page(request: Request, session: SessionDep, client: CurrentClient, access: ClientAccess) -> Response:
    data = brief.progress(session, client=client, access=access)
    first = min((p.day for s in data.trends + data.questionnaires for p in s.points), default=data.today)
    charts_ = [
        charts.line_chart(s, first_day=first, last_day=data.today, chart_id=f"mine-{s.key}")
        for s in data.trends + data.questionnaires
    ]
    from datetime import timedelta

    week_start = data.today - timedelta(days=27)
    context = {
        "progress": data,
        "client": client,
        "charts": charts_,
        "calendars": [
            (
                record,
                charts.calendar(record.adherence.days, first_day=week_start, last_day=data.today),
            )
            for record in data.records
        ],
        **charts.page_helpers(),
    }
    return render(request, "pages/client/progress.html", context, block="content")
