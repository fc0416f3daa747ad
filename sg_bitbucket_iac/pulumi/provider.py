"""The dynamic provider behind ``BitbucketConnector``: a thin translation layer onto the Engine.

Pulumi pickles the provider instance with dill into every resource's ``__provider``, by reference:
the dotted path ``sg_bitbucket_iac.pulumi.provider`` and the class name ``BitbucketConnectorProvider``
are part of every stack's state, so never rename them, and the pickled instance holds nothing.

Which properties exist and how they map is :mod:`.properties`; what the Pulumi CLI is shown
(check failures, warnings, scrubbed error texts) is :mod:`.diagnostics`.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from pulumi import dynamic

from .. import logs
from ..changed_outside import refresh_note
from ..engine import (
    INTERRUPTED_CREATE_NOTE,
    Action,
    ConnectorExistsError,
    ConnectorPlan,
    Engine,
    keep_identity,
    plan_connector,
)
from ..errors import BitbucketConnectorError, ConfigurationError, ForeignOwnerError, NameClashError
from ..flatstate import secret_values
from ..model import Connector, ConnectorValidationError
from ..secrets import Secret
from ..settings import Settings
from ..wire import ObservedConnector
from ..wording import PULUMI_WORDING
from . import error_reports
from .diagnostics import check_failures, clean_errors, shown, warn_once
from .messages import org_move_warning, unreadable_note
from .properties import (
    ADDITIONAL_SECRET_OUTPUTS,
    INPUT_KEYS,
    OUTPUT_KEYS,
    SECRET_KEYS,
    Replacements,
    checked_resource_id,
    checked_state_org,
    configuration_of,
    connector_data,
    inputs_from_outputs,
    is_unknown,
    parse,
    preflight_flag,
    property_of,
    snapshot_from_state,
    state_outputs,
)

TYPE_TOKEN = "pulumi-python:dynamic/stackguardian:BitbucketConnector"
CONFIG_NAMESPACE = "stackguardian"

# Importable from here as before the split (tests and callers use these names from this module).
_warn = warn_once


# --------------------------------------------------------------------------- runtime (per process)
@dataclass
class _Runtime:
    """What the provider builds in the provider process: never pickled, never in state."""

    config: dict[str, Any] = field(default_factory=dict)
    settings: Settings | None = None
    engines: dict[str, Engine] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    replacing: Replacements = field(default_factory=Replacements)  # noted by Diff, asked by Check


_RUNTIME_LOCK = threading.Lock()


class BitbucketConnectorProvider(dynamic.ResourceProvider):
    """Pulumi ResourceProvider for ``BitbucketConnector``; holds no state when pickled."""

    def __init__(self) -> None:
        super().__init__()

    # The pickled form is empty on purpose: no setting, client or secret can reach `__provider`.
    def __getstate__(self) -> dict[str, Any]:
        return {"format": 1}

    def __setstate__(self, state: Mapping[str, Any]) -> None:
        pass

    # ------------------------------------------------------------------ runtime
    def _runtime(self) -> _Runtime:
        runtime = self.__dict__.get("_runtime_state")
        if runtime is None:
            with _RUNTIME_LOCK:
                runtime = self.__dict__.get("_runtime_state")
                if runtime is None:
                    runtime = _Runtime()
                    self.__dict__["_runtime_state"] = runtime
        return runtime

    def _settings(self) -> Settings:
        runtime = self._runtime()
        with runtime.lock:
            if runtime.settings is None:
                cfg = runtime.config
                runtime.settings = Settings.resolve(
                    api_key=cfg.get("apiKey") or None,
                    api_url=cfg.get("apiUrl") or None,
                    org=cfg.get("org") or None,
                    bitbucket_api_url=cfg.get("bitbucketApiUrl") or None,
                    preflight=cfg.get("preflight"),
                    names=PULUMI_WORDING.setting_names,
                )
            return runtime.settings

    def _api_key(self) -> tuple[str, ...]:
        """The API key as far as it is known yet, to scrub it from error texts (defence in depth)."""
        runtime = self._runtime()
        key = runtime.settings.api_key if runtime.settings else runtime.config.get("apiKey")
        return (key.reveal(),) if isinstance(key, Secret) and key else ()

    def _org(self) -> str:
        return self._settings().require_org()

    def _engine(self, org: str | None = None) -> Engine:
        """One Engine per org and process, created on first use (4 gRPC worker threads share it)."""
        settings = self._settings()
        wanted = checked_state_org(org) or settings.require_org()
        runtime = self._runtime()
        with runtime.lock:
            engine = runtime.engines.get(wanted)
            if engine is None:
                from ..batch_read import BatchedClient  # concurrent reads (refresh) share one listall scan

                settings = replace(settings, org=wanted)
                engine = Engine(settings, front=PULUMI_WORDING, client=BatchedClient.from_settings(settings))
                runtime.engines[wanted] = engine
            return engine

    # ------------------------------------------------------------------ ResourceProvider API
    def configure(self, req: dynamic.ConfigureRequest) -> None:
        """Keep the `stackguardian:*` stack config in memory; Settings.resolve adds the environment."""
        error_reports.install(BitbucketConnectorError)  # the CLI shows our message, not a traceback
        # SG_BITBUCKET_IAC_LOG: plain lines on this process's stderr, which the Pulumi CLI shows with the run.
        log_problem = logs.configure_provider(os.environ, style="plain")
        if log_problem:
            warn_once(log_problem)
        config: dict[str, Any] = {}
        for name in ("apiKey", "apiUrl", "org", "bitbucketApiUrl", "preflight"):
            value = req.config.get(f"{CONFIG_NAMESPACE}:{name}")
            if value is not None and value != "":
                config[name] = Secret(str(value)) if name == "apiKey" else value
        runtime = self._runtime()
        with runtime.lock:
            runtime.config = config
            runtime.settings = None
            runtime.engines.clear()
            runtime.replacing.clear()

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.CheckResult:
        """Schema, timeline and (once the credential is known) preflight, so `preview` fails early."""
        secrets = secret_values(news)
        with clean_errors("check", news, extra=self._api_key()):
            unknown = {k for k in INPUT_KEYS if k in news and is_unknown(news[k])}
            known = {k: v for k, v in news.items() if k not in unknown}
            flag_failures: list[dynamic.CheckFailure] = []
            try:
                preflight = preflight_flag(known.get("preflight"))
            except ConfigurationError as exc:  # a typo must not turn the check off: refused, with the words
                preflight, flag_failures = None, [dynamic.CheckFailure("preflight", shown(str(exc), secrets))]
            try:
                connector = parse(known)
            except ConnectorValidationError as exc:
                return dynamic.CheckResult(news, [*check_failures(exc.problems, unknown, secrets), *flag_failures])
            if unknown or flag_failures:
                return dynamic.CheckResult(news, flag_failures)
            creating = not any(olds.get(k) is not None for k in INPUT_KEYS)  # olds are {} on create/replace
            check = self._engine().precheck(connector, creating=creating, preflight=preflight,
                                            previous=None if creating else self._declared(olds))
            for warning in check.warnings:
                warn_once(f"{connector.connector_id}: {warning}")
            failures = check_failures(check.problems, (), secrets)
            if creating and not failures:
                failures = self._create_refusals(connector, adopt=bool(news.get("adopt")), secrets=secrets,
                                                 configuration=configuration_of(news))
            return dynamic.CheckResult(news, failures)

    def _create_refusals(self, connector: Connector, *, adopt: bool, secrets: list[str],
                         configuration: str | None) -> list[dynamic.CheckFailure]:
        """What Create would refuse (Id taken, another front's connector, name used under another Id),
        said at `preview` already, as `terraform plan` does; reads only, served by the batched scan.
        A connector this stack's own interrupted create left is not refused: Create finishes it."""
        engine = self._engine()
        try:
            plan = engine.plan(connector, adopt=adopt, replacing=self._replaced_by(engine.org, connector.connector_id),
                               configuration=configuration)
        except ConnectorExistsError as exc:
            return [dynamic.CheckFailure("connector_id", shown(str(exc), secrets))]
        except ForeignOwnerError as exc:
            return [dynamic.CheckFailure("adopt", shown(str(exc), secrets))]
        except NameClashError as exc:
            return [dynamic.CheckFailure("name", shown(str(exc), secrets))]
        for warning in plan.warnings:
            if warning.rule == INTERRUPTED_CREATE_NOTE:
                warn_once(f"{connector.connector_id}: {warning}")  # Create says the same: printed once
        return []

    def _replaced_by(self, org: str, connector_id: str) -> str | None:
        """The Id a planned replacement creating ``connector_id`` in ``org`` replaces (see Replacements)."""
        return self._runtime().replacing.replaced_by(org, connector_id)

    @staticmethod
    def _declared(olds: Mapping[str, Any]) -> Connector | None:
        """The connector the previous inputs declared (None when they do not parse)."""
        try:
            return parse(olds)
        except ConnectorValidationError:
            return None

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.DiffResult:
        """Desired (news) vs state (olds are the previous OUTPUTS), through ``plan_connector``; no I/O."""
        with clean_errors("diff", olds, news, extra=self._api_key()):
            if any(is_unknown(news.get(k)) for k in INPUT_KEYS):
                return dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
            applied = snapshot_from_state({**olds, "connector_id": olds.get("connector_id") or id_})
            desired = keep_identity(parse(news), applied)
            if applied is None:
                # State without a usable snapshot (hand-edited or foreign): re-apply everything.
                return dynamic.DiffResult(changes=True, replaces=[], delete_before_replace=False)
            plan = plan_connector(
                desired, org=self._org(), applied=applied, observed=applied.as_observed(
                    authenticated=olds.get("authenticated") if isinstance(olds.get("authenticated"), bool) else None)
            )
            if plan.action is Action.REPLACE:
                org = self._org()
                self._runtime().replacing.note(org, desired.connector_id, applied.connector_id)
                moves_org = any(c.field == "org" for c in plan.changes)
                if moves_org:
                    warn_once(org_move_warning(id_, applied.org, org,
                                               org_setting=PULUMI_WORDING.setting_names["org"]))
                return dynamic.DiffResult(changes=True, replaces=["org" if moves_org else "connector_id"],
                                          delete_before_replace=True)
            return dynamic.DiffResult(changes=plan.action is not Action.NOOP, replaces=[], delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> dynamic.CreateResult:
        """Create, or adopt an existing connector with the same Id when ``adopt=True``."""
        with clean_errors("create", props, extra=self._api_key()):
            desired = parse(props)
            preflight = preflight_flag(props.get("preflight"))
            engine = self._engine()
            observed, unreadable = engine.read_leniently(desired.connector_id)
            configuration = configuration_of(props)
            try:
                # No `replacing`: a replacement deletes the old connector first, so the name is free by now.
                plan = engine.plan(desired, observed=observed, adopt=bool(props.get("adopt")), refresh=False,
                                   unreadable=unreadable, configuration=configuration)
            except ConnectorExistsError as exc:
                raise BitbucketConnectorError(str(exc)) from None
            outs = _apply(engine, desired, plan, observed, preflight, configuration)
            return dynamic.CreateResult(desired.connector_id, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dynamic.UpdateResult:
        """Plan against the live connector and the state's snapshot; always return ALL outputs."""
        with clean_errors("update", olds, news, extra=self._api_key()):
            _check_state_id(id_)
            engine = self._engine()
            applied = snapshot_from_state({**olds, "connector_id": olds.get("connector_id") or id_})
            desired = keep_identity(parse(news), applied)
            preflight = preflight_flag(news.get("preflight"))
            observed, unreadable = engine.read_leniently(id_)
            # `adopt=True` also takes back a connector this stack holds that another front took over since.
            plan = engine.plan(desired, applied=applied, observed=observed,
                               adopt=applied is None or bool(news.get("adopt")), refresh=False,
                               unreadable=unreadable)
            if plan.action is Action.REPLACE:
                raise BitbucketConnectorError(
                    f"connector {id_}: {plan.replace_reason}; this needs a replacement, not an update"
                )
            outs = _apply(engine, desired, plan, observed, preflight)
            return dynamic.UpdateResult(outs)

    def read(self, id_: str, props: dict[str, Any]) -> dynamic.ReadResult:
        """Refresh and ``BitbucketConnector.get``: what StackGuardian reports now, secrets kept from state.

        A record with odd fields is drift, not an error: the outputs keep what could be read, the
        credential's fingerprint is forgotten, and the next `pulumi up` re-sends the declaration,
        which repairs the record.
        """
        with clean_errors("read", props, extra=self._api_key()):
            _check_state_id(id_)
            engine = self._engine(props.get("org") or None)
            observed, unreadable = engine.read_leniently(id_)
            if observed is None:
                if not any(props.get(k) is not None for k in ("org", "connector_id")):
                    # `BitbucketConnector.get` (no prior state): the SDK's server always adds `__provider`
                    # to the outputs, so an empty ReadResult would give an empty resource, not an error.
                    raise BitbucketConnectorError(
                        f"connector {id_} not found in StackGuardian org {engine.org}: BitbucketConnector.get "
                        "needs the Id of an existing connector (see `sg-bitbucket audit` for the org's connectors)"
                    )
                return dynamic.ReadResult(None, {})  # deleted outside: refresh drops it from state
            if not observed.is_bitbucket:
                raise BitbucketConnectorError(
                    f"connector {id_} in org {engine.org} is a {observed.kind or 'non-Bitbucket'} connector, "
                    "not a Bitbucket one"
                )
            outs = state_outputs(observed, org=engine.org, previous=props)
            note = refresh_note(id_, props.get("modified_at"), observed.modified_at, PULUMI_WORDING)
            if note is not None or unreadable is not None:
                outs["credentials_fingerprint"] = None  # the next `up` re-sends the declared credential
            if note is not None:
                warn_once(note)
            if unreadable is not None:
                warn_once(unreadable_note(id_, unreadable.findings))
            return dynamic.ReadResult(id_, outs, inputs_from_outputs(outs))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        """Delete in the org the state recorded; a connector already gone is fine."""
        with clean_errors("delete", props, extra=self._api_key()):
            _check_state_id(id_)
            self._engine(props.get("org") or None).delete(id_)


def _check_state_id(id_: str) -> None:
    """The resource id (state, `BitbucketConnector.get`, `pulumi import`) goes into a URL path: its rule first."""
    checked_resource_id(id_)


def _apply(
    engine: Engine,
    desired: Connector,
    plan: ConnectorPlan,
    observed: ObservedConnector | None,
    preflight: bool | None,
    configuration: str | None = None,
) -> dict[str, Any]:
    """Carry out the engine's plan and return the FULL outputs (an UpdateResult without them wipes state)."""
    result = engine.apply(desired, plan, observed=observed, preflight=preflight, configuration=configuration)
    for warning in [*plan.warnings, *result.warnings]:
        warn_once(f"{desired.connector_id}: {warning}")
    observed_after = result.observed or engine.read(desired.connector_id)
    if observed_after is None:
        raise BitbucketConnectorError(f"connector {desired.connector_id} was not found after the write")
    fingerprint = result.snapshot.fingerprint if result.snapshot else None
    return state_outputs(observed_after, org=engine.org, declared=desired, fingerprint=fingerprint)


__all__ = [
    "ADDITIONAL_SECRET_OUTPUTS",
    "INPUT_KEYS",
    "OUTPUT_KEYS",
    "SECRET_KEYS",
    "TYPE_TOKEN",
    "BitbucketConnectorError",
    "BitbucketConnectorProvider",
    "connector_data",
    "property_of",
]
