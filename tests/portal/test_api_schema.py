"""The OpenAPI schema documents every error answer with the shape the server gives."""

import json

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from rest_framework.test import APIClient

from portal.api.schema import (
    ERROR_COMPONENT,
    NO_NUL_PATTERN,
    UNICODE_SLUG_DESCRIPTION,
    VALIDATION_ERROR_COMPONENT,
)

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def document() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield f"{method.upper()} {path}", operation


def schema_of(response: dict) -> dict:
    return response["content"]["application/json"]["schema"]


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


# Operations anyone may call: logging in, and the web widget's public endpoint (docs/widget.md).
PUBLIC_OPERATIONS = {
    "POST /api/v1/auth/token/",
    "POST /api/v1/widget/{public_key}/submissions/",
}


def test_every_operation_that_needs_a_login_documents_401_and_403(document):
    for label, operation in operations(document):
        if label in PUBLIC_OPERATIONS:
            continue
        for code in ("401", "403"):
            assert schema_of(operation["responses"][code]) == ref(ERROR_COMPONENT), label


def test_every_operation_with_a_path_id_or_pages_documents_404(document):
    for label, operation in operations(document):
        parameters = operation.get("parameters", [])
        if "{" in label or any(p["name"] == "page" for p in parameters):
            assert schema_of(operation["responses"]["404"]) == ref(ERROR_COMPONENT), label


def test_every_write_documents_400_for_a_refusal_of_its_objects_state(document):
    # A reply already sent is not retried, a pair is not dismissed twice: writes without a
    # body can be refused too.
    for label, operation in operations(document):
        if not label.startswith("GET "):
            assert "400" in operation["responses"], label


def test_every_400_is_documented_as_field_errors(document):
    for label, operation in operations(document):
        if "400" in operation["responses"]:
            assert schema_of(operation["responses"]["400"]) == ref(VALIDATION_ERROR_COMPONENT), (
                label
            )


def test_token_and_import_document_their_400_as_field_errors(document):
    paths = document["paths"]
    for path in ("/api/v1/auth/token/", "/api/v1/customers/import/", "/api/v1/accounts/import/"):
        response = paths[path]["post"]["responses"]["400"]
        assert schema_of(response) == ref(VALIDATION_ERROR_COMPONENT)


def test_token_documents_its_throttle(document):
    assert "429" in document["paths"]["/api/v1/auth/token/"]["post"]["responses"]


def test_text_inputs_are_documented_without_nul(document):
    customer = document["components"]["schemas"]["CustomerRequest"]["properties"]
    assert customer["name"]["pattern"] == NO_NUL_PATTERN
    search = next(
        p
        for p in document["paths"]["/api/v1/customers/"]["get"]["parameters"]
        if p["name"] == "search"
    )
    assert search["schema"]["pattern"] == NO_NUL_PATTERN


def test_slugs_are_documented_in_any_script(document):
    slug = document["components"]["schemas"]["Team"]["properties"]["slug"]
    assert slug["description"] == UNICODE_SLUG_DESCRIPTION
    assert "pattern" not in slug


def test_served_schema_is_the_generated_one_that_the_fuzzer_reads(world, document):
    client = APIClient()
    client.force_login(world.viewer_a)
    served = client.get(reverse("api-schema"), {"format": "json"}).json()
    assert served == json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


def test_what_answers_null_is_documented_nullable(document):
    # Found by fuzzing against a database with data in it: a message without a link or a
    # sentiment, a team with its default inbox settings.
    schemas = document["components"]["schemas"]
    message, settings = schemas["FeedbackMessage"], schemas["InboxSettings"]

    assert message["properties"]["external_url"]["nullable"] is True
    assert message["properties"]["sentiment"]["nullable"] is True
    assert settings["properties"]["updated_at"]["nullable"] is True
