"""What each connector attribute means, in one place for every schema that documents it.

The Terraform schema (and the registry docs generated from it) and the native Pulumi provider's
schema (and the SDKs and docs generated from that) describe the same fields. Their texts live
here, keyed by the backend's flat snake_case keys (:mod:`sg_bitbucket_iac.flatstate`). A text
that names another attribute writes it as ``{key}``; each front renders the name in its own
spelling (Terraform ``connector_id``, Pulumi ``connectorId``) through :func:`describe`.

No Terraform or Pulumi import here, and nothing heavy: the Terraform plugin reads these texts
before its handshake, so the environment variable names are written out (``tests/test_field_docs.py``
checks them against :mod:`sg_bitbucket_iac.settings`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

_REFERENCE = re.compile(r"\{([a-z_]+)\}")


CONNECTOR = (
    "A StackGuardian Bitbucket VCS connector (kind BITBUCKET_ORG). Changing {auth_type} updates it in place and "
    "replaces the whole credential set; the Id stays."
)
CONNECTOR_LOOKUP = (
    "An existing StackGuardian Bitbucket connector, by {connector_id} or {name}. Returns non-secret attributes only."
)
PROVIDER = "StackGuardian Bitbucket VCS connectors, with credential preflight against Bitbucket."

# The managed connector's attributes (Terraform resource, Pulumi resource inputs and outputs).
RESOURCE: dict[str, str] = {
    "id": "The StackGuardian connector Id (same as {connector_id}).",
    "connector_id": "StackGuardian Id; derived from {name} when unset (kept on rename). Changing it forces a new "
                    "connector.",
    "name": "StackGuardian ResourceName.",
    "workspace": "Bitbucket workspace slug (bitbucket.org/<slug>); used by preflight.",
    "description": "Description; unset and empty are the same.",
    "tags": "Tags; unset and empty are the same.",
    "auth_type": "api_token (recommended), access_token, or app_password (legacy: refused from 2026-06-09). A "
                 "change is an in-place full credential replacement.",
    "username": "Bitbucket username (api_token, app_password).",
    "email": "Atlassian account email (api_token).",
    "api_token": "Atlassian API token with Bitbucket read scopes (api_token).",
    "access_token": "Repository, project or workspace access token (access_token).",
    "access_token_scope": "repository, project or workspace (access_token); inferred from {repository}/{project} "
                          "when unset.",
    "repository": "Repository slug of a repository access token.",
    "project": "Project key of a project access token.",
    "app_password": "Bitbucket app password (app_password; legacy).",
    "preflight": "Check the credentials against Bitbucket before writing them (default: the provider's "
                 "{preflight}).",
    "adopt": "Take over an existing connector with this Id that this stack does not manage yet (one another tool "
             "or front owns, or one made in the UI): its credentials are replaced by the declared ones and the "
             "owner moves here. Without it, creating over an existing connector is an error.",
    # `{org}` in a text is the provider's setting (Terraform `org_name`, Pulumi `org`), not this attribute.
    "org": "The StackGuardian org the connector lives in (the provider's {org} when it was written). A new {org} "
           "replaces the connector: it is deleted in the old org and created in the new one.",
    # Terraform only (its plan shows the owner moving; Pulumi's ownership moves with `adopt`).
    "owner": "Who owns the connector in StackGuardian (ContextTag sg-bitbucket-iac/owner): `terraform` once an "
             "apply wrote it. An imported connector shows the owner it had (`cli`, `pulumi`, or null for none) "
             "until the next apply moves it to `terraform`, which its first plan shows as an in-place update.",
    "authenticated": "Whether StackGuardian reports the credentials as working.",
    "created_at": "When StackGuardian created the connector (RFC 3339, UTC).",
    "modified_at": "When StackGuardian last saw a write (RFC 3339, UTC).",
    "credentials_fingerprint": "Fingerprint of the credential set last applied: HMAC for generated tokens, "
                               "scrypt otherwise (not reversible; the same value the CLI keeps in ContextTags).",
}

# An existing connector looked up by Id or name (Terraform data source, Pulumi function).
LOOKUP: dict[str, str] = {
    "id": "The StackGuardian connector Id.",
    "connector_id": "StackGuardian Id to look up (or give {name}).",
    "name": "ResourceName to look up (or give {connector_id}).",
    "workspace": "Bitbucket workspace (from the connector's sg-bitbucket-iac ContextTags, if any).",
    "description": "Description (null when empty).",
    "auth_type": "api_token, access_token or app_password.",
    "username": "Bitbucket username, where StackGuardian shows it.",
    "email": "Atlassian account email (api_token).",
    "access_token_scope": "repository, project or workspace (access_token, from ContextTags).",
    "repository": "Repository of a repository access token (from ContextTags).",
    "project": "Project key of a project access token (from ContextTags).",
    "modified_at": "When StackGuardian last saw a write (RFC 3339, UTC).",
    "created_at": "When StackGuardian created the connector (RFC 3339, UTC).",
    "tags": "Tags (null when empty).",
    "authenticated": "Whether StackGuardian reports the credentials as working.",
}

# Provider settings, keyed by the Settings field they set (each front names them its own way).
SETTINGS: dict[str, str] = {
    "api_key": "StackGuardian API key; else `SG_API_TOKEN` or `STACKGUARDIAN_API_KEY`.",
    "api_url": "StackGuardian API base (default https://api.app.stackguardian.io); else `SG_BASE_URL` or "
               "`STACKGUARDIAN_API_URI`.",
    "org": "StackGuardian org; else `SG_ORG` or `STACKGUARDIAN_ORG_NAME`.",
    "bitbucket_api_url": "Bitbucket API base for preflight (default https://api.bitbucket.org/2.0); else "
                         "`BITBUCKET_API_URL`.",
    "preflight": "Check credentials against Bitbucket before writing them (default true; a resource's {preflight} "
                 "overrides it).",
}


def describe(text: str, name_of: Callable[[str], str] | Mapping[str, str]) -> str:
    """``text`` with each ``{key}`` written as the front's name for it, in backticks."""
    lookup = name_of.get if isinstance(name_of, Mapping) else name_of

    def name(match: re.Match[str]) -> str:
        key = match.group(1)
        return f"`{lookup(key) or key}`"

    return _REFERENCE.sub(name, text)
