"""schemathesis against ``/openapi.json``: generated requests (valid and invalid) never get a
500, and every response matches the schema (status code, content type, body)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from discovery.service import create_app  # noqa: E402

pytestmark = pytest.mark.slow


def _schema() -> object:
    from worlds import build_known_world

    db = Path(tempfile.mkdtemp(prefix="discovery-schema-")) / "known.db"
    build_known_world(db).close()
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(db))


schema = _schema()


@schema.parametrize()
@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_conforms_to_its_schema(case: object) -> None:
    case.call_and_validate(  # type: ignore[attr-defined]
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ]
    )
