"""What either Pulumi front does at Check, Diff, Create, Update, Read and Delete, in flat values.

The dynamic ``BitbucketConnector`` and the native ``sgbitbucket:index:Connector`` ask the same
questions of the backend and answer Pulumi the same way; only their Pulumi plumbing differs
(dill-pickled ``ResourceProvider`` vs a gRPC plugin), as do their words: property names, how a
person takes a connector over, which config namespace holds the settings. So both call this
module, each with its :class:`PulumiFront`, and translate its plain answers into their own types.

Every call of the backend either Pulumi front makes is here (``flatstate``, one ``Engine(settings,
front=wording, client=BatchedClient...)`` per org, ``tags``, ``settings``). Nothing here decides a
rule: validation, the app-password policy, preflight, plans, ownership and drift are the engine's,
worded by the front's :mod:`sg_bitbucket_iac.wording` table; errors leave as one scrubbed
:class:`~sg_bitbucket_iac.errors.BitbucketConnectorError` through :mod:`.messages`.

Values are the flat keys of :mod:`sg_bitbucket_iac.flatstate` (``auth_type``, ``api_token``, ...),
plain Python values, secrets revealed (each front re-marks them secret on the way out), and
:data:`UNKNOWN` for a value Pulumi does not know yet (preview): each front turns its own unknown
marker into it on the way in.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any

from .. import logs
from ..changed_outside import refresh_note
from ..engine import INTERRUPTED_CREATE_NOTE, Action, ConnectorExistsError, Engine, keep_identity, plan_connector
from ..errors import (
    BitbucketConnectorError,
    ConnectorValidationError,
    ForeignOwnerError,
    NameClashError,
    Problem,
    SGBitbucketError,
)
from ..field_rules import derive_id
from ..flatstate import CREDENTIAL_KEYS, declaration, flat_of, key_of_path, refreshed, secret_values, snapshot_of
from ..identifiers import Identifier
from ..model import AuthType, Connector, parse_connector
from ..redact import escape_control, shorten
from ..secrets import Secret
from ..settings import Settings, checked_api_key, checked_base_url, checked_org, parse_bool
from ..tags import owner_of
from ..wire import ObservedConnector
from ..wording import FrontWording
from .messages import SaidOnce, check_reasons, clean_errors, org_move_warning, shown, unreadable_note
from .properties import (
    FLAG_KEYS,
    OUTPUT_KEYS,
    PROGRAM_INPUT_KEYS,
    SECRET_KEYS,
    Replacements,
    checked_resource_id,
    checked_state_org,
    inputs_from_outputs,
    state_outputs,
)
from .properties import is_unknown as holds_unknown

# Secret outputs: the credentials under their own keys, and what is derived from them.
SECRET_OUTPUT_KEYS: tuple[str, ...] = (*SECRET_KEYS, "credentials_fingerprint")
# What getConnector returns: what StackGuardian shows of a connector, never a secret.
LOOKUP_KEYS: tuple[str, ...] = (
    "connector_id", "name", "workspace", "description", "tags", "auth_type", "username", "email",
    "access_token_scope", "repository", "project", "authenticated", "created_at", "modified_at",
)
# Provider settings: the Pulumi config key -> the Settings field it sets.
SETTING_OF_CONFIG: dict[str, str] = {
    "apiKey": "api_key", "apiUrl": "api_url", "org": "org", "bitbucketApiUrl": "bitbucket_api_url",
    "preflight": "preflight",
}


class _Unknown:
    """A value Pulumi does not know yet (a preview of a program whose input comes from another resource)."""

    def __repr__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()


def is_unknown(value: Any) -> bool:
    """:data:`UNKNOWN` anywhere inside ``value``."""
    return holds_unknown(value, unknown=lambda v: v is UNKNOWN)


@dataclass(frozen=True)
class Failure:
    """A check failure at one property (flat key; empty for the resource as a whole)."""

    key: str
    reason: str


@dataclass
class Checked:
    inputs: dict[str, Any]
    failures: list[Failure] = field(default_factory=list)


@dataclass
class Difference:
    """What Diff answers: whether anything is written, which keys change, what forces a replacement."""

    changes: bool
    changed: list[str] = field(default_factory=list)
    replaces: list[str] = field(default_factory=list)


@dataclass
class Read:
    """Refresh or import: the connector as StackGuardian shows it (None when it is gone)."""

    connector_id: str | None
    outputs: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, Any] = field(default_factory=dict)


Warn = Callable[[str], None]


@dataclass(frozen=True)
class PulumiFront:
    """What tells the two Pulumi fronts apart here: their words, never their rules."""

    wording: FrontWording  # property names, advice, setting names (`stackguardian:org`, `sgbitbucket:org`)
    property_name: Callable[[str], str]  # a flat key as the front spells the property (`connector_id`, `connectorId`)
    one_line: bool  # errors as one line (a gRPC status) or as the backend wrote them
    read_by_id: str  # what reads an existing connector by Id: `BitbucketConnector.get`, `pulumi import`
    import_notes: bool  # a read without state is an import that the next `up` manages (not a read-only get)


def flag(value: Any, name: str) -> bool | None:
    """A per-resource boolean named ``name`` (None: the provider's default); the settings' parser refuses
    anything else, so this input and the provider setting accept the same words, and a typo such as
    ``adopt: "flase"`` is refused instead of read as true."""
    if value is None or value == "" or value is UNKNOWN:
        return None
    return parse_bool(value if isinstance(value, bool) else str(value), name)


class Lifecycle:
    """One per provider process: settings from Configure, one engine per org, created on first use."""

    def __init__(self, front: PulumiFront, warn: Warn, *, log: Warn | None = None) -> None:
        self.front = front
        self._wording = front.wording
        self._warn = SaidOnce().wrap(warn)  # each warning once per process
        self._log = log  # where the opt-in log's lines go (None: this process's stderr)
        self._config: dict[str, Any] = {}
        self._settings: Settings | None = None
        self._engines: dict[str, Engine] = {}
        self._lock = threading.Lock()
        self._replacing = Replacements()  # noted by Diff, asked by the replacement's Check

    # ------------------------------------------------------------------ configuration
    def check_config(self, config: Mapping[str, Any]) -> list[Failure]:
        """Explicitly set provider values, checked before anything runs (the environment at first use)."""
        checks: dict[str, Callable[[Any, str], Any]] = {
            "apiKey": lambda v, s: checked_api_key(Secret(str(v)), s),
            "apiUrl": lambda v, s: checked_base_url(str(v), s),
            "bitbucketApiUrl": lambda v, s: checked_base_url(str(v), s),
            "org": lambda v, s: checked_org(str(v), s),
            "preflight": lambda v, s: parse_bool(v if isinstance(v, bool) else str(v), s),
        }
        failures = []
        for key, check in checks.items():
            value = config.get(key)
            if value is None or value is UNKNOWN or value == "":
                continue
            try:
                check(value, self._wording.setting_names[SETTING_OF_CONFIG[key]])
            except SGBitbucketError as exc:
                secrets = [str(value)] if key == "apiKey" else []
                failures.append(Failure(key, shown(str(exc), secrets, one_line=self.front.one_line)))
        return failures

    def configure(self, config: Mapping[str, Any]) -> None:
        """Keep the provider's settings (the config keys without their namespace: ``apiKey``, ``apiUrl``, ``org``,
        ``bitbucketApiUrl``, ``preflight``); Settings.resolve adds the environment on first use.

        ``SG_BITBUCKET_IAC_LOG`` turns on the provider log: plain lines, scrubbed like the CLI's
        (:mod:`sg_bitbucket_iac.logs`), to ``log`` (the native plugin: the engine's log) or to stderr (the
        dynamic provider's, which the Pulumi CLI shows with the run)."""
        log_problem = logs.configure_provider(os.environ, style="plain", sink=self._log)
        if log_problem:
            self._warn(escape_control(log_problem))
        kept = {k: v for k, v in config.items() if k in SETTING_OF_CONFIG and v not in (None, "") and v is not UNKNOWN}
        if "apiKey" in kept:
            kept["apiKey"] = Secret(str(kept["apiKey"]))
        with self._lock:
            self._config = kept
            self._settings = None
            self._engines.clear()
        self._replacing.clear()

    def _resolved(self) -> Settings:
        with self._lock:
            if self._settings is None:
                values = {SETTING_OF_CONFIG[k]: v for k, v in self._config.items()}
                if "preflight" in values and not isinstance(values["preflight"], bool):
                    values["preflight"] = str(values["preflight"])
                self._settings = Settings.resolve(**values, names=self._wording.setting_names)
            return self._settings

    def _api_key(self) -> tuple[str, ...]:
        """The API key as far as it is known, to scrub it from any text (defence in depth)."""
        key = self._settings.api_key if self._settings else self._config.get("apiKey")
        return (key.reveal(),) if isinstance(key, Secret) and key else ()

    def org(self) -> str:
        org = self._resolved().org
        if not org:
            raise BitbucketConnectorError(
                f"no StackGuardian org: set it with `pulumi config set {self._wording.setting_names['org']} ORG`, "
                "or SG_ORG (or STACKGUARDIAN_ORG_NAME) in the environment")
        return org

    def engine(self, org: str | None = None) -> Engine:
        """One Engine per org and process, created on first use (the gRPC threads share it)."""
        settings = self._resolved()
        wanted = checked_state_org(org) or self.org()  # an org from state goes into every URL path too
        if not settings.api_key:
            raise BitbucketConnectorError(
                "no StackGuardian API key: set it with `pulumi config set --secret "
                f"{self._wording.setting_names['api_key']} KEY`, or SG_API_TOKEN (or STACKGUARDIAN_API_KEY) in "
                "the environment")
        with self._lock:
            engine = self._engines.get(wanted)
            if engine is None:
                from ..batch_read import BatchedClient  # concurrent reads (refresh) share one listall scan

                settings = replace(settings, org=wanted)
                engine = Engine(settings, front=self._wording, client=BatchedClient.from_settings(settings))
                self._engines[wanted] = engine
            return engine

    # ------------------------------------------------------------------ errors
    def errors(self, operation: str, *sources: Mapping[str, Any]) -> AbstractContextManager[None]:
        """Anything raised inside leaves as one scrubbed line (:func:`..messages.clean_errors`)."""
        return clean_errors(operation, *sources, wording=self._wording, extra=self._api_key(),
                            one_line=self.front.one_line)

    def parse(self, values: Mapping[str, Any]) -> Connector:
        """The declared connector; its problems name the properties as this front spells them."""
        return parse_connector(declaration(values), names=self._wording.field_names)

    def flag(self, values: Mapping[str, Any], key: str) -> bool | None:
        """The per-resource boolean ``key`` of ``values`` (:func:`flag`), named as this front spells it."""
        return flag(values.get(key), self.front.property_name(key))

    def _shown(self, text: str, secrets: Iterable[str]) -> str:
        return shown(text, secrets, one_line=self.front.one_line)

    def _say(self, connector_id: str, notes: Iterable[object]) -> None:
        for note in dict.fromkeys(str(n) for n in notes):
            self._warn(escape_control(f"{connector_id}: {note}"))

    # ------------------------------------------------------------------ Check
    def check(self, olds: Mapping[str, Any], news: Mapping[str, Any], *, resource_name: str,
              configuration: str | None = None) -> Checked:
        """Schema, timeline and (once the credential is known) preflight, so `pulumi preview` fails early.

        ``configuration``: which stack and resource ask (:func:`configuration_of_urn`). Reads only."""
        inputs = {k: v for k, v in news.items() if k in PROGRAM_INPUT_KEYS and v is not None}
        if "name" not in inputs and resource_name:
            inputs["name"] = resource_name  # like the dynamic resource: the resource's own name
        secrets = secret_values(inputs)
        with self.errors("check", inputs):
            unknown = {k for k, v in inputs.items() if is_unknown(v)}
            failures = [*self._flag_failures(inputs, unknown, secrets)]
            try:
                connector = self.parse({k: v for k, v in inputs.items() if k not in unknown})
            except ConnectorValidationError as exc:
                return Checked(inputs, [*self._failures(exc.problems, unknown, secrets), *failures])
            if failures:
                return Checked(inputs, failures)
            if unknown:
                return Checked(inputs)  # the rest is checked at `up`, once every value is known
            # Olds are empty on a create and on a replacement's second Check: only those are creates.
            creating = not any(olds.get(k) is not None for k in PROGRAM_INPUT_KEYS)
            previous = None if creating else self._declared(olds)
            precheck = self.engine().precheck(connector, creating=creating, preflight=self.flag(inputs, "preflight"),
                                              previous=previous)
            self._say(connector.connector_id, precheck.warnings)
            failures = self._failures(precheck.problems, set(), secrets)
            if creating and not failures:
                failures = self._create_refusals(connector, adopt=bool(self.flag(inputs, "adopt")),
                                                 secrets=secrets, configuration=configuration)
            return Checked(inputs, failures)

    def _create_refusals(self, connector: Connector, *, adopt: bool, secrets: list[str],
                         configuration: str | None) -> list[Failure]:
        """What Create would refuse (Id taken, another front's connector, name used under another Id),
        said at `pulumi preview` already; reads only, served by the batched scan. A replacement's name
        check does not count the connector it replaces (noted by Diff), and a connector this stack's
        own interrupted create left is not refused: Create finishes it."""
        engine = self.engine()
        try:
            plan = engine.plan(connector, adopt=adopt, configuration=configuration,
                               replacing=self._replacing.replaced_by(engine.org, connector.connector_id))
        except ConnectorExistsError as exc:
            return [Failure("connector_id", self._shown(str(exc), secrets))]
        except ForeignOwnerError as exc:
            return [Failure("adopt", self._shown(str(exc), secrets))]
        except NameClashError as exc:
            return [Failure("name", self._shown(str(exc), secrets))]
        self._say(connector.connector_id, [w for w in plan.warnings if w.rule == INTERRUPTED_CREATE_NOTE])
        return []

    def _flag_failures(self, inputs: Mapping[str, Any], unknown: set[str], secrets: list[str]) -> list[Failure]:
        """``preflight`` and ``adopt`` that are not a yes or a no: refused, so a typo cannot turn the credential
        check off or take a connector over."""
        failures = []
        for key in FLAG_KEYS:
            if key in unknown:
                continue
            try:
                self.flag(inputs, key)
            except SGBitbucketError as exc:
                failures.append(Failure(key, self._shown(str(exc), secrets)))
        return failures

    def _failures(self, problems: list[Problem], skip: set[str], secrets: list[str]) -> list[Failure]:
        return [Failure(key, reason)
                for key, reason in check_reasons(problems, skip, secrets, one_line=self.front.one_line)]

    def _declared(self, olds: Mapping[str, Any]) -> Connector | None:
        """The connector the previous inputs declared (None when they do not parse)."""
        try:
            return self.parse(olds)
        except ConnectorValidationError:
            return None

    # ------------------------------------------------------------------ Diff
    def diff(self, connector_id: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Difference:
        """Desired (news) vs state (olds are the previous outputs), through the pure planner; no I/O.

        A replacement is noted for the replacement's Check; a new org is one, said by a warning that
        names the connector deleted in the old org."""
        with self.errors("diff", olds, news):
            state = {**olds, "connector_id": olds.get("connector_id") or connector_id}
            if any(is_unknown(news.get(k)) for k in PROGRAM_INPUT_KEYS):
                changed = [k for k in PROGRAM_INPUT_KEYS
                           if k in news and (is_unknown(news[k]) or news[k] != state.get(k))]
                replaces = [k for k in ("connector_id",) if k in changed and news.get(k) not in (None, state[k])]
                return Difference(True, [k for k in changed if k not in FLAG_KEYS], replaces)
            applied = snapshot_of(state, olds.get("org"))
            if applied is None:  # state without a usable snapshot (hand-edited): write everything again
                return Difference(True, [k for k in PROGRAM_INPUT_KEYS if k in news and k not in FLAG_KEYS])
            desired = keep_identity(self.parse(news), applied)
            authenticated = olds.get("authenticated")
            org = self.org()
            plan = plan_connector(desired, org=org, applied=applied, observed=applied.as_observed(
                authenticated=authenticated if isinstance(authenticated, bool) else None))
            changed = list(dict.fromkeys(_key(c.field) for c in plan.changes))
            if plan.action is Action.REPLACE:
                self._replacing.note(org, desired.connector_id, applied.connector_id)
                if "org" in changed:
                    self._warn(escape_control(org_move_warning(
                        applied.connector_id, applied.org, org, org_setting=self._wording.setting_names["org"])))
                return Difference(True, changed, ["org" if "org" in changed else "connector_id"])
            return Difference(plan.action is not Action.NOOP, [k for k in changed if k in OUTPUT_KEYS])

    # ------------------------------------------------------------------ Create / Update
    def create(self, props: Mapping[str, Any], *, preview: bool,
               configuration: str | None = None) -> tuple[str, dict[str, Any]]:
        """Create, or take over an existing connector with the same Id when ``adopt`` is true; a connector
        this stack's interrupted create left (``configuration``: :func:`configuration_of_urn`) is finished."""
        with self.errors("create", props):
            if preview:
                return self._preview_outputs(props, {})
            desired = self.parse(props)
            adopt, preflight = bool(self.flag(props, "adopt")), self.flag(props, "preflight")  # refused before a read
            engine = self.engine()
            observed, unreadable = engine.read_leniently(desired.connector_id)
            # No `replacing`: a replacement deletes the old connector first, so the name is free by now.
            plan = engine.plan(desired, observed=observed, adopt=adopt, refresh=False, unreadable=unreadable,
                               configuration=configuration)
            outputs = self._apply(engine, desired, plan, observed, preflight, configuration)
            return desired.connector_id, outputs

    def update(self, connector_id: str, olds: Mapping[str, Any], news: Mapping[str, Any], *,
               preview: bool) -> dict[str, Any]:
        """Plan against the live connector and the state's snapshot; always return every output.

        ``adopt`` also takes back a connector this stack holds that another front took over since."""
        with self.errors("update", olds, news):
            checked_resource_id(connector_id)
            if preview:
                return self._preview_outputs(news, olds)[1]
            applied = snapshot_of({**olds, "connector_id": olds.get("connector_id") or connector_id}, olds.get("org"))
            desired = keep_identity(self.parse(news), applied)
            adopt, preflight = applied is None or bool(self.flag(news, "adopt")), self.flag(news, "preflight")
            engine = self.engine()
            observed, unreadable = engine.read_leniently(connector_id)
            plan = engine.plan(desired, applied=applied, observed=observed, adopt=adopt, refresh=False,
                               unreadable=unreadable)
            if plan.action is Action.REPLACE:
                raise BitbucketConnectorError(f"connector {connector_id}: {plan.replace_reason}; this needs a "
                                              "replacement, not an update")
            return self._apply(engine, desired, plan, observed, preflight)

    def _apply(self, engine: Engine, desired: Connector, plan: Any, observed: ObservedConnector | None,
               preflight: bool | None, configuration: str | None = None) -> dict[str, Any]:
        result = engine.apply(desired, plan, observed=observed, preflight=preflight, configuration=configuration)
        self._say(desired.connector_id, [*plan.warnings, *result.warnings])
        after = result.observed or engine.read(desired.connector_id)
        if after is None:
            raise BitbucketConnectorError(f"connector {desired.connector_id} was not found after the write")
        fingerprint = result.snapshot.fingerprint if result.snapshot else None
        return state_outputs(after, org=engine.org, declared=desired, fingerprint=fingerprint)

    def _preview_outputs(self, inputs: Mapping[str, Any], olds: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        """What a preview shows: the declared values, the Id once it can be known, the rest unknown."""
        outs: dict[str, Any] = {k: olds.get(k) for k in OUTPUT_KEYS}
        outs.update({k: v for k, v in inputs.items() if k in OUTPUT_KEYS})
        for key in CREDENTIAL_KEYS:
            if key not in inputs:
                outs[key] = None  # a credential set is replaced whole
        name = inputs.get("name")
        if not outs.get("connector_id"):
            outs["connector_id"] = derive_id(name) if isinstance(name, str) else UNKNOWN
        if not any(is_unknown(v) for v in inputs.values()):
            outs.update(flat_of(self.parse(inputs)))  # the values the backend derives
            outs["connector_id"] = olds.get("connector_id") or outs["connector_id"]  # kept on rename
        elif inputs.get("auth_type") == AuthType.ACCESS_TOKEN.value and not inputs.get("access_token_scope"):
            outs["access_token_scope"] = UNKNOWN
        outs["org"] = olds.get("org") or self.org()
        for key in ("authenticated", "modified_at", "credentials_fingerprint"):
            outs[key] = UNKNOWN
        if not olds:
            outs["created_at"] = UNKNOWN
        connector_id = outs["connector_id"]
        return (connector_id if isinstance(connector_id, str) else ""), outs

    # ------------------------------------------------------------------ Read / Delete
    def read(self, connector_id: str, state: Mapping[str, Any], inputs: Mapping[str, Any]) -> Read:
        """Refresh (state given) and import (nothing given): StackGuardian's view, secrets kept from state.

        Reads only. A failed read is an error (the resource stays in state); only a connector
        StackGuardian says is gone leaves it. A record with odd fields is drift: the outputs keep
        what could be read, and the next `pulumi up` re-sends the declaration, which repairs it."""
        importing = not state and not inputs
        with self.errors("import" if importing else "read", state, inputs):
            checked_resource_id(connector_id)
            engine = self.engine(state.get("org") or None)
            observed, unreadable = engine.read_leniently(connector_id)
            if observed is None:
                if importing:
                    raise BitbucketConnectorError(
                        f"connector {connector_id} not found in StackGuardian org {engine.org}: "
                        f"{self.front.read_by_id} needs the Id of an existing connector (`sg-bitbucket audit` lists "
                        "the org's connectors)")
                return Read(None)  # deleted outside: refresh drops it from state
            if not observed.is_bitbucket:
                raise BitbucketConnectorError(f"connector {connector_id} in org {engine.org} is a "
                                              f"{observed.kind or 'non-Bitbucket'} connector, not a Bitbucket one")
            outs = state_outputs(observed, org=engine.org, previous=state)
            kept = {k: inputs[k] for k in FLAG_KEYS if inputs.get(k) is not None}
            if importing and self.front.import_notes:
                kept.update(self._import_notes(observed))
            elif not importing:
                note = refresh_note(connector_id, state.get("modified_at"), observed.modified_at, self._wording)
                if note is not None or unreadable is not None:
                    outs["credentials_fingerprint"] = None  # the next `up` re-sends the declared credential
                if note is not None:
                    self._warn(escape_control(note))
            if unreadable is not None:
                self._warn(escape_control(unreadable_note(connector_id, unreadable.findings)))
            return Read(connector_id, outs, {**inputs_of(outs), **kept})

    def _import_notes(self, observed: ObservedConnector) -> dict[str, Any]:
        """An import reads only; what the next `pulumi up` must do is said now, and adopt is set
        when another front owns the connector (so the generated code says it takes it over). Only a front
        whose reads without state are imports says this (``PulumiFront.import_notes``: the native one)."""
        owner = owner_of(observed.context_tags)
        secret = self._wording.field(observed.auth_type.secret_field) if observed.auth_type else "its secret"
        notes = [f"StackGuardian never returns a secret: set the credential ({secret}) in the program; the first "
                 "`pulumi up` sends it"]
        extra: dict[str, Any] = {}
        if not observed.workspace:
            notes.append("no workspace is recorded on this connector (it was not written by this tool): set "
                         "`workspace` in the program")
        if owner is not None and owner is not self._wording.owner:
            extra["adopt"] = True
            notes.append(f"owned by {owner.value}: the generated code sets `adopt: true`, and the first `pulumi up` "
                         f"moves the owner to pulumi ({owner.value} then refuses to write to it)")
        self._say(observed.id, notes)
        return extra

    def delete(self, connector_id: str, state: Mapping[str, Any]) -> None:
        """Delete in the org the state recorded (the old one, after a new org); a connector already gone is fine."""
        with self.errors("delete", state):
            checked_resource_id(connector_id)
            self.engine(state.get("org") or None).delete(connector_id)

    # ------------------------------------------------------------------ Invoke
    def lookup(self, connector_id: Any, name: Any) -> tuple[dict[str, Any], list[Failure]]:
        """`getConnector`: an existing connector by Id or by name, secrets never."""
        given = [key for key, value in (("connector_id", connector_id), ("name", name)) if value not in (None, "")]
        if len(given) != 1:
            named = self.front.property_name
            return {}, [Failure("", f"give exactly one of {named('connector_id')} and name (got "
                                    f"{' and '.join(named(k) for k in given) or 'neither'})")]
        if connector_id:
            invalid = Identifier.CONNECTOR_ID.message(connector_id)  # it goes into a URL path: checked first
            if invalid is not None:
                return {}, [Failure("connector_id", invalid)]
        with self.errors("getConnector"):
            engine = self.engine()
            if connector_id:
                observed = engine.read(str(connector_id))
                if observed is None:
                    return {}, [Failure("connector_id", f"StackGuardian org {engine.org} has no connector "
                                                        f"{escape_control(str(connector_id))}")]
            else:
                found = engine.named(str(name))
                if len(found) != 1:
                    what = (f"{len(found)} connectors are named {shorten(name)} (Ids: "
                            f"{', '.join(sorted(o.id for o in found))}); look it up by connectorId") if found else (
                        f"StackGuardian org {engine.org} has no Bitbucket connector named {shorten(name)}")
                    return {}, [Failure("name", what)]
                observed = found[0]
            if not observed.is_bitbucket:
                return {}, [Failure("connector_id", f"connector {observed.id} is a {observed.kind or 'non-Bitbucket'} "
                                                    "connector, not a Bitbucket one")]
            values = refreshed(observed, {})
            return {k: values.get(k) for k in LOOKUP_KEYS}, []


# --------------------------------------------------------------------------- translations
def inputs_of(outs: Mapping[str, Any]) -> dict[str, Any]:
    """Inputs that reproduce ``outs`` (a refresh leaves no phantom diff; an import's generated code
    leaves out what is empty)."""
    return {k: v for k, v in inputs_from_outputs(outs).items() if v not in ("", [])}


def _key(path: str) -> str:
    """A plan change's field path (``auth.email``) as the flat key it is about."""
    return key_of_path(path)[0]


