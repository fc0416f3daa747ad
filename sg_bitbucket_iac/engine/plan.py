"""The pure planner: desired vs applied vs observed gives one connector's plan. No I/O.

desired vs observed/applied gives the plan; secrets appear in it only as `(sensitive)`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from ..model import SECRET_FIELDS, AuthType, Connector
from ..wire import ObservedConnector
from .precheck import PLAN_NOTE, Notice
from .snapshot import AppliedSnapshot

SENSITIVE = "(sensitive)"


class Action(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"
    NOOP = "no-op"


class Rotation(enum.Enum):
    """The declared credential against the one last applied (compared by fingerprint: secrets are masked)."""

    SAME = "same"
    ROTATED = "rotated"
    UNKNOWN = "unknown"  # no fingerprint of a credential of the declared type is known


def rotation(desired: Connector, *, org: str, applied: AppliedSnapshot | None,
             observed: ObservedConnector | None) -> Rotation:
    """Was the credential rotated since it was last applied? Decided here for plan and drift alike.

    The fingerprint is the last-applied snapshot's (Pulumi/Terraform state, the CLI's ContextTags
    through ``applied``), else the CLI's fingerprint tag on the connector; it counts only when the
    credential it fingerprints was of the declared auth type (the snapshot's type, else the
    connector's): after an auth-type change every credential field is sent anyway.
    """
    known_type: AuthType | None
    if applied is not None:
        known_type, known = applied.auth_type, applied.fingerprint
    elif observed is not None:
        known_type, known = observed.auth_type, observed.fingerprint
    else:
        return Rotation.UNKNOWN
    if known is None or known_type is not desired.auth_type:
        return Rotation.UNKNOWN
    return Rotation.SAME if desired.credential_fingerprint_matches(org, known) else Rotation.ROTATED



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
    warnings: list[Notice] = field(default_factory=list)

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
    source: Any = connector.auth if connector is not None else snapshot
    if source is None:
        return {}
    view: dict[str, Any] = {"auth.type": source.auth_type.value}
    for name in source.auth_type.credential_fields:
        view[f"auth.{name}"] = SENSITIVE if name in SECRET_FIELDS else getattr(source, name, None)
    return view


def _observed_credential_view(observed: ObservedConnector) -> dict[str, Any]:
    view: dict[str, Any] = {"auth.type": observed.auth_type.value if observed.auth_type else None}
    if observed.auth_type is None:
        return view
    shown = observed.shown_credential()
    for name in observed.auth_type.credential_fields:
        if name in SECRET_FIELDS:
            view[f"auth.{name}"] = SENSITIVE if observed.has_secret else None
        else:
            view[f"auth.{name}"] = shown.get(name)
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
            plan.warnings.append(Notice(PLAN_NOTE, "the connector was deleted outside this tool; apply re-creates it"))
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
        old_view = _known_credential_view(observed, applied)
        new_view = _credential_view(desired, None)
        secret_key = f"auth.{new_auth.secret_field}"
        for key, after in new_view.items():
            if key in ("auth.type", secret_key):
                continue
            before = old_view.get(key)
            if before != after:
                changes.append(FieldChange(key, before, after))
        rotated = rotation(desired, org=org, applied=applied, observed=observed)
        if rotated is Rotation.UNKNOWN:
            changes.append(FieldChange(secret_key, SENSITIVE if observed.has_secret else None, SENSITIVE,
                                       sensitive=True, note="last applied value unknown; the credential is re-sent"))
        elif rotated is Rotation.ROTATED:
            changes.append(FieldChange(secret_key, SENSITIVE, SENSITIVE, sensitive=True, note="rotated"))
        sent_keys = {f"auth.{n}" for n in new_auth.auth_class.stored_fields}
        plan.sends_credentials = any(c.field in sent_keys for c in changes)
    plan.changes = changes
    if plan.adopt:
        text = f"adopting existing connector {connector_id}; its credentials are replaced"
        plan.warnings.append(Notice(PLAN_NOTE, text))
    if not changes and not plan.adopt:
        plan.action = Action.NOOP
    return plan


