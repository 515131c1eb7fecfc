"""The baseline for bench/voice.py: one recording served from a file with Starlette's
FileResponse (as voice notes were served before they moved into the database), with no
database and no sign-in, under the uvicorn settings `between serve` uses.
`python -m bench._voice_file --port N --file PATH`."""

from __future__ import annotations

import argparse

from fastapi import FastAPI
from fastapi.responses import FileResponse


def build(path: str) -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    # A plain `def`, like the real endpoint.
    @app.get("/voice")
    def voice() -> FileResponse:
        return FileResponse(path, media_type="audio/webm", headers={"Cache-Control": "private, no-store"})

    return app


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--file", required=True)
    args = parser.parse_args()
    # The same options app.cli.cmd_serve passes, so only the app differs.
    uvicorn.run(
        build(args.file),
        host="127.0.0.1",
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="info",
        access_log=False,
    )


if __name__ == "__main__":
    main()
