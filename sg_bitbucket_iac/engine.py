"""Plan, apply, read and drift for Bitbucket connectors: the one place where the rules live.

Three views of a connector meet here:

* **desired**: the :class:`~sg_bitbucket_iac.model.Connector` a user declared (Pulumi inputs,
  Terraform config, a YAML entry);
* **applied**: an :class:`AppliedSnapshot` of what this tool last wrote (Pulumi/Terraform keep it
  in their state; the CLI keeps it in the connector's ContextTags, since it has no local state);
* **observed**: the :class:`~sg_bitbucket_iac.model.ObservedConnector` StackGuardian reports now.

desired vs observed/applied gives the plan; observed vs applied gives drift ("changed outside");
desired vs applied gives pending changes ("not yet applied"). Secrets never leave this module
except inside the request body the client encodes; plans and reports carry `(sensitive)`.
"""

from __future__ import annotations

import enum
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from . import changed_outside, name_clash, ownership, timeline
from .errors import ConfigurationError, NotFoundError, SGBitbucketError
from .model import (
    ACCESS_SCOPE_TAG,
    CONTEXT_TAG_PREFIX,
    CREDENTIAL_FIELDS,
    FINGERPRINT_TAG,
    KIND,
    MANAGED_TAG,
    PROJECT_TAG,
    REPOSITORY_TAG,
    SECRET_FIELDS,
    AccessTokenAuth,
    ApiTokenAuth,
    AppPasswordAuth,
    AuthType,
    Connector,
    ConnectorValidationError,
    ObservedConnector,
    Problem,
    descriptive_context_tags,
    observed_from_record,
    parse_auth,
    settings_payload,
    to_create_payload,
)
from .settings import Settings

if TYPE_CHECKING:
    from .bitbucket import PreflightResult
    from .stackguardian import StackGuardianClient

log = logging.getLogger(__name__)

SENSITIVE = "(sensitive)"
_TIMELINE_CHECKS = frozenset({"app_password_timeline", "app_password_new_connector"})
APPLIED_TAG = CONTEXT_TAG_PREFIX + "applied"


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "no-op"


# --------------------------------------------------------------------------- applied snapshot
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

    def to_tag(self) -> str:
        data = self.to_dict()
        data.pop("fingerprint")  # kept in its own tag
        return json.dumps(data, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_tags(cls, context_tags: Mapping[str, str]) -> AppliedSnapshot | None:
        raw = context_tags.get(APPLIED_TAG)
        if not raw:
            return None
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict):
            return None
        data["fingerprint"] = context_tags.get(FINGERPRINT_TAG)
        return cls.from_dict(data)


def _required_text(data: Mapping[str, Any], key: str) -> str:
    value = data[key]
    if value is None or value == "":
        raise ValueError(f"{key} is empty")
    return str(value)


# --------------------------------------------------------------------------- plans
@dataclass(frozen=True)
class FieldChange:
    """One field's change. Sensitive values are never stored, only the `(sensitive)` marker."""

    field: str
    before: Any
    after: Any
    sensitive: bool = False
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "before": SENSITIVE if self.sensitive and self.before is not None else self.before,
            "after": SENSITIVE if self.sensitive and self.after is not None else self.after,
            "sensitive": self.sensitive,
            **({"note": self.note} if self.note else {}),
        }


@dataclass
class ConnectorPlan:
    """What apply would do to one connector."""

    action: Action
    connector_id: str
    name: str
    changes: list[FieldChange] = field(default_factory=list)
    sends_credentials: bool = False
    full_credential_replacement: bool = False
    replace_reason: str = ""
    adopt: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def has_changes(self) -> bool:
        return self.action is not Action.NOOP

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action.value,
            "connector_id": self.connector_id,
            "name": self.name,
            "changes": [c.to_dict() for c in self.changes],
            "sends_credentials": self.sends_credentials,
            "full_credential_replacement": self.full_credential_replacement,
            **({"replace_reason": self.replace_reason} if self.replace_reason else {}),
            **({"adopt": True} if self.adopt else {}),
            "warnings": list(self.warnings),
        }


