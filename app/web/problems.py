"""The JSON API's error bodies, named once for every router's OpenAPI responses."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class Problem(BaseModel):
    detail: str
    errors: dict[str, str] | None = None


ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": Problem, "description": "The body could not be read (not valid JSON or form data)"},
    401: {"model": Problem, "description": "Not signed in"},
    403: {"model": Problem, "description": "CSRF token missing or wrong"},
    404: {"model": Problem, "description": "Not found, or not yours"},
    413: {"model": Problem, "description": "The request body is too large"},
    422: {"model": Problem, "description": "Invalid input"},
    423: {"model": Problem, "description": "Locked: the client's app PIN must be entered on this device"},
    429: {"model": Problem, "description": "Too many requests: wait for Retry-After seconds"},
    503: {"model": Problem, "description": "The database is briefly unavailable: retry after Retry-After seconds"},
}
