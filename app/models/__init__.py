"""All tables, imported in one place so metadata and Alembic see every one."""

from app.models.appointment import (
    Appointment,
    AppointmentForClient,
    AppointmentPublic,
    ClientZoneChange,
    Repeat,
)
from app.models.assignment import (
    Assignment,
    AssignmentChange,
    AssignmentCreate,
    AssignmentPublic,
    AssignmentSettings,
    ChangeKind,
    Frequency,
)
from app.models.audit import AuditEvent
from app.models.barrier import BarrierCheckin, BarrierCreate, BarrierPublic, Reason
from app.models.client import Client, ClientPublic
from app.models.device_session import DeviceSession, SessionKind
from app.models.entry import Entry, EntryCreate, EntryPublic, EntryUpdate, Visibility
from app.models.heartbeat import DispatcherHeartbeat
from app.models.invite import Invite
from app.models.plan import (
    Plan,
    PlanActor,
    PlanChange,
    PlanChangeKind,
    PlanChangePublic,
    PlanClientEdit,
    PlanConfirm,
    PlanPublic,
    PlanStart,
    PlanState,
    PlanTherapistEdit,
    PlanWords,
)
from app.models.push import PushSubscription
from app.models.rate_limit import RateLimitCounter
from app.models.reminder import (
    OccurrenceKind,
    OccurrenceStatus,
    Reminder,
    ReminderOccurrence,
)
from app.models.session_agenda import AgendaPublic, AgendaUpdate, SessionAgenda
from app.models.template import RecordTemplate, TemplateVersion
from app.models.therapist import EmailVerification, Therapist, TherapistCreate, TherapistPublic
from app.models.voice_note import VoiceNote, VoiceNotePublic

__all__ = [
    "AgendaPublic",
    "AgendaUpdate",
    "Appointment",
    "AppointmentForClient",
    "AppointmentPublic",
    "Assignment",
    "AssignmentChange",
    "AssignmentCreate",
    "AssignmentPublic",
    "AssignmentSettings",
    "AuditEvent",
    "BarrierCheckin",
    "BarrierCreate",
    "BarrierPublic",
    "ChangeKind",
    "Client",
    "ClientPublic",
    "ClientZoneChange",
    "DeviceSession",
    "DispatcherHeartbeat",
    "EmailVerification",
    "Entry",
    "EntryCreate",
    "EntryPublic",
    "EntryUpdate",
    "Frequency",
    "Invite",
    "OccurrenceKind",
    "OccurrenceStatus",
    "Plan",
    "PlanActor",
    "PlanChange",
    "PlanChangeKind",
    "PlanChangePublic",
    "PlanClientEdit",
    "PlanConfirm",
    "PlanPublic",
    "PlanStart",
    "PlanState",
    "PlanTherapistEdit",
    "PlanWords",
    "PushSubscription",
    "RateLimitCounter",
    "Reason",
    "RecordTemplate",
    "Reminder",
    "ReminderOccurrence",
    "Repeat",
    "SessionAgenda",
    "SessionKind",
    "TemplateVersion",
    "Therapist",
    "TherapistCreate",
    "TherapistPublic",
    "Visibility",
    "VoiceNote",
    "VoiceNotePublic",
]