def _credential_view(connector: Connector | None, snapshot: AppliedSnapshot | None) -> dict[str, Any]:
    """User-facing credential fields with secrets as a presence marker (`(sensitive)`)."""
    if connector is not None:
        auth = connector.auth
        view: dict[str, Any] = {"auth.type": auth.auth_type.value}
        for name in CREDENTIAL_FIELDS[auth.auth_type]:
            value = getattr(auth, name, None)
            view[f"auth.{name}"] = SENSITIVE if name in SECRET_FIELDS else value
        return view
    if snapshot is not None:
        view = {"auth.type": snapshot.auth_type.value}
        for name in CREDENTIAL_FIELDS[snapshot.auth_type]:
            view[f"auth.{name}"] = SENSITIVE if name in SECRET_FIELDS else getattr(snapshot, name, None)
        return view
    return {}


def _observed_credential_view(observed: ObservedConnector) -> dict[str, Any]:
    view: dict[str, Any] = {"auth.type": observed.auth_type.value if observed.auth_type else None}
    if observed.auth_type is None:
        return view
    for name in CREDENTIAL_FIELDS[observed.auth_type]:
        if name in SECRET_FIELDS:
            view[f"auth.{name}"] = SENSITIVE if observed.has_secret else None
        elif name == "email":
            view["auth.email"] = observed.email
        elif name == "username":
            view["auth.username"] = observed.username
        else:  # access-token scope/repository/project: known only from our own ContextTags
            tag = {"scope": ACCESS_SCOPE_TAG, "repository": REPOSITORY_TAG, "project": PROJECT_TAG}[name]
            view[f"auth.{name}"] = observed.context_tags.get(tag)
    return view


def keep_identity(desired: Connector, applied: AppliedSnapshot | None) -> Connector:
    """An Id the user did not set is derived from the name once, at creation, and kept afterwards.

    So renaming a connector is an in-place update that never breaks workflows referencing
    `/integrations/<Id>`. Only an explicit new `id` (or a new org) replaces it. Fronts that keep
    state (Pulumi, Terraform) call this before planning and applying; the CLI has no state linking
    an old name to a new one, so it needs `id:` in the file to rename in place.
    """
    if desired.id is not None or applied is None or applied.connector_id == desired.connector_id:
        return desired
    return desired.model_copy(update={"id": applied.connector_id})


def _known_credential_view(observed: ObservedConnector, applied: AppliedSnapshot | None) -> dict[str, Any]:
    """What StackGuardian shows, completed from the last-applied snapshot where it masks a field
    (the username inside bitbucketCreds) or does not model it (access-token scope, repository, project)."""
    view = _observed_credential_view(observed)
    if applied is not None and applied.auth_type is observed.auth_type:
        for key, value in _credential_view(None, applied).items():
            if view.get(key) is None:
                view[key] = value
    return view


