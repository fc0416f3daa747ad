"""Each front's words, one table per front: the backend speaks to a person in the words of the front they use.

A rule is decided once, in the backend; what it tells a person to do depends on the front: a
Terraform user imports a connector, a Pulumi user sets ``adopt=True``, a CLI user writes
``adopt: true`` in a definitions file. The engine knows the front it works for and hands its table
to whatever words a message, so no front rewrites backend prose afterwards.

A new front is one more table here (its owner value, its field names and its commands), looked up
through :func:`for_owner` when it owns connectors under an owner value of its own. The native Pulumi
provider is such a table without an owner value of its own: it writes ``pulumi`` like the dynamic
resource, so the two take a connector over from each other under the same rules, and what other
fronts say about a Pulumi-owned connector (:func:`for_owner`) is worded for any Pulumi program.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace

from .tags import Front
from .timeline import SWITCH_OFF_APP_PASSWORDS


@dataclass(frozen=True)
class FrontWording:
    """How one front names the backend's fields and says what a person does next.

    Templates take ``{id}`` (a connector Id) or ``{name}`` (a connector name) where noted. Every
    text that names a command names one that works when followed literally, in this front's own
    tools (a Terraform user is never sent to ``sg-bitbucket``, nor back and forth); the tests follow
    each one (tests/cli/test_advice.py, tests/cli/test_drift_fixes.py, tests/e2e/test_advice_e2e.py).
    """

    owner: Front  # the owner tag this front writes
    field_names: Mapping[str, str]  # backend field (`scope`, `id`, `type`) -> the front's name; absent: same
    takeover: str  # {id}: "take it over with ...": a connector another front owns, not in this front's state
    declare_existing: str  # {id}: how a person declares the existing connector with that Id
    exists: str  # {id}: what to do when a create meets a connector with that Id that is not managed here
    resend: str  # {name}: how the declared credential is re-sent after an edit made outside
    change_credential: str  # where the credential of a connector this front owns is changed
    migrate: str  # {id}: how a connector is moved off its app password
    migrate_unnamed: str = ""  # the same when no connector is named (a credential checked on its own)
    # {id}: "take it back with ...": one this front still has in its state that another front took over
    # (Terraform cannot import what its state holds); empty: the same as `takeover`.
    takeback: str = ""
    # How to stop managing a connector this front's state holds without deleting it (another front owns it
    # now); empty: nothing to do beyond no longer declaring it.
    leave: str = ""
    # Drift finding -> the one command that fixes it ({file}, {id}, {owner}); only fronts with a drift
    # command fill it (the CLI's `drift`). A finding without an entry has no fix to offer.
    drift_fixes: Mapping[str, str] = field(default_factory=dict)
    # Settings field (`api_url`, `api_key`, ...) -> how this front is given it explicitly; a hint about a
    # bad key or URL names it when the value came from there (else the environment variable it came from).
    setting_names: Mapping[str, str] = field(default_factory=dict)

    def field(self, name: str) -> str:
        return self.field_names.get(name, name)

    def fields(self, names: Iterable[str]) -> str:
        return ", ".join(self.field(name) for name in names)

    def how_to_resend(self, name: str) -> str:
        return self.resend.format(name=name)

    def take_over(self, connector_id: str, *, in_state: bool = False) -> str:
        """How to take over a connector another front owns; ``in_state``: this front's state still holds it."""
        return ((self.takeback if in_state and self.takeback else self.takeover)
                .replace("{id}", connector_id))

    def foreign_owner_hint(self, owner: str, connector_id: str, *, in_state: bool = False) -> str:
        """What a front says when ``owner`` (another front) owns a connector it was asked to write."""
        leave = f" ({self.leave})" if in_state and self.leave else ""
        return f"leave it to {owner}{leave}, or take it over with {self.take_over(connector_id, in_state=in_state)}"

    def drift_fix(self, finding: str, *, file: str, connector_id: str, owner: str = "") -> str | None:
        """The command that fixes a drift finding, for the definitions file as the person named it."""
        template = self.drift_fixes.get(finding)
        if template is None:
            return None
        return template.replace("{file}", file).replace("{id}", connector_id).replace("{owner}", owner)

    def how_to_migrate(self, connector_id: str | None) -> str:
        if connector_id is None and self.migrate_unnamed:
            return self.migrate_unnamed
        return self.migrate.format(id=connector_id or "<ID>")

    def conflict(self, connector_id: str) -> str:
        """What to do when a create meets another connector holding the declared Id."""
        return (f"another connector already holds this Id; to manage it, "
                f"{self.declare_existing.format(id=connector_id)}; or give yours another Id")


