"""Every router, in the order the app matches them.

One router per module, and the folder is the URL prefix: `therapist/` serves `/t`, `client/`
serves `/c`, `api/` serves `/api/v1`; the modules at the top serve the rest (`/signin`,
`/signup`, `/push`, `/healthz`, the service worker). A new page goes into the module of its
URL, and a new module into ROUTERS below.
"""

from __future__ import annotations

from fastapi import APIRouter

from app.routes import auth, health, pages, push, pwa, signup
from app.routes.api import agenda as api_agenda
from app.routes.api import appointments as api_appointments
from app.routes.api import barriers as api_barriers
from app.routes.api import entries as api_entries
from app.routes.api import me as api_me
from app.routes.api import plans as api_plans
from app.routes.api import push as api_push
from app.routes.api import therapist as api_therapist
from app.routes.api import voice_notes as api_voice_notes
from app.routes.client import agenda as client_agenda
from app.routes.client import assignments as client_assignments
from app.routes.client import barriers as client_barriers
from app.routes.client import entries as client_entries
from app.routes.client import pin as client_pin
from app.routes.client import plans as client_plans
from app.routes.client import privacy as client_privacy
from app.routes.client import progress as client_progress
from app.routes.client import reminders as client_reminders
from app.routes.client import settings as client_settings
from app.routes.client import today as client_today
from app.routes.client import welcome as client_welcome
from app.routes.therapist import appointments as therapist_appointments
from app.routes.therapist import assignments as therapist_assignments
from app.routes.therapist import brief as therapist_brief
from app.routes.therapist import caseload as therapist_caseload
from app.routes.therapist import clients as therapist_clients
from app.routes.therapist import exports as therapist_exports
from app.routes.therapist import plans as therapist_plans
from app.routes.therapist import record_types as therapist_record_types
from app.routes.therapist import settings as therapist_settings

# Matched in this order. The entry API first: phones syncing entries are the busiest path.
# Within a prefix, no two routers' paths overlap, so the rest of the order is by reading.
ROUTERS: list[APIRouter] = [
    api_entries.router,
    api_me.router,
    health.router,
    auth.router,
    signup.router,
    pages.router,
    pwa.router,
    push.router,
    therapist_caseload.router,
    therapist_clients.router,
    therapist_assignments.router,
    therapist_brief.router,
    therapist_appointments.router,
    therapist_record_types.router,
    therapist_exports.router,
    therapist_settings.router,
    therapist_plans.router,
    client_today.router,
    client_entries.router,
    client_barriers.router,
    client_progress.router,
    client_assignments.router,
    client_reminders.router,
    client_welcome.router,
    client_settings.router,
    client_privacy.router,
    client_pin.router,
    client_plans.router,
    client_agenda.router,
    api_therapist.router,
    api_appointments.router,
    api_voice_notes.router,
    api_push.router,
    api_barriers.router,
    api_plans.router,
    api_agenda.router,
]
