"""Resource `sgbitbucket_connector`: Terraform's lifecycle mapped onto Engine.plan/apply/read/delete.

* validate: the backend's parse at every `terraform plan`, with each problem at the attribute the
  user wrote (the app-password dates are a check of writing a credential: plan has it).
* plan: computed values that can be known (Id, effective scope, fingerprint, owner, org), and, when
  the resource will be written, the backend plan: existing connector not in state, another owner, a
  name already used, the app-password dates, credential preflight. An auth-type change is an
  ordinary in-place update: the config drops the old type's attributes (they plan to null) and sets
  the new ones; the backend sends the whole new credential set. Only `connector_id` (and the org)
  force replacement, and the create half never counts the connector it replaces as a name clash.
  A plan of a destroy (its normal plan first, see invocation.py) checks nothing of the kind.
* read and import: StackGuardian's view (drift), secrets kept from state; None when the connector
  is gone. Neither writes: an import only notes in private state (private.py) that the next apply
  takes the connector over, and `owner` shows the planned move. A record with fields of the wrong
  type is refreshed as far as it can be read, and the next apply re-sends the declaration.
* org: the state records the org the connector lives in; a new `org_name` replaces the connector
  (deleted in the old org, created in the new one), planned as such and said in a warning, so no
  connector is left behind in the old org. Read and delete work in the org the state names.
* a create that StackGuardian stored in a run that never recorded it (killed, or every answer
  lost) is finished by the next run of the same configuration (:mod:`..interrupted_create`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from tf import schema, types
from tf.iface import (
    Config,
    CreateContext,
    DeleteContext,
    ImportContext,
    PlanContext,
    ReadContext,
    Resource,
    UpdateContext,
    UpgradeContext,
)
from tf.types import Unknown
from tf.utils import Diagnostics

from .. import field_docs
from ..changed_outside import refresh_note
from ..engine import Action, ApplyResult, check_policy
from ..engine.precheck import Notice, app_password_verdict
from ..errors import (
    ConnectorExistsError,
    ConnectorValidationError,
    ForeignOwnerError,
    NameClashError,
    OddRecordError,
    PreflightFailed,
)
from ..field_rules import derive_id
from ..flatstate import CREDENTIAL_KEYS, SECRET_KEYS, snapshot_of, timestamp
from ..identifiers import Identifier
from ..model import Connector
from ..tags import Front
from . import attributes as attrs
from . import private, replacements
from .private import Private

if TYPE_CHECKING:
    from ..engine import Engine
    from ..wire import ObservedConnector
    from .provider import SGBitbucketProvider

State = attrs.State
# Attributes whose change alone writes nothing to StackGuardian.
_LOCAL_ONLY = frozenset({"preflight"})
# What a credential preflight reads: the credential itself and the workspace it must reach.
_PREFLIGHT_INPUTS = ("workspace", *CREDENTIAL_KEYS)
# Optional + computed attributes the backend derives when the config leaves them unset.
_DERIVED_AT_APPLY = frozenset({"connector_id", "access_token_scope"})
# The owner tag this front writes (and `owner` shows once an apply wrote it).
OWNER = Front.TERRAFORM.value
# Schema 1 added `owner`; a state of schema 0 belongs to Terraform (its import moved the owner at once).
SCHEMA_VERSION = 1


def _doc(text: str) -> str:
    """A shared field text (:mod:`sg_bitbucket_iac.field_docs`) with attribute names as Terraform spells them
    (``{org}`` there is the provider's setting, ``org_name`` here)."""
    return field_docs.describe(text, lambda key: "org_name" if key == "org" else key)


def _attribute(name: str, **kwargs: Any) -> schema.Attribute:
    kind = kwargs.pop("type", None) or types.String()
    return schema.Attribute(name, kind, description=_doc(field_docs.RESOURCE[name]), **kwargs)


class ConnectorResource(Resource):
    """A StackGuardian Bitbucket connector; its Terraform id is the StackGuardian connector Id."""

    def __init__(self, provider: SGBitbucketProvider) -> None:
        self.provider = provider

    @classmethod
    def get_name(cls) -> str:
        return "connector"

    @classmethod
    def get_schema(cls) -> schema.Schema:
        return schema.Schema(
            version=SCHEMA_VERSION,
            description=_doc(field_docs.CONNECTOR),
            attributes=[
                _attribute("id", computed=True),
                _attribute("connector_id", optional=True, computed=True, requires_replace=True, default=None),
                _attribute("name", required=True),
                _attribute("workspace", required=True),
                _attribute("description", optional=True),
                _attribute("tags", type=types.List(types.String()), optional=True),
                _attribute("auth_type", required=True),
                _attribute("username", optional=True),
                _attribute("email", optional=True),
                _attribute("api_token", optional=True, sensitive=True),
                _attribute("access_token", optional=True, sensitive=True),
                _attribute("access_token_scope", optional=True, computed=True, default=None),
                _attribute("repository", optional=True),
                _attribute("project", optional=True),
                _attribute("app_password", optional=True, sensitive=True),
                _attribute("preflight", type=types.Bool(), optional=True),
                _attribute("authenticated", type=types.Bool(), computed=True),
                _attribute("modified_at", computed=True),
                _attribute("credentials_fingerprint", computed=True),
                _attribute("owner", computed=True),
                _attribute("org", computed=True, requires_replace=True),
            ],
        )

    def upgrade(self, ctx: UpgradeContext, version: int, old: State) -> State | None:
        """Schema 0 -> 1: `owner` and `org`. Every connector in a schema-0 state was Terraform's (created
        by it, or imported, which moved the owner then); the next refresh reads the org it lives in, and
        shows any later change of owner."""
        upgraded = dict(old)
        if version == 0:
            upgraded.setdefault("owner", OWNER if upgraded.get("id") else None)
            upgraded.setdefault("org", None)
        return upgraded

    # ------------------------------------------------------------------ validate
    def validate(self, diags: Diagnostics, type_name: str, config: Config) -> None:
        """Config errors fail `terraform plan` here, before any request (values unknown yet are skipped).

        Only what is wrong whatever happens: validation also runs before a destroy, so the checks of
        writing a credential (the app-password dates) are the plan's, which knows what is written.
        """
        Resource.validate(self, diags, type_name, config)
        if diags.has_errors():
            return
        attrs.parse(config, diags)

    # ------------------------------------------------------------------ plan
    def plan(self, ctx: PlanContext, current: State | None, planned: State) -> State:
        """Fill what can be known now and, if the resource will be written, ask the backend first.

        `current` is None for a create (called by our servicer; tf 1.2.0 itself plans creates
        without the resource). Reads only: nothing is written until apply.
        """
        creating = current is None
        incoming = private.received()
        takeover = not creating and incoming.takeover
        engine = self.provider.engine
        if current is None:
            planned["org"] = engine.org if engine is not None else Unknown
        elif self._org_moves(ctx.diagnostics, current, planned):
            return planned  # replacement (see the servicer): Terraform plans the create separately
        elif current.get("org") is None and engine is not None and (ctx.changed_fields - _LOCAL_ONLY or takeover):
            planned["org"] = engine.org  # state of an older version, not refreshed: the write records it
        if not creating and not (ctx.changed_fields - _LOCAL_ONLY) and not takeover:
            return planned  # nothing to write: no request, no noise
        planned["owner"] = OWNER  # the write makes (or keeps) Terraform the owner
        if current is not None:
            # A write changes both; StackGuardian re-checks the credentials on every write.
            planned["authenticated"] = Unknown
            planned["modified_at"] = Unknown
            if "connector_id" in ctx.changed_fields:
                # Replacement: Terraform plans the create next and hands it this private state.
                replaced = current.get("id") or current.get("connector_id")
                private.send(Private(replaces=str(replaced)) if replaced else Private())
                return planned
        checking = not self.provider.destroying  # a destroy's normal plan creates and writes nothing
        parsed = attrs.parse(planned, ctx.diagnostics)
        connector = parsed.connector
        if connector is None:
            if creating and checking and not ctx.diagnostics.has_errors():
                self._preflight_known_credential(ctx.diagnostics, planned)
            self._plan_unknowns(planned, creating)
            return planned
        planned["connector_id"] = connector.connector_id
        planned["access_token_scope"] = attrs.effective_scope(connector)
        if creating:
            planned["id"] = connector.connector_id
        if engine is None or not parsed.complete:
            # A secret known only at apply: its fingerprint and preflight wait for it (apply runs both);
            # the dates need no secret.
            planned["credentials_fingerprint"] = Unknown
            if checking:
                writes = not parsed.complete or bool(ctx.changed_fields & set(CREDENTIAL_KEYS))
                policy = check_policy(connector, at=self.provider.now(), creating=creating, writes_credential=writes,
                                      wording=self.provider.wording)
                attrs.report_problems(ctx.diagnostics, policy.problems)
            return planned
        planned["credentials_fingerprint"] = connector.credential_fingerprint(engine.org)
        if checking:
            self._backend_checks(ctx.diagnostics, connector, current, planned, takeover=takeover,
                                 replacing=incoming.replaces if creating else None)
        return planned

    def _org_moves(self, diags: Diagnostics, current: State, planned: State) -> bool:
        """A new `org_name`: plan the replacement (org is `requires_replace`) and name what it deletes."""
        engine = self.provider.engine
        before = current.get("org")
        if engine is None or not before or before == engine.org:
            return False
        planned["org"] = engine.org
        connector_id = current.get("id") or current.get("connector_id")
        diags.add_warning(
            f"Connector {connector_id} moves to org {engine.org}",
            f"org_name changed from {before} to {engine.org}: apply deletes connector {connector_id} in org "
            f"{before} and creates it in org {engine.org} (workflows in {before} that use it lose it). To keep "
            f"the one in {before} instead, set org_name back, or `terraform state rm` this resource first.",
            path=["org"])
        return True

    def _preflight_known_credential(self, diags: Diagnostics, planned: State) -> None:
        """A create whose credential is known while other values are not (a name from
        `count.index` before expansion, a description from another resource): preflight now, as
        apply will; values that do not reach Bitbucket stand in with placeholders."""
        if self.provider.engine is None or any(attrs.is_unknown(planned.get(a)) for a in _PREFLIGHT_INPUTS):
            return
        stand_ins = {"name": "name-unknown-until-apply", "connector_id": None, "description": None, "tags": None}
        values = {k: stand_ins.get(k) if attrs.is_unknown(v) else v for k, v in planned.items()}
        parsed = attrs.parse(values, Diagnostics())
        if parsed.complete and parsed.connector is not None:
            self._precheck(diags, parsed.connector, planned, creating=True)

    @staticmethod
    def _plan_unknowns(planned: State, creating: bool) -> None:
        auth_type = attrs.auth_type_of(planned.get("auth_type"))
        if planned.get("connector_id") is None:
            name = planned.get("name")
            planned["connector_id"] = derive_id(name) if isinstance(name, str) else Unknown
        if creating:
            planned["id"] = planned["connector_id"]
        if planned.get("access_token_scope") is None or auth_type is None:
            planned["access_token_scope"] = (
                None if auth_type is not None and auth_type.value != "access_token" else Unknown
            )
        planned["credentials_fingerprint"] = Unknown

    def _backend_checks(
        self, diags: Diagnostics, connector: Connector, current: State | None, planned: State, *, takeover: bool,
        replacing: str | None,
    ) -> None:
        """Existing connector, owner, name, date policy and preflight, as apply would meet them, but now.

        ``takeover``: imported, so the apply moves the owner. ``replacing``: the Id this create
        replaces (from the update half's private state); noted for the apply (replacements.py).
        """
        engine = self.provider.engine
        assert engine is not None
        secrets = attrs.secrets_of(planned)
        creating = current is None
        try:
            applied = None if creating else snapshot_of(current or {}, engine.org)
            noted = replacing or (replacements.replaced_by_plan(engine.org, connector.connector_id, connector.name)
                                  if creating else None)
            plan = engine.plan(connector, applied=applied, adopt=takeover, replacing=noted,
                               configuration=self.provider.configuration)
        except ConnectorExistsError as exc:
            self._exists_error(diags, connector.connector_id, exc)
            return
        except (ForeignOwnerError, NameClashError) as exc:
            diags.add_error(f"Connector {connector.connector_id} cannot be written", str(exc), path=["connector_id"])
            return
        except ConnectorValidationError as exc:
            attrs.report_problems(diags, exc.problems)
            return
        except Exception as exc:
            attrs.report_error(diags, "StackGuardian could not be asked while planning", exc, secrets)
            return
        if replacing is not None:
            replacements.remember(engine.org, connector.connector_id, replaces=replacing, name=connector.name)
            private.send(Private(replaces=replacing))
        self._precheck(diags, connector, planned, creating=plan.action is not Action.UPDATE,
                       sends_credentials=plan.sends_credentials, plan_warnings=plan.warnings)

    def _precheck(self, diags: Diagnostics, connector: Connector, planned: State, *, creating: bool,
                  sends_credentials: bool = True, plan_warnings: Iterable[Notice] = ()) -> None:
        """The engine's pre-write check (date policy, then preflight), reported at the attributes."""
        engine = self.provider.engine
        assert engine is not None
        try:
            check = engine.precheck(connector, creating=creating, preflight=planned.get("preflight"),
                                    sends_credentials=sends_credentials)
        except Exception as exc:
            attrs.report_error(diags, "Credential preflight could not run", exc, attrs.secrets_of(planned))
            return
        attrs.report_problems(diags, check.problems)
        for warning in dict.fromkeys([*plan_warnings, *check.warnings]):
            attrs.report_warning(diags, warning)

    @staticmethod
    def _exists_error(diags: Diagnostics, connector_id: str, exc: ConnectorExistsError) -> None:
        diags.add_error(f"Connector {connector_id} already exists", str(exc), path=["connector_id"])

    # ------------------------------------------------------------------ apply
    def _connector_for_apply(self, diags: Diagnostics, planned: State) -> Connector | None:
        # Derived values planned unknown (the name or scope was not known at plan) are the backend's
        # to derive now; every value from the config is known at apply.
        values = {k: None if v is Unknown and k in _DERIVED_AT_APPLY else v for k, v in planned.items()}
        parsed = attrs.parse(values, diags)
        if not parsed.complete:
            if not diags.has_errors():
                diags.add_error("Values still unknown at apply", "This is a bug in sgbitbucket; please report it.")
            return None
        return parsed.connector

    def _applied_state(self, planned: State, connector: Connector, result: ApplyResult) -> State:
        state: State = {name: planned.get(name) for name in attrs.RESOURCE_ATTRIBUTES}
        state["id"] = state["connector_id"] = connector.connector_id
        state["access_token_scope"] = attrs.effective_scope(connector)
        observed = result.observed
        state["authenticated"] = observed.authenticated if observed else None
        state["modified_at"] = timestamp(observed.modified_at) if observed else None
        state["credentials_fingerprint"] = result.snapshot.fingerprint if result.snapshot else None
        state["owner"] = OWNER
        state["org"] = self.provider.engine.org if self.provider.engine is not None else None
        return state

    def _report_warnings(self, diags: Diagnostics, result: ApplyResult) -> None:
        for warning in dict.fromkeys([*result.plan.warnings, *result.warnings]):
            attrs.report_warning(diags, warning)

    def _report_apply_error(
        self, diags: Diagnostics, what: str, exc: Exception, connector: Connector, planned: State
    ) -> None:
        if isinstance(exc, ConnectorValidationError):
            attrs.report_problems(diags, exc.problems)
        elif isinstance(exc, PreflightFailed):
            diags.add_error("Credential preflight failed; nothing was written", exc.result.summary(),
                            path=[connector.auth_type.secret_field])
        else:
            attrs.report_error(diags, f"Could not {what} the connector", exc, attrs.secrets_of(planned))

    def create(self, ctx: CreateContext, planned: State) -> State | None:
        """Create through the backend; an existing connector not in state is an error (import it)."""
        engine = self.provider.require_engine(ctx.diagnostics)
        connector = self._connector_for_apply(ctx.diagnostics, planned)
        if engine is None or connector is None:
            return None
        configuration = self.provider.configuration
        try:
            replacing = private.received().replaces or replacements.replaced_by_plan(
                engine.org, connector.connector_id, connector.name)
            plan = engine.plan(connector, replacing=replacing, configuration=configuration)
            result = engine.apply(connector, plan, preflight=planned.get("preflight"), configuration=configuration)
        except ConnectorExistsError as exc:
            self._exists_error(ctx.diagnostics, connector.connector_id, exc)
            return None
        except Exception as exc:
            self._report_apply_error(ctx.diagnostics, "create", exc, connector, planned)
            return None
        replacements.forget(engine.org, connector.connector_id)
        private.send(Private())
        self._report_warnings(ctx.diagnostics, result)
        return self._applied_state(planned, connector, result)

    def update(self, ctx: UpdateContext, current: State, planned: State) -> State | None:
        """Plan against the state's snapshot and StackGuardian now, then one PATCH (or none)."""
        engine = self.provider.require_engine(ctx.diagnostics)
        connector = self._connector_for_apply(ctx.diagnostics, planned)
        if engine is None or connector is None:
            return current
        try:
            applied = snapshot_of(current, engine.org)
            observed, unreadable = engine.read_leniently(connector.connector_id)
            plan = engine.plan(connector, applied=applied, observed=observed, refresh=False,
                               adopt=private.received().takeover, unreadable=unreadable)
            result = engine.apply(connector, plan, observed=observed, preflight=planned.get("preflight"))
        except Exception as exc:  # the take-over, if any, stays pending (private state unchanged)
            self._report_apply_error(ctx.diagnostics, "update", exc, connector, planned)
            return current
        private.send(Private())
        self._report_warnings(ctx.diagnostics, result)
        return self._applied_state(planned, connector, result)

    def delete(self, ctx: DeleteContext, current: State) -> None:
        """Delete in the org the state names; a connector already gone is fine."""
        engine = self.provider.engine_for(current.get("org"), ctx.diagnostics)
        if engine is None:
            return
        connector_id = current.get("id") or current.get("connector_id")
        if not connector_id or attrs.checked_identifier(
                ctx.diagnostics, Identifier.CONNECTOR_ID, connector_id, "Invalid connector Id in state", "id") is None:
            return
        try:
            engine.delete(str(connector_id))
        except Exception as exc:
            attrs.report_error(ctx.diagnostics, f"Could not delete connector {connector_id}", exc)

    # ------------------------------------------------------------------ read / import
    def read(self, ctx: ReadContext, current: State) -> State | None:
        """StackGuardian's view of the connector (drift), in the org the state names; None when it was
        deleted outside this configuration.

        A record with odd fields is drift, not an error: the state keeps what could be read and forgets
        the secret, so the next plan re-sends the whole declaration and the apply repairs the record.
        """
        engine = self.provider.engine_for(current.get("org"), ctx.diagnostics)
        connector_id = current.get("id") or current.get("connector_id")
        if engine is None or not connector_id:
            return current
        if attrs.checked_identifier(ctx.diagnostics, Identifier.CONNECTOR_ID, connector_id,
                                    "Invalid connector Id in state", "id") is None:
            return current  # an error, never a state drop
        try:
            observed, unreadable = engine.read_leniently(str(connector_id))
        except Exception as exc:
            attrs.report_error(ctx.diagnostics, f"Could not read connector {connector_id}", exc,
                               attrs.secrets_of(current))
            return current
        if observed is None:
            return None
        state = attrs.refreshed_state(current, observed)
        state["org"] = engine.org
        note = refresh_note(str(connector_id), current.get("modified_at"), observed.modified_at, self.provider.wording)
        if note is not None or unreadable is not None:  # forget the secret: the next plan re-sends the declaration
            for attribute in (*SECRET_KEYS, "credentials_fingerprint"):
                state[attribute] = None
        if note is not None:
            ctx.diagnostics.add_warning(f"Connector {connector_id} was modified since the last apply", note)
        if unreadable is not None:
            self._unreadable_warning(ctx.diagnostics, str(connector_id), unreadable)
        self._legacy_warning(ctx.diagnostics, engine, str(connector_id), observed)
        return state

    def _legacy_warning(self, diags: Diagnostics, engine: Engine, connector_id: str,
                        observed: ObservedConnector) -> None:
        """An app password the timeline asks to replace: said at every refresh, since a plan that writes
        nothing to the connector never meets the refusal (it governs writing a credential)."""
        verdict = app_password_verdict(observed.auth_type, engine.now(), creating=False,
                                       how_to_migrate=self.provider.wording.how_to_migrate(connector_id))
        if verdict is not None and verdict.needs_action:
            diags.add_warning(f"Connector {connector_id} uses an app password", verdict.message,
                              path=["auth_type"])

    @staticmethod
    def _unreadable_warning(diags: Diagnostics, connector_id: str, unreadable: OddRecordError) -> None:
        diags.add_warning(
            f"Connector {connector_id}: part of its StackGuardian record cannot be read",
            f"{'; '.join(unreadable.findings)}. The state keeps what could be read; the next plan shows the "
            "declared values and the next apply re-sends them, which repairs the record.")

    def import_(self, ctx: ImportContext, id: str) -> State | None:
        """`import` (command or block): the connector as StackGuardian shows it, secrets null until the
        next apply. Writes nothing: a connector owned elsewhere (or by nobody) is taken over by the
        next apply, which its plan shows as `owner` changing."""
        engine = self.provider.require_engine(ctx.diagnostics)
        if engine is None or attrs.checked_identifier(
                ctx.diagnostics, Identifier.CONNECTOR_ID, id, "Invalid import Id", None) is None:
            return None
        try:
            observed, unreadable = engine.read_leniently(id)
        except Exception as exc:
            attrs.report_error(ctx.diagnostics, f"Could not read connector {id}", exc)
            return None
        if observed is None:
            ctx.diagnostics.add_error(f"No connector {id}",
                                      f"StackGuardian org {engine.org} has no connector with Id {id}.")
            return None
        if not observed.is_bitbucket:
            ctx.diagnostics.add_error(f"Connector {id} is not a Bitbucket connector",
                                      f"Its kind is {observed.kind or 'unknown'}; sgbitbucket_connector manages "
                                      "BITBUCKET_ORG connectors only.")
            return None
        change = engine.takeover_of(observed)
        if change is not None:
            private.send(Private(takeover=True))
            if change.previous is not None:
                ctx.diagnostics.add_warning(f"Connector {id} is taken over by the next apply", change.pending_message)
        if unreadable is not None:
            self._unreadable_warning(ctx.diagnostics, id, unreadable)
        state = attrs.imported_state(observed)
        state["org"] = engine.org
        return state
