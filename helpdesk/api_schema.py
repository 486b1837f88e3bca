"""The OpenAPI schema's error responses, added once for every operation.

Every error has the shape of helpdesk.api_errors; listing the statuses each operation
can answer keeps the schema honest (the schemathesis test checks responses against it).
"""

ERROR_COMPONENT = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, for people."},
        "code": {"type": "string", "description": "A stable word for programs."},
        "errors": {
            "type": "object",
            "additionalProperties": True,
            "description": "Validation errors (400 only): each field's messages.",
        },
    },
    "required": ["detail", "code"],
}

DESCRIPTIONS = {
    "400": "Invalid input, or refused by the service (e.g. the session has ended).",
    "401": "Missing, invalid or expired token or credentials.",
    "404": "No such object, or one the user may not see.",
    "413": "The file or request body is too large.",
    "415": "Unsupported content type.",
    "429": "Too many requests (login throttling).",
}


def _error_response(status: str) -> dict:
    return {
        "description": DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def add_error_responses(result: dict, generator, request, public) -> dict:
    """drf-spectacular postprocessing hook: document each operation's error statuses."""
    result.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_COMPONENT
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            statuses = {"400"}
            if operation.get("security") != [{}] and {} not in operation.get("security", [{}]):
                statuses.add("401")
            parameters = {p.get("name") for p in operation.get("parameters", [])}
            if "{" in path or parameters & {"page", "cursor"}:
                statuses.add("404")
            if method in ("post", "put", "patch"):
                statuses |= {"413", "415"}
            if path.endswith("/auth/login/"):
                statuses |= {"401", "429"}
            if path.endswith(("/auth/refresh/", "/auth/logout/")):
                statuses.add("401")
            responses = operation.setdefault("responses", {})
            for status in sorted(statuses):
                responses.setdefault(status, _error_response(status))
    return result
