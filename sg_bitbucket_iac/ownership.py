"""One owner per connector: which front may prune it, report it as undeclared, or write to it.

Every front that creates, adopts or imports a connector writes ``sg-bitbucket-iac/owner`` (``cli``,
``terraform`` or ``pulumi``) into its ContextTags. The rules, in one place:

* only the owner deletes a connector it no longer declares (CLI prune) or reports it as undeclared
  (``drift``);
* a front never overwrites a connector that another front owns, unless it takes it over
  explicitly (Terraform import, Pulumi ``adopt``, CLI ``adopt: true``); a take-over moves the
  owner and says so;
* a connector written before owner tags existed counts as the CLI's when it carries the CLI's
  managed marker, and as nobody's otherwise;
* when the owner moves away from the CLI, the CLI's bookkeeping (managed marker, applied
  snapshot, fingerprint, last write) is removed with it, so the CLI never plans against a
  snapshot it no longer keeps true.

Commands that belong to no front (``migrate``, ``audit``) pass ``None`` as the front: they never
move the owner.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ForeignOwnerError
from .model import CONTEXT_TAG_PREFIX, FINGERPRINT_TAG, MANAGED_TAG

OWNER_TAG = CONTEXT_TAG_PREFIX + "owner"
# The CLI's own bookkeeping; dropped when another front takes the connector over.
CLI_APPLIED_TAG = CONTEXT_TAG_PREFIX + "applied"
LAST_WRITE_TAG = CONTEXT_TAG_PREFIX + "last-write"
CLI_MARKER_TAGS = (MANAGED_TAG, CLI_APPLIED_TAG, FINGERPRINT_TAG, LAST_WRITE_TAG)


class Front(enum.StrEnum):
    """The fronts that can own a connector (the owner tag's values)."""

    CLI = "cli"
    TERRAFORM = "terraform"
    PULUMI = "pulumi"

    @property
    def takeover(self) -> str:
        """How a person takes a connector over with this front."""
        return {
            "cli": "`adopt: true` on its entry in the definitions file",
            "terraform": "`terraform import <address> <Id>`",
            "pulumi": "`adopt=True` on the BitbucketConnector",
        }[self.value]


def manage_existing(front: Front | None, existing_id: str) -> str:
    """How a person declares, with this front, a connector that already exists under ``existing_id``."""
    if front is Front.TERRAFORM:
        return f"import it: `terraform import <address> {existing_id}` (or an `import {{}}` block with that id)"
    if front is Front.PULUMI:
        return f"set `connector_id=\"{existing_id}\"` and `adopt=True` on the BitbucketConnector"
    return f"set `id: {existing_id}` on its entry (and `adopt: true` to take it over)"


def owner_of(context_tags: Mapping[str, str]) -> Front | None:
    """The owner a connector's ContextTags name; the CLI's managed marker alone means the CLI."""
    value = context_tags.get(OWNER_TAG)
    if value:
        try:
            return Front(value)
        except ValueError:
            return None  # an owner this version does not know: nobody we can act for
    if context_tags.get(MANAGED_TAG) == "true":
        return Front.CLI
    return None


def owned_by(context_tags: Mapping[str, str], front: Front) -> bool:
    """Whether ``front`` may prune this connector or report it as undeclared."""
    return owner_of(context_tags) is front


@dataclass(frozen=True)
class OwnerChange:
    """The owner moving from one front (or nobody) to another, to be said in the front's output."""

    connector_id: str
    previous: Front | None
    new: Front

    @property
    def message(self) -> str:
        before = f"owned by {self.previous.value}" if self.previous else "owned by no front"
        text = f"connector {self.connector_id}: was {before}; now owned by {self.new.value}"
        if self.previous is Front.CLI:
            text += " (the CLI no longer prunes it or reports it as undeclared)"
        elif self.previous is not None:
            text += f" ({self.previous.value} will refuse to write to it until it takes it back)"
        return text


def check_write(
    connector_id: str,
    context_tags: Mapping[str, str] | None,
    front: Front | None,
    *,
    adopt: bool,
) -> OwnerChange | None:
    """May ``front`` write to this existing connector? The owner change the write makes, if any.

    Raises :class:`ForeignOwnerError` when another front owns it and ``adopt`` was not asked for.
    A connector that nobody owns yet gets ``front`` as its owner on the write (no take-over needed:
    the caller has already decided it may write, by state or by ``adopt``).
    """
    if front is None or context_tags is None:
        return None
    current = owner_of(context_tags)
    if current is front:
        return None
    if current is not None and not adopt:
        raise ForeignOwnerError(connector_id, current.value, front.value, takeover=front.takeover)
    return OwnerChange(connector_id, current, front)


def owner_tags(context_tags: Mapping[str, str], front: Front | None) -> dict[str, str]:
    """The ContextTags after ``front`` writes: the owner set, and the CLI's markers gone if it is not the CLI."""
    tags = dict(context_tags)
    if front is None:
        return tags
    if front is not Front.CLI:
        for key in CLI_MARKER_TAGS:
            tags.pop(key, None)
    tags[OWNER_TAG] = front.value
    return tags


def check_foreign_tool(connector_id: str, context_tags: Mapping[str, str], command: str) -> None:
    """A front-less command (``migrate``) refuses a connector that Terraform or Pulumi owns.

    Their state would undo the change on the next apply; the change belongs in their code. A
    CLI-owned connector is fine: the command keeps the CLI's bookkeeping true.
    """
    current = owner_of(context_tags)
    if current in (Front.TERRAFORM, Front.PULUMI):
        assert current is not None
        raise ForeignOwnerError(
            connector_id, current.value, command,
            takeover=f"change it in the {current.value} configuration and apply there",
        )


def remediation(owner: Front | None, connector_id: str) -> str:
    """Where a connector's credential is changed: in its owner's code, or with `migrate` when nobody owns it."""
    if owner is Front.CLI:
        return "edit its entry in the definitions file and run `sg-bitbucket apply -f FILE`"
    if owner is Front.TERRAFORM:
        return "change it in the Terraform configuration and run `terraform apply`"
    if owner is Front.PULUMI:
        return "change it in the Pulumi program and run `pulumi up`"
    return f"`sg-bitbucket migrate --connector {connector_id} --to api_token|access_token ...`"
