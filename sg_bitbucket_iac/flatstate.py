"""Flat front state, shared by the Pulumi provider and the Terraform resource.

Both fronts speak the same flat snake_case keys (`auth_type`, `username`, `access_token_scope`,
...); the backend takes the nested declaration that :func:`~sg_bitbucket_iac.model.parse_connector`
validates and reports problems by path (`auth.email`). Every translation between the two lives
here: flat <-> declaration, state -> applied snapshot, observed record -> refreshed state,
problem path -> key, the timestamp format. No Pulumi or `tf` import: unknown values,
diagnostics and SDK types stay in the fronts.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any

from .engine.snapshot import AppliedSnapshot
from .model import (
    ACCESS_SCOPE_TAG,
    CREDENTIAL_FIELDS,
    PROJECT_TAG,
    REPOSITORY_TAG,
    SECRET_FIELDS,
    AuthType,
    Connector,
    ObservedConnector,
)
from .secrets import Secret

# Flat key -> top-level Connector field.
TOP_KEYS: dict[str, str] = {
    "name": "name",
    "connector_id": "id",
    "description": "description",
    "tags": "tags",
    "workspace": "workspace",
}
# Flat key -> auth field of the backend model (`auth.<field>`), in the model's field order.
AUTH_KEYS: dict[str, str] = {
    ("access_token_scope" if name == "scope" else name): name
    for name in dict.fromkeys(f for fields in CREDENTIAL_FIELDS.values() for f in fields)
}
KEY_OF_FIELD: dict[str, str] = {
    **{f: k for k, f in TOP_KEYS.items()},
    **{f: k for k, f in AUTH_KEYS.items()},
    "type": "auth_type",
    "auth": "auth_type",
}
DESCRIPTIVE_KEYS: tuple[str, ...] = tuple(TOP_KEYS)
CREDENTIAL_KEYS: tuple[str, ...] = ("auth_type", *AUTH_KEYS)
SECRET_KEYS: tuple[str, ...] = tuple(k for k, f in AUTH_KEYS.items() if f in SECRET_FIELDS)
# Keys each auth type owns (the model's CREDENTIAL_FIELDS, renamed).
KEYS_OF_TYPE: dict[AuthType, tuple[str, ...]] = {
    t: tuple(KEY_OF_FIELD[f] for f in CREDENTIAL_FIELDS[t]) for t in AuthType
}
# ContextTags where the backend keeps the access-token facts StackGuardian does not model.
_TAG_OF_KEY = {"access_token_scope": ACCESS_SCOPE_TAG, "repository": REPOSITORY_TAG, "project": PROJECT_TAG}
_INDEX_RE = re.compile(r"\[(\d+)\]")


def key_of_path(problem_path: str) -> tuple[str, int | None]:
    """A backend problem path as (flat key, list index): `auth.email` -> ("email", None),
    `id` -> ("connector_id", None), `tags[1]` -> ("tags", 1), `auth` -> ("auth_type", None)."""
    if not problem_path:
        return "", None
    head, _, rest = problem_path.partition(".")
    name = (rest.split(".", 1)[0] or "type") if head == "auth" else head
    index = _INDEX_RE.search(name)
    base = _INDEX_RE.sub("", name)
    return KEY_OF_FIELD.get(base, base), int(index.group(1)) if index else None


def declaration(
    values: Mapping[str, Any], *, unknown: Collection[str] = (), secret_placeholder: str | None = None
) -> dict[str, Any]:
    """Flat values -> the backend's declarative shape (the one YAML definitions use).

    Null values and keys in ``unknown`` are left out; an unknown secret becomes
    ``secret_placeholder`` when one is given, so the rest can still be checked.
    """
    data: dict[str, Any] = {}
    for key, field in TOP_KEYS.items():
        value = values.get(key)
        if value is not None and key not in unknown:
            data[field] = list(value) if key == "tags" else value
    auth: dict[str, Any] = {}
    for key in CREDENTIAL_KEYS:
        value = values.get(key)
        field = "type" if key == "auth_type" else AUTH_KEYS[key]
        if key in unknown:
            if key in SECRET_KEYS and secret_placeholder is not None:
                auth[field] = secret_placeholder
        elif value is not None:
            auth[field] = value
    data["auth"] = auth
    return data


def flat_of(connector: Connector) -> dict[str, Any]:
    """A parsed Connector as flat values (secret revealed: fronts echo it under its own key)."""
    auth = connector.auth
    values: dict[str, Any] = {
        "name": connector.name,
        "connector_id": connector.connector_id,
        "description": connector.description,
        "tags": list(connector.tags),
        "workspace": connector.workspace,
        "auth_type": connector.auth_type.value,
    }
    for field in connector.auth_type.credential_fields:
        value = getattr(auth, field, None)
        values[KEY_OF_FIELD[field]] = value.reveal() if isinstance(value, Secret) else value
    return values


def secret_values(values: Mapping[str, Any]) -> list[str]:
    """Every secret a flat value set carries, to scrub texts before they leave a front."""
    return [v for k in SECRET_KEYS if isinstance(v := values.get(k), str) and v]


def snapshot_of(state: Mapping[str, Any], org: str | None) -> AppliedSnapshot | None:
    """The AppliedSnapshot that front state holds (what we last wrote); None if it is incomplete."""
    return AppliedSnapshot.from_dict({
        "connector_id": state.get("connector_id") or state.get("id"),
        "org": org,
        **{field: state.get(key) for key, field in TOP_KEYS.items() if key != "connector_id"},
        "auth_type": state.get("auth_type"),
        **{field: state.get(key) for key, field in AUTH_KEYS.items() if field not in SECRET_FIELDS},
        "fingerprint": state.get("credentials_fingerprint"),
    })


def timestamp(value: datetime | None) -> str | None:
    """RFC 3339 in UTC with milliseconds (what StackGuardian's epoch-ms timestamps carry)."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _empty_like(prior: Any, observed: Any) -> Any:
    """StackGuardian has no "unset": "" and [] come back for an unset description or tag list.

    An empty observed value keeps the prior state's own spelling of "empty" (null, "" or []), so a
    config that leaves it out, or sets it empty, plans clean either way.
    """
    if observed:
        return observed
    return prior if prior in ("", []) else None


def refreshed(observed: ObservedConnector, prior: Mapping[str, Any]) -> dict[str, Any]:
    """What StackGuardian shows, filled in with what only we know, from ``prior`` (state or the
    declaration just written): secrets, the workspace, an access token's scope.

    Credential keys of another auth type become null, and nothing of ``prior``'s credentials
    survives an auth-type change made outside, so it shows as drift of every credential key.
    """
    auth_type = observed.auth_type
    same_type = auth_type is not None and prior.get("auth_type") == auth_type.value
    values: dict[str, Any] = {
        "connector_id": observed.id,
        "name": observed.name,
        "description": _empty_like(prior.get("description"), observed.description),
        "tags": _empty_like(prior.get("tags"), list(observed.tags)),
        "workspace": observed.workspace or prior.get("workspace"),
        "auth_type": auth_type.value if auth_type else None,
        "authenticated": observed.authenticated,
        "created_at": timestamp(observed.created_at),
        "modified_at": timestamp(observed.modified_at),
        "credentials_fingerprint": prior.get("credentials_fingerprint") if same_type else None,
    }
    owned = KEYS_OF_TYPE.get(auth_type, ()) if auth_type else ()
    for key in AUTH_KEYS:
        kept = prior.get(key) if same_type else None
        if key not in owned:
            values[key] = None
        elif key == "email":
            values[key] = observed.email if observed.email is not None else kept
        elif key == "username":
            values[key] = observed.username or kept
        elif key in SECRET_KEYS:
            values[key] = kept  # masked by the API: only we know what we sent
        else:
            values[key] = observed.context_tags.get(_TAG_OF_KEY[key]) or kept
    return values
