"""The applied view: what this tool last wrote (Pulumi/Terraform keep it in state, the CLI in ContextTags)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from ..model import AuthType, Connector
from ..tags import applied_of
from ..wire import KIND, ObservedConnector


@dataclass(frozen=True)
class AppliedSnapshot:
    """What this tool last wrote: non-secret fields plus a credential fingerprint (never a secret)."""

    connector_id: str
    org: str
    name: str
    description: str
    tags: tuple[str, ...]
    workspace: str
    auth_type: AuthType
    username: str | None = None
    email: str | None = None
    scope: str | None = None
    repository: str | None = None
    project: str | None = None
    fingerprint: str | None = None

    @classmethod
    def of(cls, connector: Connector, org: str) -> AppliedSnapshot:
        auth = connector.auth
        return cls(
            connector_id=connector.connector_id,
            org=org,
            name=connector.name,
            description=connector.description,
            tags=tuple(connector.tags),
            workspace=connector.workspace,
            auth_type=connector.auth_type,
            username=getattr(auth, "username", None),
            email=getattr(auth, "email", None),
            scope=getattr(auth, "scope", None),
            repository=getattr(auth, "repository", None),
            project=getattr(auth, "project", None),
            fingerprint=connector.credential_fingerprint(org),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["tags"] = list(self.tags)
        data["auth_type"] = self.auth_type.value
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AppliedSnapshot | None:
        """Lenient: state written by older versions or edited by hand gives None, never a crash."""
        try:
            return cls(
                connector_id=_required_text(data, "connector_id"),
                org=_required_text(data, "org"),
                name=_required_text(data, "name"),
                description=str(data.get("description") or ""),
                tags=tuple(str(t) for t in data.get("tags") or ()),
                workspace=str(data.get("workspace") or ""),
                auth_type=AuthType(str(data["auth_type"])),
                username=data.get("username") or None,
                email=data.get("email") or None,
                scope=data.get("scope") or None,
                repository=data.get("repository") or None,
                project=data.get("project") or None,
                fingerprint=data.get("fingerprint") or None,
            )
        except (KeyError, ValueError, TypeError):
            return None

    def as_observed(self, *, authenticated: bool | None = None) -> ObservedConnector:
        """What StackGuardian showed right after this snapshot was applied.

        Lets a front plan "desired vs last applied" without a request (Pulumi's diff must not do
        I/O; refresh is a separate step): :func:`plan_connector` with this as ``observed``.
        """
        return ObservedConnector(
            id=self.connector_id,
            name=self.name,
            description=self.description,
            tags=self.tags,
            context_tags={},
            kind=KIND,
            auth_type=self.auth_type,
            email=self.email,
            username=self.username,
            has_secret=True,
            authenticated=authenticated,
            authenticated_at=None,
            created_at=None,
            modified_at=None,
        )

    @classmethod
    def from_tags(cls, context_tags: Mapping[str, str]) -> AppliedSnapshot | None:
        """The CLI's snapshot, kept in the connector's ContextTags (None when absent or unreadable)."""
        data = applied_of(context_tags)
        return cls.from_dict(data) if data is not None else None


def _required_text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if value is None or value == "":
        raise ValueError(f"{key} is empty")
    return str(value)

