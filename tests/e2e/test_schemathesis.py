"""Property-based tests of the whole API from its OpenAPI schema (schemathesis): no 5xx, and
every response matches the schema (status code, content type, body), for an authenticated
admin, with valid and with invalid inputs.

Bounded (a few examples per operation and mode) so that it runs in well under two minutes.
Driven through hypothesis directly: failures of all operations
collected and reported together. Once, on PostgreSQL (see the marker).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

#: Operations that would cut the fuzzing user off from the API (revoke its own keys).
EXCLUDED = {("DELETE", "/api/api-keys")}
#: The schemathesis checks run on every response (by name, from ``schemathesis.checks``).
CHECKS = [
    "negative_data_rejection",
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
EXAMPLES = 10


# Once, on PostgreSQL: the stricter database (types, NUL characters, lengths) and the real
# server process; every operation's logic is the same on SQLite.
@pytest.mark.backends("postgres")
def test_api_conforms_to_its_schema(live_platform: Any) -> None:
    # Imported here, not at collection: schemathesis and hypothesis take seconds to import,
    # in every test worker that only collects this module.
    import schemathesis
    import schemathesis.checks
    from hypothesis import HealthCheck, given, settings
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode

    checks = [getattr(schemathesis.checks, name) for name in CHECKS]
    platform = live_platform
    # An admin of an organization of its own: nothing it does touches the other tests.
    fuzzer = platform.new_user(organization=f"fuzz-{uuid.uuid4().hex[:6]}", admin=True)
    headers = {"Authorization": f"api-key-v1 {fuzzer.api_key}"}
    schema = schemathesis.openapi.from_url(f"{platform.api_url}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                case.call_and_validate(
                    base_url=platform.base_url, headers=headers, checks=checks, timeout=30
                )

            try:
                run()
            except Unsatisfiable:
                pass  # no invalid input exists for this operation (e.g. no parameters)
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as exc:  # collect, so that one report shows every problem
                failures.append(
                    f"{operation.method.upper()} {operation.path} ({mode.value}): "
                    + " | ".join(line.strip() for line in str(exc).splitlines() if line.strip())[
                        :600
                    ]
                )
    assert operations > 40, operations
    assert not failures, f"{len(failures)} failing operation(s):\n" + "\n".join(failures)
