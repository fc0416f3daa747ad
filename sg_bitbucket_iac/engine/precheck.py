"""The pre-write check: date policy (the app-password timeline) and what a preflight result means."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import timeline
from ..model import AppPasswordAuth, Connector, Problem


@dataclass(frozen=True)
class PolicyFindings:
    problems: list[Problem]
    warnings: list[str]


def check_policy(connector: Connector, *, at: datetime, path: str = "", creating: bool = True) -> PolicyFindings:
    """Rules that depend on the date: app passwords follow the deprecation timeline."""
    if not isinstance(connector.auth, AppPasswordAuth):
        return PolicyFindings([], [])
    status = timeline.app_password_status(at)
    where = f"{path}.auth.type" if path else "auth.type"
    if not status.allowed:
        message = status.message.replace("<ID>", connector.connector_id)
        return PolicyFindings([Problem(where, message, "app_password_unsupported")], [])
    warnings: list[str] = []
    if status.phase is timeline.AppPasswordPhase.DEPRECATED:
        text = status.message.replace("<ID>", connector.connector_id)
        if creating:
            text += "; Bitbucket no longer issues app passwords, so a new connector needs one that already exists"
        warnings.append(f"{where}: {text}")
    return PolicyFindings([], warnings)