def plan_connector(
    desired: Connector | None,
    *,
    org: str,
    applied: AppliedSnapshot | None,
    observed: ObservedConnector | None,
    adopt: bool = False,
) -> ConnectorPlan:
    """The plan for one connector. Pure: no I/O, so every front and every test gets the same answer."""
    if desired is None:
        target = observed.id if observed else (applied.connector_id if applied else "")
        name = observed.name if observed else (applied.name if applied else target)
        if observed is None:
            return ConnectorPlan(Action.NOOP, target, name)
        return ConnectorPlan(Action.DELETE, target, name, changes=[FieldChange("connector", name, None)])

    connector_id = desired.connector_id
    if applied is not None and (applied.connector_id != connector_id or applied.org != org):
        what = "Id" if applied.connector_id != connector_id else "org"
        old_key = applied.connector_id if what == "Id" else applied.org
        new_key = connector_id if what == "Id" else org
        return ConnectorPlan(
            Action.REPLACE,
            connector_id,
            desired.name,
            changes=[FieldChange("id" if what == "Id" else "org", old_key, new_key, note="forces replacement")],
            sends_credentials=True,
            replace_reason=f"the connector {what} changed ({old_key} -> {new_key}); "
            f"an {what} cannot be changed in place",
        )

    if observed is None:
        create_changes = [
            FieldChange("name", None, desired.name),
            FieldChange("description", None, desired.description or None),
            FieldChange("tags", None, list(desired.tags) or None),
            FieldChange("workspace", None, desired.workspace),
        ]
        create_changes += [
            FieldChange(key, None, value, sensitive=value == SENSITIVE)
            for key, value in _credential_view(desired, None).items()
            if value is not None
        ]
        plan = ConnectorPlan(Action.CREATE, connector_id, desired.name,
                             changes=[c for c in create_changes if c.after is not None], sends_credentials=True)
        if applied is not None:
            plan.warnings.append("the connector was deleted outside this tool; apply re-creates it")
        return plan

    # Update: compare with what StackGuardian shows, and credentials with what we last applied.
    changes: list[FieldChange] = []
    if observed.name != desired.name:
        changes.append(FieldChange("name", observed.name, desired.name))
    if (observed.description or "") != desired.description:
        changes.append(FieldChange("description", observed.description or None, desired.description or None))
    if list(observed.tags) != list(desired.tags):
        changes.append(FieldChange("tags", list(observed.tags) or None, list(desired.tags) or None))
    observed_workspace = observed.workspace or (applied.workspace if applied else None)
    if observed_workspace != desired.workspace:
        changes.append(FieldChange("workspace", observed_workspace, desired.workspace))

    old_auth = observed.auth_type
    new_auth = desired.auth_type
    plan = ConnectorPlan(Action.UPDATE, connector_id, desired.name, adopt=adopt and applied is None)
    if old_auth != new_auth:
        # Full credential replacement: every credential field of the old and the new type changes.
        plan.full_credential_replacement = True
        plan.sends_credentials = True
        old_view = _known_credential_view(observed, applied)
        new_view = _credential_view(desired, None)
        for key in list(dict.fromkeys([*old_view, *new_view])):
            before, after = old_view.get(key), new_view.get(key)
            if key == "auth.type":
                changes.append(FieldChange(key, before, after, note="full credential replacement"))
            elif before is not None or after is not None:
                changes.append(FieldChange(key, before, after, sensitive=SENSITIVE in (before, after)))
    else:
        desired_fp = desired.credential_fingerprint(org)
        known_fp = applied.fingerprint if applied else observed.fingerprint
        old_view = _known_credential_view(observed, applied)
        new_view = _credential_view(desired, None)
        secret_key = f"auth.{new_auth.secret_field}"
        for key, after in new_view.items():
            if key in ("auth.type", secret_key):
                continue
            before = old_view.get(key)
            if before != after:
                changes.append(FieldChange(key, before, after))
        if known_fp is None:
            changes.append(FieldChange(secret_key, SENSITIVE if observed.has_secret else None, SENSITIVE,
                                       sensitive=True, note="last applied value unknown; the credential is re-sent"))
        elif known_fp != desired_fp:
            changes.append(FieldChange(secret_key, SENSITIVE, SENSITIVE, sensitive=True, note="rotated"))
        credential_keys = {f"auth.{n}" for n in CREDENTIAL_FIELDS[new_auth]} - {
            "auth.scope", "auth.repository", "auth.project"
        }
        plan.sends_credentials = any(c.field in credential_keys for c in changes)
    plan.changes = changes
    if plan.adopt:
        plan.warnings.append(f"adopting existing connector {connector_id}; its credentials are replaced")
    if not changes and not plan.adopt:
        plan.action = Action.NOOP
    return plan


# --------------------------------------------------------------------------- policy (timeline)
@dataclass(frozen=True)
class PolicyFindings:
    problems: list[Problem]
    warnings: list[str]


def check_policy(connector: Connector, *, at: datetime, path: str = "", creating: bool = True) -> PolicyFindings:
    """Rules that depend on the date: app passwords follow the deprecation timeline."""
    if not isinstance(connector.auth, AppPasswordAuth):
        return PolicyFindings([], [])
    status = timeline.app_password_status(at)
    where = f"{path}.auth.type" if path else "auth.type"
    if not status.allowed:
        message = status.message.replace("<ID>", connector.connector_id)
        return PolicyFindings([Problem(where, message, "app_password_unsupported")], [])
    warnings: list[str] = []
    if status.phase is timeline.AppPasswordPhase.DEPRECATED:
        text = status.message.replace("<ID>", connector.connector_id)
        if creating:
            text += "; Bitbucket no longer issues app passwords, so a new connector needs one that already exists"
        warnings.append(f"{where}: {text}")
    return PolicyFindings([], warnings)


# --------------------------------------------------------------------------- drift
class DriftStatus(enum.StrEnum):
    IN_SYNC = "in_sync"
    CHANGED_OUTSIDE = "changed_outside"
    NOT_YET_APPLIED = "not_yet_applied"
    DELETED_OUTSIDE = "deleted_outside"
    NOT_CREATED = "not_created"
    CREDENTIALS_FAILING = "credentials_failing"
    UNDECLARED = "undeclared"  # managed by this tool but missing from the definitions


