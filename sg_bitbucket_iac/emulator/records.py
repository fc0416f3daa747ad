"""A StackGuardian connector record as the emulated API keeps it: its kinds, its fields and their rules.

The record's keys are sg-sdk-go's (``Integration``, ``PatchedIntegration``, ``ConnectorRecord``);
the limits are the official provider's documented ones (ResourceName < 100 characters,
Description < 256, at most 10 Tags). Which of these are confirmed, inferred or assumed is on
docs/evidence.md#stackguardian-wire-format.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

from .core import Response

# sg-sdk-go's IntegrationsSettingsKindEnum.
KINDS = (
    "GITHUB_COM",
    "GITHUB_APP_CUSTOM",
    "BITBUCKET_ORG",
    "GITLAB_COM",
    "AZURE_DEVOPS",
    "AWS_STATIC",
    "AWS_RBAC",
    "AWS_OIDC",
    "AZURE_STATIC",
    "AZURE_OIDC",
    "AZURE_MANAGED_ID_OIDC",
    "GCP_STATIC",
    "GCP_OIDC",
)
BITBUCKET_KIND = "BITBUCKET_ORG"
# [assumed] the config keys a read masks, omits or echoes (the switch `secret_read_mode`).
SECRET_KEYS = frozenset(
    {
        "bitbucketCreds",
        "bitbucketAccessToken",
        "gitlabCreds",
        "azureCreds",
        "githubAppClientSecret",
        "githubAppPemFileContent",
        "githubAppWebhookSecret",
        "awsSecretAccessKey",
        "armClientSecret",
        "gcpConfigFileContent",
    }
)
USER_SECRET_KEYS = frozenset({"bitbucketCreds", "gitlabCreds"})  # "user:secret": the user part may show
MASK = "********"
# What each bitbucketAuthType needs in Settings.config[0] (sg-sdk-go's SettingsConfig doc comments).
BITBUCKET_FIELDS: dict[str, tuple[str, ...]] = {
    "API_TOKEN": ("bitbucketCreds", "bitbucketEmail"),
    "ACCESS_TOKEN": ("bitbucketAccessToken",),
    "APP_PASSWORD": ("bitbucketCreds",),
}
BITBUCKET_CREDENTIAL_KEYS = frozenset({"bitbucketCreds", "bitbucketEmail", "bitbucketAccessToken"})
ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")
USER_SECRET_RE = re.compile(r"^[^:]+:.+$")
MAX_NAME = 100  # exclusive, as the provider docs say "< 100 characters"
MAX_DESCRIPTION = 256
MAX_TAGS = 10


class ApiError(Exception):
    """An error answer, ``{"msg": ...}``; the message never contains a secret."""

    def __init__(self, status: int, msg: str) -> None:
        super().__init__(msg)
        self.status = status
        self.msg = msg

    def response(self) -> Response:
        return Response.json(self.status, {"msg": self.msg})


# --------------------------------------------------------------------------- plain field rules
def _check_name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ApiError(400, "ResourceName is required and must be a non-empty string")
    if len(value) >= MAX_NAME:
        raise ApiError(400, f"ResourceName must be shorter than {MAX_NAME} characters")
    return value


def _check_description(value: Any) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "Description must be a string")
    if len(value) >= MAX_DESCRIPTION:
        raise ApiError(400, f"Description must be shorter than {MAX_DESCRIPTION} characters")
    return value


def _check_string_list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(400, f"{name} must be a list of strings")
    return list(value)


def _check_tags(value: Any) -> list[str]:
    tags = _check_string_list("Tags", value)
    if len(tags) > MAX_TAGS:
        raise ApiError(400, f"Tags can have at most {MAX_TAGS} entries")
    return tags


def _check_context_tags(value: Any) -> dict[str, str | None]:
    """sg-sdk-go types ContextTags values as nullable; null values are stored and read back as null."""
    if not isinstance(value, dict) or not all(v is None or isinstance(v, str) for v in value.values()):
        raise ApiError(400, "ContextTags must be an object of strings (or nulls)")
    return dict(value)


def _check_discovery(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(400, "DiscoverySettings must be an object")
    return copy.deepcopy(value)


# Each top-level field: its check, and the value that an absent (create) or null (PATCH) gives.
PLAIN_FIELDS: dict[str, tuple[Callable[[Any], Any], Any]] = {
    "ResourceName": (_check_name, None),
    "Description": (_check_description, ""),
    "Tags": (_check_tags, []),
    "ContextTags": (_check_context_tags, {}),
    "Scope": (lambda value: _check_string_list("Scope", value), ["*"]),
    "DiscoverySettings": (_check_discovery, None),
}
# Keys the admin API may also set behind the tool's back.
ADMIN_EXTRA_FIELDS = frozenset({"IsActive", "IsArchive", "DocVersion", "Authors", "SubResourceId"})


def plain_field_values(body: dict[str, Any], *, present_only: bool) -> dict[str, Any]:
    """Validated top-level values; ``null`` (or, on create, absence) gives the cleared value."""
    values: dict[str, Any] = {}
    for key, (check, cleared) in PLAIN_FIELDS.items():
        if key not in body and present_only:
            continue
        value = body.get(key)
        if value is None:
            if key == "ResourceName":
                raise ApiError(400, "ResourceName is required and cannot be cleared")
            values[key] = copy.deepcopy(cleared)
        else:
            values[key] = check(value)
    return values


# --------------------------------------------------------------------------- Settings.config[0]
def infer_bitbucket_auth_type(config: dict[str, Any]) -> str:
    """[assumed] order: an access token -> ACCESS_TOKEN, else an email -> API_TOKEN, else APP_PASSWORD."""
    if config.get("bitbucketAccessToken"):
        return "ACCESS_TOKEN"
    if config.get("bitbucketEmail"):
        return "API_TOKEN"
    return "APP_PASSWORD"


def merged(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    """``sent`` laid over ``stored`` key by key; a ``null`` deletes the key."""
    result = copy.deepcopy(stored)
    for key, value in sent.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = copy.deepcopy(value)
    return result


def is_mask(value: Any) -> bool:
    """Whether a sent secret is the read-back mask (``********`` or ``user:********``)."""
    return isinstance(value, str) and (value == MASK or value.endswith(":" + MASK))


def config_of(record: dict[str, Any]) -> dict[str, Any] | None:
    """``Settings.config[0]`` if the record has a sane one (admin edits may break it on purpose)."""
    settings = record.get("Settings")
    if not isinstance(settings, dict):
        return None
    configs = settings.get("config")
    if isinstance(configs, list) and configs and isinstance(configs[0], dict):
        return configs[0]
    return None
