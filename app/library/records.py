"""Everyday self-records: mood, thoughts, sleep, urges, exposures and free notes."""

from __future__ import annotations

from app.core.i18n import N_
from app.library.base import Json, LibraryTemplate, field, option
from app.library.circumstances import antecedent_fields, behaviour_field, consequence_fields

EMOTIONS = [
    option("sad", N_("Sad")),
    option("anxious", N_("Anxious")),
    option("afraid", N_("Afraid")),
    option("angry", N_("Angry")),
    option("frustrated", N_("Frustrated")),
    option("ashamed", N_("Ashamed")),
    option("guilty", N_("Guilty")),
    option("hurt", N_("Hurt")),
    option("lonely", N_("Lonely")),
    option("hopeless", N_("Hopeless")),
    option("jealous", N_("Jealous")),
    option("disgusted", N_("Disgusted")),
    option("calm", N_("Calm")),
    option("content", N_("Content")),
    option("happy", N_("Happy")),
    option("hopeful", N_("Hopeful")),
    option("proud", N_("Proud")),
]

# What the client was doing when they logged their mood: a tap each, never required.
ACTIVITIES = [
    option("work", N_("Working or studying")),
    option("chores", N_("Chores or errands")),
    option("people", N_("With friends or family")),
    option("alone", N_("On my own")),
    option("resting", N_("Resting")),
    option("moving", N_("Moving: a walk, sport, dancing")),
    option("outdoors", N_("Outside")),
    option("screens", N_("On my phone or watching something")),
    option("hobby", N_("Something I enjoy")),
    option("eating", N_("Eating")),
    option("on_the_way", N_("On the way somewhere")),
    option("in_bed", N_("In bed")),
]

# Thinking traps (cognitive distortions) in plain words, for the thought record.
THINKING_TRAPS = [
    option("all_or_nothing", N_("All or nothing")),
    option("catastrophising", N_("Expecting the worst")),
    option("mind_reading", N_("Mind reading")),
    option("fortune_telling", N_("Predicting the future")),
    option("overgeneralising", N_("Always or never")),
    option("labelling", N_("Labelling")),
    option("shoulds", N_("Shoulds and musts")),
    option("emotional_reasoning", N_("I feel it, so it must be true")),
    option("discounting_positive", N_("Discounting the good")),
    option("personalising", N_("Blaming myself for everything")),
    option("mental_filter", N_("Only seeing the bad")),
]

EMOTION_HELP = N_("Pick each feeling and how strong it was, from 0 (barely there) to 100 (the strongest ever).")

MOOD_LOG = LibraryTemplate(
    slug="mood_log",
    title=N_("Mood log"),
    instructions=N_(
        "Whenever you think of it, tap how your mood is right now: 0 is the lowest you can "
        "imagine, 10 the best. The number alone is plenty. If you like, add a feeling or a "
        "few words. Over a few weeks, you and your therapist can see what lifts your mood "
        "and what weighs it down."
    ),
    fields=[
        field(
            "mood",
            "scale",
            N_("How is your mood right now?"),
            required=True,
            min=0,
            max=10,
            min_label=N_("Very low"),
            max_label=N_("Very good"),
        ),
        field(
            "emotions",
            "emotion",
            N_("Any feelings you notice?"),
            help=EMOTION_HELP,
            options=EMOTIONS,
        ),
        field(
            "activities",
            "multi_choice",
            N_("What were you doing?"),
            help=N_("Tick any that fit, or skip this. My patterns uses them to show what goes with your mood."),
            options=ACTIVITIES,
        ),
        field(
            "note",
            "short_text",
            N_("Anything you want to remember about now?"),
            help=N_("Add your own #tags, like #family or #rain, to see them in My patterns."),
        ),
    ],
    example={
        "mood": 6,
        "emotions": {"calm": 60},
        "activities": ["people", "outdoors"],
        "note": N_("Went for a walk at lunch with a friend. #walk"),
    },
)

