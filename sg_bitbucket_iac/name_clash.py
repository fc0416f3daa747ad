"""No duplicate by name: a declared name that another connector already uses under another Id.

StackGuardian keys connectors by Id, so declaring ``name: X`` without the existing connector's Id
derives a new Id and would create a second connector called X (what a hand-made connector, an
import without `id:`, or another tool's Id derivation leads to). The rule: before a create, look
for the name; if a connector with another Id has it, fail before writing, naming that Id and the
two ways out (declare the existing connector in the front's own words, or choose another name).
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import NameClashError
from .model import Connector
from .wire import ObservedConnector
from .wording import CLI_WORDING, FrontWording


def same_name_elsewhere(desired: Connector, candidates: Iterable[ObservedConnector], *,
                        replacing: str | None = None) -> ObservedConnector | None:
    """The first connector (by Id) other than the declared one, and other than the one it replaces,
    that already uses its name."""
    mine = {desired.connector_id, replacing}
    found = sorted((o for o in candidates if o.name == desired.name and o.id not in mine), key=lambda o: o.id)
    return found[0] if found else None


def check_name_free(desired: Connector, candidates: Iterable[ObservedConnector], org: str,
                    front: FrontWording = CLI_WORDING, *, replacing: str | None = None) -> None:
    """Raise :class:`NameClashError` when creating ``desired`` would duplicate a name; its hint is
    worded for ``front``.

    ``replacing``: the Id of the connector this create replaces (a new ``connector_id``). It holds the
    name until it is deleted (after the create, with Terraform's ``create_before_destroy``), and is
    the very connector the declaration describes: never a clash.
    """
    clash = same_name_elsewhere(desired, candidates, replacing=replacing)
    if clash is not None:
        raise name_clash(desired, clash.id, org, front)


def name_clash(desired: Connector, holder_id: str, org: str, front: FrontWording) -> NameClashError:
    """The error for a create of ``desired`` while connector ``holder_id`` holds its name."""
    return NameClashError(desired.name, desired.connector_id, holder_id, org,
                          manage_existing=front.declare_existing.format(id=holder_id))
