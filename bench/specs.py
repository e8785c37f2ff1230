"""Write the documents the other mocks serve from: an OpenAPI file and a WireMock stub.

Both are generated from the schemas that ship with mockgraph, so every server in a
benchmark checks the same request rules. The schemas are flattened first (references
inlined, ``unevaluatedProperties`` rewritten) because Prism and WireMock each resolve
``$ref`` differently, and a self-contained JSON Schema 2020-12 document works in both.

Usage: ``python bench/specs.py OUTPUT_FOLDER``
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from mockgraph.quickcheck import flatten
from mockgraph.validation import BASE_URI, CREATE_SCHEMA, RESOURCE_SCHEMA, SchemaSet

COLLECTION_PATH = "/beta/users/{user}/profile/skills"
# The body of WireMock's 201: a complete skill, as mockgraph returns it.
STATIC_SKILL: dict[str, Any] = {
    "@odata.context": "http://127.0.0.1/beta/$metadata#users('42')/profile/skills/$entity",
    "id": "6f1d7c44-2a57-4c8e-9a55-0b1f3f0e7d21",
    "allowedAudiences": "organization",
    "inference": None,
    "createdDateTime": "2024-01-02T03:04:05.1234567Z",
    "createdBy": {
        "application": None,
        "device": None,
        "user": {"displayName": "Bench", "id": "1"},
    },
    "lastModifiedDateTime": "2024-01-02T03:04:05.1234567Z",
    "lastModifiedBy": {
        "application": None,
        "device": None,
        "user": {"displayName": "Bench", "id": "1"},
    },
    "isSearchable": None,
    "source": None,
    "sources": None,
    "categories": ["professional"],
    "collaborationTags": None,
    "displayName": "Python",
    "proficiency": "expert",
    "thumbnailUrl": None,
    "webUrl": "https://www.python.org",
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "output", type=Path, help="Folder to write openapi.json and wiremock/ into."
    )
    return parser.parse_args(argv)


def flat_schemas() -> tuple[Any, Any]:
    """Return the create-request and resource schemas, self-contained."""
    schemas = SchemaSet.load()
    request = flatten(CREATE_SCHEMA, schemas.schemas, BASE_URI)
    resource = flatten(RESOURCE_SCHEMA, schemas.schemas, BASE_URI)
    return request, resource


def openapi_document(request: Any, resource: Any) -> dict[str, Any]:
    """Return an OpenAPI 3.1 document of the create operation, with bearer auth."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Graph beta profile skills (create)", "version": "1.0.0"},
        "servers": [{"url": "http://127.0.0.1"}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}
        },
        "paths": {
            COLLECTION_PATH: {
                "post": {
                    "operationId": "createSkill",
                    "parameters": [
                        {
                            "name": "user",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string"},
                        }
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": request}},
                    },
                    "responses": {
                        "201": {
                            "description": "The created skill.",
                            "content": {"application/json": {"schema": resource}},
                        },
                        "400": {"description": "The body is invalid."},
                        "401": {"description": "The bearer token is missing."},
                    },
                }
            }
        },
    }


def wiremock_mapping(request: Any) -> dict[str, Any]:
    """Return a stub that returns 201 to a bearer token and a schema-valid body only."""
    return {
        "request": {
            "method": "POST",
            "urlPathPattern": "/beta/users/[^/]+/profile/skills",
            "headers": {"Authorization": {"matches": "^[Bb]earer \\S+$"}},
            "bodyPatterns": [
                {"matchesJsonSchema": request, "schemaVersion": "V202012"}
            ],
        },
        "response": {
            "status": 201,
            "headers": {"Content-Type": "application/json;odata.metadata=minimal"},
            "jsonBody": STATIC_SKILL,
        },
    }


def write_specs(output: Path) -> tuple[Path, Path]:
    """Write ``openapi.json`` and a WireMock root folder; return both paths."""
    request, resource = flat_schemas()
    output.mkdir(parents=True, exist_ok=True)
    openapi_path = output / "openapi.json"
    openapi_path.write_text(json.dumps(openapi_document(request, resource), indent=2))
    wiremock_root = output / "wiremock"
    (wiremock_root / "mappings").mkdir(parents=True, exist_ok=True)
    (wiremock_root / "__files").mkdir(exist_ok=True)
    mapping_path = wiremock_root / "mappings" / "create.json"
    mapping_path.write_text(json.dumps(wiremock_mapping(request), indent=2))
    return openapi_path, wiremock_root


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    openapi_path, wiremock_root = write_specs(args.output)
    print(f"wrote {openapi_path} and {wiremock_root}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
