"""The playing replica of bench/voice.py: the app exactly as `between serve --no-dispatcher`
runs it, plus one route for the baseline, `/bench/voice-file/{note_id}`, which makes the
same checks as playback (the signed-in client, the PIN lock, `voice_notes.readable`) and
then sends the same recording from a file with Starlette's FileResponse, as voice notes
were served before they moved into the database. Both are measured on this one process,
so only where the audio comes from differs.
`python -m bench._voice_app --port N --file PATH` (settings from the environment)."""

from __future__ import annotations

import argparse
import uuid

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse

from app.core.settings import get_settings
from app.main import create_app
from app.models import SessionKind
from app.services import voice_notes
from app.services.device_trust import PrivateAccess

# At module level: the route's annotations are resolved from this module's names.
from app.web.deps import DeviceDep, SessionDep, get_current_client
from app.web.errors import problem


def build(path: str) -> FastAPI:
    app = create_app(get_settings(), run_dispatcher=False)
    router = APIRouter()

    @router.get("/bench/voice-file/{note_id}")
    def play_from_file(note_id: uuid.UUID, request: Request, session: SessionDep, device: DeviceDep) -> Response:
        if device is None or device.kind != SessionKind.client:
            return problem(request, 404, "not found")
        client = get_current_client(request, session)
        note = voice_notes.readable(session, note_id=note_id, client=client, access=PrivateAccess.of(device))
        return FileResponse(path, media_type=note.content_type, headers={"Cache-Control": "private, no-store"})

    app.include_router(router)
    return app


def main() -> None:
    import uvicorn

    from app.core import logs

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", required=True)
    args = parser.parse_args()
    settings = get_settings()
    logs.configure(fmt=settings.log_format, level=settings.log_level)
    # The options app.cli.cmd_serve passes.
    uvicorn.run(
        build(args.file),
        host="127.0.0.1",
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