@dataclass
class DriftReport:
    connector_id: str
    name: str
    statuses: list[DriftStatus]
    changed_outside: list[FieldChange] = field(default_factory=list)
    not_yet_applied: list[FieldChange] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    authenticated: bool | None = None
    modified_at: datetime | None = None

    @property
    def drifted(self) -> bool:
        return self.statuses != [DriftStatus.IN_SYNC]

    def to_dict(self) -> dict[str, Any]:
        return {
            "connector_id": self.connector_id,
            "name": self.name,
            "status": [s.value for s in self.statuses],
            "changed_outside": [c.to_dict() for c in self.changed_outside],
            "not_yet_applied": [c.to_dict() for c in self.not_yet_applied],
            "messages": list(self.messages),
            "authenticated": self.authenticated,
            "modified_at": self.modified_at.isoformat() if self.modified_at else None,
        }


def _observed_fields(observed: ObservedConnector) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": observed.name,
        "description": observed.description or None,
        "tags": list(observed.tags) or None,
        "auth.type": observed.auth_type.value if observed.auth_type else None,
        "auth.email": observed.email,
    }
    if observed.username is not None:
        fields["auth.username"] = observed.username
    return fields


def _snapshot_fields(snapshot: AppliedSnapshot, visible_username: bool) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "name": snapshot.name,
        "description": snapshot.description or None,
        "tags": list(snapshot.tags) or None,
        "auth.type": snapshot.auth_type.value,
        "auth.email": snapshot.email,
    }
    if visible_username:
        fields["auth.username"] = snapshot.username
    return fields


def _desired_fields(connector: Connector) -> dict[str, Any]:
    return {
        "name": connector.name,
        "description": connector.description or None,
        "tags": list(connector.tags) or None,
        "auth.type": connector.auth_type.value,
        "auth.email": getattr(connector.auth, "email", None),
        "auth.username": getattr(connector.auth, "username", None),
        "workspace": connector.workspace,
    }


def classify_drift(
    desired: Connector | None,
    *,
    org: str,
    applied: AppliedSnapshot | None,
    observed: ObservedConnector | None,
    at: datetime,
    preflight: PreflightResult | None = None,
) -> DriftReport:
    """Three-way comparison: changed outside (observed vs applied) apart from not yet applied."""
    connector_id = (desired.connector_id if desired else None) or (observed.id if observed else "") or (
        applied.connector_id if applied else ""
    )
    name = desired.name if desired else (observed.name if observed else (applied.name if applied else ""))
    report = DriftReport(connector_id, name, [])
    if observed is None:
        if applied is not None:
            report.statuses.append(DriftStatus.DELETED_OUTSIDE)
            report.messages.append("deleted outside this tool; apply re-creates it")
        else:
            report.statuses.append(DriftStatus.NOT_CREATED)
            report.messages.append("declared but not created yet; apply creates it")
        return report
    report.authenticated = observed.authenticated
    report.modified_at = observed.modified_at
    if desired is None:
        report.statuses.append(DriftStatus.UNDECLARED)
        report.messages.append("managed by sg-bitbucket-iac but missing from the definitions; "
                               "apply with prune deletes it")
    observed_fields = _observed_fields(observed)
    if applied is not None:
        baseline = _snapshot_fields(applied, visible_username=observed.username is not None)
        for key, before in baseline.items():
            after = observed_fields.get(key)
            if before != after:
                report.changed_outside.append(FieldChange(key, before, after))
        if observed.workspace and observed.workspace != applied.workspace:
            report.changed_outside.append(FieldChange("workspace", applied.workspace, observed.workspace))
    if desired is not None:
        reference = _snapshot_fields(applied, True) if applied is not None else dict(observed_fields)
        if applied is not None:
            reference["workspace"] = applied.workspace
            reference["auth.username"] = applied.username
        else:
            reference["workspace"] = observed.workspace
            reference.setdefault("auth.username", None)
        for key, after in _desired_fields(desired).items():
            before = reference.get(key)
            if key == "auth.username" and applied is None and observed.username is None:
                continue  # not visible and never applied by us: unknown, not a difference
            if key == "workspace" and before is None:
                continue
            if before != after:
                report.not_yet_applied.append(FieldChange(key, before, after))
        desired_fp = desired.credential_fingerprint(org)
        known_fp = applied.fingerprint if applied is not None else observed.fingerprint
        if known_fp is not None and known_fp != desired_fp and desired.auth_type.value == (
            applied.auth_type.value if applied else (observed.auth_type.value if observed.auth_type else None)
        ):
            key = f"auth.{desired.auth_type.secret_field}"
            report.not_yet_applied.append(FieldChange(key, SENSITIVE, SENSITIVE, sensitive=True, note="rotated"))
    if report.changed_outside:
        report.statuses.append(DriftStatus.CHANGED_OUTSIDE)
    if report.not_yet_applied:
        report.statuses.append(DriftStatus.NOT_YET_APPLIED)
    failing: list[str] = []
    if observed.authenticated is False:
        failing.append("StackGuardian reports the credentials as not authenticated")
    if preflight is not None and preflight.status.value == "FAIL":
        failing.append(f"preflight against Bitbucket failed: {preflight.summary()}")
    if observed.auth_type is AuthType.APP_PASSWORD:
        status = timeline.app_password_status(at)
        if not status.allowed:
            failing.append(status.message.replace("<ID>", observed.id))
        elif status.needs_action:
            report.messages.append(status.message.replace("<ID>", observed.id))
    if failing:
        report.statuses.append(DriftStatus.CREDENTIALS_FAILING)
        report.messages.extend(failing)
    if not report.statuses:
        report.statuses.append(DriftStatus.IN_SYNC)
    return report


