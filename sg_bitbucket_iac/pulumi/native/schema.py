"""The Pulumi package schema of ``sgbitbucket``: what GetSchema answers and the SDKs and docs are made from.

The contract (fixed once published; README "Pulumi"):

* package ``sgbitbucket``; resource ``sgbitbucket:index:Connector``; function
  ``sgbitbucket:index:getConnector``; provider config ``apiKey`` (secret), ``apiUrl``, ``org``,
  ``bitbucketApiUrl``, ``preflight``;
* **flat properties**, one per flat state key of the backend (the Terraform resource's attributes
  in camelCase): ``authType`` (enum ``AuthType``) with ``username``/``email``/``apiToken``,
  ``accessToken``/``accessTokenScope`` (enum ``AccessTokenScope``)/``repository``/``project``, or
  ``username``/``appPassword``. Why flat and not an ``auth`` union: see the README's choice note;
* secrets (``apiToken``, ``accessToken``, ``appPassword``, ``credentialsFingerprint``) are
  ``secret: true``; descriptions come from :mod:`sg_bitbucket_iac.field_docs`, the texts the
  Terraform schema uses.
"""

from __future__ import annotations

import json
from typing import Any

from ... import __version__, field_docs
from ..properties import FLAG_KEYS, OUTPUT_KEYS, PROGRAM_INPUT_KEYS
from . import PACKAGE
from .backend import ACCESS_TOKEN_SCOPES, AUTH_TYPES, LOOKUP_KEYS, SECRET_OUTPUT_KEYS, SETTING_OF_CONFIG, camel

RESOURCE_TOKEN = f"{PACKAGE}:index:Connector"
FUNCTION_TOKEN = f"{PACKAGE}:index:getConnector"
AUTH_TYPE_TOKEN = f"{PACKAGE}:index:AuthType"
SCOPE_TOKEN = f"{PACKAGE}:index:AccessTokenScope"
GO_IMPORT_BASE = "github.com/stackguardian/sg-bitbucket-iac/sdk/go/sgbitbucket"
NODE_PACKAGE = "@stackguardian/sgbitbucket"
PYTHON_PACKAGE = "pulumi_sgbitbucket"

_ENUM_OF_KEY = {"auth_type": AUTH_TYPE_TOKEN, "access_token_scope": SCOPE_TOKEN}
_BOOLEAN_KEYS = frozenset({*FLAG_KEYS, "authenticated"})
# Only for Pulumi: what the schema adds to the shared text.
_PULUMI_NOTES = {
    "name": " Defaults to the resource's name.",
    "connector_id": " The resource's id.",
}
_ENUM_TEXTS = {
    "api_token": "Atlassian API token with Bitbucket read scopes (recommended).",
    "access_token": "Repository, project or workspace access token.",
    "app_password": "Bitbucket app password (legacy: refused from 2026-06-09).",
    "repository": "A repository access token (give `repository`).",
    "project": "A project access token (give `project`).",
    "workspace": "A workspace access token.",
}


def _text(text: str, key: str = "") -> str:
    return field_docs.describe(text, camel) + _PULUMI_NOTES.get(key, "")


def _property(key: str, texts: dict[str, str], *, secret_keys: tuple[str, ...] = ()) -> dict[str, Any]:
    spec: dict[str, Any]
    if key in _ENUM_OF_KEY:
        spec = {"$ref": f"#/types/{_ENUM_OF_KEY[key]}"}
    elif key == "tags":
        spec = {"type": "array", "items": {"type": "string"}}
    elif key in _BOOLEAN_KEYS:
        spec = {"type": "boolean"}
    else:
        spec = {"type": "string"}
    spec["description"] = _text(texts[key], key)
    if key in secret_keys:
        spec["secret"] = True
    return spec


def _properties(keys: tuple[str, ...], texts: dict[str, str], **kwargs: Any) -> dict[str, Any]:
    return {camel(k): _property(k, texts, **kwargs) for k in keys}


