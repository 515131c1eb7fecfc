"""A therapist's downloads of a client's shared records (CSV, report, FHIR); the services audit each."""

from __future__ import annotations

import json
import uuid

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.services import clients, exports, fhir
from app.web.deps import CurrentTherapist, SessionDep, SettingsDep
from app.web.render import download, render

router = APIRouter(prefix="/t", include_in_schema=False)


@router.get("/clients/{client_id}/export")
def therapist_export_page(
    request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    return render(request, "pages/therapist/export.html", {"client": client}, block="content")


@router.get("/clients/{client_id}/export.csv")
def therapist_export_csv(
    request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    body = exports.therapist_csv(session, therapist=therapist, client=client)
    session.commit()
    filename = exports.therapist_file_name(client=client, what="shared-records", extension="csv")
    return download(body, media_type="text/csv; charset=utf-8", filename=filename)


@router.get("/clients/{client_id}/report")
def therapist_report(
    request: Request, client_id: uuid.UUID, session: SessionDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    report = exports.report(session, therapist=therapist, client=client)
    session.commit()
    return render(request, "pages/therapist/report.html", {"report": report})


@router.get("/clients/{client_id}/export.fhir.json")
def therapist_export_fhir(
    request: Request, client_id: uuid.UUID, session: SessionDep, settings: SettingsDep, therapist: CurrentTherapist
) -> Response:
    client = clients.get_for_therapist(session, therapist=therapist, client_id=client_id)
    bundle = fhir.bundle(session, therapist=therapist, client=client, base_url=settings.base_url)
    session.commit()
    body = json.dumps(bundle, ensure_ascii=False, indent=1)
    filename = exports.therapist_file_name(client=client, what="shared-records", extension="fhir.json")
    return download(body, media_type=fhir.MEDIA_TYPE, filename=filename)