# --------------------------------------------------------------------------- audit
@dataclass(frozen=True)
class AuditFinding:
    """One connector's health: what needs doing, if anything, and the app-password phase."""

    connector_id: str
    needs_action: bool
    actions: tuple[str, ...]
    app_password_phase: timeline.AppPasswordPhase | None


def audit_connector(observed: ObservedConnector, *, at: datetime) -> AuditFinding:
    """Needs action: an app password past the point the timeline asks for a migration, credentials
    StackGuardian says do not authenticate, or no recognisable Bitbucket credential.

    The next step names where the credential is changed: the owner's code when a front owns the
    connector (its next apply would undo a `migrate`), `sg-bitbucket migrate` otherwise.
    """
    actions: list[str] = []
    phase: timeline.AppPasswordPhase | None = None
    owner = ownership.owner_of(observed.context_tags)
    remedy = ownership.remediation(owner, observed.id)
    if observed.auth_type is AuthType.APP_PASSWORD:
        status = timeline.app_password_status(at)
        phase = status.phase
        if status.needs_action:
            actions.append(timeline.with_remedy(status.message, observed.id, None if owner is None else remedy))
    if observed.authenticated is False:
        actions.append(f"StackGuardian reports these credentials do not authenticate: replace them ({remedy})"
                       if owner is not None else
                       "StackGuardian reports these credentials do not authenticate: replace them (update the "
                       f"definition and apply, or `sg-bitbucket migrate --connector {observed.id} ...`)")
    if observed.auth_type is None:
        actions.append("no recognisable Bitbucket credential: set one with "
                       f"`sg-bitbucket migrate --connector {observed.id} --to api_token ...`")
    return AuditFinding(observed.id, bool(actions), tuple(actions), phase)


# --------------------------------------------------------------------------- engine (I/O)
class PreflightFailed(SGBitbucketError):
    """Bitbucket rejected the credentials; nothing was written."""

    def __init__(self, result: PreflightResult, connector_id: str) -> None:
        self.result = result
        super().__init__(f"connector {connector_id}: credential preflight failed: {result.summary()}",
                         hint="fix the credential, or turn preflight off for this connector if you must")


class ConnectorExistsError(SGBitbucketError):
    def __init__(self, connector_id: str, org: str) -> None:
        super().__init__(
            f"connector {connector_id} already exists in org {org} and is not managed here",
            hint="take it over explicitly (Pulumi: adopt=True; Terraform: `terraform import`; CLI: `adopt: true` "
            "on the connector, or `sg-bitbucket import ID --to-yaml`), or choose another Id",
        )


@dataclass
class ApplyResult:
    plan: ConnectorPlan
    observed: ObservedConnector | None
    snapshot: AppliedSnapshot | None
    preflight: PreflightResult | None = None
    warnings: list[str] = field(default_factory=list)


