"""Checks emulated Bitbucket responses against Atlassian's published spec (the subset beside this file).

``SpecCheck`` wraps a running emulator's Bitbucket service: every answer it gives is validated on
the way out, schema and status code, and kept for the coverage check. ``tests/conftest.py``
attaches one to every emulator the tests start, so the whole suite's Bitbucket traffic is held to
the spec. The subset (Atlassian's published spec, cut for the operations the emulator serves)
travels as ``bitbucket-openapi-subset.json`` beside this file (its ``source`` names the public copies).

Where the real service answers differently from the spec and the emulator follows the real
service, the difference is listed here with its source (docs/evidence.md#the-emulated-bitbucket),
never silently allowed.
"""

from __future__ import annotations

import copy
import functools
import json
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from openapi_schema_validator import OAS30Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.emulator.bitbucket import JSON_CONTENT_TYPE, LACKS_SCOPES
from sg_bitbucket_iac.emulator.core import Request, Response

SPEC_FILE = Path(__file__).with_name("bitbucket-openapi-subset.json")
SPEC: dict[str, Any] = json.loads(SPEC_FILE.read_text(encoding="utf-8"))
SPEC_URI = "urn:bitbucket-openapi-subset"
_REGISTRY = Registry().with_resource(SPEC_URI, Resource.from_contents(SPEC, default_specification=DRAFT4))

# Operations the emulator serves that the subset does not copy, with the subset schema they answer in.
EXTRA_OPERATIONS: dict[str, dict[str, Any]] = {
    # atlassian-python-api's PullRequests.each() reads each pull request by id (SPEC `pullrequest`).
    "/repositories/{workspace}/{repo_slug}/pullrequests/{pull_request_id}": {"200": "pullrequest",
                                                                            "errors": ["401", "404"]},
    # The cross-workspace list CHANGE-2770 removed: only its 410 is served (see the evidence page).
    "/workspaces": {"errors": ["410"]},
}
# Statuses the real service sends beyond an operation's listed ones, each with its source.
BEYOND_SPEC_STATUSES: dict[int, str] = {
    401: "bad or missing credentials on any authenticated operation (Atlassian's KB on 401 errors)",
    403: "missing privilege scope (third-party captures), a token outside its workspace (Atlassian KB), a non-member",
    400: "an invalid query parameter (pagelen outside 1..100, an unknown role or state; the SPEC's "
         "'Standardized error responses')",
    410: "the CHANGE-2770 endpoints, which the SPEC still lists as deprecated",
}
# Operations whose subset entry lists no errors at all: 404 for an absent path resource is HTTP's.
NOT_FOUND_WITHOUT_LISTING = frozenset({"/workspaces/{workspace}"})


def _validator(schema: dict[str, Any]) -> OAS30Validator:
    return OAS30Validator(schema, registry=_REGISTRY, format_checker=OAS30Validator.FORMAT_CHECKER)


@functools.cache
def _named_validator(name: str) -> OAS30Validator:
    return _validator(_schema_ref(name))


def _schema_ref(name: str) -> dict[str, Any]:
    if name not in SPEC["components"]["schemas"]:
        raise KeyError(f"the spec subset has no schema {name!r}")
    return {"$ref": f"{SPEC_URI}#/components/schemas/{name}"}


def _privilege_scope_error_schema() -> dict[str, Any]:
    """SPEC `error` with `detail` as the object real 403 scope errors carry (backstage/backstage #22383,
    DrFaust92/terraform-provider-bitbucket `error.go`; atlassian-python-api #1260 crashed on it)."""
    schema = copy.deepcopy(SPEC["components"]["schemas"]["error_error"])
    schema["properties"]["detail"] = {
        "type": "object",
        "required": ["required", "granted"],
        "properties": {"required": {"type": "array", "items": {"type": "string"}},
                       "granted": {"type": "array", "items": {"type": "string"}}},
    }
    return {"type": "object", "required": ["type", "error"],
            "properties": {"type": {"type": "string", "enum": ["error"]}, "error": schema}}


ERROR = _validator(_schema_ref("error"))
PRIVILEGE_SCOPE_ERROR = _validator(_privilege_scope_error_schema())


def operation_of(route: str) -> tuple[str, dict[str, Any]]:
    """``GET /2.0/user`` -> (``/user``, its subset entry)."""
    method, _, template = route.partition(" ")
    if method != "GET" or not template.startswith("/2.0"):
        raise ValueError(f"not an emulated Bitbucket operation: {route}")
    path = template.removeprefix("/2.0") or "/"
    entry = SPEC["operations"].get(path) or EXTRA_OPERATIONS.get(path)
    if entry is None:
        raise KeyError(f"{route} is neither in the spec subset nor in EXTRA_OPERATIONS")
    return path, entry


def violations(route: str, response: Response) -> list[str]:
    """Everything about one answer that the spec (and the documented differences) does not allow."""
    path, entry = operation_of(route)
    problems: list[str] = []
    status = response.status
    listed = {int(code) for code in entry.get("errors") or []}
    if entry.get("200"):
        listed.add(200)
    if path in NOT_FOUND_WITHOUT_LISTING:
        listed.add(404)
    if status not in listed and status not in BEYOND_SPEC_STATUSES:
        problems.append(f"{route}: status {status} is not listed for {path} ({sorted(listed)})")
    if response.headers.get("Content-Type") != JSON_CONTENT_TYPE:
        problems.append(f"{route}: Content-Type {response.headers.get('Content-Type')!r}")
    body = json.loads(response.body)
    if status == 200:
        validator = _named_validator(entry["200"])
    elif status == 403 and isinstance(body.get("error"), dict) and body["error"].get("message") == LACKS_SCOPES:
        validator = PRIVILEGE_SCOPE_ERROR
    else:
        validator = ERROR
    problems += [f"{route} {status}: {error.json_path}: {error.message}" for error in validator.iter_errors(body)]
    return problems


@dataclass
class SpecCheck:
    """Validates every answer of one emulator's Bitbucket API as it leaves (install with ``attach``)."""

    problems: list[str] = field(default_factory=list)
    seen: dict[str, set[int]] = field(default_factory=dict)

    @staticmethod
    def of(emulator: Emulator) -> SpecCheck:
        """The check attached to ``emulator``."""
        return _ATTACHED[emulator]

    def attach(self, emulator: Emulator) -> SpecCheck:
        _ATTACHED[emulator] = self
        service = emulator.bitbucket
        handle = service.handle

        def checked(request: Request) -> tuple[str, Response]:
            route, response = handle(request)
            self.problems += violations(route, response)
            self.seen.setdefault(route, set()).add(response.status)
            return route, response

        service.handle = checked  # type: ignore[method-assign]
        return self


_ATTACHED: weakref.WeakKeyDictionary[Emulator, SpecCheck] = weakref.WeakKeyDictionary()