# Terraform attributes and Pulumi (dynamic provider) properties are the same flat snake_case keys.
FLAT_FIELD_NAMES: Mapping[str, str] = {
    "id": "connector_id",
    "type": "auth_type",
    "auth": "auth_type",
    "scope": "access_token_scope",
}


def camel_case(key: str) -> str:
    """A flat key as Pulumi's schema spells a property: ``access_token_scope`` -> ``accessTokenScope``."""
    head, *rest = key.split("_")
    return head + "".join(part.capitalize() for part in rest)


# The native Pulumi provider's properties: the flat keys in camelCase (Pulumi's naming convention).
NATIVE_PULUMI_FIELD_NAMES: Mapping[str, str] = {
    **{field: camel_case(key) for field, key in FLAT_FIELD_NAMES.items()},
    **{field: camel_case(field) for field in ("api_token", "access_token", "app_password")},
}

# The command that changes the credential of a connector no front owns (only the CLI names it).
_MIGRATE_COMMAND = "`sg-bitbucket migrate --connector {id} --to api_token|access_token ...`"

# What `sg-bitbucket drift` offers for each finding (DriftStatus values, and the fix variants the engine
# picks): the one command that fixes it. `apply` with the connector's Id touches only that connector.
CLI_DRIFT_FIXES: Mapping[str, str] = {
    "changed_outside": "`sg-bitbucket apply -f {file} {id}` re-asserts the declaration",
    "not_yet_applied": "`sg-bitbucket apply -f {file} {id}` applies it",
    "deleted_outside": "`sg-bitbucket apply -f {file} {id}` re-creates it",
    "not_created": "`sg-bitbucket apply -f {file} {id}` creates it",
    "credentials_failing": "`sg-bitbucket apply -f {file} {id} --resend-credentials` re-sends the declared credential "
    "(a plain apply sends nothing when no declared value changed)",
    "declared_credentials_failing": "Bitbucket refuses the declared credential too: replace it where its entry "
    "references it, then `sg-bitbucket apply -f {file} {id}`",
    "app_password": "switch its entry to `type: api_token` (username, email, api_token) or `type: access_token` "
    "(access_token, repository or project) with a new credential, then `sg-bitbucket apply -f {file} {id}`",
    "foreign_owner": "set `adopt: true` on its entry, then `sg-bitbucket apply -f {file} {id}` takes it over from "
    "{owner} (or remove the entry to leave it to {owner})",
    "unmanaged": "set `adopt: true` on its entry, then `sg-bitbucket apply -f {file} {id}` takes it over",
    "undeclared": "`sg-bitbucket apply -f {file} --prune` deletes it (to keep it instead, declare it: "
    "`sg-bitbucket import {id}` prints its entry)",
    # A file without a `set:` of its own (set `default`) never prunes: other files share that set.
    "undeclared_default_set": "declare it in {file} (`sg-bitbucket import {id}` prints its entry), or delete it in "
    "StackGuardian; this file is in set `default`, which never prunes: to prune what it no longer declares, give "
    "it a `set:` of its own",
}

