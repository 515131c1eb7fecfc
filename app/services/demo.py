"""Demo data: a therapist and three clients with six weeks of entries ending today.

`between demo` (and `make run` on an empty database) seeds it so a newcomer has
something real to look at: a diligent client, a patchy one and one who stopped,
each with sessions before and after today (the diligent one with a plan made together
that held, the one who stopped with one that did not). Everything goes through the services,
so the demo obeys the same rules as real use; only the timestamps of history
(when an entry was logged, when a client and their assignments were created) are
moved into the past afterwards.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from app.models import (
    AgendaUpdate,
    Assignment,
    AssignmentCreate,
    BarrierCreate,
    Client,
    Entry,
    EntryCreate,
    Frequency,
    PlanClientEdit,
    RecordTemplate,
    Repeat,
    TemplateVersion,
    Therapist,
    TherapistCreate,
    Visibility,
)
from app.models.barrier import Reason
from app.models.types import utcnow
from app.services import (
    accounts,
    appointments,
    assignments,
    barriers,
    clients,
    day_before,
    entries,
    invites,
    plans,
    record_types,
    reminders,
)

DEMO_EMAIL = "demo@between.example"
DEMO_PASSWORD = "between-demo"
DEMO_THERAPIST = "Robin Demo"
DAYS = 42  # six weeks, ending today
INVITE_CLIENT = "Alex"
RANDOM_SEED = 20240611


@dataclass(frozen=True)
class DemoInfo:
    base_url: str
    email: str
    password: str
    created: bool  # False when the demo was already there and only a new link was issued
    clients: tuple[str, ...]
    entries: int
    invite_client: str
    invite_link: str
    invite_code: str
    invite_expires_at: datetime


def is_empty(session: Session) -> bool:
    """No accounts yet: library templates alone do not count as data."""
    has_therapist = session.exec(select(Therapist.id).limit(1)).first() is not None
    has_client = session.exec(select(Client.id).limit(1)).first() is not None
    return not (has_therapist or has_client)


def seed(
    session: Session,
    *,
    base_url: str,
    now: datetime | None = None,
    invite_hours: int = 72,
    random_seed: int = RANDOM_SEED,
) -> DemoInfo:
    """Create the demo (once) and issue a fresh sign-in link for Alex. The caller commits.

    Run again on a database that already has the demo, it only issues a new link:
    invites are single-use, and the first one is often spent by the time someone
    wants to show the client side again.
    """
    now = now or utcnow()
    therapist = session.exec(select(Therapist).where(Therapist.email == DEMO_EMAIL)).first()
    created = therapist is None
    count = 0
    if therapist is None:
        therapist = accounts.create_therapist(
            session,
            data=TherapistCreate(email=DEMO_EMAIL, display_name=DEMO_THERAPIST, password=DEMO_PASSWORD),
        )
        seeder = _Seeder(session, therapist=therapist, now=now, rng=random.Random(random_seed))
        count = seeder.alex() + seeder.sam() + seeder.jo()
        session.flush()
    alex = session.exec(
        select(Client).where(Client.therapist_id == therapist.id, Client.display_name == INVITE_CLIENT)
    ).first()
    if alex is None:  # renamed or unlinked since the demo was seeded
        alex = clients.create(session, therapist=therapist, display_name=INVITE_CLIENT, timezone=ALEX_TZ)
    issued = invites.issue(session, therapist=therapist, client=alex, hours=invite_hours)
    demo_clients = clients.list_for_therapist(session, therapist_id=therapist.id)
    return DemoInfo(
        base_url=base_url.rstrip("/"),
        email=DEMO_EMAIL,
        password=DEMO_PASSWORD,
        created=created,
        clients=tuple(client.display_name for client in demo_clients),
        entries=count,
        invite_client=alex.display_name,
        invite_link=f"{base_url.rstrip('/')}/invite/{issued.token}",
        invite_code=f"{issued.code[:4]}-{issued.code[4:]}",
        invite_expires_at=issued.invite.expires_at,
    )


def instructions(info: DemoInfo) -> str:
    if info.created:
        head = (
            f"Demo data is ready: {len(info.clients)} clients ({', '.join(info.clients)}) "
            f"with six weeks of records, {info.entries} entries.\n"
            "Each has a session in the next three days, so their pre-session briefs have something to show."
        )
    else:
        head = "The demo is already here; here is a new sign-in link for the client side."
    hours = max(1, round((info.invite_expires_at - utcnow()).total_seconds() / 3600))
    return "\n".join(
        [
            "",
            head,
            "",
            "Sign in as the therapist:",
            f"  {info.base_url}/signin",
            f"  email:    {info.email}",
            f"  password: {info.password}",
            "",
            f"Open this on a phone (or a narrow window) to sign in as {info.invite_client}:",
            f"  {info.invite_link}",
            f"  or go to {info.base_url}/join and type the code {info.invite_code}",
            f"The link works once and for {hours} hours; `between demo` prints a new one.",
            "",
        ]
    )


# --- the three clients ---------------------------------------------------------------------

ALEX_TZ = "Europe/London"
SAM_TZ = "America/New_York"
JO_TZ = "Europe/Madrid"

THOUGHTS: list[dict[str, Any]] = [
    {
        "situation": "Team meeting; my idea was passed over without comment.",
        "automatic_thought": "Nobody takes me seriously here.",
        "emotions": {"sad": 60, "frustrated": 50},
        "evidence_for": "Nobody picked up my point.",
        "evidence_against": "Two people asked me about it afterwards. The agenda was packed.",
        "balanced_thought": "The meeting was rushed; I can send the idea round in writing.",
        "emotions_after": {"sad": 30, "frustrated": 20},
    },
    {
        "situation": "Texted a friend at lunch; no reply by the evening.",
        "automatic_thought": "She's had enough of me.",
        "emotions": {"anxious": 70, "lonely": 50},
        "evidence_against": "She replied within a day last week and said she was snowed under.",
        "balanced_thought": "She's busy. A slow reply is not a verdict on me.",
        "emotions_after": {"anxious": 35, "lonely": 30},
    },
    {
        "situation": "Made a typo in an email to a client.",
        "automatic_thought": "I'm so careless, they'll think I'm incompetent.",
        "emotions": {"ashamed": 65, "anxious": 55},
        "evidence_for": "It was a visible mistake.",
        "evidence_against": "The client answered the question and didn't mention it.",
        "balanced_thought": "Everybody makes typos. One slip doesn't undo years of good work.",
        "emotions_after": {"ashamed": 25, "anxious": 20},
    },
    {
        "situation": "Sunday evening, thinking about the week ahead.",
        "automatic_thought": "I won't cope with everything that's coming.",
        "emotions": {"anxious": 75, "hopeless": 30},
        "balanced_thought": "I coped last week. I can plan Monday and take it a day at a time.",
        "emotions_after": {"anxious": 40},
    },
    {
        "situation": "My sister cancelled our call.",
        "automatic_thought": "I'm always the one who makes the effort.",
        "emotions": {"hurt": 55, "angry": 35},
        "evidence_against": "She rang twice last month. Her kids are ill.",
        "balanced_thought": "She has a lot on. I can tell her I miss our calls.",
        "emotions_after": {"hurt": 30, "angry": 10},
    },
    {
        "situation": "Skipped the gym after work.",
        "automatic_thought": "I never stick to anything.",
        "emotions": {"guilty": 50, "sad": 40},
        "evidence_against": "I went three times last week and kept this record going for weeks.",
        "balanced_thought": "Missing one session is a normal part of keeping a habit.",
        "emotions_after": {"guilty": 20, "sad": 20},
    },
]

ALEX_NOTES = [
    "Good walk at lunch.",
    "Long day but OK.",
    "Cooked with friends.",
    "Tired.",
    "Slept well.",
]
SAM_NOTES = [
    "Busy shift.",
    "Stayed in.",
    "Saw my cousin.",
    "Headache all day.",
    "Not much happened.",
]
SAM_DISCUSS = [
    "Argument with my brother about money again. I want to talk this through.",
    "Nearly didn't go to work today. Can we talk about mornings?",
    "Felt flat all weekend and I don't know why.",
]
SAM_TRIGGERS = [
    "Coffee break at work",
    "After an argument",
    "Friends smoking outside",
    "Bored in the evening",
]
# What came before Sam's urges, as Sam ticks it: (what was going on, where, who was there).
# Evenings at home after a hard day stand out in the brief's functional analysis.
SAM_CIRCUMSTANCES = {
    "Coffee break at work": (["pressure"], "work", ["work"]),
    "After an argument": (["conflict"], "home", ["partner"]),
    "Friends smoking outside": (["reminder", "social"], "out", ["friends"]),
    "Bored in the evening": (["bored"], "home", ["alone"]),
}
# Sam's ABC records, fixed rather than drawn so that the brief's "What comes before and after"
# shows one clear chain: evenings at home alone after a hard day, smoking or shutting in, relief
# right away and worse later; and once (to discuss) reaching out instead.
# (days ago, local time, A, B, the ticks: what was going on / where / who / did / right away / later on)
SAM_ABC = [
    (
        26,
        "19:10",
        "The deadline moved up; I got home late to an empty flat.",
        "I'll never keep up.",
        "pressure / home / alone / kept_to_myself drank_used / relief / worse_later",
    ),
    (
        24,
        "20:30",
        "My brother didn't call back about the weekend.",
        "He has better things to do.",
        "let_down / home / alone / screens / escaped / still_there",
    ),
    (
        21,
        "18:05",
        "The meeting ran over and my manager picked at my report.",
        "I'm not good enough for this job.",
        "pressure let_down / work / work / avoided / relief / still_there",
    ),
    (
        19,
        "21:00",
        "Nothing planned all evening.",
        "What's the point of trying.",
        "bored / home / alone / drank_used screens / felt_good / guilt",
    ),
    (
        12,
        "19:45",
        "An argument with my partner about money.",
        "I always mess things up.",
        "conflict / home / partner / snapped kept_to_myself / escaped / strain guilt",
    ),
    (
        10,
        "20:15",
        "A quiet evening after a hard week.",
        "I deserve a break from all of it.",
        "bored pressure / home / alone / drank_used / relief / worse_later",
    ),
    (
        6,
        "19:30",
        "Friends asked me out; I said no and stayed in.",
        "They only asked to be nice.",
        "social / home / alone / kept_to_myself / relief / worse_later",
    ),
    (
        4,
        "18:50",
        "A letter from the landlord about the rent.",
        "This is going to fall apart.",
        "memory_worry pressure / home / alone / reached_out helped_myself / calmer / proud",
    ),
    (
        2,
        "20:40",
        "A long shift, then the flat was quiet.",
        "Nobody would notice if I gave up.",
        "pressure bored / home / alone / drank_used / relief / guilt",
    ),
]
JO_NOTES = [
    "Stayed in bed until noon.",
    "Didn't feel like seeing anyone.",
    "Work was hard to face.",
    "Cancelled plans again.",
]


@dataclass(frozen=True)
class _Assigned:
    client: Client
    assignment: Assignment
    version: TemplateVersion


class _Seeder:
    def __init__(self, session: Session, *, therapist: Therapist, now: datetime, rng: random.Random) -> None:
        self.session = session
        self.therapist = therapist
        self.now = now
        self.rng = rng
        self.start = now - timedelta(days=DAYS + 1)

    # Alex: logs the mood every evening, a thought record a few times a week and the
    # PHQ-9 each week, in the moment; the scores improve over the six weeks.
    def alex(self) -> int:
        client = self._client("Alex", ALEX_TZ)
        mood = self._assign(
            client,
            "mood_log",
            instructions="A quick tap each evening, and whenever your mood shifts a lot.",
            proposed_times=["21:00"],
        )
        thoughts = self._assign(
            client,
            "thought_record",
            instructions="When you notice a sudden drop in mood. Three a week is plenty.",
            frequency=Frequency.as_it_happens,
        )
        phq9 = self._assign(
            client,
            "phq9",
            instructions="Once a week, on the same evening.",
            frequency=Frequency.weekly,
            proposed_times=["19:00"],
        )
        self._sessions(client, first_days_ago=41, minute_of_day=17 * 60)
        count = 0
        for days_ago in range(DAYS - 1, -1, -1):
            progress = 1 - days_ago / DAYS
            if self.rng.random() < 0.95:
                level = 4 + 3 * progress + self.rng.gauss(0, 0.9)
                count += self._mood(mood, days_ago, level, hour=20, notes=ALEX_NOTES)
            if self.rng.random() < 0.2:
                count += self._mood(mood, days_ago, 5 + 2 * progress + self.rng.gauss(0, 1), hour=13)
        for week in range(DAYS // 7):
            for days_ago in self.rng.sample(range(week * 7, week * 7 + 7), 3):
                scenario = self.rng.choice(THOUGHTS)
                when = self._at(client, days_ago, self.rng.randint(11 * 60, 19 * 60))
                count += self._log(thoughts, scenario, when, delay=self._minutes(5, 60))
        for n, days_ago in enumerate(range(DAYS - 1, -1, -7)):
            answers = self._questionnaire(phq9, total=14 - 2 * n + self.rng.randint(-1, 1), last_item=0)
            count += self._log(phq9, answers, self._at(client, days_ago, 19 * 60 + 10), delay=self._minutes(1, 5))
        # Made together three sessions ago; it held (the brief says so).
        self._plan(
            mood,
            days_ago=20,
            minute_of_day=17 * 60 + 40,
            times=["21:00"],
            cue="I put the kettle on after dinner",
            action="tap my mood in Between while it boils",
            obstacle="I'm out with friends",
            obstacle_plan="tap it on the way home",
            why="I want to see the good days too, not only the bad ones.",
        )
        self._alex_day_before(client, thoughts)
        return count

    def _alex_day_before(self, client: Client, thoughts: _Assigned) -> None:
        """Alex's next session is tomorrow: the thought records since the last one picked to
        bring (the first and the latest), and a note for the session."""
        since = self._at(client, 6, 17 * 60)
        rows = self.session.exec(
            select(Entry.id)
            .where(Entry.assignment_id == thoughts.assignment.id, Entry.occurred_at >= since)
            .order_by(col(Entry.occurred_at))
        ).all()
        picks = list(dict.fromkeys([rows[0], rows[-1]])) if rows else []
        note = "The presentation on Thursday went better than I feared. I'd like to start there."
        day_before.save(self.session, client=client, data=AgendaUpdate(picks=picks, note=note), now=self.now)

    # Sam: gaps of several days, "nothing to report" on the urge log, evenings
    # filled in the next day, a few entries for the session agenda, one private.
    def sam(self) -> int:
        client = self._client("Sam", SAM_TZ)
        mood = self._assign(
            client,
            "mood_log",
            instructions="Once a day, whenever suits you.",
            proposed_times=["20:00"],
        )
        urges = self._assign(
            client,
            "urge_log",
            instructions="Each evening: log any urge to smoke, or tap 'nothing to report'.",
            # An evening check-in, every day (urge logs are otherwise kept as they happen).
            frequency=Frequency.daily,
            proposed_times=["21:30"],
        )
        gad7 = self._assign(client, "gad7", frequency=Frequency.weekly, proposed_times=["10:00"])
        self._sessions(client, first_days_ago=40, minute_of_day=18 * 60)
        gaps = {*range(27, 31), *range(13, 18), 7, 8, 1}
        discuss_days, private_day, urge_discuss_day = (33, 19, 4), 24, 2
        # Evenings only remembered the next day; the last one falls after the last session.
        backfill_days = {36, 22, 11, 3}
        # Urge logs left undone since the last session: Sam says why (see _sam_barriers).
        skipped_urges = {4, 3}
        chosen = {*discuss_days, private_day, urge_discuss_day, *backfill_days}
        count = 0
        discuss = list(SAM_DISCUSS)
        for days_ago in range(DAYS - 1, -1, -1):
            if days_ago not in chosen and (days_ago in gaps or self.rng.random() < 0.3):
                continue
            late = days_ago in backfill_days
            delay = self._minutes(14 * 60, 30 * 60) if late else self._minutes(0, 20)
            level = 5 + self.rng.gauss(0, 1.6)
            visibility = Visibility.shared
            note: str | None = self.rng.choice(SAM_NOTES) if self.rng.random() < 0.3 else None
            if days_ago in discuss_days:
                visibility, note = Visibility.discuss, discuss.pop(0)
                level -= 2
            elif days_ago == private_day:
                visibility, note = Visibility.private, "Something I'm not ready to share yet."
            count += self._mood(mood, days_ago, level, hour=19, note=note, delay=delay, visibility=visibility)
            if days_ago == urge_discuss_day:
                count += self._urge(urges, days_ago, delay=delay, visibility=Visibility.discuss)
            elif days_ago not in skipped_urges and self.rng.random() < 0.8:
                count += self._urge(urges, days_ago, delay=delay, visibility=Visibility.shared)
        for days_ago, total in ((40, 12), (33, 11), (19, 13), (5, 10)):
            answers = self._questionnaire(gad7, total=total)
            count += self._log(gad7, answers, self._at(client, days_ago, 10 * 60 + 30), delay=self._minutes(0, 90))
        self._sam_barriers(mood, urges)
        return count + self._sam_abc(client)

    def _sam_abc(self, client: Client) -> int:
        """Sam's ABC records (SAM_ABC); the evening Sam reached out instead is marked to discuss."""
        abc = self._assign(
            client,
            "abc_record",
            instructions="When a craving or a low evening hits hard: what happened, what you told yourself, and after.",
            frequency=Frequency.as_it_happens,
        )
        count = 0
        for days_ago, clock, event, belief, ticks in SAM_ABC:
            situation, place, people, did, right_away, later = (part.split() for part in ticks.split(" / "))
            answers = {
                "activating_event": event,
                "situation": situation,
                "place": place[0],
                "people": people,
                "beliefs": belief,
                "behaviour": did,
                "short_term": right_away,
                "long_term": later,
            }
            visibility = Visibility.discuss if "reached_out" in did else Visibility.shared
            hour, minute = (int(part) for part in clock.split(":"))
            when = self._at(client, days_ago, hour * 60 + minute)
            count += self._log(abc, answers, when, delay=timedelta(minutes=25), visibility=visibility)
        return count

    def _sam_barriers(self, mood: _Assigned, urges: _Assigned) -> None:
        """What got in the way, in Sam's words: since the last session (five days ago) the
        urge log three times "too upsetting to write about", and a mood log done but not
        written down; earlier a day forgotten and one kept private."""
        today = self.now.astimezone(ZoneInfo(mood.client.timezone)).date()
        for assigned, days_ago, reason, visibility, note, did_it in (
            (urges, 4, Reason.too_upsetting, Visibility.shared, "", False),
            (urges, 3, Reason.too_upsetting, Visibility.discuss, "Writing the urges down makes them louder.", False),
            (urges, 1, Reason.too_upsetting, Visibility.shared, "", False),
            (mood, 1, None, Visibility.shared, "", True),
            (mood, 8, Reason.forgot, Visibility.shared, "", False),
            (mood, 7, Reason.not_up_to_it, Visibility.private, "A bad day. I just wanted it to end.", False),
        ):
            barriers.record(
                self.session,
                client=mood.client,
                data=BarrierCreate(
                    id=uuid.uuid4(),
                    assignment_id=assigned.assignment.id,
                    day=today - timedelta(days=days_ago),
                    reason=reason,
                    did_it_unrecorded=did_it,
                    note=note,
                    visibility=visibility,
                ),
                now=self.now,
            )

    # Jo: regular at first, then fading, and silent for the last two weeks; the last
    # PHQ-9 is the worst and answers item 9 above zero, so the risk flag shows.
    def jo(self) -> int:
        client = self._client("Jo", JO_TZ)
        mood = self._assign(client, "mood_log", proposed_times=["09:00", "21:00"])
        sleep = self._assign(
            client,
            "sleep_diary",
            instructions="Each morning, soon after you get up.",
            proposed_times=["08:30"],
        )
        phq9 = self._assign(client, "phq9", frequency=Frequency.weekly, proposed_times=["18:00"])
        last_day = 14
        # Fortnightly so far, the last one just before the records stopped, so the brief
        # for tomorrow's session covers the silence and the risk answer.
        for days_ago in (42, 28, last_day + 2):
            self._sessions(client, first_days_ago=days_ago, minute_of_day=10 * 60, repeat=Repeat.none)
        self._sessions(client, first_days_ago=-1, minute_of_day=12 * 60, repeat=Repeat.none)
        count = 0
        for days_ago in range(DAYS - 1, last_day - 1, -1):
            fading = days_ago < 24  # the last ten days before stopping
            if self.rng.random() < (0.55 if fading else 0.9):
                level = 3 + 3 * (days_ago - last_day) / (DAYS - last_day) + self.rng.gauss(0, 0.8)
                notes = JO_NOTES if fading else None
                count += self._mood(mood, days_ago, level, hour=21, notes=notes)
            if self.rng.random() < (0.4 if fading else 0.8):
                count += self._sleep(sleep, days_ago, poor=fading)
        for n, days_ago in enumerate((41, 35, 28, 21, last_day)):
            final = days_ago == last_day
            answers = self._questionnaire(phq9, total=11 + 2 * n, last_item=1 if final else 0)
            count += self._log(phq9, answers, self._at(client, days_ago, 18 * 60 + 20), delay=self._minutes(1, 10))
        # Made together at the session four weeks ago, just before the records faded: it did not hold.
        self._plan(
            sleep,
            days_ago=28,
            minute_of_day=10 * 60 + 40,
            times=["08:30"],
            cue="I switch off the alarm",
            action="fill in the sleep diary before I get up",
            obstacle="I oversleep and have to rush",
            obstacle_plan="fill it in on the bus",
            why="Sleeping properly again is the first thing I want back.",
        )
        return count

    # --- building blocks ---------------------------------------------------------------------

    def _client(self, name: str, timezone: str) -> Client:
        client = clients.create(self.session, therapist=self.therapist, display_name=name, timezone=timezone)
        # Dated back so that "since the start" covers the whole six weeks of history.
        client.created_at = self.start
        self.session.add(client)
        return client

    def _assign(self, client: Client, slug: str, **options: Any) -> _Assigned:
        template = self.session.exec(select(RecordTemplate).where(RecordTemplate.slug == slug)).first()
        if template is None:
            raise RuntimeError(f"library template {slug!r} is missing: run `between migrate` first")
        assignment = assignments.assign(
            self.session,
            therapist=self.therapist,
            client=client,
            data=AssignmentCreate(template_id=template.id, **options),
        )
        assignment.created_at = self.start
        self.session.add(assignment)
        version = record_types.current_version(self.session, template=template)
        return _Assigned(client=client, assignment=assignment, version=version)

    def _plan(self, assigned: _Assigned, *, days_ago: int, minute_of_day: int, times: list[str], **words: str) -> None:
        """A plan made together in the session `days_ago` days ago and confirmed on the phone then."""
        client, at = assigned.client, self._at(assigned.client, days_ago, minute_of_day)
        plan, _new = plans.start(
            self.session, therapist=self.therapist, client=client, assignment_id=assigned.assignment.id, now=at
        )
        edit = PlanClientEdit.model_validate({"times": times, **words})
        plans.edit_as_client(self.session, client=client, plan_id=plan.id, data=edit, now=at + timedelta(minutes=4))
        plans.confirm(self.session, client=client, plan_id=plan.id, now=at + timedelta(minutes=6))
        # Reminders ring from today on, not from the day of that session.
        reminder = reminders.for_assignment(self.session, assignment_id=assigned.assignment.id)
        if reminder is not None:
            self.session.add(reminders.reschedule(reminder, client, now=self.now))

    def _sessions(
        self, client: Client, *, first_days_ago: int, minute_of_day: int, repeat: Repeat = Repeat.weekly
    ) -> None:
        """Sessions from `first_days_ago` on (weekly ones continue into the future)."""
        starts_at = self._at(client, first_days_ago, minute_of_day)
        appointments.schedule(
            self.session,
            therapist=self.therapist,
            client_id=client.id,
            starts_at=starts_at,
            timezone=client.timezone,
            repeat=repeat,
            # The service refuses times in the past; history is scheduled as of back then.
            now=min(self.now, starts_at - timedelta(hours=1)),
        )

    def _at(self, client: Client, days_ago: int, minute_of_day: int) -> datetime:
        """A local wall-clock time on the client's day `days_ago` days before today (negative: ahead)."""
        zone = ZoneInfo(client.timezone)
        today: date = self.now.astimezone(zone).date()
        day = today - timedelta(days=days_ago)
        local = datetime.combine(day, time(minute_of_day // 60 % 24, minute_of_day % 60), tzinfo=zone)
        return local.astimezone(UTC)

    def _minutes(self, low: int, high: int) -> timedelta:
        return timedelta(minutes=self.rng.randint(low, high))

    def _log(
        self,
        assigned: _Assigned,
        answers: dict[str, Any],
        occurred_at: datetime,
        *,
        delay: timedelta,
        visibility: Visibility = Visibility.shared,
        nothing_to_report: bool = False,
    ) -> int:
        """Store one entry as if logged `delay` after the event; nothing if it lies ahead."""
        if occurred_at > self.now:
            return 0
        saved = entries.create(
            self.session,
            client=assigned.client,
            data=EntryCreate(
                id=uuid.uuid4(),
                assignment_id=assigned.assignment.id,
                template_version_id=assigned.version.id,
                answers={} if nothing_to_report else _fit(assigned.version, answers),
                nothing_to_report=nothing_to_report,
                visibility=visibility,
                occurred_at=occurred_at,
            ),
        )
        # The service stamps logged_at with the present; history was logged back then.
        entry = saved.entry
        entry.logged_at = entry.updated_at = min(occurred_at + delay, self.now)
        self.session.add(entry)
        return 1

    def _mood(
        self,
        assigned: _Assigned,
        days_ago: int,
        level: float,
        *,
        hour: int,
        notes: list[str] | None = None,
        note: str | None = None,
        delay: timedelta | None = None,
        visibility: Visibility = Visibility.shared,
    ) -> int:
        mood = max(0, min(10, round(level)))
        if note is None and notes and self.rng.random() < 0.35:
            note = self.rng.choice(notes)
        emotions = None
        if self.rng.random() < 0.4:
            name = self.rng.choice(["sad", "anxious", "lonely"] if mood <= 4 else ["calm", "content", "hopeful"])
            emotions = {name: self.rng.randrange(30, 90, 10)}
        when = self._at(assigned.client, days_ago, hour * 60 + self.rng.randint(0, 119))
        return self._log(
            assigned,
            # None drops the template's example value for an optional field.
            {"mood": mood, "emotions": emotions, "note": note},
            when,
            delay=self._minutes(0, 4) if delay is None else delay,
            visibility=visibility,
        )

    def _urge(self, assigned: _Assigned, days_ago: int, *, delay: timedelta, visibility: Visibility) -> int:
        when = self._at(assigned.client, days_ago, 21 * 60 + self.rng.randint(0, 90))
        if visibility is Visibility.shared and self.rng.random() < 0.45:
            return self._log(assigned, {}, when, delay=delay, nothing_to_report=True)
        intensity = 8 if visibility is Visibility.discuss else self.rng.randint(4, 9)
        trigger = self.rng.choice(SAM_TRIGGERS)
        situation, place, people = SAM_CIRCUMSTANCES[trigger]
        acted = intensity >= 7
        answers = {
            "urge_type": "smoking",
            "intensity": intensity,
            "trigger": trigger,
            "situation": situation,
            "place": place,
            "people": people,
            "what_i_did": "Had one." if acted else "Went for a walk round the block.",
            "acted_on": acted,
            "duration": self.rng.randrange(5, 45, 5),
            # Relief now and guilt later when acted on; calmer and proud when ridden out.
            "short_term": ["relief"] if acted else ["calmer", "in_control"],
            "long_term": ["guilt", "still_there"] if acted else ["proud"],
        }
        return self._log(
            assigned,
            answers,
            when - timedelta(hours=2),
            delay=delay + timedelta(hours=2),
            visibility=visibility,
        )

    def _sleep(self, assigned: _Assigned, days_ago: int, *, poor: bool) -> int:
        bed = 23 * 60 + self.rng.randint(-40, 100 if poor else 40)
        answers = {
            "bedtime": f"{bed // 60 % 24:02d}:{bed % 60:02d}",
            "time_to_fall_asleep": self.rng.randrange(30, 120, 10) if poor else self.rng.randrange(10, 40, 5),
            "awakenings": self.rng.randint(2, 5) if poor else self.rng.randint(0, 2),
            "wake_time": f"{self.rng.randint(6, 9):02d}:{self.rng.randrange(0, 60, 15):02d}",
            "quality": self.rng.randint(1, 4) if poor else self.rng.randint(5, 8),
            "naps": self.rng.randrange(20, 90, 10) if poor and self.rng.random() < 0.5 else None,
        }
        when = self._at(assigned.client, days_ago, 9 * 60 + self.rng.randint(0, 60))
        return self._log(assigned, answers, when, delay=self._minutes(0, 10))

    def _questionnaire(self, assigned: _Assigned, *, total: int, last_item: int | None = None) -> dict[str, Any]:
        """Spread a total score over the items (0 to 3 each); `last_item` fixes the final one."""
        items = sorted(
            (field for field in assigned.version.fields if _ITEM.match(field["key"])),
            key=lambda field: int(field["key"][4:]),
        )
        levels = [0] * len(items)
        free = list(range(len(items) - 1)) if last_item is not None else list(range(len(items)))
        if last_item is not None:
            levels[-1] = last_item
        remaining = max(0, min(total - (last_item or 0), 3 * len(free)))
        while remaining:
            index = self.rng.choice([i for i in free if levels[i] < 3])
            levels[index] += 1
            remaining -= 1
        answers: dict[str, Any] = {
            field["key"]: field["options"][level]["value"] for field, level in zip(items, levels, strict=True)
        }
        for field in assigned.version.fields:
            if field["key"] == "difficulty":
                options = field["options"]
                answers["difficulty"] = options[min(len(options) - 1, sum(levels) // 6)]["value"]
        return answers


_ITEM = re.compile(r"^item\d+$")


def _fit(version: TemplateVersion, answers: dict[str, Any]) -> dict[str, Any]:
    """Keep the answers the form has; a required one the demo leaves out comes from the example.

    The example always validates, so a library edit that adds a required field does
    not break the demo. None leaves an optional field unanswered.
    """
    fitted: dict[str, Any] = {}
    for field in version.fields:
        key = field["key"]
        value = answers.get(key)
        if value is None and field.get("required"):
            value = version.example.get(key)
        if value is not None:
            fitted[key] = value
    return fitted
