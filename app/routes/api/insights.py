"""My patterns in the JSON API: the client's insights, as sentences and the numbers behind them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.models import InsightsPublic
from app.services import patterns
from app.web.deps import ClientAccess, CurrentClient, SessionDep
from app.web.presenters import patterns as pattern_view
from app.web.problems import ERRORS

router = APIRouter(prefix="/api/v1", tags=["insights"])


@router.get(
    "/insights",
    response_model=InsightsPublic,
    responses=ERRORS,
    summary="My patterns: what my records show, for the sections my therapist left on",
)
def list_insights(session: SessionDep, client: CurrentClient, access: ClientAccess) -> Any:
    return pattern_view.public(patterns.for_client(session, client=client, access=access))
