"""The choices behind a functional analysis: what came before, what the client did, and what
it did for them right away and later on.

Shared by the ABC record and the urge log, so that both are counted alike
(app/services/functional_analysis.py). Each is a tap, never required: the free text next to
them stays the client's own words and is never sorted into these.

The wording follows the functional analysis of community reinforcement (Meyers & Smith):
who, where and what was going on before; what it gave right away; how it turned out later.
"""

from __future__ import annotations

from app.core.i18n import N_
from app.library.base import Json, field, option

SITUATION = "situation"
PLACE = "place"
PEOPLE = "people"
BEHAVIOUR = "behaviour"
SHORT_TERM = "short_term"
LONG_TERM = "long_term"

SITUATIONS = [
    option("conflict", N_("A disagreement or conflict")),
    option("let_down", N_("Feeling let down, left out or criticised")),
    option("pressure", N_("Pressure or a deadline")),
    option("bored", N_("Bored, or nothing to do")),
    option("tired_unwell", N_("Tired, hungry or unwell")),
    option("memory_worry", N_("A memory or a worry came up")),
    option("reminder", N_("Seeing or passing something that reminded me")),
    option("social", N_("A get-together or a night out")),
    option("good_news", N_("Something good happened")),
    option("other", N_("Something else")),
]

PLACES = [
    option("home", N_("My home")),
    option("work", N_("Work or school")),
    option("someone_elses", N_("Someone else's home")),
    option("out", N_("Out: a shop, café, bar or the street")),
    option("on_the_way", N_("On the way somewhere")),
    option("elsewhere", N_("Somewhere else")),
]

PEOPLE_AROUND = [
    option("alone", N_("No one, I was by myself")),
    option("partner", N_("My partner")),
    option("family", N_("Family")),
    option("friends", N_("Friends")),
    option("work", N_("People from work or school")),
    option("strangers", N_("Strangers")),
    option("remote", N_("Someone online or on the phone")),
]

BEHAVIOURS = [
    option("kept_to_myself", N_("Kept to myself or stayed in")),
    option("avoided", N_("Avoided something or put it off")),
    option("snapped", N_("Argued or snapped at someone")),
    option("drank_used", N_("Drank, smoked or used")),
    option("ate", N_("Ate much more or less than usual")),
    option("screens", N_("Scrolled or watched screens for a long time")),
    option("reassurance", N_("Checked, or asked for reassurance")),
    option("hurt_myself", N_("Hurt myself")),
    option("reached_out", N_("Talked to someone")),
    option("helped_myself", N_("Did something that helps me (a skill, a walk, breathing)")),
    option("other", N_("Something else")),
]

SHORT_TERMS = [
    option("relief", N_("Relief")),
    option("calmer", N_("I felt calmer")),
    option("felt_good", N_("It felt good")),
    option("escaped", N_("It got me out of something hard")),
    option("closer", N_("I felt closer to someone")),
    option("in_control", N_("I felt more in control")),
    option("worse", N_("I felt worse")),
    option("no_change", N_("Nothing changed")),
]

LONG_TERMS = [
    option("guilt", N_("Guilt or shame")),
    option("worse_later", N_("I felt worse later")),
    option("still_there", N_("The problem was still there")),
    option("strain", N_("Strain with someone")),
    option("cost", N_("A cost to my health, money or work")),
    option("better", N_("Things got better")),
    option("proud", N_("Proud of how I handled it")),
    option("no_difference", N_("No difference")),
]

TICK_ANY = N_("Tick any that fit, or skip this.")


def antecedent_fields() -> list[Json]:
    """What came before: what was going on, where, and who was there."""
    return [
        field(SITUATION, "multi_choice", N_("What was going on?"), help=TICK_ANY, options=SITUATIONS),
        field(PLACE, "single_choice", N_("Where were you?"), options=PLACES),
        field(PEOPLE, "multi_choice", N_("Who was there?"), help=TICK_ANY, options=PEOPLE_AROUND),
    ]


def behaviour_field() -> Json:
    return field(BEHAVIOUR, "multi_choice", N_("Which of these fit what you did?"), help=TICK_ANY, options=BEHAVIOURS)


def consequence_fields() -> list[Json]:
    """What it did for the client right away, and how it turned out later."""
    return [
        field(
            SHORT_TERM,
            "multi_choice",
            N_("Right after, what did it do for you?"),
            help=N_("There is usually a good reason at the time for what we do."),
            options=SHORT_TERMS,
        ),
        field(
            LONG_TERM,
            "multi_choice",
            N_("Later on, how did it turn out?"),
            help=N_("You can come back and fill this in once you know."),
            options=LONG_TERMS,
        ),
    ]