class Engine:
    """Talks to StackGuardian (and Bitbucket for preflight) on behalf of every front."""

    def __init__(
        self,
        client: StackGuardianClient | None,
        *,
        bitbucket_api_url: str,
        preflight: bool = True,
        clock: str | datetime | None = None,
        mark_managed: bool = False,
        preflight_backoff: float = 1.0,
        owner: ownership.Front | None = None,
    ) -> None:
        self._client = client
        self.org = client.org if client is not None else ""
        self.bitbucket_api_url = bitbucket_api_url
        self.preflight_enabled = preflight
        self._clock = clock
        self.mark_managed = mark_managed
        self.preflight_backoff = preflight_backoff
        # The front this engine writes for (the owner tag); the CLI's is implied by mark_managed.
        self.owner = owner or (ownership.Front.CLI if mark_managed else None)

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Engine:
        from .stackguardian import StackGuardianClient

        client = StackGuardianClient.from_settings(settings)
        kwargs.setdefault("preflight", settings.preflight)
        kwargs.setdefault("clock", settings.clock)
        return cls(client, bitbucket_api_url=settings.bitbucket_api_url, **kwargs)

    @classmethod
    def for_preflight(cls, settings: Settings, **kwargs: Any) -> Engine:
        """An engine that only checks credentials and dates: no StackGuardian key or org needed."""
        kwargs.setdefault("preflight", settings.preflight)
        kwargs.setdefault("clock", settings.clock)
        return cls(None, bitbucket_api_url=settings.bitbucket_api_url, **kwargs)

    @property
    def client(self) -> StackGuardianClient:
        if self._client is None:
            raise ConfigurationError(
                "this operation needs StackGuardian, but the engine was built for preflight only",
                hint="configure an API key and org",
            )
        return self._client

    def now(self) -> datetime:
        return timeline.now(self._clock)

    # ------------------------------------------------------------------ reading
    def read(self, connector_id: str) -> ObservedConnector | None:
        record = self.client.find(connector_id)
        return observed_from_record(record) if record is not None else None

    def named(self, name: str) -> list[ObservedConnector]:
        """Bitbucket connectors with this exact ResourceName (the server filter is a comma list)."""
        records = self.client.list_all(resource_names=None if "," in name else [name])
        return [o for o in map(observed_from_record, records) if o.is_bitbucket and o.name == name]

    def list_observed(self) -> Iterator[ObservedConnector]:
        """Every Bitbucket connector of the org, through listall (a handful of requests for thousands)."""
        for record in self.client.list_all():
            observed = observed_from_record(record)
            if observed.is_bitbucket:
                yield observed

    # ------------------------------------------------------------------ validation
    def validate(self, connector: Connector, *, path: str = "", creating: bool = True) -> list[str]:
        """Date-dependent rules; raises ConnectorValidationError, returns warnings."""
        findings = check_policy(connector, at=self.now(), path=path, creating=creating)
        if findings.problems:
            raise ConnectorValidationError(findings.problems)
        return findings.warnings

    def preflight(
        self,
        connector: Connector,
        *,
        new_connector: bool = True,
        enabled: bool | None = None,
        repositories: tuple[str, ...] = (),
    ) -> PreflightResult | None:
        """Check the credential against Bitbucket (cached per credential per process)."""
        if not (self.preflight_enabled if enabled is None else enabled):
            return None
        from .bitbucket import run_preflight

        result = run_preflight(
            connector.auth,
            connector.workspace,
            api_url=self.bitbucket_api_url,
            now=self.now(),
            new_connector=new_connector,
            repositories=repositories,
            retry_backoff=self.preflight_backoff,
        )
        # The app-password timeline is the date policy's to say (check_policy names the connector):
        # the preflight's own copy stays in its checks table but is not said a second time.
        timeline_texts = {c.message for c in result.checks if c.name in _TIMELINE_CHECKS}
        if timeline_texts & set(result.warnings):
            result = replace(result, warnings=tuple(w for w in result.warnings if w not in timeline_texts))
        return result

    # ------------------------------------------------------------------ planning
    def plan(
        self,
        desired: Connector | None,
        *,
        applied: AppliedSnapshot | None = None,
        observed: ObservedConnector | None = None,
        adopt: bool = False,
        refresh: bool = True,
        resend_credentials: bool = False,
        same_name: Iterable[ObservedConnector] | None = None,
    ) -> ConnectorPlan:
        connector_id = desired.connector_id if desired else (applied.connector_id if applied else None)
        if refresh and observed is None and connector_id:
            observed = self.read(connector_id)
        if self.mark_managed and applied is None and observed is not None and observed.managed:
            applied = AppliedSnapshot.from_tags(observed.context_tags)
        change = ownership.check_write(desired.connector_id, observed.context_tags, self.owner, adopt=adopt) if (
            desired is not None and observed is not None) else None
        adopting_unmanaged = applied is None and not adopt and not (self.mark_managed and observed and observed.managed)
        if desired is not None and observed is not None and adopting_unmanaged:
            raise ConnectorExistsError(desired.connector_id, self.org)
        plan = plan_connector(desired, org=self.org, applied=applied, observed=observed, adopt=adopt)
        if desired is not None and plan.action is Action.CREATE:
            name_clash.check_name_free(desired, self.named(desired.name) if same_name is None else same_name,
                                       self.org)
        if desired is not None:
            plan.warnings.extend(self.validate(desired, creating=plan.action in (Action.CREATE, Action.REPLACE)))
            self._reassert(desired, plan, observed, resend_credentials or self._cli_changed_outside(observed))
        if change is not None and change.previous is not None:
            plan.adopt = True
            plan.warnings.append(change.message)
            if plan.action is Action.NOOP:
                plan.action = Action.UPDATE
        return plan

    def _cli_changed_outside(self, observed: ObservedConnector | None) -> str:
        """The CLI's "changed outside" note when ModifiedAt is later than its last write (ContextTags)."""
        if not self.mark_managed or observed is None or not observed.managed:
            return ""
        last_write = changed_outside.cli_changed_outside(observed.context_tags, observed.modified_at)
        return changed_outside.RESEND_NOTE if last_write is not None else ""

    @staticmethod
    def _reassert(desired: Connector, plan: ConnectorPlan, observed: ObservedConnector | None,
                  reason: bool | str) -> None:
        """Re-send the declared credential (even when nothing visible differs) of an existing connector."""
        if not reason or observed is None or plan.action not in (Action.UPDATE, Action.NOOP):
            return
        plan.action = Action.UPDATE
        plan.sends_credentials = True
        key = f"auth.{desired.auth_type.secret_field}"
        if not any(c.field == key for c in plan.changes):
            note = reason if isinstance(reason, str) else "re-sent on request (--resend-credentials)"
            plan.changes.append(FieldChange(key, SENSITIVE, SENSITIVE, sensitive=True, note=note))

    # ------------------------------------------------------------------ applying
    def _context_tags(self, connector: Connector, observed: ObservedConnector | None) -> dict[str, str]:
        tags = {k: v for k, v in (observed.context_tags if observed else {}).items()
                if not k.startswith(CONTEXT_TAG_PREFIX)}
        tags.update(descriptive_context_tags(connector))
        if self.mark_managed or (self.owner is None and observed is not None and observed.managed):
            # The CLI's bookkeeping, also kept true by front-less writes (migrate) to a CLI-owned connector.
            snapshot = AppliedSnapshot.of(connector, self.org)
            tags[MANAGED_TAG] = "true"
            tags[APPLIED_TAG] = snapshot.to_tag()
            if snapshot.fingerprint:
                tags[FINGERPRINT_TAG] = snapshot.fingerprint
            tags.update(changed_outside.last_write_tag())
        if observed is not None and self.owner is None:
            tags.update({k: v for k, v in observed.context_tags.items() if k == ownership.OWNER_TAG})
        return ownership.owner_tags(tags, self.owner)

    def apply(
        self,
        desired: Connector | None,
        plan: ConnectorPlan,
        *,
        observed: ObservedConnector | None = None,
        preflight: bool | None = None,
    ) -> ApplyResult:
        """Carry out a plan: preflight (when credentials are sent), then one StackGuardian write."""
        if plan.action is Action.NOOP:
            return ApplyResult(plan, observed, AppliedSnapshot.of(desired, self.org) if desired else None)
        if plan.action is Action.DELETE:
            self.client.delete(plan.connector_id, missing_ok=True)
            return ApplyResult(plan, None, None)
        assert desired is not None
        # Re-checked because the date can pass between plan and apply; its warnings are already in the plan.
        self.validate(desired, creating=plan.action is not Action.UPDATE)
        result = ApplyResult(plan, None, None)
        if plan.sends_credentials:
            result.preflight = self.preflight(
                desired, new_connector=plan.action is not Action.UPDATE, enabled=preflight
            )
            if result.preflight is not None:
                if result.preflight.status.value == "FAIL":
                    raise PreflightFailed(result.preflight, desired.connector_id)
                if result.preflight.status.value == "INCONCLUSIVE":
                    result.warnings.append(
                        "Bitbucket could not be asked (rate limit or outage); credentials were not verified: "
                        + result.preflight.summary()
                    )
                result.warnings.extend(result.preflight.warnings)
        if plan.action in (Action.CREATE, Action.REPLACE):
            record = self.client.create(to_create_payload(desired, self._context_tags(desired, None)))
        else:
            if observed is None:
                observed = self.read(desired.connector_id)
                if observed is None:
                    raise NotFoundError("connector vanished between plan and apply",
                                        operation=f"update connector {desired.connector_id}")
            patch: dict[str, Any] = {
                "ResourceName": desired.name,
                "Description": desired.description,
                "Tags": list(desired.tags),
                "ContextTags": self._context_tags(desired, observed),
            }
            if plan.sends_credentials:
                patch["Settings"] = settings_payload(desired.auth)
            record = self.client.update(desired.connector_id, patch)
        result.observed = observed_from_record(record)
        result.snapshot = AppliedSnapshot.of(desired, self.org)
        return result

    def take_ownership(self, observed: ObservedConnector) -> tuple[ownership.OwnerChange | None, ObservedConnector]:
        """Terraform import: move the owner to this engine's front with a ContextTags-only write.

        Nothing else changes (no credential is sent); the CLI's markers go with a move away from it,
        so a CLI file that no longer lists the connector never prunes it. Returns the connector as
        the write left it: its ModifiedAt is this tool's last write, not an edit made outside.
        """
        if self.owner is None:
            return None, observed
        change = ownership.check_write(observed.id, observed.context_tags, self.owner, adopt=True)
        if change is None:
            return None, observed
        record = self.client.update(
            observed.id, {"ContextTags": ownership.owner_tags(observed.context_tags, self.owner)})
        return change, observed_from_record(record)

    def delete(self, connector_id: str) -> bool:
        return self.client.delete(connector_id, missing_ok=True)

    def drift(
        self,
        desired: Connector | None,
        *,
        applied: AppliedSnapshot | None = None,
        observed: ObservedConnector | None = None,
        verify_credentials: bool = False,
    ) -> DriftReport:
        if applied is None and observed is not None:
            applied = AppliedSnapshot.from_tags(observed.context_tags)
        check = None
        if verify_credentials and desired is not None and observed is not None:
            check = self.preflight(desired, new_connector=False, enabled=True)
        report = classify_drift(desired, org=self.org, applied=applied, observed=observed, at=self.now(),
                                preflight=check)
        last_write = changed_outside.cli_changed_outside(observed.context_tags, observed.modified_at) if (
            observed is not None and observed.managed) else None
        if last_write is not None and observed is not None and observed.modified_at is not None:
            report.statuses = [s for s in report.statuses if s is not DriftStatus.IN_SYNC]
            if DriftStatus.CHANGED_OUTSIDE not in report.statuses:
                report.statuses.insert(0, DriftStatus.CHANGED_OUTSIDE)
            report.messages.append(changed_outside.changed_outside_message(
                observed.modified_at, last_write,
                how_to_resend=f"`sg-bitbucket apply -f FILE {report.name} --resend-credentials` re-sends the "
                "declared one (a plain apply re-sends it too)"))
        return report


def credentials_from(
    auth_type: AuthType | str, values: Mapping[str, Any]
) -> ApiTokenAuth | AccessTokenAuth | AppPasswordAuth:
    """Build an auth from loose values (CLI flags, import), with the model's validation and errors."""
    auth_fields = {name for fields in CREDENTIAL_FIELDS.values() for name in fields}
    # Every credential field given is passed on, so a field of another auth type is an error
    # ("belongs to auth type ...") rather than silently dropped.
    fields = {k: v for k, v in values.items() if v is not None and k in auth_fields}
    return parse_auth({"type": AuthType(auth_type).value, **fields})
