"""The I/O engine: reads, plans, applies and deletes connectors in StackGuardian on behalf of every front.

The rules it applies are pure and live next to it: snapshot.py (the applied view), plan.py,
drift.py (and audit), precheck.py (date policy and what a preflight result means).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .. import timeline
from ..errors import ConfigurationError, ConnectorExistsError, ConnectorValidationError, NotFoundError, PreflightFailed
from ..model import (
    CONTEXT_TAG_PREFIX,
    FINGERPRINT_TAG,
    MANAGED_TAG,
    Connector,
    ObservedConnector,
    descriptive_context_tags,
    observed_from_record,
    patch_settings_payload,
    to_create_payload,
)
from ..settings import Settings
from .drift import DriftReport, classify_drift
from .plan import Action, ConnectorPlan, plan_connector
from .precheck import Notice, Precheck, check_policy, judge_preflight, same_credential
from .snapshot import APPLIED_TAG, AppliedSnapshot

if TYPE_CHECKING:
    from ..preflight import PreflightResult
    from ..stackguardian import StackGuardianClient

log = logging.getLogger(__name__)

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
    ) -> None:
        self._client = client
        self.org = client.org if client is not None else ""
        self.bitbucket_api_url = bitbucket_api_url
        self.preflight_enabled = preflight
        self._clock = clock
        self.mark_managed = mark_managed
        self.preflight_backoff = preflight_backoff

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> Engine:
        from ..stackguardian import StackGuardianClient

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

    def list_observed(self) -> Iterator[ObservedConnector]:
        """Every Bitbucket connector of the org, through listall (a handful of requests for thousands)."""
        for record in self.client.list_all():
            observed = observed_from_record(record)
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

        return run_preflight(
            connector.auth,
            connector.workspace,
            api_url=self.bitbucket_api_url,
            now=self.now(),
            new_connector=new_connector,
            repositories=repositories,
            retry_backoff=self.preflight_backoff,
        )

    # ------------------------------------------------------------------ planning
    def plan(
        self,
        desired: Connector | None,
        *,
        applied: AppliedSnapshot | None = None,
        observed: ObservedConnector | None = None,
        adopt: bool = False,
        refresh: bool = True,
    ) -> ConnectorPlan:
        connector_id = desired.connector_id if desired else (applied.connector_id if applied else None)
        if refresh and observed is None and connector_id:
            observed = self.read(connector_id)
        if self.mark_managed and applied is None and observed is not None:
            applied = AppliedSnapshot.from_tags(observed.context_tags)
        adopting_unmanaged = applied is None and not adopt and not (self.mark_managed and observed and observed.managed)
        if desired is not None and observed is not None and adopting_unmanaged:
            raise ConnectorExistsError(desired.connector_id, self.org)
        plan = plan_connector(desired, org=self.org, applied=applied, observed=observed, adopt=adopt)
        if desired is not None:
            plan.warnings.extend(self.validate(desired, creating=plan.action in (Action.CREATE, Action.REPLACE)))
        return plan

    # ------------------------------------------------------------------ applying
    def _context_tags(self, connector: Connector, observed: ObservedConnector | None) -> dict[str, str]:
        tags = {k: v for k, v in (observed.context_tags if observed else {}).items()
                if not k.startswith(CONTEXT_TAG_PREFIX)}
        tags.update(descriptive_context_tags(connector))
        if self.mark_managed:
            snapshot = AppliedSnapshot.of(connector, self.org)
            tags[MANAGED_TAG] = "true"
            tags[APPLIED_TAG] = snapshot.to_tag()
            if snapshot.fingerprint:
                tags[FINGERPRINT_TAG] = snapshot.fingerprint
        elif observed is not None and observed.managed:
            # Keep another front's (the CLI's) ownership markers; only refresh what we know.
            tags.update({k: v for k, v in observed.context_tags.items()
                         if k in (MANAGED_TAG, APPLIED_TAG, FINGERPRINT_TAG)})
        return tags

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
        return classify_drift(desired, org=self.org, applied=applied, observed=observed, at=self.now(),
                              preflight=check)