THOUGHT_RECORD = LibraryTemplate(
    slug="thought_record",
    title=N_("Thought record"),
    instructions=N_(
        "When your mood shifts, write down what was happening and what went through your "
        "mind. Then look at the thought from a few sides, the way a fair friend would. "
        "The first three questions are the heart of it: fill in the rest when you can, "
        "or bring it to your session. There are no wrong answers; this is about noticing, "
        "not judging yourself."
    ),
    fields=[
        field(
            "situation",
            "long_text",
            N_("What was happening?"),
            required=True,
            help=N_("Where you were, who was there, what you were doing. Just the facts, as a camera would see them."),
            max_length=2000,
        ),
        field(
            "automatic_thought",
            "long_text",
            N_("What went through your mind?"),
            required=True,
            help=N_("The thought or picture that popped up. If there were several, pick the one that hit hardest."),
            max_length=2000,
        ),
        field(
            "emotions",
            "emotion",
            N_("What did you feel, and how strongly?"),
            required=True,
            help=EMOTION_HELP,
            options=EMOTIONS,
        ),
        field(
            "belief_before",
            "scale",
            N_("How much did you believe it, from 0 to 100 %?"),
            min=0,
            max=100,
            min_label=N_("Not at all"),
            max_label=N_("Completely"),
        ),
        field(
            "evidence_for",
            "long_text",
            N_("What supports the thought?"),
            help=N_("Facts that fit the thought, not guesses or feelings."),
            max_length=2000,
        ),
        field(
            "thinking_traps",
            "multi_choice",
            N_("Any thinking traps you notice in the thought?"),
            help=N_("Tick any that fit, or skip this. Everyone falls into them."),
            options=THINKING_TRAPS,
        ),
        field(
            "evidence_against",
            "long_text",
            N_("What doesn't fit the thought?"),
            help=N_("What would you tell a friend who had this thought? Has there been a time it wasn't true?"),
            max_length=2000,
        ),
        field(
            "balanced_thought",
            "long_text",
            N_("A more balanced way to see it"),
            help=N_(
                "A thought that takes all of the evidence into account. It doesn't have to be positive, just fair."
            ),
            max_length=2000,
        ),
        field(
            "belief_after",
            "scale",
            N_("How much do you believe the first thought now, from 0 to 100 %?"),
            min=0,
            max=100,
            min_label=N_("Not at all"),
            max_label=N_("Completely"),
        ),
        field(
            "emotions_after",
            "emotion",
            N_("How strong are those feelings now?"),
            help=N_("Rate the same feelings again, from 0 to 100."),
            options=EMOTIONS,
            rerates="emotions",
        ),
    ],
    example={
        "situation": N_("My manager walked past my desk this morning without saying hello."),
        "automatic_thought": N_("She's unhappy with my work and I'm going to lose my job."),
        "belief_before": 80,
        "emotions": {"anxious": 80, "sad": 50},
        "evidence_for": N_("She asked me to redo a report last month."),
        "evidence_against": N_(
            "She praised my presentation last week. She was on the phone and looked busy. "
            "She doesn't greet anyone when she is rushing."
        ),
        "balanced_thought": N_(
            "She was probably busy. One redone report doesn't mean my job is at risk, and I "
            "can ask her for feedback if I keep worrying."
        ),
        "thinking_traps": ["catastrophising", "mind_reading"],
        "belief_after": 35,
        "emotions_after": {"anxious": 40, "sad": 20},
    },
    follows_events=True,
    # The alternative thought, and the feelings rated again after it.
    work=("balanced_thought", "emotions_after"),
)

ABC_RECORD = LibraryTemplate(
    slug="abc_record",
    title=N_("ABC record"),
    instructions=N_(
        "Use this when something upsets you. A is what happened, B is what you told "
        "yourself about it, and C is how you felt and what you did. Writing the three apart "
        "helps you see that it is often B, the thought, that shapes C. Short notes are enough."
    ),
    fields=[
        field(
            "activating_event",
            "long_text",
            N_("A: What happened?"),
            required=True,
            help=N_("The event or trigger: what happened, where and with whom. Just the facts."),
            max_length=2000,
        ),
        *antecedent_fields(),
        field(
            "beliefs",
            "long_text",
            N_("B: What did you tell yourself about it?"),
            required=True,
            help=N_("Your thoughts, beliefs or what you made it mean."),
            max_length=2000,
        ),
        field(
            "consequence_emotions",
            "emotion",
            N_("C: How did you feel?"),
            help=EMOTION_HELP,
            options=EMOTIONS,
        ),
        field(
            "consequence_behaviour",
            "long_text",
            N_("C: What did you do?"),
            help=N_("What you did afterwards, or felt like doing."),
            max_length=2000,
        ),
        behaviour_field(),
        *consequence_fields(),
    ],
    example={
        "activating_event": N_("A friend cancelled our dinner plans an hour before."),
        "situation": ["let_down"],
        "place": "home",
        "people": ["alone"],
        "beliefs": N_("She doesn't really want to spend time with me. Nobody does."),
        "consequence_emotions": {"hurt": 70, "lonely": 60},
        "consequence_behaviour": N_("Stayed in, skipped dinner and didn't answer her message."),
        "behaviour": ["kept_to_myself"],
        "short_term": ["escaped"],
        "long_term": ["worse_later", "strain"],
    },
    follows_events=True,
    # C: how it felt and what was done.
    work=("consequence_emotions", "consequence_behaviour"),
)

