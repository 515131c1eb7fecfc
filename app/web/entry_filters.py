"""The filters and pages of the entries on the therapist's client page (`/t/clients/{id}`)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from urllib.parse import urlencode

from app.core import i18n
from app.core.days import day_bounds
from app.models import Client

PAGE_SIZE = 25
MAX_PAGE = 100_000


@dataclass
class Shown:
    """What the therapist asked to see, as typed (for the form) and as parsed (for the query)."""

    record_type: str = ""
    from_day: str = ""
    to_day: str = ""
    page: int = 1
    template_id: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    @property
    def filtered(self) -> bool:
        return bool(self.template_id or self.start or self.end)

    def query(self, *, page: int | None = None) -> str:
        """The query string for these filters on another page ("" for the first, unfiltered)."""
        params = {"type": self.record_type, "from": self.from_day, "to": self.to_day}
        number = self.page if page is None else page
        pairs = [(key, value) for key, value in params.items() if value]
        if number > 1:
            pairs.append(("page", str(number)))
        return "?" + urlencode(pairs) if pairs else ""


def _day(value: str, name: str, errors: dict[str, str]) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        errors[name] = i18n.gettext("Pick a date.")
        return None


def parse(client: Client, *, record_type: str, from_day: str, to_day: str, page: str) -> Shown:
    """Parse the filters; a wrong one is named in `errors` (and left out), never a 500."""
    errors: dict[str, str] = {}
    shown = Shown(record_type=record_type.strip(), from_day=from_day.strip(), to_day=to_day.strip())
    if shown.record_type:
        try:
            shown.template_id = uuid.UUID(shown.record_type)
        except ValueError:
            errors["type"] = i18n.gettext("Choose a record type from the list.")
            shown.record_type = ""
    first = _day(shown.from_day, "from", errors)
    last = _day(shown.to_day, "to", errors)
    if first and last and first > last:
        errors["to"] = i18n.gettext("The last day comes on or after the first.")
        first = last = None
    if first is not None:
        shown.start = day_bounds(first, timezone=client.timezone, boundary=client.day_boundary)[0]
    if last is not None:
        shown.end = day_bounds(last, timezone=client.timezone, boundary=client.day_boundary)[1]
    if "from" in errors:
        shown.from_day = ""
    if "to" in errors:
        shown.to_day = ""
    try:
        shown.page = int(page or 1)
        if not 1 <= shown.page <= MAX_PAGE:
            raise ValueError
    except ValueError:
        errors["page"] = i18n.gettext("There is no such page.")
        shown.page = 1
    shown.errors = errors
    return shown
