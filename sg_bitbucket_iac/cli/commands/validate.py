"""`sg-bitbucket validate -f FILE [NAME...]`: the file's schema and timeline, then each credential's preflight.

Needs no StackGuardian key and sends nothing to StackGuardian. A preflight that fails makes the
command fail (exit 1), as apply would; an inconclusive one (Bitbucket rate-limiting or down) is a
warning, as apply treats it, but the command exits 3 when no check failed and at least one was
inconclusive, like `preflight`: a CI gate must not pass silently during a Bitbucket outage.
"""

from __future__ import annotations

from typing import Any

from ...engine.precheck import Precheck
from ..definitions import Declared
from ..exit_codes import exit_for_checks
from .common import Context, run_bounded

PARALLELISM = 4


def run(ctx: Context) -> int:
    definitions = ctx.load_definitions(ctx.args.file).select(ctx.args.names)
    engine = ctx.preflight_engine()
    checked = [d for d in definitions.connectors if d.preflight and ctx.preflight_enabled]

    def precheck(declared: Declared) -> Precheck:
        return engine.precheck(declared.connector, path=declared.path)

    with ctx.out.progress(len(checked), "Preflight") as advance:
        outcomes = dict(zip([d.path for d in checked],
                            run_bounded(checked, precheck, parallelism=PARALLELISM, on_done=advance), strict=True))
    entries: list[dict[str, Any]] = []
    failed = False
    inconclusive = False
    for declared in definitions.connectors:
        entry: dict[str, Any] = {
            "path": declared.path,
            "connector_id": declared.connector_id,
            "name": declared.connector.name,
            "auth_type": declared.connector.auth_type.value,
            "warnings": engine.validate(declared.connector, path=declared.path),
            "preflight": None,
        }
        outcome = outcomes.get(declared.path)
        if declared.path not in outcomes:
            entry["preflight_skipped"] = "turned off for this connector" if not declared.preflight else (
                "turned off (--no-preflight or SG_BITBUCKET_IAC_PREFLIGHT)")
        elif isinstance(outcome, Exception):
            entry["error"] = str(outcome)
            failed = True
        elif outcome is not None:
            entry["preflight"] = outcome.preflight.to_dict() if outcome.preflight is not None else None
            failed = failed or bool(outcome.problems)
            inconclusive = inconclusive or outcome.preflight_inconclusive
        entries.append(entry)
    if ctx.json:
        ctx.out.json({"file": str(definitions.source), "valid": not failed, "inconclusive": inconclusive and not failed,
                      "connectors": entries})
    else:
        from ..render import validate_view

        ctx.out.render(*validate_view(entries, failed))
        if inconclusive and not failed:
            ctx.out.line("Some credentials could not be checked (Bitbucket rate-limited or unavailable): exit 3.",
                         "bold yellow")
    return exit_for_checks(failed=failed, inconclusive=inconclusive)