SLEEP_DIARY = LibraryTemplate(
    slug="sleep_diary",
    title=N_("Sleep diary"),
    instructions=N_(
        "Fill this in each morning, soon after you get up, while the night is still fresh. "
        "Rough guesses are fine: please don't watch the clock at night to get it exact. "
        "A week or two of mornings shows patterns that one night can't."
    ),
    fields=[
        field("bedtime", "time_of_day", N_("What time did you go to bed?"), required=True),
        field(
            "time_to_fall_asleep",
            "duration",
            N_("About how long did it take you to fall asleep?"),
            max_minutes=12 * 60,
        ),
        field(
            "awakenings",
            "number",
            N_("How many times did you wake up during the night?"),
            min=0,
            max=50,
            integer=True,
        ),
        field(
            "awake_in_night",
            "duration",
            N_("About how long were you awake during the night, in total?"),
            help=N_("A rough guess is fine. Leave it empty if you don't know."),
            max_minutes=12 * 60,
        ),
        field("wake_time", "time_of_day", N_("What time did you wake up for the day?"), required=True),
        field(
            "quality",
            "scale",
            N_("How well did you sleep?"),
            required=True,
            min=0,
            max=10,
            min_label=N_("Very poorly"),
            max_label=N_("Very well"),
        ),
        field(
            "naps",
            "duration",
            N_("Naps yesterday, in total"),
            help=N_("Leave it empty if you didn't nap."),
            max_minutes=12 * 60,
        ),
    ],
    example={
        "bedtime": "23:15",
        "time_to_fall_asleep": 40,
        "awakenings": 2,
        "awake_in_night": 30,
        "wake_time": "06:45",
        "quality": 5,
        "naps": 20,
    },
)

DBT_SKILLS = [
    option("wise_mind", N_("Wise mind")),
    option("observe_describe", N_("Observe and describe")),
    option("opposite_action", N_("Opposite action")),
    option("check_the_facts", N_("Check the facts")),
    option("please", N_("PLEASE (looking after my body)")),
    option("tipp", N_("TIPP")),
    option("distract", N_("Distract (ACCEPTS)")),
    option("self_soothe", N_("Self-soothe")),
    option("pros_and_cons", N_("Pros and cons")),
    option("radical_acceptance", N_("Radical acceptance")),
    option("dear_man", N_("DEAR MAN")),
    option("give_fast", N_("GIVE / FAST")),
]


def _zero_to_five(key: str, label: str, *, required: bool = False) -> Json:
    return field(
        key,
        "scale",
        label,
        required=required,
        min=0,
        max=5,
        min_label=N_("None"),
        max_label=N_("Extreme"),
    )


DBT_DIARY_CARD = LibraryTemplate(
    slug="dbt_diary_card",
    title=N_("DBT diary card"),
    instructions=N_(
        "Fill this in once a day, ideally in the evening. For each urge and feeling, rate "
        "the strongest it got today, from 0 (none) to 5 (extreme). Then tick the skills you "
        "tried and what you did. Honest numbers help most, high ones included: they are "
        "what you and your therapist work with, never a mark against you."
    ),
    fields=[
        _zero_to_five("urge_self_harm", N_("Urge to self-harm"), required=True),
        _zero_to_five("urge_use", N_("Urge to use alcohol or drugs"), required=True),
        _zero_to_five("misery", N_("Misery")),
        _zero_to_five("anger", N_("Anger")),
        _zero_to_five("fear", N_("Fear")),
        _zero_to_five("joy", N_("Joy")),
        field("skills_used", "multi_choice", N_("Skills I used today"), options=DBT_SKILLS),
        field("self_harmed", "yes_no", N_("Did you self-harm today?")),
        field("used", "yes_no", N_("Did you use alcohol or drugs today?")),
    ],
    example={
        "urge_self_harm": 1,
        "urge_use": 2,
        "misery": 3,
        "anger": 1,
        "fear": 2,
        "joy": 2,
        "skills_used": ["wise_mind", "tipp", "self_soothe"],
        "self_harmed": False,
        "used": False,
    },
)

