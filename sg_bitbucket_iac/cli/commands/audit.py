"""`sg-bitbucket audit`: every Bitbucket connector of the org, its health and what to do next.

No definitions file: this looks at the whole org (one ``listall`` scan), managed here or not. A
connector needs action when StackGuardian says its credentials do not authenticate, or when it
uses an app password past the point where the timeline (product clock) asks for a migration.
Exit 2 when any connector needs action.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from ...engine import audit_connector
from ...model import AuthType
from ...tags import Front
from ...wire import ObservedConnector
from ..exit_codes import EXIT_CHANGES, EXIT_OK
from .common import Context, unreadable_records


def audit_entry(observed: ObservedConnector, at: datetime) -> dict[str, Any]:
    """One connector's row: facts StackGuardian reports plus the engine's verdict, and the next step."""
    finding = audit_connector(observed, at=at)
    owner = observed.owner
    if finding.actions:
        next_step = "; ".join(finding.actions)
    elif owner is not None:
        next_step = "none"
    else:
        next_step = f"none (owned by no front: `sg-bitbucket import {observed.id} --to-yaml` declares it)"
    phase = finding.app_password_phase.value if finding.app_password_phase else None
    return {
        "connector_id": observed.id,
        "name": observed.name,
        "auth_type": observed.auth_type.value if observed.auth_type else None,
        "authenticated": observed.authenticated,
        "authenticated_at": observed.authenticated_at.isoformat() if observed.authenticated_at else None,
        "app_password_phase": phase,
        "managed": observed.managed,
        "owner": owner.value if owner is not None else None,
        "set": observed.cli_set,
        "workspace": observed.workspace,
        "modified_at": observed.modified_at.isoformat() if observed.modified_at else None,
        "needs_action": finding.needs_action,
        "next_step": next_step,
    }


def unreadable_entry(odd: dict[str, Any]) -> dict[str, Any]:
    """A record that cannot be read still gets its row: it needs action (fixing it in StackGuardian)."""
    return {
        "connector_id": odd["connector_id"], "name": "", "auth_type": None, "authenticated": None,
        "authenticated_at": None, "app_password_phase": None, "managed": None, "owner": None, "set": None,
        "workspace": None,
        "modified_at": None, "needs_action": True, "unreadable": odd["problems"],
        "next_step": "unreadable record (" + "; ".join(odd["problems"]) + "): fix it in StackGuardian, or re-create it",
    }


def run(ctx: Context) -> int:
    engine = ctx.engine(mark_managed=False)
    at = engine.now()
    observed = ctx.scan(engine.list_observed(), "Reading connectors")
    with ctx.out.progress(len(observed), "Auditing") as advance:
        entries = []
        for item in observed:
            entries.append(audit_entry(item, at))
            advance()
    entries += [unreadable_entry(odd) for odd in unreadable_records(engine)]
    entries.sort(key=lambda e: e["connector_id"])
    summary = {
        "org": engine.org,
        "checked_at": at.isoformat(),
        "total": len(entries),
        "needs_action": sum(1 for e in entries if e["needs_action"]),
        "app_passwords": sum(1 for e in entries if e["auth_type"] == AuthType.APP_PASSWORD.value),
        "not_authenticated": sum(1 for e in entries if e["authenticated"] is False),
        "managed": sum(1 for e in entries if e["managed"]),
        "by_owner": {front.value: sum(1 for e in entries if e["owner"] == front.value) for front in Front},
        "by_set": dict(sorted(Counter(e["set"] for e in entries if e["set"] is not None).items())),
    }
    if ctx.json:
        ctx.out.json({"summary": summary, "connectors": entries})
    else:
        from ..render import audit_view

        ctx.out.render(*audit_view(entries, summary))
    return EXIT_CHANGES if summary["needs_action"] else EXIT_OK
