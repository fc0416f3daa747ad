"""The I/O engine: reads, plans, applies and deletes connectors in StackGuardian on behalf of every front.

The rules it applies are pure and live next to it: snapshot.py (the applied view), plan.py,
drift.py (and audit), precheck.py (date policy and what a preflight result means).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import changed_outside, interrupted_create, logs, name_clash, ownership, tags, timeline
from ..errors import (
    ConnectorExistsError,
    ConnectorValidationError,
    NotFoundError,
    OddRecordError,
    PreflightFailed,
    Problem,
)
from ..model import AnyAuth, Connector
from ..redact import shorten
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
INTERRUPTED_CREATE_NOTE = "interrupted_create"


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
        cli_set: str | None = None,
    ) -> None:
        """``front``: the front this engine works for, which it names as the owner of what it writes
        and in whose words it speaks; None for a command that belongs to no front (``migrate``,
        ``audit``, ``import``: they never move the owner, and speak the CLI's words).
        ``client``: the StackGuardian client (the fronts' batched one, a test's); by default one is
        built from ``settings`` when first needed, so an engine that only checks credentials and
        dates needs no API key or org. ``preflight_backoff``: the Bitbucket retry backoff factor.
        ``cli_set``: for the CLI, the set of the definitions file it applies (None: ``default``).
        """
        self.settings = settings
        if settings.api_key is not None:
            logs.remember_secret(settings.api_key.reveal())
        self.wording = front or CLI_WORDING
        self.owner = front.owner if front is not None else None  # the owner tag this engine writes
        self.mark_managed = self.owner is tags.Front.CLI  # the CLI keeps its bookkeeping in ContextTags
        self.cli_set = (cli_set or tags.DEFAULT_SET) if self.mark_managed else None
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
        """The connector with this Id; an odd record raises :class:`OddRecordError`, and so does an answer
        holding another connector (never acted on)."""
        record = self.client.find(connector_id)
        return _the_connector(connector_id, observed_from_record(record)) if record is not None else None

    def read_leniently(self, connector_id: str) -> tuple[ObservedConnector | None, OddRecordError | None]:
        """The connector as far as its record can be read, and what could not be read (None: all of it).

        A field of the wrong type or out of range (``bitbucketEmail: 123``, an absurd
        ``authenticatedAt``) is drift to repair, not a reason to stop a refresh or a plan: the
        fronts keep what could be read, say what could not, and re-send the declaration, which
        overwrites the odd field. What decides who the connector is and who may write to it (its
        Id, kind and ContextTags) must be readable; otherwise the record is refused as before.
        """
        record = self.client.find(connector_id)
        if record is None:
            return None, None
        observed, unreadable = _observed_leniently(record)
        return _the_connector(connector_id, observed), unreadable

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
        writes_credential = creating or (sends_credentials and not (
            previous is not None and same_credential(previous, connector)))
        policy = check_policy(connector, at=self.now(), path=path, creating=creating,
                              writes_credential=writes_credential, wording=self.wording)
        if policy.problems or not writes_credential:
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
        replacing: str | None = None,
        unreadable: OddRecordError | None = None,
        configuration: str | None = None,
    ) -> ConnectorPlan:
        """One connector's plan. Reads only: the plan of every front is made here, and no plan writes.

        Refuses (raises) a connector another front (or CLI set) owns unless ``adopt`` (which, for a
        connector this front does not own yet, makes the plan an update that moves the owner), and a
        create whose name another connector already uses (``same_name``: the candidates the caller
        already has, else a listall filtered by name; ``replacing``: the Id of the connector this
        create replaces, which never counts). The checks meant for writing a credential (the
        app-password timeline) refuse only creates and credential writes. ``unreadable``: what could
        not be read of ``observed`` (see :meth:`read_leniently`); the plan re-sends the whole
        declaration. ``configuration``: the identity of the Terraform or Pulumi configuration asking,
        so that a connector its own interrupted create left behind is accepted
        (:mod:`..interrupted_create`).
        """
        _remember(desired)
        connector_id = desired.connector_id if desired else (applied.connector_id if applied else None)
        in_state = applied is not None  # the front's own state holds it (Terraform, Pulumi): a take-back
        if refresh and observed is None and connector_id:
            observed, unreadable = self.read_leniently(connector_id)
        if self.mark_managed and applied is None and observed is not None and observed.managed:
            applied = AppliedSnapshot.from_tags(observed.context_tags)
        change = None
        if desired is not None and observed is not None:
            change = ownership.check_write(desired.connector_id, observed.context_tags, self.owner, adopt=adopt,
                                           set_name=self.cli_set, in_state=in_state, wording=self.wording)
        adopting_unmanaged = applied is None and not adopt and not (self.mark_managed and observed and observed.managed)
        finishing = False
        if desired is not None and observed is not None and adopting_unmanaged:
            finishing = interrupted_create.left_by_interrupted_create(
                desired, observed, org=self.org, front=self.owner, configuration=configuration)
            if not finishing:
                raise ConnectorExistsError(desired.connector_id, self.org,
                                           hint=self.wording.exists.format(id=desired.connector_id))
        plan = plan_connector(desired, org=self.org, applied=applied, observed=observed, adopt=adopt)
        if finishing:
            plan.warnings.append(Notice(INTERRUPTED_CREATE_NOTE, interrupted_create.accepted_note(plan.connector_id)))
        if desired is not None and plan.action is Action.CREATE:
            name_clash.check_name_free(desired, self.named(desired.name) if same_name is None else same_name,
                                       self.org, self.wording, replacing=replacing)
        if desired is not None:
            reason = resend_credentials or self._cli_changed_outside(observed) or _repair_note(unreadable)
            self._reassert(desired, plan, observed, reason)
            creating = plan.action in (Action.CREATE, Action.REPLACE)
            policy = check_policy(desired, at=self.now(), creating=creating,
                                  writes_credential=creating or plan.sends_credentials, wording=self.wording)
            if policy.problems:
                raise ConnectorValidationError(policy.problems)
            plan.warnings.extend(policy.warnings)
        if change is not None and (change.previous is not None or adopt):
            plan.adopt = True
            plan.warnings.append(Notice(OWNER_NOTE, change.message))
            if plan.action is Action.NOOP:
                plan.action = Action.UPDATE
        return plan

    def _cli_changed_outside(self, observed: ObservedConnector | None) -> str:
        """The CLI's "changed outside" note when its ContextTags say so (changed_outside.cli_outside_edit)."""
        if not self.mark_managed or observed is None or not observed.managed:
            return ""
        edit = changed_outside.cli_outside_edit(observed.context_tags, observed.modified_at)
        return changed_outside.RESEND_NOTE if edit is not None else ""

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
    def _context_tags(self, connector: Connector, observed: ObservedConnector | None,
                      configuration: str | None = None) -> dict[str, str]:
        """ContextTags for a write: the user's kept, ours rebuilt (a create by Terraform or Pulumi with the
        creation marker of ``configuration``; later writes of the same front keep it)."""
        context = {k: v for k, v in (observed.context_tags if observed else {}).items() if not tags.is_ours(k)}
        context.update(tags.descriptive_tags(connector))
        if self.mark_managed or (self.owner is None and observed is not None and observed.managed):
            # The CLI's bookkeeping, also kept true by front-less writes (migrate) to a CLI-owned connector.
            context.update(tags.cli_bookkeeping(AppliedSnapshot.of(connector, self.org).to_dict(),
                                                changed_outside.wall_clock()))
        if observed is not None and self.owner is None:
            context.update({k: v for k, v in observed.context_tags.items() if k in (tags.OWNER_TAG, tags.SET_TAG)})
        if observed is None and configuration and self.owner is not None and not self.mark_managed:
            context.update(interrupted_create.marker_tag(connector, org=self.org, front=self.owner,
                                                         configuration=configuration))
        elif observed is not None and self.owner is not None and observed.owner is self.owner:
            context.update({k: v for k, v in observed.context_tags.items() if k == tags.CREATED_BY_TAG})
        return ownership.owner_tags(context, self.owner, self.cli_set)

    def apply(
        self,
        desired: Connector | None,
        plan: ConnectorPlan,
        *,
        observed: ObservedConnector | None = None,
        preflight: bool | None = None,
        configuration: str | None = None,
    ) -> ApplyResult:
        """Carry out a plan: preflight (when credentials are sent), then one StackGuardian write.

        ``configuration``: as for :meth:`plan`; a create writes its creation marker.
        """
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
                payload = to_create_payload(desired, self._context_tags(desired, None, configuration))
                record = self.client.create(payload, conflict_hint=self.wording.conflict(desired.connector_id))
        else:
            if observed is None:
                observed, _unreadable = self.read_leniently(desired.connector_id)
                if observed is None:
                    raise NotFoundError("connector vanished between plan and apply",
                                        operation=f"update connector {desired.connector_id}")
            patch = to_update_payload(desired, self._context_tags(desired, observed),
                                      send_credentials=plan.sends_credentials)
            record = self.client.update(desired.connector_id, patch, not_modified_since=observed.modified_at)
        # The write succeeded: an answer still odd (a field StackGuardian computes) is reported by the next read.
        result.observed, _unreadable = _observed_leniently(record)
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

    def takeover_of(self, observed: ObservedConnector) -> ownership.OwnerChange | None:
        """What taking the connector over would change (None: this engine's front owns it already, or
        the engine belongs to no front). Writes nothing: the owner moves with the next write, an
        apply planned with ``adopt=True`` (a Terraform import says so and leaves the rest to it)."""
        if self.owner is None:
            return None
        return ownership.check_write(observed.id, observed.context_tags, self.owner, adopt=True,
                                     set_name=self.cli_set)

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
        edit = changed_outside.cli_outside_edit(observed.context_tags, observed.modified_at) if (
            observed is not None and observed.managed) else None
        if edit is not None:
            report.statuses = [s for s in report.statuses if s is not DriftStatus.IN_SYNC]
            if DriftStatus.CHANGED_OUTSIDE not in report.statuses:
                report.statuses.insert(0, DriftStatus.CHANGED_OUTSIDE)
            report.messages.append(edit.message(self.wording.how_to_resend(report.name)))
        if desired is not None and observed is not None and not adopt and self.owner is not None:
            not_ours(report, observed.context_tags, self.owner, self.cli_set)
        return report


# What says who a connector is and who may write to it: a record whose Id, kind or ContextTags cannot
# be read is refused (nothing is written to it), never repaired by a write that could take it from its owner.
_IDENTITY_FIELDS = ("Id", "Settings", "Settings.kind", "ContextTags")


def _decides_identity(path: str) -> bool:
    return path in _IDENTITY_FIELDS or path.startswith("ContextTags.")


def _the_connector(connector_id: str, observed: ObservedConnector) -> ObservedConnector:
    """``observed`` when it is the connector asked for; an answer holding another one is an odd record."""
    if observed.id != connector_id:
        found = f"is {shorten(observed.id)}: StackGuardian answered a read of this connector with another one"
        raise OddRecordError(connector_id, [Problem("Id", found, "unreadable_record")])
    return observed


def _observed_leniently(record: Mapping[str, Any]) -> tuple[ObservedConnector, OddRecordError | None]:
    """A record as far as it can be read (see :meth:`Engine.read_leniently`)."""
    try:
        return observed_from_record(record), None
    except OddRecordError as odd:
        if odd.partial is None or any(_decides_identity(p.path) for p in odd.problems):
            raise
        return odd.partial, odd


def _repair_note(unreadable: OddRecordError | None) -> str:
    """Why the declaration is re-sent to a record that could not be read in full ("" when it could)."""
    if unreadable is None:
        return ""
    return (f"StackGuardian's record could not be read in full ({'; '.join(unreadable.findings)}); "
            "the declaration is re-sent, which repairs it")


def _remember(connector: Connector | None) -> None:
    """The opt-in log scrubs every credential this engine is given (a provider process has no other list)."""
    if connector is not None:
        logs.remember_secret(connector.auth.secret.reveal())
