"""Fuzzing the JSON API from its own OpenAPI document, signed in as a client and as a therapist.

Every operation gets generated valid and invalid requests (a bounded number, so
the run stays short on two cores); every answer must be free of server errors
and match the schema: documented status, content type, headers and body.

The push routes read their JSON body themselves, so the schema describes no body
for them (and the service worker's /push/... routes are not in it at all): they
get their own generated bodies below, any JSON, nested far too deep, or carrying
NUL characters.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import func
from sqlmodel import Session, col, select

from app.main import create_app
from app.models import PushSubscription, Reminder, SessionKind, Visibility
from app.services import device_sessions
from tests.factories import library_template, make_assignment, make_client, make_entry, make_therapist

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = {GenerationMode.POSITIVE: 20, GenerationMode.NEGATIVE: 12}


def _token(session: Session, **who: Any) -> str:
    _device, token = device_sessions.start(session, days=1, **who)
    session.commit()
    return token


@pytest.fixture
def fuzz_app(settings, engine):  # type: ignore[no-untyped-def]
    # Fuzzing sends many writes quickly: the write limits are tested elsewhere.
    roomy = settings.model_copy(update={"api_write_max": 1_000_000, "upload_max": 1_000_000})
    return create_app(roomy, engine=engine)


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    therapist = make_therapist(session)
    client = make_client(session, therapist=therapist)
    mood = make_assignment(session, client=client)
    phq = make_assignment(session, client=client, template=library_template(session, "phq9"))
    entry = make_entry(session, client=client, assignment=mood)
    make_entry(session, client=client, assignment=mood, visibility=Visibility.private)
    make_entry(
        session, client=client, assignment=phq, answers={f"item{n}": "1" for n in range(1, 10)} | {"difficulty": "very"}
    )
    return {
        "client": _token(session, kind=SessionKind.client, client_id=client.id),
        "therapist": _token(session, kind=SessionKind.therapist, therapist_id=therapist.id),
        # Real ids, so the fuzzer also reaches the answers that carry data.
        "ids": {
            "entry_id": str(entry.id),
            "client_id": str(client.id),
            "note_id": str(uuid.uuid4()),
            "appointment_id": str(uuid.uuid4()),
        },
    }


def _fuzz(app, token: str, ids: dict[str, str], statuses: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8, [op.label for op in operations]
    for operation in operations:
        names = {parameter.name for parameter in operation.path_parameters}
        fixed = {name: ids[name] for name in names if name in ids}
        for mode, count in EXAMPLES.items():
            strategies = [operation.as_strategy(generation_mode=mode)]
            if fixed and mode is GenerationMode.POSITIVE:
                strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))
            for strategy in strategies:

                @settings(
                    max_examples=count,
                    deadline=None,
                    database=None,
                    derandomize=True,
                    suppress_health_check=list(HealthCheck),
                )
                @given(case=strategy)
                def run(case) -> None:  # type: ignore[no-untyped-def]
                    response = case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
                    statuses.append(response.status_code)

                try:
                    run()
                except Unsatisfiable:
                    continue  # no invalid request can be made for this operation (e.g. no inputs)
                except (Exception, BaseExceptionGroup) as error:  # collect all: one run shows every problem
                    failures.append(f"{operation.label} [{mode.value}]: {str(error)[:1500]}")
    return failures


@pytest.mark.parametrize("actor", ["client", "therapist"])
def test_api_survives_fuzzing_and_matches_its_schema(fuzz_app, world, actor: str) -> None:
    statuses: list[int] = []
    failures = _fuzz(fuzz_app, world[actor], world["ids"], statuses)
    assert failures == [], "\n\n".join(failures)
    # The run reached real data, not only rejections.
    assert len(statuses) > 100 and any(200 <= status < 300 for status in statuses), sorted(set(statuses))
    print(actor, len(statuses), sorted(set(statuses)))


# --- the push routes: bodies the schema cannot describe --------------------------------------------

PUSH_ROUTES = ["/push/snooze", "/push/seen", "/push/subscription-change", "/api/v1/push/subscriptions"]
_NUL_TEXT = st.builds(lambda before, after: f"{before}\x00{after}", st.text(max_size=12), st.text(max_size=12))
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def _deep(draw: st.DrawFn) -> bytes:
    """JSON nested past the limit: open or closed, arrays or objects, alone or inside a valid object."""
    depth = draw(st.sampled_from([65, 200, 1_500, 20_000, 100_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
    inner = opener * depth + ((b"1" if opener != b"[" else b"") + closer * depth if draw(st.booleans()) else b"")
    if draw(st.booleans()):
        return b'{"token": "x", "old_endpoint": "https://push.example.org/x", "subscription": ' + inner + b"}"
    return inner


@st.composite
def _with_nul(draw: st.DrawFn) -> bytes:
    """A body shaped like what the route expects, with a NUL in a key or a value."""
    nul = draw(_NUL_TEXT)
    keys = {"p256dh": draw(st.text(max_size=8)), "auth": draw(st.text(max_size=8))}
    shapes = [
        {"endpoint": nul, "keys": keys},
        {"endpoint": "https://push.example.org/x", "keys": {"p256dh": nul, "auth": nul}},
        {"old_endpoint": nul, "subscription": {"endpoint": nul, "keys": keys}},
        {"token": nul, "minutes": draw(st.integers())},
        {"token": nul, "occurrence": nul, "endpoint": nul},
        {nul: draw(_JSON)},
        [nul],
    ]
    return json.dumps(draw(st.sampled_from(shapes))).encode()


_BODIES = st.one_of(
    st.tuples(st.just("deep"), _deep()),
    st.tuples(st.just("nul"), _with_nul()),
    st.tuples(st.just("json"), _JSON.map(lambda value: json.dumps(value).encode())),
    st.tuples(st.just("bytes"), st.binary(max_size=64)),
)
_CONTENT_TYPES = st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded", None])


@pytest.mark.parametrize("path", PUSH_ROUTES)
def test_push_routes_answer_deep_and_nul_laden_bodies_with_a_clear_4xx(
    fuzz_app, world, session: Session, path: str
) -> None:  # type: ignore[no-untyped-def]
    headers = {"Accept": "application/json"}
    if path.startswith("/api/"):
        headers["Authorization"] = f"Bearer {world['client']}"

    def stored() -> tuple[int, int]:
        session.expire_all()
        devices = session.exec(select(func.count()).select_from(PushSubscription)).one()
        snoozed = session.exec(
            select(func.count()).select_from(Reminder).where(col(Reminder.snoozed_until).is_not(None))
        ).one()
        return devices, snoozed

    before = stored()
    kinds: set[str] = set()
    with TestClient(fuzz_app, base_url="http://testserver") as web:

        @settings(
            max_examples=60, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
        )
        @given(body=_BODIES, content_type=_CONTENT_TYPES)
        def run(body: tuple[str, bytes], content_type: str | None) -> None:
            kind, content = body
            kinds.add(kind)
            sent = dict(headers, **({"Content-Type": content_type} if content_type else {}))
            answer = web.post(path, content=content, headers=sent)
            assert 400 <= answer.status_code < 500, (kind, content[:80], answer.status_code, answer.text[:200])
            assert answer.json()["detail"]
            if kind == "deep":
                assert answer.status_code == 400, (content[:80], answer.text[:200])
            if kind == "nul":
                assert answer.status_code == 422, (content[:80], answer.text[:200])

        run()
    assert kinds == {"deep", "nul", "json", "bytes"}
    assert stored() == before
