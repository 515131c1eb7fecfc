"""The therapist's settings page: the opt-in email before each session."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from app.core.errors import Invalid
from app.models.therapist import DIGEST_HOURS_MAX, DIGEST_HOURS_MIN
from app.services import (
    device_sessions,
    therapist_settings,
)
from app.web.deps import CurrentTherapist, SessionDep, SettingsDep
from app.web.render import redirect, render

router = APIRouter(prefix="/t", include_in_schema=False)

_ON = ("1", "true", "on", "yes")


def _context(therapist: Any, settings: Any, **extra: Any) -> dict[str, Any]:
    return {
        "therapist": therapist,
        "hours_min": DIGEST_HOURS_MIN,
        "hours_max": DIGEST_HOURS_MAX,
        # Without SMTP outside development nothing can be mailed: say so rather than fail quietly.
        "mail_ready": bool(settings.smtp_host) or settings.is_development,
        "errors": {},
        "values": {
            "digest_enabled": therapist.digest_enabled,
            "digest_hours_before": str(therapist.digest_hours_before),
        },
        **extra,
    }


@router.get("/settings")
def settings_page(
    request: Request, therapist: CurrentTherapist, settings: SettingsDep, saved: str | None = None
) -> Response:
    context = _context(therapist, settings, saved=saved == "1")
    return render(request, "pages/therapist/settings.html", context, block="content")


@router.post("/settings")
def save_settings(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    therapist: CurrentTherapist,
    digest_enabled: Annotated[str, Form(max_length=5)] = "",
    digest_hours_before: Annotated[str, Form(max_length=6)] = "",
) -> Response:
    enabled = digest_enabled.strip().lower() in _ON
    try:
        therapist_settings.update_digest(
            session, therapist=therapist, enabled=enabled, hours_before=digest_hours_before
        )
    except Invalid as error:
        session.rollback()
        context = _context(therapist, settings)
        context["errors"] = {"form": error.message, **error.errors}
        context["values"] = {"digest_enabled": enabled, "digest_hours_before": digest_hours_before}
        return render(request, "pages/therapist/settings.html", context, status_code=422)
    session.commit()
    return redirect(request, "/t/settings?saved=1")


@router.post("/signout-everywhere")
def signout_everywhere(request: Request, session: SessionDep, therapist: CurrentTherapist) -> Response:
    device_sessions.revoke_all(session, therapist_id=therapist.id)
    session.commit()
    return redirect(request, "/signin")
