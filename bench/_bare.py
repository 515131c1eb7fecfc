"""The baseline for bench/entries.py: one FastAPI endpoint that parses an entry-shaped
JSON body and returns it, with no database, served exactly as `between serve` serves
the app. `python -m bench._bare --port N`."""

from __future__ import annotations

import argparse
import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field


class EntryBody(BaseModel):
    id: uuid.UUID
    assignment_id: uuid.UUID
    template_version_id: uuid.UUID | None = None
    answers: dict[str, Any] = Field(default_factory=dict)
    nothing_to_report: bool = False
    visibility: Literal["shared", "private", "discuss"] = "shared"
    occurred_at: datetime | None = None


app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# A plain `def`, like the real endpoint: both pay the same thread-pool hop.
@app.post("/api/v1/entries", response_model=EntryBody, status_code=201)
def create_entry(body: EntryBody) -> Any:
    return body


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same options app.cli.cmd_serve passes, so only the app differs.
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="info",
        access_log=False,
    )


if __name__ == "__main__":
    main()
