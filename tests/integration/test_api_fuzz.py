"""The JSON API, fuzzed from its own OpenAPI document (/schema/openapi.json) against a real server,
signed in as a volunteer and as a province officer: no request gets a server error, and every answer
is one the document declares, in the schema it declares.

Bounded by a number of examples per operation, valid and invalid (a few minutes at most on a busy
machine), and derandomized: the same examples on every run, so a red run always means a bug.
"""

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.server import Server, serving

EXAMPLES = 12  # per operation and role
ROLES = ["demo-volunteer", "demo-province"]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def server(template_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from serving(template_url, tmp_path_factory.mktemp("fuzz"))


def _token(server: Server, username: str) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/session", json={"username": username, "password": "demo-password"}
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


@pytest.mark.parametrize("username", ROLES)
def test_the_api_answers_every_generated_request_as_documented(server: Server, username: str) -> None:
    schema = schemathesis.openapi.from_url(f"{server.url}/schema/openapi.json")
    headers = {"Authorization": f"Bearer {_token(server, username)}"}
    failures: dict[str, set[str]] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 30, "the OpenAPI document lost its operations"

    for operation in operations:
        if operation.path == "/api/v1/session" and operation.method.upper() == "DELETE":
            continue  # it would sign the fuzzer out; signing out is tested on its own

        cases = st.one_of(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
            operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
        )

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def fuzz(case) -> None:
            response = case.call(base_url=server.url, headers=headers, timeout=30)
            try:
                case.validate_response(response, checks=CHECKS)
            except (Failure, FailureGroup) as exc:  # every failure is collected, the fuzzing goes on
                for failure in exc.exceptions if isinstance(exc, FailureGroup) else [exc]:
                    found = failures.setdefault(case.operation.label, set())
                    found.add(
                        f"{response.status_code} {failure.title}: {failure.message.splitlines()[0][:160]}"
                    )

        fuzz()

    report = [f"{label}: {'; '.join(sorted(found))}" for label, found in failures.items()]
    assert not failures, "\n".join(report)


async def test_the_openapi_document_describes_the_json_api_and_its_errors(client) -> None:
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    assert set(paths) - {"/health"} and all(path.startswith("/api/") for path in set(paths) - {"/health"})
    for path, operations in paths.items():
        for method, operation in operations.items():
            if path.startswith("/api/"):
                missing = {"401", "403", "404", "422"} - set(operation["responses"])
                assert not missing, f"{method.upper()} {path} does not document {missing}"
                problem = operation["responses"]["422"]["content"]["application/json"]["schema"]
                assert problem == {"$ref": "#/components/schemas/ApiError"}
