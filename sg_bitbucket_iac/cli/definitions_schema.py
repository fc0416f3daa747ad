"""The JSON Schema of a definitions file (`sg-bitbucket schema`), built from the loader's own rules.

Editors (through the ``yaml-language-server`` modeline) check keys, types, enums and patterns as
the file is typed. The schema is built from what the loader and the model enforce: their key
lists (:mod:`.definitions`, :class:`~sg_bitbucket_iac.model.Connector`, each auth class) and their
patterns (:mod:`sg_bitbucket_iac.field_rules`), so a new key or auth type appears here without a
second list to keep. Its one promise, held by a property test (tests/cli/test_definitions_schema.py):
what the schema refuses, the loader refuses. The loader refuses more (duplicate names and Ids,
secret references that do not resolve, plaintext secrets without ``--allow-plaintext-secrets``,
the app-password timeline): those need the file's neighbours, the environment or the date.

Values lose their surrounding whitespace before the loader checks them (a trailing space is not
an error), so each pattern allows it around the value; lengths count what is left.
"""

from __future__ import annotations

import re
from typing import Any, get_args

from ..field_rules import EMAIL_RE, MAX_DESCRIPTION, MAX_NAME, MAX_TAGS
from ..identifiers import Identifier
from ..model import AUTH_CLASSES, AccessTokenAuth, Connector
from ..tags import DEFAULT_SET, SET_NAME_PATTERN
from .definitions import CLI_CONNECTOR_KEYS, REFERENCE_FORMS, TOP_LEVEL_KEYS

DRAFT = "http://json-schema.org/draft-07/schema#"  # if/then/else, and what yaml-language-server reads

NOT_BLANK = r"\S"  # search semantics: somewhere a character that is not whitespace


def around_blanks(rule: re.Pattern[str] | str) -> str:
    """An anchored pattern (``^...$``) that also accepts the whitespace the loader strips around a value."""
    text = rule.pattern if isinstance(rule, re.Pattern) else rule
    if not (text.startswith("^") and text.endswith("$")):
        raise ValueError(f"{text!r} is not an anchored pattern")
    return rf"^\s*(?:{text[1:-1]})\s*$"


def identifier_pattern(kind: Identifier) -> str:
    """The identifier rule's characters and length as an anchored pattern (the loader refuses more: dots
    alone, reserved words)."""
    return f"^{kind.rule.pattern.pattern}$"


def _nullable(kind: str) -> list[str]:
    return [kind, "null"]


# Every key's description, by (where, key); a key without one is a test failure, not a silent gap.
DESCRIPTIONS: dict[tuple[str, str], str] = {
    ("file", "org"): "StackGuardian org the connectors live in (else --org, else SG_ORG).",
    ("file", "set"): "The set of connectors this file manages (default: `default`). Prune, \"managed, not declared\" "
                     "and the undeclared notes see only this set's connectors; `prune: true` needs a set of the "
                     "file's own.",
    ("file", "prune"): "true: apply deletes the connectors of this file's set that it no longer declares.",
    ("file", "connectors"): "The Bitbucket connectors this file declares (`[]` for none).",
    ("connector", "name"): f"StackGuardian ResourceName (1 to {MAX_NAME} characters).",
    ("connector", "id"): f"StackGuardian Id: letters, digits, `_` and `-` (at most {MAX_NAME}); derived from the "
                         "name when absent.",
    ("connector", "description"): f"Description (at most {MAX_DESCRIPTION} characters).",
    ("connector", "tags"): f"Tags: at most {MAX_TAGS}, each once, none empty.",
    ("connector", "workspace"): "Bitbucket workspace slug as in bitbucket.org/<slug>; used by preflight.",
    ("connector", "auth"): "The credential: `type` says which fields it has (api_token recommended).",
    ("connector", "preflight"): "false: do not check this connector's credential against Bitbucket before sending "
                                "it.",
    ("connector", "adopt"): "true: the first apply takes over an existing connector (the one with this Id, else "
                            "the only one with this name) instead of refusing it.",
    ("auth", "type"): "api_token (recommended), access_token, or app_password (legacy: refused from 2026-06-09).",
    ("auth", "username"): "Bitbucket username (not an email; bitbucket.org/account/settings).",
    ("auth", "email"): "Atlassian account email (Bitbucket's REST API authenticates the API token with it).",
    ("auth", "api_token"): f"Atlassian API token with Bitbucket read scopes, as a reference: {REFERENCE_FORMS}.",
    ("auth", "access_token"): f"Repository, project or workspace access token, as a reference: {REFERENCE_FORMS}.",
    ("auth", "scope"): "What the access token was created for (inferred from `repository`/`project` when absent).",
    ("auth", "repository"): "Repository slug of a repository access token (without the workspace).",
    ("auth", "project"): "Project key of a project access token.",
    ("auth", "app_password"): f"Bitbucket app password (legacy), as a reference: {REFERENCE_FORMS}.",
}