CLI_WORDING = FrontWording(
    owner=Front.CLI,
    field_names={},
    takeover="`adopt: true` on its entry in the definitions file, then `sg-bitbucket apply -f FILE`",
    declare_existing="set `id: {id}` and `adopt: true` on its entry, then `sg-bitbucket apply -f FILE`",
    exists="take it over with `adopt: true` on its entry (`sg-bitbucket import {id}` prints one), then "
    "`sg-bitbucket apply -f FILE`; or choose another Id",
    resend="`sg-bitbucket apply -f FILE {name} --resend-credentials` re-sends the declared one (a plain apply "
    "re-sends it too)",
    change_credential="edit its entry in the definitions file and run `sg-bitbucket apply -f FILE`",
    migrate=f"{SWITCH_OFF_APP_PASSWORDS} with {_MIGRATE_COMMAND}",
    migrate_unnamed=f"{SWITCH_OFF_APP_PASSWORDS} with `sg-bitbucket migrate --to api_token|access_token` on the "
    "connector that uses it",
    drift_fixes=CLI_DRIFT_FIXES,
    setting_names={"api_url": "--api-url", "org": "--org", "bitbucket_api_url": "--bitbucket-api-url",
                   "preflight": "--no-preflight", "request_timeout": "--timeout"},
)

# Terraform and OpenTofu run the same provider. It names the engine's commands ({tf}) only when it knows
# which engine runs it (terraform/invocation.py reads the engine's command line; the version either sends
# does not tell them apart); otherwise {tf} reads `<terraform|tofu>`, and what needs no command says "the
# next apply". Terraform cannot import an address its state already holds: `state rm` first (the
# connector stays).
_TERRAFORM_TEMPLATE = FrontWording(
    owner=Front.TERRAFORM,
    field_names=FLAT_FIELD_NAMES,
    takeover="`{tf} import <address> {id}` (or an `import {}` block with that id), then `{tf} apply`",
    takeback="`{tf} state rm <address>`, then `{tf} import <address> {id}` and `{tf} apply` (this state still holds "
    "the resource, so an import alone fails; `state rm` leaves the connector in StackGuardian)",
    leave="`{tf} state rm <address>`, then remove its resource block; the block removed alone would delete "
    "the connector",
    declare_existing="set `connector_id = \"{id}\"` on the resource and import it: `{tf} import <address> {id}` "
    "(or an `import {{}}` block with that id), then `{tf} apply`",
    exists="import it instead of creating it: `{tf} import <address> {id}` (or an `import {{}}` block with that "
    "id), then `{tf} apply`; or set another `connector_id`",
    resend="the next apply re-sends the declared one",
    change_credential="change it in the configuration that declares it and run `{tf} apply`",
    setting_names={"api_key": "api_key", "api_url": "api_uri", "org": "org_name",
                   "bitbucket_api_url": "bitbucket_api_url", "preflight": "preflight"},
    migrate=f"{SWITCH_OFF_APP_PASSWORDS} in place: set auth_type = \"api_token\" with username, email and api_token "
    "(or \"access_token\" with access_token and repository or project), remove app_password, and run `{tf} "
    "apply`; the connector keeps its Id",
)
# A person who does not say which engine they run (the CLI speaking of a Terraform-owned connector).
_ANY_ENGINE = "<terraform|tofu>"


def terraform_wording(engine: str | None) -> FrontWording:
    """The Terraform table in the words of ``engine`` (`terraform`, `tofu`; None: not known, engine-neutral)."""
    command = engine or _ANY_ENGINE
    return replace(_TERRAFORM_TEMPLATE, **{
        f.name: getattr(_TERRAFORM_TEMPLATE, f.name).replace("{tf}", command)
        for f in fields(FrontWording) if type(getattr(_TERRAFORM_TEMPLATE, f.name)) is str  # texts, not `owner`
    })


# How anyone but the provider speaks of a Terraform-owned connector (owner tag `terraform`, which OpenTofu
# writes too): in Terraform's commands. The provider speaks in its own engine's (SGBitbucketProvider.wording).
TERRAFORM_WORDING = terraform_wording("terraform")

