"""`plan -f FILE --out PLAN.json` / `apply PLAN.json`: review a plan in CI, then apply exactly it.

The file holds no secret: each connector's changes (secrets as `(sensitive)`), the credential
fingerprint the plan was made with (salted and slow, the same one kept in ContextTags and state),
the `ModifiedAt` StackGuardian showed, and a digest of the non-secret declarations. `apply
PLAN.json` loads the definitions again (references are resolved again), plans again, and refuses
when anything differs: the definitions changed, a secret reference now gives another credential,
or a connector was written since. Otherwise it applies the fresh plan, which equals the saved one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ... import __version__
from ...errors import StalePlanError, UsageError

if TYPE_CHECKING:
    from .plan_apply import PlanRun

PLAN_FORMAT = "sg-bitbucket-plan/1"


def declarations_digest(run: PlanRun) -> str:
    """SHA-256 over the declarations without their secrets (a bare hash of a secret is never made)."""
    entries = []
    for declared in run.definitions.connectors:
        data = declared.connector.model_dump(mode="json", exclude={"auth": {declared.connector.auth_type.secret_field}})
        entries.append({"path": declared.path, "connector": data, "preflight": declared.preflight,
                        "adopt": declared.adopt})
    text = json.dumps({"org": run.org, "set": run.definitions.cli_set, "prune": run.prune, "connectors": entries},
                      sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _connector_record(run: PlanRun, index: int) -> dict[str, Any]:
    item = run.planned[index]
    observed = item.observed
    return {
        **item.to_dict(),
        "fingerprint": item.connector.credential_fingerprint(run.org) if item.connector is not None else None,
        "observed_modified_at": observed.modified_at.isoformat() if observed and observed.modified_at else None,
    }


def plan_document(run: PlanRun, *, names: Sequence[str], resend_credentials: bool) -> dict[str, Any]:
    return {
        "format": PLAN_FORMAT,
        "tool_version": __version__,
        "org": run.org,
        "file": str(Path(run.definitions.source).resolve()),
        "names": list(names),
        "set": run.definitions.cli_set,
        "prune": run.prune,
        "resend_credentials": resend_credentials,
        "declarations_digest": declarations_digest(run),
        "connectors": [_connector_record(run, i) for i in range(len(run.planned))],
        "managed_not_declared": [o.id for o in run.unpruned],
    }


def save(path: str, document: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")


def load(path: str) -> dict[str, Any]:
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"no plan file {path}", hint="make one with `sg-bitbucket plan -f FILE --out PLAN.json`") \
            from None
    except (OSError, ValueError) as error:
        raise UsageError(f"{path} is not a plan file ({type(error).__name__})",
                         hint="`sg-bitbucket apply` takes a PLAN.json from `plan --out`, or -f FILE") from None
    if not isinstance(data, dict) or data.get("format") != PLAN_FORMAT:
        raise UsageError(f"{path} is not a plan file of this tool (format {PLAN_FORMAT})",
                         hint="make one with `sg-bitbucket plan -f FILE --out PLAN.json`")
    return data


def differences(saved: Mapping[str, Any], fresh: Mapping[str, Any]) -> list[str]:
    """Why the saved plan is stale (empty: it is exactly what applying now would do)."""
    reasons: list[str] = []
    if saved.get("org") != fresh.get("org"):
        reasons.append(f"the org changed ({saved.get('org')} -> {fresh.get('org')})")
    if saved.get("set") != fresh.get("set"):
        reasons.append(f"the file's set changed ({saved.get('set')} -> {fresh.get('set')})")
    if saved.get("declarations_digest") != fresh.get("declarations_digest"):
        reasons.append(f"the definitions in {saved.get('file')} changed since the plan was made")
    before = {c["connector_id"]: c for c in saved.get("connectors") or ()}
    after = {c["connector_id"]: c for c in fresh.get("connectors") or ()}
    for connector_id in sorted(set(before) | set(after)):
        old, new = before.get(connector_id), after.get(connector_id)
        if old is None or new is None:
            what = "not in the saved plan" if old is None else "no longer planned"
            reasons.append(f"connector {connector_id}: {what}")
            continue
        if old.get("fingerprint") != new.get("fingerprint"):
            reasons.append(f"connector {connector_id}: its secret reference now gives another credential")
        if old.get("observed_modified_at") != new.get("observed_modified_at"):
            reasons.append(f"connector {connector_id}: changed in StackGuardian since the plan "
                           f"(ModifiedAt {old.get('observed_modified_at')} -> {new.get('observed_modified_at')})")
        elif {k: v for k, v in old.items() if k != "warnings"} != {k: v for k, v in new.items() if k != "warnings"}:
            reasons.append(f"connector {connector_id}: the plan for it is different now")
    if sorted(saved.get("managed_not_declared") or ()) != sorted(fresh.get("managed_not_declared") or ()):
        reasons.append("the connectors managed here but not declared changed")
    return reasons


def check_fresh(saved: Mapping[str, Any], fresh: Mapping[str, Any], path: str) -> None:
    reasons = differences(saved, fresh)
    if reasons:
        raise StalePlanError(f"refusing stale plan {path}: " + "; ".join(reasons) + "; nothing was written")
