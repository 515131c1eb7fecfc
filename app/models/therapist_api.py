"""The therapist API's answers and requests: adherence, the caseload, the brief, sessions."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field

from app.models import AppointmentPublic, Repeat
from app.models.standing import DayState, DeliveryState, Standing


class RatePublic(BaseModel):
    done: int
    expected: int
    value: float | None = Field(description="done / expected in [0, 1]; null when nothing was due")


class DayPublic(BaseModel):
    day: date
    state: DayState
    count: int
    expected: bool


class TallyPublic(BaseModel):
    entries: int = Field(description="Entries with something in them")
    nothing_to_report: int = Field(description="“Nothing to report” check-ins")
    days: int = Field(description="Days of the window while the record was assigned")


class AdherencePublic(BaseModel):
    assignment_id: uuid.UUID
    title: str
    frequency: str
    times_per_day: int
    weekdays: list[int]
    first_day: date
    last_day: date
    window_from: date | None = Field(
        description="Set when only entries from this day on were read (streaks read 'at least')"
    )
    expected: int
    done: int
    nothing_to_report: int
    missed: int
    pending: bool
    current_streak: int
    longest_streak: int
    overall: RatePublic
    since_last_session: RatePublic | None
    last_7_days: RatePublic
    last_28_days: RatePublic
    score: float = Field(ge=0, le=1, description="Habit strength (Loop Habit Tracker formula)")
    backfilled: int
    median_delay_minutes: float | None
    as_it_happens: bool = Field(
        default=False, description="Kept as it happens: nothing is expected or missed; see the entry tallies"
    )
    extra_days: int = Field(default=0, description="Days with entries the schedule did not ask for (done extra)")
    entries_last_7_days: TallyPublic | None = None
    entries_last_28_days: TallyPublic | None = None
    entries_since_last_session: TallyPublic | None = None
    in_the_moment: RatePublic | None = Field(
        default=None,
        description="Of the entries written since the last session (or over the window read), those logged "
        "within an hour of when it happened or of the reminder that prompted them",
    )
    complete: RatePublic | None = Field(
        default=None,
        description="Of the entries written since the last session (or over the window read) on a form with "
        "parts that carry the work (a thought record's balanced thought and re-rating, an ABC record's "
        "consequences, an exposure's distress at the end), those with every such part answered; "
        "expected 0 for forms without such parts",
    )
    days: list[DayPublic] | None = None


class AppointmentBrief(BaseModel):
    id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    timezone: str


class CaseloadRowPublic(BaseModel):
    client_id: uuid.UUID
    display_name: str
    timezone: str
    standing: Standing
    next_session: AppointmentBrief | None
    last_session: AppointmentBrief | None
    completion_since_last_session: RatePublic
    best_current_streak: int
    last_entry_at: datetime | None
    delivery: DeliveryState
    last_delivered_at: datetime | None
    risk: bool
    records: list[AdherencePublic]


class ClientAdherencePublic(BaseModel):
    client_id: uuid.UUID
    since_last_session: datetime | None
    records: list[AdherencePublic]


class PointPublic(BaseModel):
    day: date
    value: float
    count: int


class SeriesPublic(BaseModel):
    key: str
    label: str
    low: float
    high: float
    severity: str | None = None
    points: list[PointPublic]


class AgendaItem(BaseModel):
    entry_id: uuid.UUID
    assignment_id: uuid.UUID
    title: str
    occurred_at: datetime
    answers: dict[str, Any]
    # Picked by the client the day before (these come first, in the order picked).
    picked: bool = False


class BackfillItem(BaseModel):
    entry_id: uuid.UUID
    title: str
    occurred_at: datetime
    logged_at: datetime
    delay_hours: float


class RiskPublic(BaseModel):
    kind: str = Field(
        description="phq9_item9: PHQ-9 item 9 answered above 0; self_harm: a DBT diary card or an urge log "
        "says the client hurt themselves"
    )
    occurred_at: datetime
    entry_id: uuid.UUID


class FunctionalCountPublic(BaseModel):
    value: str = Field(
        description="The choice's stable value (an urge log's urge: urge.<type>.<acted_on|rode_out|urge>)"
    )
    label: str
    since_last_session: int
    last_28_days: int
    entry_ids: list[uuid.UUID] = Field(description="The entries behind the count, newest first, both windows")


class FunctionalPartPublic(BaseModel):
    part: str = Field(description="situation, place, people, time_of_day, behaviour, short_term or long_term")
    label: str
    counts: list[FunctionalCountPublic] = Field(description="Most frequent since the last session first")


class FunctionalAnalysisPublic(BaseModel):
    """What comes before and after, from shared ABC records and urge logs (never private ones):
    counts of the choices ticked and of the time of day; free text is never classified."""

    window_from: datetime = Field(description="Start of the 28-day window")
    entries_since_last_session: int
    entries_last_28_days: int
    parts: list[FunctionalPartPublic]


class ReasonCountPublic(BaseModel):
    reason: str = Field(description="The reason's stable value")
    label: str
    count: int
    question: str = Field(description="One plain question to ask about it, with curiosity")


class CheckinNotePublic(BaseModel):
    day: date
    assignment_id: uuid.UUID | None
    title: str
    note: str
    discuss: bool = Field(description="Marked “discuss in session”")
    voice_note_id: uuid.UUID | None = Field(description="Playable at /api/v1/voice-notes/{id}")


class BarriersPublic(BaseModel):
    """What got in the way since the last session, from shared and discuss-in-session check-ins
    only: a private check-in is in no count, list or note here."""

    total: int
    about_them: list[ReasonCountPublic] = Field(description="The client's side, most frequent first")
    about_the_task: list[ReasonCountPublic] = Field(description="The task's side, most frequent first")
    done_not_recorded: int = Field(description="Days done but not written down")
    done_not_recorded_question: str
    notes: list[CheckinNotePublic] = Field(description="Words or voice notes shared with a check-in, newest first")


class AgreementPublic(BaseModel):
    """A plan made together in force, and whether it held since the client confirmed it."""

    plan_id: uuid.UUID
    assignment_id: uuid.UUID | None
    title: str
    first_line: str = Field(description="The if-then plan as one sentence")
    why: str
    confirmed_at: datetime | None
    outcome: str = Field(description="held, partly, not_yet, too_soon, or happened (records kept as they happen)")
    done: int
    expected: int
    written: int = Field(description="Entries since it was confirmed (records kept as they happen)")
    changes_since_confirmed: int


class BriefPublic(BaseModel):
    client_id: uuid.UUID
    session: AppointmentPublic | None
    previous_session: AppointmentBrief | None
    since: datetime
    as_of: datetime
    records: list[AdherencePublic]
    trends: list[SeriesPublic]
    questionnaires: list[SeriesPublic]
    risks: list[RiskPublic]
    agenda: list[AgendaItem]
    # The client's note for this session ("" when none or kept private).
    client_note: str = ""
    backfilled: list[BackfillItem]
    functional_analysis: FunctionalAnalysisPublic
    barriers: BarriersPublic
    agreements: list[AgreementPublic]


class AppointmentCreate(BaseModel):
    starts_at: datetime = Field(description="With an offset, e.g. 2026-05-04T09:00:00+02:00")
    timezone: str = Field(max_length=64)
    duration_minutes: int = Field(default=50, ge=5, le=480)
    repeat: Repeat = Repeat.none


class AppointmentMove(BaseModel):
    starts_at: datetime
    duration_minutes: int | None = Field(default=None, ge=5, le=480)


class NotesUpdate(BaseModel):
    notes: str = Field(max_length=20000)
