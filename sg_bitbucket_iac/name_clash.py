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
from .model import Connector, ObservedConnector
from .ownership import Front, manage_existing


def same_name_elsewhere(desired: Connector, candidates: Iterable[ObservedConnector]) -> ObservedConnector | None:
    """The first connector (by Id) other than the declared one that already uses its name."""
    found = sorted((o for o in candidates if o.name == desired.name and o.id != desired.connector_id),
                   key=lambda o: o.id)
    return found[0] if found else None


def check_name_free(desired: Connector, candidates: Iterable[ObservedConnector], org: str,
                    front: Front | None = None) -> None:
    """Raise :class:`NameClashError` when creating ``desired`` would duplicate a name; its hint is
    worded for ``front`` (the CLI's words when None)."""
    clash = same_name_elsewhere(desired, candidates)
    if clash is not None:
        raise NameClashError(desired.name, desired.connector_id, clash.id, org,
                             manage_existing=manage_existing(front, clash.id))
