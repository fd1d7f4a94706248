"""The OpenAPI schema documents every answer the API gives, errors included.

drf-spectacular documents the answers a view declares; the answers the framework gives on its
behalf (400 for bad input, 401 without credentials, 403 for a role too low or a missing CSRF
token, 404 for another team's object or a page past the last, 429 when throttled) would otherwise
be missing, and a client, or schemathesis in the suite, would meet them undocumented.
``PortalAutoSchema`` adds them to each operation from what the view does, with one shape each:
``{"detail": ...}`` for 401, 403, 404 and 429, and field errors for 400."""

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ResolvedComponent
from rest_framework import permissions, serializers

ERROR_COMPONENT = "Error"
VALIDATION_ERROR_COMPONENT = "ValidationError"
JSON = "application/json"

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "What went wrong, in one sentence.",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
VALIDATION_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "Field errors: each refused field or parameter names its messages (a list of strings, "
        "or for a list or an object in the input, the errors of its items). `detail` or "
        "`non_field_errors` carry what concerns the request as a whole."
    ),
    "additionalProperties": {
        "oneOf": [
            {"type": "string"},
            {"type": "array", "items": {}},
            {"type": "object"},
        ]
    },
}

UNICODE_SLUG_DESCRIPTION = "Letters and digits of any script, hyphens and underscores."
DESCRIPTIONS = {
    "400": "The input was refused; nothing was changed.",
    "401": "No credentials, or credentials that are not (or no longer) valid.",
    "403": "The role is too low for this, or a session's request lacks its CSRF token.",
    "404": "No such object, or one of a team the user does not belong to; or a page past the last.",
    "429": "Too many requests; `Retry-After` says when to try again.",
}


class PortalAutoSchema(AutoSchema):
    """drf-spectacular's schema, with every error answer each operation can give."""

    def get_operation(
        self, path: str, path_regex: str, path_prefix: str, method: str, registry: Any
    ) -> dict[str, Any] | None:
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        responses = operation["responses"]
        for code in self.error_codes(operation):
            component = VALIDATION_ERROR_COMPONENT if code == "400" else ERROR_COMPONENT
            documented = responses.get(code, {})
            # A view's own description of the error stays; the shape is the one the exception
            # handler gives, whatever serializer the view named for it.
            responses[code] = {
                "description": documented.get("description") or DESCRIPTIONS[code],
                "content": {JSON: {"schema": self.error_component(component)}},
            }
        return operation

    def _map_basic_serializer(self, serializer: Any, direction: str) -> dict[str, Any]:
        schema = super()._map_basic_serializer(serializer, direction)
        properties = schema.get("properties", {})
        for field in serializer.fields.values():
            if not isinstance(field, serializers.SlugField) or not field.allow_unicode:
                continue
            if field.field_name not in properties:
                continue
            # Slugs are in any script; a JSON-schema `\w` matches ASCII only, so the pattern
            # would refuse "zürich". The description says what a slug may hold instead.
            slug = {"type": "string", "description": UNICODE_SLUG_DESCRIPTION}
            if field.max_length is not None:
                slug["maxLength"] = field.max_length
            if not field.allow_blank:
                slug["minLength"] = 1
            if field.read_only:
                slug["readOnly"] = True
            properties[field.field_name] = slug
        return schema

    def error_codes(self, operation: dict[str, Any]) -> list[str]:
        codes = []
        parameters = operation.get("parameters", [])
        # Input can be refused; so can any write for the state of its object (a reply already
        # sent is not retried, a pair dismissed twice), with or without a body.
        if (
            "requestBody" in operation
            or any(p["in"] == "query" for p in parameters)
            or self.method not in permissions.SAFE_METHODS
        ):
            codes.append("400")
        if self.requires_authentication():
            codes += ["401", "403"]
        elif self.method not in permissions.SAFE_METHODS and self.view.get_authenticators():
            # A session's unsafe request still needs its CSRF token.
            codes.append("403")
        if any(p["in"] == "path" for p in parameters) or self.paginates():
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        # An error answer the view declares itself gets the same shape as the others.
        codes += [code for code in operation["responses"] if code in DESCRIPTIONS]
        return sorted(set(codes))

    def requires_authentication(self) -> bool:
        return not any(
            isinstance(permission, permissions.AllowAny)
            for permission in self.view.get_permissions()
        )

    def paginates(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None

    def error_component(self, name: str) -> dict[str, str]:
        schema = VALIDATION_ERROR_SCHEMA if name == VALIDATION_ERROR_COMPONENT else ERROR_SCHEMA
        component = ResolvedComponent(
            name=name, type=ResolvedComponent.SCHEMA, object=name, schema=schema
        )
        self.registry.register_on_missing(component)
        return component.ref


# Text the portal stores never holds a NUL character (PostgreSQL cannot store one), so every
# free-text input refuses it; the schema says so, so that a client knows before it sends one.
NO_NUL_PATTERN = "^[^\\u0000]*$"
# Strings with these formats or keywords already rule a NUL out, or are bytes (a file).
CONSTRAINED_STRING_KEYWORDS = ("format", "enum", "pattern", "const")


def _refuse_nul(schema: Any) -> None:
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not any(
        keyword in schema for keyword in CONSTRAINED_STRING_KEYWORDS
    ):
        schema["pattern"] = NO_NUL_PATTERN
    for key in ("properties", "patternProperties"):
        for child in schema.get(key, {}).values():
            _refuse_nul(child)
    for key in ("items", "additionalProperties", "not"):
        _refuse_nul(schema.get(key))
    for key in ("oneOf", "anyOf", "allOf"):
        for child in schema.get(key, []):
            _refuse_nul(child)


def refuse_nul_in_text(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict:
    """drf-spectacular postprocessing hook: every text the API takes (request bodies and query,
    path and header parameters) is documented as holding no NUL character."""
    for name, schema in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _refuse_nul(schema)
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                _refuse_nul(parameter.get("schema"))
    return result
