"""The properties of ``BitbucketConnector``: which keys exist, which are secret, and how they map.

Property keys are :mod:`sg_bitbucket_iac.flatstate`'s flat keys (one state key per field, so each
secret stays secret under its own key: the engine re-marks outputs secret by key only). Secrets are
returned only under their own input keys; the derived ``credentials_fingerprint`` is secret through
:data:`ADDITIONAL_SECRET_OUTPUTS`. Every key set here is part of users' stack state: add, never rename.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

from pulumi.output import Unknown

from ..flatstate import (
    CREDENTIAL_KEYS,
    DESCRIPTIVE_KEYS,
    SECRET_KEYS,
    declaration,
    flat_of,
    key_of_path,
    refreshed,
)
from ..identifiers import Identifier
from ..model import Connector
from ..wire import ObservedConnector

# The wire form of an unknown value; the SDK turns it into pulumi.output.Unknown during Check/Diff.
UNKNOWN_WIRE = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"

# Inputs a program sets that steer a write but describe nothing on the server: not stored as outputs.
FLAG_KEYS: tuple[str, ...] = ("preflight", "adopt")
# `configuration` steers a write too, but BitbucketConnector sets it itself (the stack and resource it
# declares), not the program; the native provider reads the same identity from the resource's URN instead.
DIRECTIVE_KEYS: tuple[str, ...] = (*FLAG_KEYS, "configuration")
INPUT_KEYS: tuple[str, ...] = (*DESCRIPTIVE_KEYS, *CREDENTIAL_KEYS, *DIRECTIVE_KEYS)
# What a program declares (every input but `configuration`): the native provider's inputs.
PROGRAM_INPUT_KEYS: tuple[str, ...] = (*DESCRIPTIVE_KEYS, *CREDENTIAL_KEYS, *FLAG_KEYS)
COMPUTED_KEYS: tuple[str, ...] = (
    "org",
    "authenticated",
    "created_at",
    "modified_at",
    "credentials_fingerprint",
)
OUTPUT_KEYS: tuple[str, ...] = (*DESCRIPTIVE_KEYS, *CREDENTIAL_KEYS, *COMPUTED_KEYS)
# Derived from the secrets, so secret too; the engine only re-marks same-key outputs by itself.
ADDITIONAL_SECRET_OUTPUTS: tuple[str, ...] = ("credentials_fingerprint",)


def _sdk_unknown(value: Any) -> bool:
    return isinstance(value, Unknown) or value == UNKNOWN_WIRE


def is_unknown(value: Any, *, unknown: Callable[[Any], bool] = _sdk_unknown) -> bool:
    """An unknown (preview) value anywhere inside ``value``; ``unknown`` says what one looks like (by
    default as the SDK's dynamic-provider server hands it over; the native provider has its own)."""
    if unknown(value):
        return True
    if isinstance(value, list | tuple):
        return any(is_unknown(v, unknown=unknown) for v in value)
    if isinstance(value, Mapping):
        return any(is_unknown(v, unknown=unknown) for v in value.values())
    return False


def property_of(path: str) -> str:
    """The property key for a backend problem path: ``auth.email`` -> ``email``, ``id`` -> ``connector_id``."""
    return key_of_path(path)[0]


def connector_data(props: Mapping[str, Any]) -> dict[str, Any]:
    """Flat Pulumi properties -> the backend's declarative shape (the same one YAML definitions use)."""
    return declaration(props)


def configuration_of(props: Mapping[str, Any]) -> str | None:
    """The stack and resource that declare the connector, as BitbucketConnector set it (see
    :func:`~sg_bitbucket_iac.interrupted_create.creation_marker`); None from older programs."""
    value = props.get("configuration")
    return value if isinstance(value, str) and value and not is_unknown(value) else None


def checked_resource_id(resource_id: str) -> str:
    """The resource id (from state, a `get`, `pulumi import`) goes into a URL path: its rule first."""
    return Identifier.CONNECTOR_ID.check(resource_id, "id")


def checked_state_org(org: Any) -> str | None:
    """The org the state recorded (None: not recorded), checked like the configured one: it goes into every URL."""
    return Identifier.ORG.check(org, "org") if org else None


class Replacements:
    """The connector a planned replacement replaces, per (org, new Id), as the provider's Diff noted it.

    Pulumi checks a replacement again with empty olds, which say nothing of the connector it
    replaces; that one still holds the declared name until it is deleted, so the replacement's
    name check must not count it (:func:`sg_bitbucket_iac.name_clash.check_name_free`).
    """

    def __init__(self) -> None:
        self._replaced: dict[tuple[str, str], str] = {}
        self._lock = threading.Lock()

    def note(self, org: str, new_id: str, old_id: str) -> None:
        with self._lock:
            self._replaced[(org, new_id)] = old_id

    def replaced_by(self, org: str, new_id: str) -> str | None:
        with self._lock:
            return self._replaced.get((org, new_id))

    def clear(self) -> None:
        with self._lock:
            self._replaced.clear()


def state_outputs(
    observed: ObservedConnector,
    *,
    org: str,
    declared: Connector | None = None,
    previous: Mapping[str, Any] | None = None,
    fingerprint: str | None = None,
) -> dict[str, Any]:
    """The full output set: what StackGuardian reports, completed from the declared connector
    (after a write) or from the previous outputs (on read); see :func:`flatstate.refreshed`."""
    if declared is not None:
        prior: Mapping[str, Any] = {**flat_of(declared), "credentials_fingerprint": fingerprint}
    else:
        prior = previous or {}
    values = refreshed(observed, prior)
    outs: dict[str, Any] = {key: values.get(key) for key in OUTPUT_KEYS}
    outs["org"] = org
    return outs


def inputs_from_outputs(outs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs that reproduce ``outs`` (ReadResult.inputs), so a refresh leaves no phantom diff."""
    return {k: outs[k] for k in (*DESCRIPTIVE_KEYS, *CREDENTIAL_KEYS) if outs.get(k) is not None}


__all__ = [
    "ADDITIONAL_SECRET_OUTPUTS",
    "COMPUTED_KEYS",
    "DIRECTIVE_KEYS",
    "FLAG_KEYS",
    "INPUT_KEYS",
    "OUTPUT_KEYS",
    "PROGRAM_INPUT_KEYS",
    "SECRET_KEYS",
    "UNKNOWN_WIRE",
    "Replacements",
    "checked_resource_id",
    "checked_state_org",
    "configuration_of",
    "connector_data",
    "inputs_from_outputs",
    "is_unknown",
    "property_of",
    "state_outputs",
]
