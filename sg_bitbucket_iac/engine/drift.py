"""Drift (observed vs applied: changed outside; desired vs applied: not yet applied) and audit. Pure."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .. import timeline
from ..model import Connector
from ..preflight.result import PreflightResult
from ..tags import DEFAULT_SET, Front, owner_of, set_of
from ..timeline import SWITCH_OFF_APP_PASSWORDS
from ..wire import ObservedConnector
from ..wording import CLI_WORDING, FrontWording, credential_remedy, for_owner
from .plan import SENSITIVE, FieldChange, Rotation, rotation
from .precheck import app_password_verdict
from .snapshot import AppliedSnapshot


# --------------------------------------------------------------------------- drift
class DriftStatus(enum.StrEnum):
    IN_SYNC = "in_sync"
    CHANGED_OUTSIDE = "changed_outside"
    NOT_YET_APPLIED = "not_yet_applied"
    DELETED_OUTSIDE = "deleted_outside"
    NOT_CREATED = "not_created"
    CREDENTIALS_FAILING = "credentials_failing"
    APP_PASSWORD = "app_password"  # an app password the timeline no longer allows
    FOREIGN_OWNER = "foreign_owner"  # declared here, owned by another front
    UNMANAGED = "unmanaged"  # declared here, exists, owned by no front (and not `adopt: true`)
    UNDECLARED = "undeclared"  # managed by this tool but missing from the definitions


# Which finding's fix a report offers when it has several: the first that applies. A connector another
# front owns must be taken over before anything else can be written; an app password must be replaced
# in the file before an apply is allowed; re-sending the credential also re-asserts every visible field.
_FIX_ORDER = (
    DriftStatus.APP_PASSWORD,
    DriftStatus.FOREIGN_OWNER,
    DriftStatus.UNMANAGED,
    DriftStatus.UNDECLARED,
    DriftStatus.CREDENTIALS_FAILING,
    DriftStatus.DELETED_OUTSIDE,
    DriftStatus.NOT_CREATED,
    DriftStatus.CHANGED_OUTSIDE,
    DriftStatus.NOT_YET_APPLIED,
)
# The fix for credentials failing when Bitbucket refuses the declared credential too (`--verify-credentials`).
DECLARED_CREDENTIALS_FAILING = "declared_credentials_failing"


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
    owner: str | None = None  # the owner tag's front, when the connector exists
    declared_credential_failed: bool = False  # preflight of the declared credential failed

    @property
    def drifted(self) -> bool:
        return self.statuses != [DriftStatus.IN_SYNC]

    @property
    def finding(self) -> str | None:
        """The finding whose fix this report offers (a key of the front's ``drift_fixes``); None in sync."""
        for status in _FIX_ORDER:
            if status in self.statuses:
                if status is DriftStatus.CREDENTIALS_FAILING and self.declared_credential_failed:
                    return DECLARED_CREDENTIALS_FAILING
                return status.value
        return None

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
            "owner": self.owner,
            "finding": self.finding,
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
    wording: FrontWording = CLI_WORDING,
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
    owner = owner_of(observed.context_tags)
    report.owner = owner.value if owner is not None else None
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
        if rotation(desired, org=org, applied=applied, observed=observed) is Rotation.ROTATED:
            key = f"auth.{desired.auth_type.secret_field}"
            report.not_yet_applied.append(FieldChange(key, SENSITIVE, SENSITIVE, sensitive=True, note="rotated"))
    if report.changed_outside:
        report.statuses.append(DriftStatus.CHANGED_OUTSIDE)
    if report.not_yet_applied:
        report.statuses.append(DriftStatus.NOT_YET_APPLIED)
    failing: list[str] = []
    if observed.authenticated is False:
        failing.append("StackGuardian reports the credentials as not authenticated")
    if preflight is not None and preflight.failed:
        failing.append(f"preflight against Bitbucket failed: {preflight.summary()}")
        report.declared_credential_failed = True
    verdict = app_password_verdict(observed.auth_type, at, creating=False,
                                   how_to_migrate=wording.how_to_migrate(observed.id))
    if verdict is not None and verdict.refused:
        report.statuses.append(DriftStatus.APP_PASSWORD)
        report.messages.append(verdict.message)
    elif verdict is not None and verdict.needs_action:
        report.messages.append(verdict.message)
    if failing:
        report.statuses.append(DriftStatus.CREDENTIALS_FAILING)
        report.messages.extend(failing)
    if not report.statuses:
        report.statuses.append(DriftStatus.IN_SYNC)
    return report


def not_ours(report: DriftReport, context_tags: Mapping[str, str], front: Front, cli_set: str | None = None) -> None:
    """A declared connector ``front`` may not write to yet: another front's, another CLI set's (``cli_set``:
    the set of the file asking), or nobody's. Its apply would be refused until the declaration takes it
    over, so that comes first in the report (and its fix)."""
    owner = owner_of(context_tags)
    if owner is front:
        current, wanted = set_of(context_tags) or DEFAULT_SET, cli_set or DEFAULT_SET
        if front is not Front.CLI or current == wanted:
            return
        status = DriftStatus.FOREIGN_OWNER
        text = f"in the CLI's set {current}, not this file's set {wanted}: apply refuses to write to it"
    elif owner is not None:
        status = DriftStatus.FOREIGN_OWNER
        text = f"owned by {owner.value}, not {front.value}: apply refuses to write to it"
    else:
        status, text = DriftStatus.UNMANAGED, "exists but is not managed here: apply refuses to write to it"
    report.statuses = [status, *(s for s in report.statuses if s is not DriftStatus.IN_SYNC)]
    report.messages.insert(0, text)


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
    owner = owner_of(observed.context_tags)
    remedy = credential_remedy(owner, observed.id)
    # A connector nobody owns moves with `sg-bitbucket migrate`; an owned one in its owner's code, in its words.
    how_to_migrate = (f"{SWITCH_OFF_APP_PASSWORDS} in its entry: {remedy}" if owner is Front.CLI
                      else for_owner(owner).how_to_migrate(observed.id))
    verdict = app_password_verdict(observed.auth_type, at, creating=False, how_to_migrate=how_to_migrate)
    if verdict is not None and verdict.needs_action:
        actions.append(verdict.message)
    if observed.authenticated is False:
        actions.append(f"StackGuardian reports these credentials do not authenticate: replace them ({remedy})")
    if observed.auth_type is None:
        actions.append(f"no recognisable Bitbucket credential: set one with {credential_remedy(None, observed.id)}")
    phase = verdict.status.phase if verdict is not None else None
    return AuditFinding(observed.id, bool(actions), tuple(actions), phase)
