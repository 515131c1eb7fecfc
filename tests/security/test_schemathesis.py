"""Fuzzing the JSON API from its own OpenAPI document, signed in as a client and as a therapist.

Every operation gets generated valid and invalid requests (a bounded number, so
the run stays short on two cores); every answer must be free of server errors
and match the schema: documented status, content type, headers and body.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from app.main import create_app
from app.models import SessionKind, Visibility
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
    make_entry(session, client=client, assignment=phq,
               answers={f"item{n}": "1" for n in range(1, 10)} | {"difficulty": "very"})
    return {
        "client": _token(session, kind=SessionKind.client, client_id=client.id),
        "therapist": _token(session, kind=SessionKind.therapist, therapist_id=therapist.id),
        # Real ids, so the fuzzer also reaches the answers that carry data.
        "ids": {"entry_id": str(entry.id), "client_id": str(client.id), "note_id": str(uuid.uuid4()),
                "appointment_id": str(uuid.uuid4())},
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
                @settings(max_examples=count, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck))
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
