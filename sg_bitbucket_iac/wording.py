"""Each front's words, one table per front: the backend speaks to a person in the words of the front they use.

A rule is decided once, in the backend; what it tells a person to do depends on the front: a
Terraform user imports a connector, a Pulumi user sets ``adopt=True``, a CLI user writes
``adopt: true`` in a definitions file. The engine knows the front it works for and hands its table
to whatever words a message, so no front rewrites backend prose afterwards.

A new front is one more table here (its owner value, its field names and its commands), looked up
through :func:`for_owner` when it owns connectors under an owner value of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .tags import Front
from .timeline import SWITCH_OFF_APP_PASSWORDS


@dataclass(frozen=True)
class FrontWording:
    """How one front names the backend's fields and says what a person does next.

    Templates take ``{id}`` (a connector Id) or ``{name}`` (a connector name) where noted.
    """

    owner: Front  # the owner tag this front writes
    field_names: Mapping[str, str]  # backend field (`scope`, `id`, `type`) -> the front's name; absent: same
    takeover: str  # how a person takes over a connector another front owns
    declare_existing: str  # {id}: how a person declares the existing connector with that Id
    exists: str  # {id}: what to do when a create meets a connector with that Id that is not managed here
    resend: str  # {name}: how the declared credential is re-sent after an edit made outside
    change_credential: str  # where the credential of a connector this front owns is changed
    migrate: str  # {id}: how a connector is moved off its app password
    migrate_unnamed: str = ""  # the same when no connector is named (a credential checked on its own)

    def field(self, name: str) -> str:
        return self.field_names.get(name, name)

    def fields(self, names: Iterable[str]) -> str:
        return ", ".join(self.field(name) for name in names)

    def how_to_resend(self, name: str) -> str:
        return self.resend.format(name=name)

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

# The command that changes the credential of a connector no front owns; every front names it.
_MIGRATE_COMMAND = "`sg-bitbucket migrate --connector {id} --to api_token|access_token ...`"
_UNOWNED_MIGRATE = "`sg-bitbucket migrate` does the same for a connector no front owns"

CLI_WORDING = FrontWording(
    owner=Front.CLI,
    field_names={},
    takeover="`adopt: true` on its entry in the definitions file",
    declare_existing="set `id: {id}` on its entry (and `adopt: true` to take it over)",
    exists="take it over with `adopt: true` on its entry (`sg-bitbucket import {id} --to-yaml` prints one), "
    "or choose another Id",
    resend="`sg-bitbucket apply -f FILE {name} --resend-credentials` re-sends the declared one (a plain apply "
    "re-sends it too)",
    change_credential="edit its entry in the definitions file and run `sg-bitbucket apply -f FILE`",
    migrate=f"{SWITCH_OFF_APP_PASSWORDS} with {_MIGRATE_COMMAND}",
    migrate_unnamed=f"{SWITCH_OFF_APP_PASSWORDS} with `sg-bitbucket migrate --to api_token|access_token` on the "
    "connector that uses it",
)

# Terraform and OpenTofu run the same provider and nothing tells them apart reliably (see
# terraform/invocation.py), so this table never names one alone: "apply", "an `import` block".
TERRAFORM_WORDING = FrontWording(
    owner=Front.TERRAFORM,
    field_names=FLAT_FIELD_NAMES,
    takeover="an `import` block (or the `import` command) with its Id, then apply: the apply moves the owner",
    declare_existing="import it: an `import {{}}` block with id = \"{id}\" (or the `import` command with {id}), "
    "then apply",
    exists="import it instead of creating it: an `import {{}}` block with id = \"{id}\" (or the `import` command "
    "with {id}); or set another `connector_id`",
    resend="the next apply re-sends the declared one",
    change_credential="change it in the Terraform or OpenTofu configuration that declares it and apply",
    migrate=f"{SWITCH_OFF_APP_PASSWORDS} in place: set auth_type = \"api_token\" (username, email, api_token) or "
    "\"access_token\" (access_token and repository/project), drop app_password, and apply; the connector keeps "
    f"its Id ({_UNOWNED_MIGRATE})",
)

PULUMI_WORDING = FrontWording(
    owner=Front.PULUMI,
    field_names=FLAT_FIELD_NAMES,
    takeover="`adopt=True` on the BitbucketConnector",
    declare_existing="set `connector_id=\"{id}\"` and `adopt=True` on the BitbucketConnector",
    exists="set adopt=True to manage it from this stack (its credentials are replaced by the declared ones), "
    "read it without managing it with BitbucketConnector.get(name, \"{id}\"), or choose another connector_id",
    resend="the next `pulumi up` re-sends the declared one",
    change_credential="change it in the Pulumi program and run `pulumi up`",
    migrate=f"{SWITCH_OFF_APP_PASSWORDS} in place: give the BitbucketConnector auth=ApiTokenAuth(username, email, "
    "api_token) or AccessTokenAuth(access_token, repository/project) instead of AppPasswordAuth, and run "
    f"`pulumi up`; the connector keeps its Id ({_UNOWNED_MIGRATE})",
)

_BY_OWNER: dict[Front, FrontWording] = {w.owner: w for w in (CLI_WORDING, TERRAFORM_WORDING, PULUMI_WORDING)}


def for_owner(owner: Front | None) -> FrontWording:
    """The table of the front that owns a connector; a connector nobody owns is the CLI's to speak about."""
    return _BY_OWNER.get(owner, CLI_WORDING) if owner is not None else CLI_WORDING


def credential_remedy(owner: Front | None, connector_id: str) -> str:
    """Where a connector's credential is changed: in its owner's code, or with `migrate` when nobody owns it."""
    if owner is None:
        return _MIGRATE_COMMAND.format(id=connector_id)
    return for_owner(owner).change_credential
