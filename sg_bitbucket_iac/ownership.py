"""One owner per connector: which front may prune it, report it as undeclared, or write to it.

Every front that creates, adopts or imports a connector writes the owner tag (``cli``, ``terraform``
or ``pulumi``; :mod:`sg_bitbucket_iac.tags` reads and writes it). The rules, in one place:

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
move the owner. How each front words a take-over is :mod:`sg_bitbucket_iac.wording`'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from .errors import ForeignOwnerError
from .tags import Front, owner_of, with_owner, without_cli_bookkeeping
from .wording import for_owner


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
    in_state: bool = False,
) -> OwnerChange | None:
    """May ``front`` write to this existing connector? The owner change the write makes, if any.

    Raises :class:`ForeignOwnerError` when another front owns it and ``adopt`` was not asked for;
    its hint is how ``front`` takes it over (``in_state``: ``front``'s own state still holds the
    connector, which another front took over since: Terraform then needs `state rm` before `import`).
    A connector that nobody owns yet gets ``front`` as its owner on the write (no take-over needed:
    the caller has already decided it may write, by state or by ``adopt``).
    """
    if front is None or context_tags is None:
        return None
    current = owner_of(context_tags)
    if current is front:
        return None
    if current is not None and not adopt:
        hint = for_owner(front).foreign_owner_hint(current.value, connector_id, in_state=in_state)
        raise ForeignOwnerError(connector_id, current.value, front.value, hint=hint)
    return OwnerChange(connector_id, current, front)


def owner_tags(context_tags: Mapping[str, str], front: Front | None) -> dict[str, str]:
    """The ContextTags after ``front`` writes: the owner set, and the CLI's markers gone if it is not the CLI."""
    if front is None:
        return dict(context_tags)
    kept = context_tags if front is Front.CLI else without_cli_bookkeeping(context_tags)
    return with_owner(kept, front)


def check_foreign_tool(connector_id: str, context_tags: Mapping[str, str], command: str) -> None:
    """A front-less command (``migrate``) refuses a connector that Terraform or Pulumi owns.

    Their state would undo the change on the next apply; the change belongs in their code. A
    CLI-owned connector is fine: the command keeps the CLI's bookkeeping true.
    """
    current = owner_of(context_tags)
    if current is not None and current is not Front.CLI:
        # In the owner's own words (never "take it over with" nor back to this command: that loops).
        raise ForeignOwnerError(connector_id, current.value, command,
                                hint=f"{current.value} owns its credential: "
                                f"{for_owner(current).how_to_migrate(connector_id)}")

