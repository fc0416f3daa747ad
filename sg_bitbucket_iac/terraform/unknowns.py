"""WORKAROUND for tf 1.2.0: read every msgpack extension Terraform sends as an unknown value.

cty (Terraform, OpenTofu) encodes a value unknown at plan time as a msgpack extension: type 0
for a plain unknown and, since Terraform 1.6, type 12 for a *refined* unknown whose body says
what is already known (not null, a string prefix, a number range, a collection length). tf 1.2.0
turns only ``ExtType(0, b"\\x00")`` into :data:`tf.types.Unknown`; any other extension reaches
the resource as a raw ``ExtType``, so ``name = "n-${count.index}"`` failed `terraform validate`
with "must be a string" (see docs/evidence.md#terraform-refined-unknowns).

The protocol always allows a provider to drop refinements, and cty itself reads every extension
that is not a known value as unknown, so this adapter does the same: it rewrites the request's
DynamicValues, at any depth (an unknown tag inside a list or set, an unknown secret), to the one
unknown tf understands, before tf decodes them. Nothing is sent back refined: a planned value
Terraform receives is a plain unknown, which is valid for any config value it came from.

Requests and the fields rewritten: see :data:`DYNAMIC_FIELDS`. State Terraform has stored never
holds unknowns, but prior state is normalised too, since it costs nothing and keeps one rule.
"""

from __future__ import annotations

from typing import Any

import msgpack
from tf.gen import tfplugin_pb2 as pb
from tf.types import Unknown

# cty's encoding of a plain unknown (fixext 1, type 0, body 0x00): the form tf 1.2.0 decodes.
PLAIN_UNKNOWN = msgpack.ExtType(0, b"\x00")
# Extension type cty uses for an unknown with refinements (cty/msgpack/unknown.go).
REFINED_UNKNOWN_TYPE = 12

# RPC name -> the DynamicValue fields of its request that may carry values unknown at plan time.
DYNAMIC_FIELDS: dict[str, tuple[str, ...]] = {
    "ValidateProviderConfig": ("config",),
    "ConfigureProvider": ("config",),
    "ValidateResourceConfig": ("config",),
    "ValidateDataResourceConfig": ("config",),
    "ReadDataSource": ("config",),
    "PlanResourceChange": ("config", "prior_state", "proposed_new_state"),
    "ApplyResourceChange": ("config", "prior_state", "planned_state"),
}


def _any_extension_is_unknown(code: int, data: bytes) -> Any:
    """msgpack ext hook: no extension is a known value in cty's encoding, so each is unknown."""
    return Unknown


def _as_plain_unknown(value: Any) -> Any:
    if value is Unknown:
        return PLAIN_UNKNOWN
    raise TypeError(f"cannot encode {type(value).__name__}")


def decode(payload: bytes) -> Any:
    """A msgpack DynamicValue body with every unknown (plain or refined, at any depth) as Unknown."""
    return msgpack.unpackb(payload, ext_hook=_any_extension_is_unknown, raw=False, strict_map_key=False)


def normalized(value: pb.DynamicValue) -> pb.DynamicValue:
    """The same DynamicValue with every unknown in tf 1.2.0's one form; JSON and empty values unchanged.

    JSON DynamicValues cannot carry unknowns (Terraform only uses JSON for stored state).
    """
    if not value.msgpack:
        return value
    encoded = msgpack.packb(decode(value.msgpack), default=_as_plain_unknown, use_bin_type=True)
    return pb.DynamicValue(msgpack=encoded)


def normalize_request(rpc: str, request: Any) -> Any:
    """Rewrite, in place, the request fields of `rpc` listed in DYNAMIC_FIELDS; returns the request."""
    for name in DYNAMIC_FIELDS.get(rpc, ()):
        if request.HasField(name):
            getattr(request, name).CopyFrom(normalized(getattr(request, name)))
    return request
