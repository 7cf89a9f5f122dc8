"""The OpenAPI schema tells the truth about errors: every operation documents the error
answers any endpoint may give (one shared error body), not only its success and 422.

A route that reads its JSON body itself (to word its own errors) still documents the body's
real shape: ``typed_body(Model, prefix)`` as the route's ``openapi_extra``."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "fields": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "field": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
            },
        }
    },
}
# What any operation may answer besides its own success: malformed input, not signed in,
# not allowed, not found (or not visible), a conflict with the current state, a body too large
# or of a refused type, invalid fields, throttled, the database briefly away.
COMMON = {
    "400": "The body is not valid JSON or the request is malformed",
    "401": "Not signed in, or the token is not valid",
    "403": "Signed in, but not allowed",
    "404": "No such thing, or not visible to the caller",
    "409": "Conflicts with the current state",
    "413": "The body or file is too large",
    "415": "The file type is not accepted",
    "422": "A field is missing or not valid",
    "429": "Too many attempts; see Retry-After",
    "503": "Briefly unavailable (the database does not answer); see Retry-After",
}

ERROR_CONTENT = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


def refusals(reasons: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route, for refusals its request schema cannot express (two fields
    together, or a field and the path): the status and why, with the shared error body.

    A schema-valid request refused with 422 is what schemathesis calls ST202; the operations
    that may do it are also listed, with the status, in ``schemathesis.toml``."""
    return {
        status: {"description": why, "content": ERROR_CONTENT} for status, why in reasons.items()
    }


# Component schemas of typed_body models, by name (with their nested models).
_BODIES: dict[str, dict[str, Any]] = {}


def typed_body(model: type[BaseModel], prefix: str) -> dict[str, Any]:
    """``openapi_extra`` that documents a route's body as ``model`` (named ``prefix`` + the
    model's name in the components, so that two domains' ``RuleIn`` do not collide)."""
    doc = model.model_json_schema(ref_template=f"#/components/schemas/{prefix}{{model}}")
    for name, sub in doc.pop("$defs", {}).items():
        _BODIES[prefix + name] = sub
    _BODIES[prefix + model.__name__] = doc
    ref = {"$ref": f"#/components/schemas/{prefix}{model.__name__}"}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": ref}}}}


def install(app: FastAPI) -> None:
    def schema() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        doc = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        components = doc.setdefault("components", {}).setdefault("schemas", {})
        components["Error"] = ERROR_SCHEMA
        components.update(_BODIES)
        ref = {"content": ERROR_CONTENT}
        for operations in doc.get("paths", {}).values():
            for op in operations.values():
                responses = op.setdefault("responses", {})
                for status, description in COMMON.items():
                    responses.setdefault(status, {"description": description, **ref})
        app.openapi_schema = doc
        return doc

    app.openapi = schema  # type: ignore[method-assign]
