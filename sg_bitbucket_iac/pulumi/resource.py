"""``BitbucketConnector``, the Pulumi resource, and its three auth input classes.

The auth classes are flattened into top-level properties (``auth_type``, ``username``, ``email``,
``api_token``, ...) instead of being a nested ``@pulumi.input_type``: Pulumi would camelCase a
nested object and make it secret as a whole, while flat keys keep one state key per field and let
each secret stay secret under its own key (the engine re-marks outputs secret by key only).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi import dynamic

from .properties import ADDITIONAL_SECRET_OUTPUTS, OUTPUT_KEYS
from .provider import BitbucketConnectorProvider


def _secret(value: pulumi.Input[str]) -> pulumi.Output[str]:
    """Secret even when the program passes a plain string."""
    return pulumi.Output.secret(value)


@dataclass(frozen=True)
class ApiTokenAuth:
    """Atlassian API token (recommended): Bitbucket username for git, Atlassian email for REST."""

    username: pulumi.Input[str]
    email: pulumi.Input[str]
    api_token: pulumi.Input[str] = field(repr=False)

    def _properties(self) -> dict[str, Any]:
        return {
            "auth_type": "api_token",
            "username": self.username,
            "email": self.email,
            "api_token": _secret(self.api_token),
        }


@dataclass(frozen=True)
class AccessTokenAuth:
    """Repository, project or workspace access token; ``scope`` is inferred from repository/project if unset."""

    access_token: pulumi.Input[str] = field(repr=False)
    scope: pulumi.Input[str] | None = None
    repository: pulumi.Input[str] | None = None
    project: pulumi.Input[str] | None = None

    def _properties(self) -> dict[str, Any]:
        return {
            "auth_type": "access_token",
            "access_token": _secret(self.access_token),
            "access_token_scope": self.scope,
            "repository": self.repository,
            "project": self.project,
        }


@dataclass(frozen=True)
class AppPasswordAuth:
    """Legacy app password: refused from 2026-06-09 (migrate with `sg-bitbucket migrate`)."""

    username: pulumi.Input[str]
    app_password: pulumi.Input[str] = field(repr=False)

    def _properties(self) -> dict[str, Any]:
        return {"auth_type": "app_password", "username": self.username, "app_password": _secret(self.app_password)}


Auth = ApiTokenAuth | AccessTokenAuth | AppPasswordAuth


class BitbucketConnector(dynamic.Resource, module="stackguardian", name="BitbucketConnector"):
    """A StackGuardian Bitbucket VCS connector. The Pulumi resource id is the StackGuardian connector Id.

    Type token ``pulumi-python:dynamic/stackguardian:BitbucketConnector`` (fixed). Provider settings
    come from the stack config namespace ``stackguardian`` (``apiKey`` secret, ``apiUrl``, ``org``,
    ``bitbucketApiUrl``, ``preflight``) or the environment.

    ``pulumi import`` cannot work for dynamic providers (pulumi/pulumi#16175); use ``adopt=True`` to
    take over an existing connector with the same Id, or :meth:`get` to read one without managing it.
    """

    connector_id: pulumi.Output[str]
    org: pulumi.Output[str]
    name: pulumi.Output[str]
    description: pulumi.Output[str]
    tags: pulumi.Output[list[str]]
    workspace: pulumi.Output[str]
    auth_type: pulumi.Output[str]
    username: pulumi.Output[str | None]
    email: pulumi.Output[str | None]
    api_token: pulumi.Output[str | None]
    access_token: pulumi.Output[str | None]
    access_token_scope: pulumi.Output[str | None]
    repository: pulumi.Output[str | None]
    project: pulumi.Output[str | None]
    app_password: pulumi.Output[str | None]
    authenticated: pulumi.Output[bool | None]
    created_at: pulumi.Output[str | None]
    modified_at: pulumi.Output[str | None]
    credentials_fingerprint: pulumi.Output[str | None]

    def __init__(
        self,
        resource_name: str,
        *,
        workspace: pulumi.Input[str],
        auth: Auth,
        name: pulumi.Input[str] | None = None,
        connector_id: pulumi.Input[str] | None = None,
        description: pulumi.Input[str] | None = None,
        tags: pulumi.Input[Sequence[pulumi.Input[str]]] | None = None,
        preflight: pulumi.Input[bool] | None = None,
        adopt: bool = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """Declare a connector.

        ``name`` is the StackGuardian ResourceName (default: ``resource_name``); ``connector_id`` the
        StackGuardian Id (default: derived from ``name`` at creation and kept, so a rename is an
        in-place update; a new explicit Id replaces the connector). ``preflight=False`` skips the
        Bitbucket credential check for this connector. ``adopt=True`` takes over an existing
        connector with the same Id instead of failing.
        """
        if not isinstance(auth, ApiTokenAuth | AccessTokenAuth | AppPasswordAuth):
            raise TypeError("auth must be ApiTokenAuth(...), AccessTokenAuth(...) or AppPasswordAuth(...)")
        props: dict[str, Any] = dict.fromkeys(OUTPUT_KEYS)  # every output declared, so it is exposed
        props.update(
            name=name if name is not None else resource_name,
            connector_id=connector_id,
            description=description,
            tags=tags,
            workspace=workspace,
            preflight=preflight,
            adopt=adopt,
        )
        props.update(auth._properties())
        # Which stack and resource declare it: a create this stack's run left unrecorded (interrupted
        # after StackGuardian stored it) is finished by its next run, and no other stack's is taken.
        props["configuration"] = json.dumps({
            "front": "pulumi", "stack": f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}",
            "resource": resource_name}, sort_keys=True)
        super().__init__(BitbucketConnectorProvider(), resource_name, props, _with_secret_outputs(opts))

    @staticmethod
    def get(
        resource_name: str, id: pulumi.Input[str], opts: pulumi.ResourceOptions | None = None
    ) -> BitbucketConnector:
        """Read an existing connector by its StackGuardian Id without managing it (no secrets in its outputs)."""
        resource = BitbucketConnector.__new__(BitbucketConnector)
        dynamic.Resource.__init__(
            resource,
            BitbucketConnectorProvider(),
            resource_name,
            dict.fromkeys(OUTPUT_KEYS),
            pulumi.ResourceOptions.merge(_with_secret_outputs(opts), pulumi.ResourceOptions(id=id)),
        )
        return resource


def _with_secret_outputs(opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(additional_secret_outputs=list(ADDITIONAL_SECRET_OUTPUTS))
    )
