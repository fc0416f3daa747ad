"""Flat front state, shared by the Pulumi provider and the Terraform resource.

Both fronts speak the same flat snake_case keys (`auth_type`, `username`, `access_token_scope`,
...): the backend's field names, renamed where :data:`~sg_bitbucket_iac.wording.FLAT_FIELD_NAMES`
says (the one renaming). The backend takes the nested declaration that
:func:`~sg_bitbucket_iac.model.parse_connector` validates and reports problems by path
(`auth.email`). Every translation between the two lives here: flat <-> declaration, state ->
applied snapshot, observed record -> refreshed state, problem path -> key, the timestamp format.
No Pulumi or `tf` import: unknown values, diagnostics and SDK types stay in the fronts.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import UTC, datetime
from typing import Any, TypedDict, cast

from .engine.snapshot import AppliedSnapshot
from .model import AUTH_CLASSES, SECRET_FIELDS, Connector
from .secrets import Secret
from .wire import ObservedConnector
from .wording import FLAT_FIELD_NAMES


class FlatConnector(TypedDict, total=False):
    """A connector as flat keys: what a Terraform resource or a Pulumi resource declares."""

    name: str | None
    connector_id: str | None
    description: str | None
    tags: list[str] | None
    workspace: str | None
    auth_type: str | None
    username: str | None
    email: str | None
    api_token: str | None
    access_token: str | None
    access_token_scope: str | None
    repository: str | None
    project: str | None
    app_password: str | None


class FlatState(FlatConnector, total=False):
    """What a front keeps in its state: the declaration plus what StackGuardian reports."""

    authenticated: bool | None
    created_at: str | None
    modified_at: str | None
    credentials_fingerprint: str | None


def flat_key(field: str) -> str:
    """A backend field (`scope`, `id`, `email`) as its flat key."""
    return FLAT_FIELD_NAMES.get(field, field)


_TOP_FIELDS = ("name", "id", "description", "tags", "workspace")
_AUTH_FIELDS = tuple(dict.fromkeys(f for auth_class in AUTH_CLASSES for f in auth_class.credential_fields))
DESCRIPTIVE_KEYS: tuple[str, ...] = tuple(flat_key(f) for f in _TOP_FIELDS)
CREDENTIAL_KEYS: tuple[str, ...] = (flat_key("type"), *(flat_key(f) for f in _AUTH_FIELDS))
SECRET_KEYS: tuple[str, ...] = tuple(flat_key(f) for f in _AUTH_FIELDS if f in SECRET_FIELDS)
_FIELD_OF_KEY = {flat_key(f): f for f in (*_TOP_FIELDS, *_AUTH_FIELDS, "type")}
_INDEX_RE = re.compile(r"\[(\d+)\]")


def field_of_path(problem_path: str) -> tuple[str, int | None]:
    """A backend problem path as (backend field, list index): `auth.email` -> ("email", None),
    `id` -> ("id", None), `tags[1]` -> ("tags", 1), `auth` -> ("type", None); a front names the
    field through its wording table (``FrontWording.field``)."""
    if not problem_path:
        return "", None
    head, _, rest = problem_path.partition(".")
    name = (rest.split(".", 1)[0] or "type") if head == "auth" else head
    index = _INDEX_RE.search(name)
    return _INDEX_RE.sub("", name), int(index.group(1)) if index else None


def key_of_path(problem_path: str) -> tuple[str, int | None]:
    """A backend problem path as (flat key, list index): `auth.email` -> ("email", None),
    `id` -> ("connector_id", None), `tags[1]` -> ("tags", 1), `auth` -> ("auth_type", None)."""
    field, index = field_of_path(problem_path)
    return (flat_key(field) if field else ""), index


def declaration(
    values: Mapping[str, Any], *, unknown: Collection[str] = (), secret_placeholder: str | None = None
) -> dict[str, Any]:
    """Flat values -> the backend's declarative shape (the one YAML definitions use).

    Null values and keys in ``unknown`` are left out; an unknown secret becomes
    ``secret_placeholder`` when one is given, so the rest can still be checked.
    """
    data: dict[str, Any] = {}
    for field in _TOP_FIELDS:
        key = flat_key(field)
        value = values.get(key)
        if value is not None and key not in unknown:
            # A set or tuple of tags becomes a list; anything else goes on as given, for the model to
            # report ("tags is a list of strings") instead of a TypeError or a string split into letters.
            data[field] = list(value) if key == "tags" and isinstance(value, list | tuple | set | frozenset) else value
    auth: dict[str, Any] = {}
    for key in CREDENTIAL_KEYS:
        value = values.get(key)
        if key in unknown:
            if key in SECRET_KEYS and secret_placeholder is not None:
                auth[_FIELD_OF_KEY[key]] = secret_placeholder
        elif value is not None:
            auth[_FIELD_OF_KEY[key]] = value
    data["auth"] = auth
    return data


def flat_of(connector: Connector) -> FlatConnector:
    """A parsed Connector as flat values (secret revealed: fronts echo it under its own key)."""
    values: dict[str, Any] = {
        "name": connector.name,
        "connector_id": connector.connector_id,
        "description": connector.description,
        "tags": list(connector.tags),
        "workspace": connector.workspace,
        "auth_type": connector.auth_type.value,
    }
    for field in connector.auth_type.credential_fields:
        value = getattr(connector.auth, field, None)
        values[flat_key(field)] = value.reveal() if isinstance(value, Secret) else value
    return cast(FlatConnector, values)


def secret_values(values: Mapping[str, Any]) -> list[str]:
    """Every secret a flat value set carries, to scrub texts before they leave a front."""
    return [v for k in SECRET_KEYS if isinstance(v := values.get(k), str) and v]


def snapshot_of(state: Mapping[str, Any], org: str | None) -> AppliedSnapshot | None:
    """The AppliedSnapshot that front state holds (what we last wrote); None if it is incomplete."""
    return AppliedSnapshot.from_dict({
        "connector_id": state.get("connector_id") or state.get("id"),
        "org": org,
        **{field: state.get(flat_key(field)) for field in _TOP_FIELDS if field != "id"},
        "auth_type": state.get("auth_type"),
        **{field: state.get(flat_key(field)) for field in _AUTH_FIELDS if field not in SECRET_FIELDS},
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


def refreshed(observed: ObservedConnector, prior: Mapping[str, Any]) -> FlatState:
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
    owned = auth_type.credential_fields if auth_type else ()
    shown = observed.shown_credential()
    for field in _AUTH_FIELDS:
        key = flat_key(field)
        kept = prior.get(key) if same_type else None
        if field not in owned:
            values[key] = None
        elif field in SECRET_FIELDS:
            values[key] = kept  # masked by the API: only we know what we sent
        else:
            shown_value = shown.get(field)
            values[key] = shown_value if shown_value is not None else kept
    return cast(FlatState, values)
