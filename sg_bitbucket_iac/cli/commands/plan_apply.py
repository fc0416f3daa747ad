"""`sg-bitbucket plan` and `apply`: one flow, so that apply does exactly what plan showed.

Both read StackGuardian once (one ``listall`` scan, a handful of requests for thousands of
connectors) and ask the engine for each connector's plan; apply then carries the plans out with
bounded parallelism, each connector on its own (one failure does not stop the others). The
engine's rules decide everything: what changed, what is sent, preflight before credentials
are written, and what "managed by this tool" means (ContextTags under ``sg-bitbucket-iac/``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...engine import ConnectorExistsError, ConnectorPlan, Engine
from ...errors import ProblemsError
from ...model import ConnectorValidationError, ObservedConnector, Problem
from ..definitions import Declared, Definitions
from .common import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, Context, run_bounded


@dataclass
class Planned:
    """One connector's plan with what it was made from (apply needs the same observed record)."""

    declared: Declared | None  # None: a managed connector missing from the file (prune)
    plan: ConnectorPlan
    observed: ObservedConnector | None

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.declared.path if self.declared else None, **self.plan.to_dict()}


@dataclass
class PlanRun:
    org: str
    definitions: Definitions
    prune: bool
    planned: list[Planned]
    unpruned: list[ObservedConnector]  # managed, not declared, kept because prune is off

    @property
    def changes(self) -> list[Planned]:
        return [p for p in self.planned if p.plan.has_changes]

    def to_dict(self) -> dict[str, Any]:
        from ..render import plan_summary

        plans = [p.to_dict() for p in self.planned]
        return {
            "org": self.org,
            "file": str(self.definitions.source),
            "prune": self.prune,
            "connectors": plans,
            "managed_not_declared": [o.id for o in self.unpruned],
            "summary": plan_summary(plans),
        }


def make_plans(ctx: Context, engine: Engine, definitions: Definitions, *, prune: bool) -> PlanRun:
    """Every plan, or a ProblemsError naming each connector apply would refuse (nothing sent yet)."""
    observed = {o.id: o for o in engine.list_observed()}
    ctx.warm_fingerprints([d.connector for d in definitions.connectors], engine.org)
    planned: list[Planned] = []
    problems: list[Problem] = []
    for declared in definitions.connectors:
        current = observed.get(declared.connector_id)
        try:
            plan = engine.plan(declared.connector, observed=current, adopt=declared.adopt, refresh=False)
        except ConnectorExistsError as error:
            problems.append(Problem(declared.path, f"{error}; or set `adopt: true` on this entry to take it over "
                                                   "(see `sg-bitbucket import`)", "exists"))
            continue
        except ConnectorValidationError as error:
            problems.extend(Problem(f"{declared.path}.{p.path}" if p.path else declared.path, p.message, p.rule)
                            for p in error.problems)
            continue
        planned.append(Planned(declared, plan, current))
    if problems:
        raise ProblemsError(problems, f"{definitions.source.name}: {len(problems)} problem(s); nothing was sent")
    declared_ids = {d.connector_id for d in definitions.connectors}
    undeclared = [o for o in observed.values() if o.managed and o.id not in declared_ids]
    if prune:
        planned += [Planned(None, engine.plan(None, observed=o, refresh=False), o) for o in undeclared]
        undeclared = []
    return PlanRun(engine.org, definitions, prune, planned, undeclared)


def _prepare(ctx: Context, *, prune_flag: bool = False) -> tuple[Engine, PlanRun]:
    definitions = ctx.load_definitions(ctx.args.file)
    engine = ctx.engine(org=ctx.org_for(definitions.org), mark_managed=True)
    return engine, make_plans(ctx, engine, definitions, prune=definitions.prune or prune_flag)


def _render_plan(ctx: Context, run: PlanRun) -> None:
    from ..render import plan_view

    ctx.out.render(*plan_view([p.to_dict() for p in run.planned]))
    if run.unpruned:
        ctx.out.line(
            f"note: {len(run.unpruned)} connector(s) managed by sg-bitbucket are not in the file and are kept "
            f"(prune is off): {', '.join(o.id for o in run.unpruned)}",
            "yellow",
        )


def run_plan(ctx: Context) -> int:
    _engine, run = _prepare(ctx)
    if ctx.json:
        ctx.out.json(run.to_dict())
    else:
        _render_plan(ctx, run)
    if ctx.args.detailed_exitcode and run.changes:
        return EXIT_CHANGES
    return EXIT_OK


def _apply_one(engine: Engine, item: Planned) -> dict[str, Any]:
    declared = item.declared
    # Per-entry `preflight: false` turns it off; otherwise the engine's global setting decides.
    preflight = False if declared is not None and not declared.preflight else None
    result = engine.apply(declared.connector if declared else None, item.plan, observed=item.observed,
                          preflight=preflight)
    return {
        "preflight": result.preflight.status.value if result.preflight is not None else None,
        "warnings": list(result.warnings),
    }


def run_apply(ctx: Context) -> int:
    engine, run = _prepare(ctx, prune_flag=ctx.args.prune)
    changes = run.changes
    if not ctx.json:
        _render_plan(ctx, run)
    if not changes:
        if ctx.json:
            ctx.out.json({**run.to_dict(), "results": []})
        return EXIT_OK
    if not ctx.args.auto_approve and not ctx.confirm(
        f"Apply {len(changes)} change(s) to org {run.org}? Only 'y' or 'yes' proceeds."
    ):
        ctx.out.err("Apply cancelled; nothing was changed.")
        return EXIT_ERROR
    with ctx.out.progress(len(changes), "Applying") as advance:
        outcomes = run_bounded(changes, lambda item: _apply_one(engine, item),
                               parallelism=ctx.args.parallelism, on_done=advance)
    results: list[dict[str, Any]] = []
    for item, outcome in zip(changes, outcomes, strict=True):
        entry: dict[str, Any] = {"connector_id": item.plan.connector_id, "name": item.plan.name,
                                 "action": item.plan.action.value}
        if isinstance(outcome, Exception):
            entry.update(status="failed", error=str(outcome), warnings=[])
        else:
            entry.update(status="ok", **outcome)
        results.append(entry)
    if ctx.json:
        ctx.out.json({**run.to_dict(), "results": results})
    else:
        from ..render import apply_view

        ctx.out.render(*apply_view(results))
    return EXIT_ERROR if any(r["status"] != "ok" for r in results) else EXIT_OK
