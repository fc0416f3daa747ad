"""The I/O engine: reads, plans, applies and deletes connectors in StackGuardian on behalf of every front.

The rules it applies are pure and live next to it: snapshot.py (the applied view), plan.py,
drift.py (and audit), precheck.py (date policy and what a preflight result means).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from .. import changed_outside, logs, name_clash, ownership, tags, timeline
from ..errors import (
    ConnectorExistsError,
    ConnectorValidationError,
    NotFoundError,
    OddRecordError,
    PreflightFailed,
)
from ..model import AnyAuth, Connector
from ..settings import Settings
from ..wire import KIND, ObservedConnector, observed_from_record, to_create_payload, to_update_payload
from ..wording import CLI_WORDING, FrontWording
from .drift import DriftReport, DriftStatus, classify_drift, not_ours
from .plan import SENSITIVE, Action, ConnectorPlan, FieldChange, plan_connector
from .precheck import (
    AppPasswordVerdict,
    Notice,
    Precheck,
    app_password_verdict,
    check_policy,
    judge_preflight,
    refused_preflight,
    same_credential,
    timeline_checks,
)
from .snapshot import AppliedSnapshot

if TYPE_CHECKING:
    from ..preflight import PreflightResult
    from ..stackguardian import StackGuardianClient

log = logging.getLogger(__name__)
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
        settings: Settings,
        *,
        front: FrontWording | None = None,
        client: StackGuardianClient | None = None,
        preflight_backoff: float = 1.0,
    ) -> None:
        """``front``: the front this engine works for, which it names as the owner of what it writes
        and in whose words it speaks; None for a command that belongs to no front (``migrate``,
        ``audit``, ``import``: they never move the owner, and speak the CLI's words).
        ``client``: the StackGuardian client (the fronts' batched one, a test's); by default one is
        built from ``settings`` when first needed, so an engine that only checks credentials and
        dates needs no API key or org. ``preflight_backoff``: the Bitbucket retry backoff factor.
        """
        self.settings = settings
        if settings.api_key is not None:
            logs.remember_secret(settings.api_key.reveal())
        self.wording = front or CLI_WORDING
        self.owner = front.owner if front is not None else None  # the owner tag this engine writes
        self.mark_managed = self.owner is tags.Front.CLI  # the CLI keeps its bookkeeping in ContextTags
        self.preflight_backoff = preflight_backoff
        self.org = client.org if client is not None else (settings.org or "")
        self._client = client
        self._client_lock = threading.Lock()
        self.odd_records: list[OddRecordError] = []  # of the last list_observed scan
        self._creating_names: dict[str, str] = {}  # name -> the Id this engine created it under
        self._creating_lock = threading.Lock()

    @property
    def client(self) -> StackGuardianClient:
        with self._client_lock:
            if self._client is None:
                from ..stackguardian import StackGuardianClient

                self._client = StackGuardianClient.from_settings(self.settings)
            return self._client

    def now(self) -> datetime:
        return timeline.now(self.settings.clock)

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
        findings = check_policy(connector, at=self.now(), path=path, creating=creating, wording=self.wording)
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
        policy = check_policy(connector, at=self.now(), path=path, creating=creating, wording=self.wording)
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
        """Check the credential against Bitbucket (cached per credential per process); None when off.

        An app password the date refuses fails without a request. The date's warnings are the
        policy's to say (:meth:`validate`, :meth:`precheck`), so they are not repeated here.
        """
        _remember(connector)
        if not (self.settings.preflight if enabled is None else enabled):
            return None
        verdict = self._app_password_verdict(connector.auth, connector.connector_id, new_connector)
        if verdict is not None and verdict.refused:
            return refused_preflight(connector.auth_type, connector.workspace, verdict)
        return self._probe(connector.auth, connector.workspace, repositories)

    def check_credential(self, auth: AnyAuth, workspace: str, *, repositories: Sequence[str] = ()) -> PreflightResult:
        """A credential on its own (`sg-bitbucket preflight`): what the date means for it comes first
        among its checks, and an app password the date refuses sends nothing."""
        logs.remember_secret(auth.secret.reveal())
        verdict = self._app_password_verdict(auth, None, True)
        if verdict is not None and verdict.refused:
            return refused_preflight(auth.auth_type, workspace, verdict)
        result = self._probe(auth, workspace, repositories)
        return result.with_checks_first(timeline_checks(verdict), verdict.warnings if verdict else ())

    def _app_password_verdict(self, auth: AnyAuth, connector_id: str | None,
                              creating: bool) -> AppPasswordVerdict | None:
        return app_password_verdict(auth.auth_type, self.now(), creating=creating,
                                    how_to_migrate=self.wording.how_to_migrate(connector_id))

    def _probe(self, auth: AnyAuth, workspace: str, repositories: Sequence[str]) -> PreflightResult:
        from ..preflight import run_preflight

        return run_preflight(auth, workspace, api_url=self.settings.bitbucket_api_url, repositories=repositories,
                             retry_backoff=self.preflight_backoff, timeout=self.settings.request_timeout)

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
        _remember(desired)
        connector_id = desired.connector_id if desired else (applied.connector_id if applied else None)
        in_state = applied is not None  # the front's own state holds it (Terraform, Pulumi): a take-back
        if refresh and observed is None and connector_id:
            observed = self.read(connector_id)
        if self.mark_managed and applied is None and observed is not None and observed.managed:
            applied = AppliedSnapshot.from_tags(observed.context_tags)
        change = ownership.check_write(desired.connector_id, observed.context_tags, self.owner, adopt=adopt,
                                       in_state=in_state) if (desired is not None and observed is not None) else None
        adopting_unmanaged = applied is None and not adopt and not (self.mark_managed and observed and observed.managed)
        if desired is not None and observed is not None and adopting_unmanaged:
            raise ConnectorExistsError(desired.connector_id, self.org,
                                       hint=self.wording.exists.format(id=desired.connector_id))
        plan = plan_connector(desired, org=self.org, applied=applied, observed=observed, adopt=adopt)
        if desired is not None and plan.action is Action.CREATE:
            name_clash.check_name_free(desired, self.named(desired.name) if same_name is None else same_name,
                                       self.org, self.wording)
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
        context = {k: v for k, v in (observed.context_tags if observed else {}).items() if not tags.is_ours(k)}
        context.update(tags.descriptive_tags(connector))
        if self.mark_managed or (self.owner is None and observed is not None and observed.managed):
            # The CLI's bookkeeping, also kept true by front-less writes (migrate) to a CLI-owned connector.
            context.update(tags.cli_bookkeeping(AppliedSnapshot.of(connector, self.org).to_dict(),
                                                changed_outside.wall_clock()))
        if observed is not None and self.owner is None:
            context.update({k: v for k, v in observed.context_tags.items() if k == tags.OWNER_TAG})
        return ownership.owner_tags(context, self.owner)

    def apply(
        self,
        desired: Connector | None,
        plan: ConnectorPlan,
        *,
        observed: ObservedConnector | None = None,
        preflight: bool | None = None,
    ) -> ApplyResult:
        """Carry out a plan: preflight (when credentials are sent), then one StackGuardian write."""
        _remember(desired)
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
                record = self.client.create(to_create_payload(desired, self._context_tags(desired, None)),
                                            conflict_hint=self.wording.conflict(desired.connector_id))
        else:
            if observed is None:
                observed = self.read(desired.connector_id)
                if observed is None:
                    raise NotFoundError("connector vanished between plan and apply",
                                        operation=f"update connector {desired.connector_id}")
            patch = to_update_payload(desired, self._context_tags(desired, observed),
                                      send_credentials=plan.sends_credentials)
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
                raise name_clash.name_clash(desired, holder, self.org, self.wording)
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
        adopt: bool = False,
    ) -> DriftReport:
        """One connector's drift; ``adopt``: its declaration takes it over on the next apply (`adopt: true`)."""
        _remember(desired)
        if applied is None and observed is not None:
            applied = AppliedSnapshot.from_tags(observed.context_tags)
        check = None
        if verify_credentials and desired is not None and observed is not None:
            check = self.preflight(desired, new_connector=False, enabled=True)
        report = classify_drift(desired, org=self.org, applied=applied, observed=observed, at=self.now(),
                                preflight=check, wording=self.wording)
        last_write = changed_outside.cli_changed_outside(observed.context_tags, observed.modified_at) if (
            observed is not None and observed.managed) else None
        if last_write is not None and observed is not None and observed.modified_at is not None:
            report.statuses = [s for s in report.statuses if s is not DriftStatus.IN_SYNC]
            if DriftStatus.CHANGED_OUTSIDE not in report.statuses:
                report.statuses.insert(0, DriftStatus.CHANGED_OUTSIDE)
            report.messages.append(changed_outside.changed_outside_message(
                observed.modified_at, last_write, how_to_resend=self.wording.how_to_resend(report.name)))
        if desired is not None and observed is not None and not adopt and self.owner is not None:
            not_ours(report, tags.owner_of(observed.context_tags), self.owner)
        return report


def _remember(connector: Connector | None) -> None:
    """The opt-in log scrubs every credential this engine is given (a provider process has no other list)."""
    if connector is not None:
        logs.remember_secret(connector.auth.secret.reveal())