PULUMI_WORDING = FrontWording(
    owner=Front.PULUMI,
    field_names=FLAT_FIELD_NAMES,
    takeover="`adopt=True` on the BitbucketConnector, then `pulumi up`",
    leave="`pulumi state delete <urn>` with the URN `pulumi stack --show-urns` lists, then remove it from the "
    "program; removed alone, `pulumi up` would delete the connector",
    declare_existing="set `connector_id=\"{id}\"` and `adopt=True` on the BitbucketConnector, then `pulumi up`",
    exists="set adopt=True to manage it from this stack (its credentials are replaced by the declared ones), "
    "read it without managing it with BitbucketConnector.get(name, \"{id}\"), or choose another connector_id",
    resend="the next `pulumi up` re-sends the declared one",
    change_credential="change it in the Pulumi program and run `pulumi up`",
    setting_names={"api_key": "stackguardian:apiKey", "api_url": "stackguardian:apiUrl", "org": "stackguardian:org",
                   "bitbucket_api_url": "stackguardian:bitbucketApiUrl", "preflight": "stackguardian:preflight"},
    migrate=f"{SWITCH_OFF_APP_PASSWORDS} in place: give the BitbucketConnector auth=ApiTokenAuth(username, email, "
    "api_token) or AccessTokenAuth(access_token, repository/project) instead of AppPasswordAuth, and run "
    "`pulumi up`; the connector keeps its Id",
)

# `pulumi import` and the `adopt` property as each Pulumi language spells it.
_NATIVE_IMPORT = "`pulumi import sgbitbucket:index:Connector NAME {id}`"
_NATIVE_ADOPT = "`adopt: true` on the sgbitbucket Connector (`adopt=True` in Python, `Adopt: pulumi.Bool(true)` in Go)"

NATIVE_PULUMI_WORDING = FrontWording(
    owner=Front.PULUMI,  # the same owner as the dynamic resource: see the module's docstring
    field_names=NATIVE_PULUMI_FIELD_NAMES,
    takeover=f"{_NATIVE_ADOPT}, then `pulumi up`",
    leave="`pulumi state delete <urn>` with the URN `pulumi stack --show-urns` lists, then remove the Connector from "
    "the program; removed alone, `pulumi up` would delete the connector",
    declare_existing=f"import it: {_NATIVE_IMPORT} (or the `import` resource option with that Id)",
    exists=f"import it to manage it from this stack ({_NATIVE_IMPORT}, or the `import` resource option), set "
    f"{_NATIVE_ADOPT} to take it over with the declared credentials, read it with getConnector, or choose another "
    "connectorId",
    resend="the next `pulumi up` re-sends the declared one",
    change_credential="change it in the Pulumi program and run `pulumi up`",
    setting_names={"api_key": "sgbitbucket:apiKey", "api_url": "sgbitbucket:apiUrl", "org": "sgbitbucket:org",
                   "bitbucket_api_url": "sgbitbucket:bitbucketApiUrl", "preflight": "sgbitbucket:preflight"},
    migrate=f"{SWITCH_OFF_APP_PASSWORDS} in place: set authType to api_token (username, email, apiToken) or "
    "access_token (accessToken and repository/project) on the Connector, drop appPassword, and run `pulumi up`; "
    "the connector keeps its Id",
)

# What other fronts say about a connector each owner holds; a Pulumi-owned one may be either Pulumi
# front's, and PULUMI_WORDING's words that others use (change_credential) hold for both.
_BY_OWNER: dict[Front, FrontWording] = {w.owner: w for w in (CLI_WORDING, TERRAFORM_WORDING, PULUMI_WORDING)}


def for_owner(owner: Front | None) -> FrontWording:
    """The table of the front that owns a connector; a connector nobody owns is the CLI's to speak about."""
    return _BY_OWNER.get(owner, CLI_WORDING) if owner is not None else CLI_WORDING


def credential_remedy(owner: Front | None, connector_id: str) -> str:
    """Where a connector's credential is changed: in its owner's code, or with `migrate` when nobody owns it."""
    if owner is None:
        return _MIGRATE_COMMAND.format(id=connector_id)
    return for_owner(owner).change_credential
