"""The weekly standard questionnaires, with the official item wording.

PHQ-9 and GAD-7 were developed by Drs. Spitzer, Williams, Kroenke and colleagues
with an educational grant from Pfizer Inc.; no permission is needed to reproduce
or distribute them. Keep the wording as it is: the scores are only comparable
with the published cut-offs when the questions are the same.
"""

from __future__ import annotations

from app.core.i18n import N_
from app.library.base import Json, LibraryTemplate, field, option

FREQUENCY = [
    option("0", N_("Not at all")),
    option("1", N_("Several days")),
    option("2", N_("More than half the days")),
    option("3", N_("Nearly every day")),
]

DIFFICULTY = [
    option("not_difficult", N_("Not difficult at all")),
    option("somewhat", N_("Somewhat difficult")),
    option("very", N_("Very difficult")),
    option("extremely", N_("Extremely difficult")),
]


def _item(number: int, label: str, *, help: str = "") -> Json:
    return field(f"item{number}", "likert", label, required=True, help=help, options=FREQUENCY)


def _difficulty(label: str) -> Json:
    return field("difficulty", "likert", label, options=DIFFICULTY)


PHQ9 = LibraryTemplate(
    slug="phq9",
    title=N_("PHQ-9 mood questionnaire"),
    instructions=N_(
        "Over the last 2 weeks, how often have you been bothered by any of the following "
        "problems? Pick the answer closest to how it has been; there's no need to think "
        "about each one for long. It takes about two minutes, and filled in every week it "
        "shows you and your therapist how things are changing."
    ),
    fields=[
        _item(1, N_("Little interest or pleasure in doing things")),
        _item(2, N_("Feeling down, depressed, or hopeless")),
        _item(3, N_("Trouble falling or staying asleep, or sleeping too much")),
        _item(4, N_("Feeling tired or having little energy")),
        _item(5, N_("Poor appetite or overeating")),
        _item(
            6,
            N_("Feeling bad about yourself — or that you are a failure or have let yourself or your family down"),
        ),
        _item(
            7,
            N_("Trouble concentrating on things, such as reading the newspaper or watching television"),
        ),
        _item(
            8,
            N_(
                "Moving or speaking so slowly that other people could have noticed? Or the "
                "opposite — being so fidgety or restless that you have been moving around a "
                "lot more than usual"
            ),
        ),
        _item(
            9,
            N_("Thoughts that you would be better off dead or of hurting yourself in some way"),
            help=N_(
                "If you are having thoughts like these, you don't have to carry them alone. "
                "Please tell your therapist, and if you might act on them, call your local "
                "emergency number now."
            ),
        ),
        _difficulty(
            N_(
                "If you checked off any problems, how difficult have these problems made it "
                "for you to do your work, take care of things at home, or get along with "
                "other people?"
            )
        ),
    ],
    example={
        "item1": "1",
        "item2": "2",
        "item3": "2",
        "item4": "1",
        "item5": "1",
        "item6": "1",
        "item7": "0",
        "item8": "0",
        "item9": "0",
        "difficulty": "somewhat",
    },
    scoring="phq9",
)

GAD7 = LibraryTemplate(
    slug="gad7",
    title=N_("GAD-7 anxiety questionnaire"),
    instructions=N_(
        "Over the last 2 weeks, how often have you been bothered by the following problems? "
        "Pick the answer closest to how it has been; there's no need to think about each "
        "one for long. It takes about a minute, and filled in every week it shows you and "
        "your therapist how things are changing."
    ),
    fields=[
        _item(1, N_("Feeling nervous, anxious, or on edge")),
        _item(2, N_("Not being able to stop or control worrying")),
        _item(3, N_("Worrying too much about different things")),
        _item(4, N_("Trouble relaxing")),
        _item(5, N_("Being so restless that it is hard to sit still")),
        _item(6, N_("Becoming easily annoyed or irritable")),
        _item(7, N_("Feeling afraid, as if something awful might happen")),
        _difficulty(
            N_(
                "If you checked any problems, how difficult have they made it for you to do "
                "your work, take care of things at home, or get along with other people?"
            )
        ),
    ],
    example={
        "item1": "2",
        "item2": "1",
        "item3": "2",
        "item4": "1",
        "item5": "0",
        "item6": "1",
        "item7": "1",
        "difficulty": "somewhat",
    },
    scoring="gad7",
)

QUESTIONNAIRES = (PHQ9, GAD7)
