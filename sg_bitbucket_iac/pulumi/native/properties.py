"""Pulumi property structs <-> the backend's flat values: names, secrets and unknowns.

On the wire (``google.protobuf.Struct``), the engine marks a secret as an object with the
secret signature and an unknown (preview) value as a fixed string or an output value without
``value``; both encodings are the SDK's own constants (:mod:`pulumi.runtime.rpc`). Inside the
provider a secret is its plain value (the backend wraps it in ``Secret``) and an unknown is
:data:`backend.UNKNOWN`. On the way out, every credential key and the fingerprint are marked
secret whatever the engine sent, so no secret can leave unmarked.

Property names are camelCase (``accessTokenScope``); the backend's are snake_case
(``access_token_scope``); the mapping is :func:`sg_bitbucket_iac.wording.camel_case` over the keys the schema declares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.json_format import MessageToDict
from pulumi.runtime import rpc

from ..properties import OUTPUT_KEYS, PROGRAM_INPUT_KEYS
from .backend import LOOKUP_KEYS, SECRET_OUTPUT_KEYS, UNKNOWN, camel

SIG = rpc._special_sig_key
SECRET_SIG = rpc._special_secret_sig
OUTPUT_SIG = rpc._special_output_value_sig
UNKNOWN_WIRE = rpc.UNKNOWN

KEY_OF_PROPERTY: dict[str, str] = {camel(k): k for k in (*PROGRAM_INPUT_KEYS, *OUTPUT_KEYS, *LOOKUP_KEYS)}


def _plain(value: Any) -> Any:
    """A wire value (as MessageToDict gives it) as a plain value: secrets unwrapped, unknowns marked."""
    if value == UNKNOWN_WIRE:
        return UNKNOWN
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        sig = value.get(SIG)
        if sig == SECRET_SIG:
            return _plain(value.get("value"))
        if sig == OUTPUT_SIG:
            return _plain(value["value"]) if "value" in value else UNKNOWN
        return {k: _plain(v) for k, v in value.items()}
    return value


def _holds_secret(value: Any) -> bool:
    if isinstance(value, list):
        return any(_holds_secret(v) for v in value)
    if isinstance(value, dict):
        if value.get(SIG) == SECRET_SIG or (value.get(SIG) == OUTPUT_SIG and value.get("secret") is True):
            return True
        return any(_holds_secret(v) for v in value.values())
    return False


@dataclass
class Properties:
    """Wire properties as flat values; which keys the engine marked secret; names nobody declared."""

    values: dict[str, Any] = field(default_factory=dict)
    secret: set[str] = field(default_factory=set)
    strangers: list[str] = field(default_factory=list)


def to_flat(struct: struct_pb2.Struct) -> Properties:
    found = Properties()
    for name, value in MessageToDict(struct).items():
        key = KEY_OF_PROPERTY.get(name)
        if key is None:
            found.strangers.append(name)
            continue
        found.values[key] = _plain(value)
        if _holds_secret(value):
            found.secret.add(key)  # a value the program made secret stays secret, whatever its key
    return found


def config_values(struct: struct_pb2.Struct, variables: Mapping[str, str]) -> dict[str, Any]:
    """Provider settings by their Pulumi key: the typed ``args``, else the ``variables`` strings
    (``sgbitbucket:config:apiKey``) that older engines send."""
    values = {name: _plain(value) for name, value in MessageToDict(struct).items()}
    for full_name, text in variables.items():
        name = full_name.rsplit(":", 1)[-1]
        values.setdefault(name, text)
    return values


def _wire(value: Any, secret: bool) -> Any:
    if value is UNKNOWN:
        return UNKNOWN_WIRE
    if isinstance(value, list | tuple):
        value = [_wire(v, False) for v in value]
    if secret and value is not None:
        return {SIG: SECRET_SIG, "value": value}
    return value


def from_flat(values: Mapping[str, Any], keys: Iterable[str], *,
              secret_keys: Iterable[str] = SECRET_OUTPUT_KEYS) -> struct_pb2.Struct:
    """Flat values as wire properties (only ``keys``), secret keys marked secret."""
    secret = set(secret_keys)
    struct = struct_pb2.Struct()
    struct.update({camel(k): _wire(values.get(k), k in secret) for k in keys if k in values})
    return struct


def property_names(keys: Iterable[str]) -> list[str]:
    return [camel(k) for k in keys]