URGE_LOG = LibraryTemplate(
    slug="urge_log",
    title=N_("Urge log"),
    instructions=N_(
        "Log an urge when you notice it, or as soon as you can afterwards. Urges rise, peak "
        "and pass, a bit like waves; writing them down shows how long they last and what "
        "helps them pass. An urge you acted on is just as useful to log as one you rode out."
    ),
    fields=[
        field(
            "urge_type",
            "single_choice",
            N_("What was the urge?"),
            required=True,
            options=[
                option("alcohol", N_("Drinking alcohol")),
                option("drugs", N_("Using drugs")),
                option("smoking", N_("Smoking or vaping")),
                option("eating", N_("Bingeing or restricting food")),
                option("self_harm", N_("Hurting myself")),
                option("gambling", N_("Gambling")),
                option("spending", N_("Spending money")),
                option("checking", N_("Checking or seeking reassurance")),
                option("other", N_("Something else")),
            ],
        ),
        field(
            "intensity",
            "scale",
            N_("How strong was the urge at its peak?"),
            required=True,
            min=0,
            max=10,
            min_label=N_("Barely there"),
            max_label=N_("Strongest ever"),
        ),
        field("trigger", "short_text", N_("What set it off?")),
        *antecedent_fields(),
        field(
            "what_i_did",
            "long_text",
            N_("What did you do?"),
            help=N_("Anything counts: waiting it out, a distraction, calling someone, or giving in."),
            max_length=2000,
        ),
        field("acted_on", "yes_no", N_("Did you act on the urge?")),
        field("duration", "duration", N_("About how long did the urge last?")),
        *consequence_fields(),
    ],
    example={
        "urge_type": "alcohol",
        "intensity": 7,
        "trigger": N_("Walked past my old bar after a hard day."),
        "situation": ["pressure", "reminder"],
        "place": "on_the_way",
        "people": ["alone"],
        "what_i_did": N_("Called my sister and made tea instead. The urge eased after a while."),
        "acted_on": False,
        "duration": 25,
        "short_term": ["calmer"],
        "long_term": ["proud"],
    },
    follows_events=True,
)

SUDS_MIN = N_("Completely calm")
SUDS_MAX = N_("Worst distress imaginable")

EXPOSURE_LOG = LibraryTemplate(
    slug="exposure_log",
    title=N_("Exposure log"),
    instructions=N_(
        "Use this each time you practise facing something you fear. Rate your distress "
        "from 0 (completely calm) to 100 (the worst you can imagine) before you start, at "
        "its highest, and at the end. Distress going up is expected: it means you're doing "
        "the work. Over repeated practice, the numbers usually come down."
    ),
    fields=[
        field("situation", "short_text", N_("What did you face?"), required=True),
        field(
            "suds_before",
            "scale",
            N_("Distress before you started"),
            required=True,
            min=0,
            max=100,
            min_label=SUDS_MIN,
            max_label=SUDS_MAX,
        ),
        field(
            "suds_peak",
            "scale",
            N_("Distress at its highest"),
            required=True,
            min=0,
            max=100,
            min_label=SUDS_MIN,
            max_label=SUDS_MAX,
        ),
        field(
            "suds_after",
            "scale",
            N_("Distress at the end"),
            min=0,
            max=100,
            min_label=SUDS_MIN,
            max_label=SUDS_MAX,
        ),
        field("duration", "duration", N_("How long did you stay with it?")),
        field(
            "safety_behaviours",
            "long_text",
            N_("Did you do anything to feel safer?"),
            help=N_(
                "For example avoiding eye contact, holding a bottle of water or staying near the "
                "exit. Noticing them is the first step to letting them go."
            ),
            max_length=2000,
        ),
    ],
    example={
        "situation": N_("Took the bus two stops during rush hour."),
        "suds_before": 60,
        "suds_peak": 85,
        "suds_after": 40,
        "duration": 15,
        "safety_behaviours": N_("Stood near the door and kept my headphones on."),
    },
    follows_events=True,
    # Where the fear ended: the end of the curve the exposure is for.
    work=("suds_after",),
)

FREE_NOTE = LibraryTemplate(
    slug="free_note",
    title=N_("Free note"),
    instructions=N_(
        "Write whatever you'd like to remember or bring to your next session. There is no "
        "right length or format: a few words are fine."
    ),
    fields=[field("note", "long_text", N_("What's on your mind?"), required=True)],
    example={
        "note": N_(
            "I felt more at ease after saying no to extra work. I'd like to talk about why it was so hard to say."
        )
    },
)

RECORDS = (
    MOOD_LOG,
    THOUGHT_RECORD,
    ABC_RECORD,
    SLEEP_DIARY,
    DBT_DIARY_CARD,
    URGE_LOG,
    EXPOSURE_LOG,
    FREE_NOTE,
)
