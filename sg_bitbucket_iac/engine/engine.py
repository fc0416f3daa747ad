"""The I/O engine: reads, plans, applies and deletes connectors in StackGuardian on behalf of every front.

The rules it applies are pure and live next to it: snapshot.py (the applied view), plan.py,
drift.py (and audit), precheck.py (date policy and what a preflight result means).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import changed_outside, name_clash, ownership, timeline
from ..errors import (
    ConfigurationError,
    ConnectorExistsError,
    ConnectorValidationError,
    NameClashError,
    NotFoundError,
    OddRecordError,
    PreflightFailed,
)
from ..model import (
    CONTEXT_TAG_PREFIX,
    FINGERPRINT_TAG,
    KIND,
    MANAGED_TAG,
    Connector,
    ObservedConnector,
    descriptive_context_tags,
    observed_from_record,
    patch_settings_payload,
    to_create_payload,
)
from ..settings import Settings
from .drift import DriftReport, DriftStatus, classify_drift
from .plan import SENSITIVE, Action, ConnectorPlan, FieldChange, plan_connector
from .precheck import Notice, Precheck, check_policy, judge_preflight, same_credential
from .snapshot import APPLIED_TAG, AppliedSnapshot

if TYPE_CHECKING:
    from ..preflight import PreflightResult
    from ..stackguardian import StackGuardianClient

log = logging.getLogger(__name__)
# The app-password timeline is the date policy's to say; the preflight keeps its copy in its checks.
_TIMELINE_CHECKS = frozenset({"app_password_timeline", "app_password_new_connector"})
OWNER_NOTE = "owner_moved"

@dataclass
class ApplyResult:
    plan: ConnectorPlan
    observed: ObservedConnector | None
    snapshot: AppliedSnapshot | None
    preflight: PreflightResult | None = None
    warnings: list[Notice] = field(default_factory=list)


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
        bitbucket_timeout: float | None = None,
    ) -> None:
        self._client = client
        self.org = client.org if client is not None else ""
        self.bitbucket_api_url = bitbucket_api_url
        self.preflight_enabled = preflight
        self._clock = clock
        self.mark_managed = mark_managed
        self.preflight_backoff = preflight_backoff
        self.bitbucket_timeout = bitbucket_timeout  # seconds per preflight answer (None: the client's default)
        self.odd_records: list[OddRecordError] = []  # of the last list_observed scan
        # The front this engine writes for (the owner tag); the CLI's is implied by mark_managed.
        self.owner = owner or (ownership.Front.CLI if mark_managed else None)
        self._creating_names: dict[str, str] = {}  # name -> the Id this engine created it under
        self._creating_lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Engine:
        from ..stackguardian import StackGuardianClient

        client = StackGuardianClient.from_settings(settings)
        kwargs.setdefault("preflight", settings.preflight)
        kwargs.setdefault("clock", settings.clock)
        kwargs.setdefault("bitbucket_timeout", settings.request_timeout)
        return cls(client, bitbucket_api_url=settings.bitbucket_api_url, **kwargs)

    @classmethod
    def for_preflight(cls, settings: Settings, **kwargs: Any) -> Engine:
        """An engine that only checks credentials and dates: no StackGuardian key or org needed."""
        kwargs.setdefault("preflight", settings.preflight)
        kwargs.setdefault("clock", settings.clock)
        kwargs.setdefault("bitbucket_timeout", settings.request_timeout)
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
        found: list[ObservedConnector] = []
        for record in records:
            try:
                observed = observed_from_record(record)
            except OddRecordError:
                continue  # an unreadable record is reported by the scans, not a name holder we can show
            if observed.is_bitbucket and observed.name == name:
                found.append(observed)
        return found

    def list_observed(self) -> Iterator[ObservedConnector]:
        """Every Bitbucket connector of the org, through listall (a handful of requests for thousands).

        A record that cannot be read is not yielded but kept in ``odd_records`` (Id and what is
        wrong), so that one odd connector never stops a scan of the org.
        """
        self.odd_records = []
        for record in self.client.list_all():
            try:
                observed = observed_from_record(record)
            except OddRecordError as error:
                if error.kind in (KIND, ""):
                    self.odd_records.append(error)
                continue
            if observed.is_bitbucket:
                yield observed

    # ------------------------------------------------------------------ validation
    def validate(self, connector: Connector, *, path: str = "", creating: bool = True) -> list[Notice]:
        """Date-dependent rules; raises ConnectorValidationError, returns warnings."""
        findings = check_policy(connector, at=self.now(), path=path, creating=creating)
        if findings.problems:
            raise ConnectorValidationError(findings.problems)
        return findings.warnings

    def precheck(
        self,
        connector: Connector,
        *,
        creating: bool = True,
        preflight: bool | None = None,
        sends_credentials: bool = True,
        previous: Connector | None = None,
        path: str = "",
    ) -> Precheck:
        """The one check before a write, for every front: date policy, then Bitbucket preflight.

        Preflight runs only when the policy allows the write, credentials are sent, the credential
        differs from ``previous`` (what the front last checked) and preflight is on (``preflight``
        None: the engine's default). Problems mean: write nothing.
        """
        policy = check_policy(connector, at=self.now(), path=path, creating=creating)
        if policy.problems or not sends_credentials or (
            previous is not None and same_credential(previous, connector)
        ):
            return policy
        result = self.preflight(connector, new_connector=creating, enabled=preflight)
        judged = judge_preflight(result, connector, path=path)
        return Precheck(judged.problems, [*policy.warnings, *judged.warnings], result)

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
        from ..preflight import run_preflight

        result = run_preflight(
            connector.auth,
            connector.workspace,
            api_url=self.bitbucket_api_url,
            now=self.now(),
            new_connector=new_connector,
            repositories=repositories,
            retry_backoff=self.preflight_backoff,
            timeout=self.bitbucket_timeout,
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
        """One connector's plan; refuses (raises) a connector another front owns unless ``adopt``,
        and a create whose name another connector already uses (``same_name``: the candidates the
        caller already has, else a listall filtered by name)."""
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
                                       self.org, self.owner)
        if desired is not None:
            plan.warnings.extend(self.validate(desired, creating=plan.action in (Action.CREATE, Action.REPLACE)))
            self._reassert(desired, plan, observed, resend_credentials or self._cli_changed_outside(observed))
        if change is not None and change.previous is not None:
            plan.adopt = True
            plan.warnings.append(Notice(OWNER_NOTE, change.message))
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
        check = self.precheck(desired, creating=plan.action is not Action.UPDATE, preflight=preflight,
                              sends_credentials=plan.sends_credentials)
        if check.preflight_failed and check.preflight is not None:
            raise PreflightFailed(check.preflight, desired.connector_id)
        if check.problems:
            raise ConnectorValidationError(check.problems)
        result = ApplyResult(plan, None, None, check.preflight, [w for w in check.warnings if w.from_preflight])
        if plan.action in (Action.CREATE, Action.REPLACE):
            with self._name_reserved(desired):
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
                patch["Settings"] = patch_settings_payload(desired.auth)
            record = self.client.update(desired.connector_id, patch, not_modified_since=observed.modified_at)
        result.observed = observed_from_record(record)
        result.snapshot = AppliedSnapshot.of(desired, self.org)
        return result

    @contextmanager
    def _name_reserved(self, desired: Connector) -> Iterator[None]:
        """One name, one create per engine: the second of two declarations with the same name and
        different Ids (a resource block copied with a new Id) fails as a name clash instead of
        creating a duplicate. Both passed the plan's check, which ran before either was created,
        and Terraform and Pulumi create them in parallel. The name stays taken once created; a
        failed create gives it back."""
        with self._creating_lock:
            holder = self._creating_names.get(desired.name)
            if holder is not None and holder != desired.connector_id:
                raise NameClashError(desired.name, desired.connector_id, holder, self.org,
                                     manage_existing=ownership.manage_existing(self.owner, holder))
            self._creating_names[desired.name] = desired.connector_id
        try:
            yield
        except BaseException:
            with self._creating_lock:
                if self._creating_names.get(desired.name) == desired.connector_id:
                    del self._creating_names[desired.name]
            raise

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