def _enum(values: tuple[str, ...], description: str) -> dict[str, Any]:
    return {
        "type": "string",
        "description": description,
        "enum": [{"name": "".join(p.capitalize() for p in v.split("_")), "value": v, "description": _ENUM_TEXTS[v]}
                 for v in values],
    }


def _config() -> dict[str, Any]:
    props = {}
    for name, setting in SETTING_OF_CONFIG.items():
        props[name] = {
            "type": "boolean" if setting == "preflight" else "string",
            "description": field_docs.describe(field_docs.SETTINGS[setting], camel),
            **({"secret": True} if setting == "api_key" else {}),
        }
    return props


def package_schema() -> dict[str, Any]:
    """The whole schema as a JSON-ready dict (stable key order: the SDKs are generated from it)."""
    config = _config()
    resource_inputs = _properties(PROGRAM_INPUT_KEYS, field_docs.RESOURCE, secret_keys=SECRET_OUTPUT_KEYS)
    resource_outputs = _properties(OUTPUT_KEYS, field_docs.RESOURCE, secret_keys=SECRET_OUTPUT_KEYS)
    lookup_outputs = _properties(LOOKUP_KEYS, field_docs.LOOKUP)
    return {
        "name": PACKAGE,
        "displayName": "StackGuardian Bitbucket connectors",
        "version": __version__,
        "description": "StackGuardian Bitbucket VCS connectors as code, with credential preflight against Bitbucket.",
        "keywords": ["pulumi", "stackguardian", "bitbucket", "category/utility", "kind/native"],
        "license": "Apache-2.0",
        "publisher": "sg-bitbucket-iac",
        "meta": {"moduleFormat": "(.*)", "supportPack": True},
        "config": {"variables": config},
        "provider": {
            "description": f"The provider type for the {PACKAGE} package. {field_docs.PROVIDER}",
            "inputProperties": config,
        },
        "types": {
            AUTH_TYPE_TOKEN: _enum(AUTH_TYPES, "How the connector authenticates to Bitbucket."),
            SCOPE_TOKEN: _enum(ACCESS_TOKEN_SCOPES, "What an access token was created for."),
        },
        "resources": {
            RESOURCE_TOKEN: {
                "description": _text(field_docs.CONNECTOR),
                "inputProperties": resource_inputs,
                "requiredInputs": [camel(k) for k in ("workspace", "auth_type")],
                "properties": resource_outputs,
                # Always known after a write or a read; the rest can be null (a connector another tool
                # wrote has no workspace on record, StackGuardian may not say whether it authenticates).
                "required": [camel(k) for k in ("connector_id", "name", "org")],
            },
        },
        "functions": {
            FUNCTION_TOKEN: {
                "description": _text(field_docs.CONNECTOR_LOOKUP),
                "inputs": {"properties": _properties(("connector_id", "name"), field_docs.LOOKUP)},
                "outputs": {
                    "properties": lookup_outputs,
                    "required": [camel(k) for k in ("connector_id", "name")],
                },
            },
        },
        "language": {
            "nodejs": {
                "packageName": NODE_PACKAGE,
                "packageDescription": "StackGuardian Bitbucket VCS connectors as code (Pulumi native provider).",
                "dependencies": {"@pulumi/pulumi": "^3.270.0"},
                "respectSchemaVersion": True,
            },
            "python": {
                "packageName": PYTHON_PACKAGE,
                "requires": {"pulumi": ">=3.272.0,<4.0.0"},
                "pyproject": {"enabled": True},
                "respectSchemaVersion": True,
            },
            "go": {
                "importBasePath": GO_IMPORT_BASE,
                "generateResourceContainerTypes": True,
                "respectSchemaVersion": True,
            },
        },
    }


def schema_json() -> str:
    """The schema as GetSchema sends it (and `sdk/schema.json` holds it)."""
    return json.dumps(package_schema(), indent=2) + "\n"
