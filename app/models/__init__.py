"""All tables, imported in one place so metadata and Alembic see every one."""

from app.models.assignment import Assignment, AssignmentCreate, AssignmentPublic, Frequency
from app.models.audit import AuditEvent
from app.models.client import Client, ClientPublic
from app.models.device_session import DeviceSession, SessionKind
from app.models.entry import Entry, EntryCreate, EntryPublic, EntryUpdate, Visibility
from app.models.invite import Invite
from app.models.rate_limit import RateLimitCounter
from app.models.template import RecordTemplate, TemplateVersion
from app.models.therapist import Therapist, TherapistCreate, TherapistPublic

__all__ = [
    "Assignment",
    "AssignmentCreate",
    "AssignmentPublic",
    "AuditEvent",
    "Client",
    "ClientPublic",
    "DeviceSession",
    "Entry",
    "EntryCreate",
    "EntryPublic",
    "EntryUpdate",
    "Frequency",
    "Invite",
    "RateLimitCounter",
    "RecordTemplate",
    "SessionKind",
    "TemplateVersion",
    "Therapist",
    "TherapistCreate",
    "TherapistPublic",
    "Visibility",
]
