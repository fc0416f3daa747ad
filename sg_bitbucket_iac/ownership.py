"""One owner per connector: which front may prune it, report it as undeclared, or write to it.

Every front that creates, adopts or imports a connector writes the owner tag (``cli``, ``terraform``
or ``pulumi``; :mod:`sg_bitbucket_iac.tags` reads and writes it). The rules, in one place:

* only the owner deletes a connector it no longer declares (CLI prune) or reports it as undeclared
  (``drift``); for the CLI the owner is a set, the ``set:`` of the definitions file that applied
  it (``default`` when it names none, and for connectors tagged before sets): one file never
  prunes, reports or writes to another file's connectors;
* a front never overwrites a connector that another front (or another CLI set) owns, unless it
  takes it over explicitly (Terraform import, Pulumi ``adopt``, CLI ``adopt: true``, which also
  moves a connector between sets); a take-over moves the owner with the next write (an apply: no
  plan, preview or import writes) and says so;
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
from .tags import DEFAULT_SET, SET_TAG, Front, owner_of, set_of, with_owner, without_cli_bookkeeping
from .wording import FrontWording, for_owner


@dataclass(frozen=True)
class OwnerChange:
    """The owner moving from one front (or nobody), or from one CLI set, to another; said in the front's output."""

    connector_id: str
    previous: Front | None
    new: Front
    previous_set: str | None = None  # the CLI set it leaves (None: not the CLI's)
    new_set: str | None = None  # the CLI set it joins (None: not the CLI's)

    @property
    def message(self) -> str:
        """The change as a write makes it (a plan note, an apply's report)."""
        if self.previous is Front.CLI and self.new is Front.CLI:
            return (f"connector {self.connector_id}: moves from set {self.previous_set} to set {self.new_set} "
                    f"(the file of set {self.previous_set} no longer prunes it or reports it as undeclared)")
        return f"connector {self.connector_id}: was {self._before}; now owned by {self._new}{self._after}"

    @property
    def pending_message(self) -> str:
        """The change before any write makes it (an import, which writes nothing)."""
        return (f"connector {self.connector_id}: {self._before}; the next apply makes {self._new} its owner"
                f"{self._after}")

    @property
    def _before(self) -> str:
        return f"owned by {self.previous.value}" if self.previous else "owned by no front"

    @property
    def _new(self) -> str:
        return f"cli (set {self.new_set})" if self.new is Front.CLI and self.new_set else self.new.value

    @property
    def _after(self) -> str:
        if self.previous is Front.CLI:
            return " (the CLI no longer prunes it or reports it as undeclared)"
        if self.previous is not None:
            return f" ({self.previous.value} will refuse to write to it until it takes it back)"
        return ""


def check_write(
    connector_id: str,
    context_tags: Mapping[str, str] | None,
    front: Front | None,
    *,
    adopt: bool,
    set_name: str | None = None,
    in_state: bool = False,
    wording: FrontWording | None = None,
) -> OwnerChange | None:
    """May ``front`` write to this existing connector? The owner change the write makes, if any.

    Raises :class:`ForeignOwnerError` when another front owns it, or (for the CLI, writing for the
    set ``set_name``) another set, and ``adopt`` was not asked for; its hint is how ``front`` takes it
    over, in ``wording`` (the asking engine's table; default: ``front``'s), and ``in_state``: ``front``'s
    own state still holds the connector, which another front took over since (Terraform then needs
    `state rm` before `import`). A connector that nobody owns yet gets ``front`` as its owner on the
    write (no take-over needed: the caller has already decided it may write, by state or by ``adopt``).
    """
    if front is None or context_tags is None:
        return None
    current = owner_of(context_tags)
    wording = wording or for_owner(front)
    if current is front:
        if front is not Front.CLI:
            return None
        current_set, wanted_set = set_of(context_tags) or DEFAULT_SET, set_name or DEFAULT_SET
        if current_set == wanted_set:
            return None
        if not adopt:
            raise ForeignOwnerError(connector_id, f"the CLI's set {current_set}", f"set {wanted_set}",
                                    takeover=f"{wording.take_over(connector_id)} (it moves the connector to set "
                                    f"{wanted_set})",
                                    tag=SET_TAG)
        return OwnerChange(connector_id, current, front, current_set, wanted_set)
    if current is not None and not adopt:
        hint = wording.foreign_owner_hint(current.value, connector_id, in_state=in_state)
        raise ForeignOwnerError(connector_id, current.value, front.value, hint=hint)
    return OwnerChange(connector_id, current, front, set_of(context_tags),
                       (set_name or DEFAULT_SET) if front is Front.CLI else None)


def owner_tags(context_tags: Mapping[str, str], front: Front | None, set_name: str | None = None) -> dict[str, str]:
    """The ContextTags after ``front`` writes: the owner set (for the CLI, with its set), and the CLI's
    markers gone if it is not the CLI."""
    if front is None:
        return dict(context_tags)
    kept = context_tags if front is Front.CLI else without_cli_bookkeeping(context_tags)
    return with_owner(kept, front, set_name)


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

