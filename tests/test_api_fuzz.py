"""Every operation of the OpenAPI schema, fuzzed by schemathesis against the live test server.

The operations are read from the schema that ``/api/schema/`` serves, so an endpoint that any
app adds is fuzzed here without a line changed. Every check is on; statuses a business rule
answers (400, 401, 403, 404) are documented in the schema by ``portal.api.schema``, not
ignored here. Bounded and derandomised, so that CI's run is short and the same every time."""

import json

import pytest
import schemathesis
from django.contrib.auth import get_user_model
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from tests.factories import UserFactory

# 10 to 25 examples per operation keeps the whole run well under a minute or two on two cores.
MAX_EXAMPLES = 10
# A fixed key, so that every case sends the same header; restored before each case because
# an operation being fuzzed may revoke it (DELETE /api/v1/auth/token/).
SUPERUSER_TOKEN = "f" * 40
FUZZER = "fuzzer"


def served_schema() -> dict:
    """The schema ``/api/schema/`` serves, as JSON."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


DOCUMENT = served_schema()


def date_range_reads(document: dict) -> list[str]:
    """Reads that take ``from`` and ``to``: JSON schema cannot say that ``from`` must not be after
    ``to``, which they refuse with 400 (as the pages do)."""
    names = []
    for path, item in document["paths"].items():
        parameters = {p["name"] for p in item.get("get", {}).get("parameters", [])}
        if {"from", "to"} <= parameters:
            names.append(f"GET {path}")
    return names


# A schema describes the shape of the input. A write may still be refused for the state of the
# data, which no schema can describe: a referenced id that names nothing, a name already taken,
# a wrong password, a file that is no CSV, measurements before a North Star is defined. Those
# refusals are 400 with field errors, documented as such on every write (portal.api.schema), so
# schema-valid writes may answer them. Reads have no such excuse: every schema-valid query of a
# list must be answered.
WRITE_REFUSALS = {"include-method": ["POST", "PUT", "PATCH"]}
# schemathesis's own list for schema-valid input, and 400.
REFUSALS_ALLOWED = ["2xx", "3xx", "400", "401", "403", "404", "409", "429"]
REFUSALS = {"checks": {"positive_data_acceptance": {"expected-statuses": REFUSALS_ALLOWED}}}
RANGE_READS = date_range_reads(DOCUMENT)
CONFIG = schemathesis.Config.from_dict(
    {
        # The examples and fuzzing phases, bounded by max_examples. The coverage phase is not:
        # it sends every boundary of every parameter, which doubles the run for little more.
        "phases": {"coverage": {"enabled": False}},
        "operations": [
            {**WRITE_REFUSALS, **REFUSALS},
            *([{"include-name": RANGE_READS, **REFUSALS}] if RANGE_READS else []),
        ],
    }
)
schema = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


@pytest.fixture
def superuser_headers(transactional_db) -> dict[str, str]:
    UserFactory(username=FUZZER, is_superuser=True, is_staff=True)
    return {"Authorization": f"Token {SUPERUSER_TOKEN}"}


def restore_token() -> None:
    user = get_user_model().objects.get(username=FUZZER)
    Token.objects.filter(user=user).exclude(key=SUPERUSER_TOKEN).delete()
    Token.objects.get_or_create(user=user, defaults={"key": SUPERUSER_TOKEN})


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_operation_answers_as_documented(case, live_server, superuser_headers):
    restore_token()
    case.call_and_validate(base_url=live_server.url, headers=superuser_headers)