_SECRET = {"type": "string", "pattern": NOT_BLANK}
_AUTH_FIELD_RULES: dict[str, dict[str, Any]] = {
    # A username has no `@`, `:` or whitespace (check_username), an email is one (check_email).
    "username": {"type": "string", "pattern": around_blanks(r"^[^\s@:]+$")},
    "email": {"type": "string", "pattern": around_blanks(EMAIL_RE)},
    # Absent, null or empty: inferred from `repository`/`project` (AccessTokenAuth._infer_scope).
    "scope": {"type": _nullable("string"), "enum": [*get_args(AccessTokenAuth.model_fields["scope"].annotation), "",
                                                    None]},
    "repository": {"type": _nullable("string"), "pattern": around_blanks(identifier_pattern(Identifier.REPOSITORY))},
    "project": {"type": _nullable("string"), "pattern": around_blanks(identifier_pattern(Identifier.PROJECT_KEY))},
}


def _described(where: str, key: str, rule: dict[str, Any]) -> dict[str, Any]:
    return {"description": DESCRIPTIONS[(where, key)], **rule}


def _auth_schema() -> dict[str, Any]:
    """One `auth` object; `type` selects which fields it may and must have (draft-07 if/then per type)."""
    variants: list[dict[str, Any]] = []
    for auth_class in AUTH_CLASSES:
        auth_type = auth_class.auth_type.value
        fields = [name for name in auth_class.model_fields if name != "type"]
        properties: dict[str, Any] = {"type": {"const": auth_type}}
        for name in fields:
            rule = _SECRET if name == auth_class.secret_field else _AUTH_FIELD_RULES[name]
            properties[name] = _described("auth", name, rule)
        required = ["type", *(name for name, info in auth_class.model_fields.items()
                              if info.is_required() and name != "scope")]
        then: dict[str, Any] = {"properties": properties, "required": required, "additionalProperties": False}
        if auth_class is AccessTokenAuth:
            # An explicit scope needs its resource (a repository token names no project).
            then["allOf"] = [
                {"if": {"properties": {"scope": {"const": "repository"}}, "required": ["scope"]},
                 "then": {"required": ["repository"], "properties": {"repository": {"type": "string"},
                                                                     "project": {"type": "null"}}}},
                {"if": {"properties": {"scope": {"const": "project"}}, "required": ["scope"]},
                 "then": {"required": ["project"], "properties": {"project": {"type": "string"}}}},
            ]
        variants.append({"if": {"properties": {"type": {"const": auth_type}}, "required": ["type"]}, "then": then})
    return {
        **_described("connector", "auth", {"type": "object"}),
        "required": ["type"],
        "properties": {"type": _described("auth", "type", {"enum": [c.auth_type.value for c in AUTH_CLASSES]})},
        "allOf": variants,
    }


def _connector_schema() -> dict[str, Any]:
    rules: dict[str, dict[str, Any]] = {
        "name": {"type": "string", "pattern": rf"^\s*\S(?:[\s\S]{{0,{MAX_NAME - 2}}}\S)?\s*$"},
        "id": {"type": _nullable("string"), "pattern": rf"^\s*[A-Za-z0-9_-]{{1,{MAX_NAME}}}\s*$"},
        "description": {"type": _nullable("string"), "maxLength": MAX_DESCRIPTION},
        "tags": {"type": _nullable("array"), "items": {"type": "string", "pattern": NOT_BLANK},
                 "maxItems": MAX_TAGS, "uniqueItems": True},
        "workspace": {"type": "string", "pattern": around_blanks(identifier_pattern(Identifier.WORKSPACE))},
        "preflight": {"type": _nullable("boolean")},
        "adopt": {"type": _nullable("boolean")},
    }
    properties = {key: _auth_schema() if key == "auth" else _described("connector", key, rules[key])
                  for key in (*Connector.model_fields, *CLI_CONNECTOR_KEYS)}
    required = [name for name, info in Connector.model_fields.items() if info.is_required()]
    return {"type": "object", "properties": properties, "required": required, "additionalProperties": False}


def definitions_schema(*, with_sets: bool | None = None) -> dict[str, Any]:
    """The JSON Schema (draft-07) of a definitions file.

    ``with_sets``: describe the top-level ``set:`` and its prune rule; by default exactly when the
    loader knows the key, so that the schema never refuses what the loader accepts.
    """
    sets = ("set" in TOP_LEVEL_KEYS) if with_sets is None else with_sets
    rules: dict[str, dict[str, Any]] = {
        "org": {"type": _nullable("string"), "pattern": around_blanks(identifier_pattern(Identifier.ORG))},
        "set": {"type": _nullable("string"), "pattern": SET_NAME_PATTERN, "default": DEFAULT_SET},
        "prune": {"type": _nullable("boolean"), "default": False},
        "connectors": {"type": "array", "items": _connector_schema()},
    }
    keys = [key for key in TOP_LEVEL_KEYS if key != "set"]
    if sets:
        keys.insert(1, "set")
    schema: dict[str, Any] = {
        "$schema": DRAFT,
        "title": "sg-bitbucket connector definitions",
        "description": "StackGuardian Bitbucket VCS connectors declared for `sg-bitbucket plan/apply/drift`. "
                       "Print this schema with `sg-bitbucket schema`.",
        "type": "object",
        "properties": {key: _described("file", key, rules[key]) for key in keys},
        "required": ["connectors"],
        "additionalProperties": False,
    }
    if sets:
        # Pruning needs a set of the file's own: `default` holds every file without `set:`.
        schema["if"] = {"properties": {"prune": {"const": True}}, "required": ["prune"]}
        schema["then"] = {"required": ["set"],
                          "properties": {"set": {"type": "string", "not": {"const": DEFAULT_SET}}}}
    return schema
