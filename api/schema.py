"""The schema lists the error answers every operation can give, so clients (and the
contract tests) know them: 400 with field errors, 401, 403, 404, 422 and 429."""

from api.fields import BIGINT_MAX

ERROR_SCHEMAS = {
    "FieldErrors": {
        "type": "object",
        "description": (
            "Field name (or non_field_errors) to its messages, in the request's language."
        ),
        # A nested list (allocations) answers its items' errors by index.
        "additionalProperties": {
            "anyOf": [
                {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object"}]}},
                {"type": "object"},
            ]
        },
    },
    "Detail": {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
}

DETAIL_ERRORS = {
    "401": "Not signed in, or the token is invalid, revoked or expired.",
    "403": "The role may not do this.",
    "404": "No such object in the user's scope.",
    "429": "Too many requests for this token; retry after the Retry-After seconds.",
}


def _content(name: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def add_error_responses(result: dict, generator, request, public) -> dict:
    """Add the shared error answers to every operation; ids in paths are positive bigints
    (the routes match `<int:pk>`, digits only)."""
    result.setdefault("components", {}).setdefault("schemas", {}).update(ERROR_SCHEMAS)
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter["schema"].get("type") == "integer":
                    parameter["schema"].update({"minimum": 1, "maximum": BIGINT_MAX})
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "400",
                {"description": "Invalid input, or refused by a rule.", **_content("FieldErrors")},
            )
            for code, description in DETAIL_ERRORS.items():
                responses.setdefault(code, {"description": description, **_content("Detail")})
            if method == "post":
                responses.setdefault(
                    "422",
                    {
                        "description": "The Idempotency-Key was used with another body.",
                        **_content("Detail"),
                    },
                )
    return result
