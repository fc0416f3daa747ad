"""The native provider's front on the shared Pulumi lifecycle: its words and its schema's value lists.

What the provider does at each call is :mod:`sg_bitbucket_iac.pulumi.lifecycle`, shared with the
dynamic ``BitbucketConnector``; this module says only how the native provider speaks: camelCase
property names, `pulumi import` and `adopt: true` (:data:`~sg_bitbucket_iac.wording.NATIVE_PULUMI_WORDING`),
`sgbitbucket:*` settings, errors as one line (a gRPC status), an import that the next `pulumi up`
manages. The rest of the front is Pulumi plumbing: property values, the schema, the gRPC server.
"""

from __future__ import annotations

import typing

from ...model import AccessTokenAuth, AuthType
from ...wording import NATIVE_PULUMI_WORDING, camel_case
from ..lifecycle import (
    LOOKUP_KEYS,
    SECRET_OUTPUT_KEYS,
    SETTING_OF_CONFIG,
    UNKNOWN,
    Checked,
    Difference,
    Failure,
    Lifecycle,
    PulumiFront,
    Read,
    Warn,
    is_unknown,
)

NATIVE_FRONT = PulumiFront(wording=NATIVE_PULUMI_WORDING, property_name=camel_case, one_line=True,
                           read_by_id="import", import_notes=True)
camel = camel_case  # a flat key as this provider spells the property (wording.py: its field names)
AUTH_TYPES: tuple[str, ...] = tuple(t.value for t in AuthType)
ACCESS_TOKEN_SCOPES: tuple[str, ...] = typing.get_args(AccessTokenAuth.model_fields["scope"].annotation)


def configuration_of_urn(urn: str) -> str | None:
    """Which stack and resource declare a connector: the resource's URN, for interrupted creates.

    The engine gives every Check and Create the resource's URN
    (``urn:pulumi:STACK::PROJECT::sgbitbucket:index:Connector::NAME``, parents' types included), so
    this provider needs no hidden input, unlike the dynamic resource (its ``configuration``): nothing a
    program could set or forget, nothing in the schema, the SDKs or `pulumi import`'s generated code,
    and the same value in every language. A create writes a marker made from it
    (:mod:`sg_bitbucket_iac.interrupted_create`); the same stack's next run of the same resource
    computes the same marker and finishes that create, while another stack, project, resource name or
    the dynamic resource (another type, another identity) never does. A URN does not name the Pulumi
    organization; two stacks of one project and stack name in two organizations are told apart by
    nothing else than the rest of the marker (StackGuardian org, declaration, credential).
    """
    return urn if urn.startswith("urn:pulumi:") else None


class Backend(Lifecycle):
    """The lifecycle in the native provider's words; one per plugin process."""

    def __init__(self, warn: Warn, *, log: Warn | None = None) -> None:
        super().__init__(NATIVE_FRONT, warn, log=log)


__all__ = [
    "ACCESS_TOKEN_SCOPES",
    "AUTH_TYPES",
    "LOOKUP_KEYS",
    "NATIVE_FRONT",
    "SECRET_OUTPUT_KEYS",
    "SETTING_OF_CONFIG",
    "UNKNOWN",
    "Backend",
    "Checked",
    "Difference",
    "Failure",
    "Read",
    "camel",
    "configuration_of_urn",
    "is_unknown",
]
