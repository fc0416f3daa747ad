"""`sg-bitbucket plan` and `apply`: one flow, so that apply does exactly what plan showed.

Both read StackGuardian once (one ``listall`` scan, a handful of requests for thousands of
connectors) and ask the engine for each connector's plan; apply then carries the plans out with
bounded parallelism, each connector on its own (one failure does not stop the others). The
engine's rules decide everything: what changed, what is sent, preflight before credentials
are written, who owns a connector (only the CLI's own, of the file's set, are pruned), a name
already used under another Id, and a ``ModifiedAt`` later than our last write (the credential is
re-sent).

``plan -f FILE [NAME...] --out PLAN.json`` saves the plan without secrets; ``apply PLAN.json``
plans again and applies only when nothing changed since (see :mod:`.plan_file`).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ...engine import ConnectorExistsError, ConnectorPlan, Engine
from ...engine.precheck import PLAN_NOTE, Notice
from ...errors import (
    AdoptError,
    ConnectorValidationError,
    ForeignOwnerError,
    NameClashError,
    Problem,
    ProblemsError,
    UsageError,
)
from ...model import Connector
from ...wire import ObservedConnector
from ..definitions import Declared, Definitions, prune_refusal
from ..exit_codes import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from . import plan_file
from .common import Context, note_unreadable, run_bounded, unreadable_records

log = logging.getLogger("sg_bitbucket_iac.cli")


@dataclass
class Planned:
    """One connector's plan with what it was made from (apply needs the same observed record)."""

    declared: Declared | None  # None: a managed connector missing from the file (prune)
    plan: ConnectorPlan
    observed: ObservedConnector | None
    connector: Connector | None = None  # what is applied: the declared one, with the Id `adopt` found

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.declared.path if self.declared else None, **self.plan.to_dict()}


@dataclass
class PlanRun:
    org: str
    definitions: Definitions
    prune: bool
    planned: list[Planned]
    unpruned: list[ObservedConnector]  # of the file's set, not declared, kept because prune is off

    @property
    def changes(self) -> list[Planned]:
        return [p for p in self.planned if p.plan.has_changes]

    def to_dict(self) -> dict[str, Any]:
        from ..output import plan_summary

        plans = [p.to_dict() for p in self.planned]
        return {
            "org": self.org,
            "file": str(self.definitions.source),
            "set": self.definitions.cli_set,
            "prune": self.prune,
            "connectors": plans,
            "managed_not_declared": [o.id for o in self.unpruned],
            "summary": plan_summary(plans),
        }


def adoption_target(declared: Declared, observed: dict[str, ObservedConnector],
                    by_name: dict[str, list[ObservedConnector]], org: str) -> tuple[Connector, ObservedConnector]:
    """`adopt: true` takes over the connector with the entry's Id, else the one with its name; or fails."""
    connector = declared.connector
    current = observed.get(connector.connector_id)
    if current is not None:
        return connector, current
    named = [o for o in by_name.get(connector.name, []) if o.id != connector.connector_id]
    if connector.id is None and len(named) == 1:
        found = named[0]
        return connector.model_copy(update={"id": found.id}), found
    if named:
        ids = ", ".join(o.id for o in named)
        raise AdoptError(f"`adopt: true`, but no connector has Id {connector.connector_id} and several are named "
                         f"{connector.name!r} ({ids})", hint="set `id:` to the one to take over")
    raise AdoptError(f"`adopt: true`, but org {org} has no connector with Id {connector.connector_id} or name "
                     f"{connector.name!r} to take over",
                     hint="set `id:` to the existing connector's Id (`sg-bitbucket audit` lists them), or remove "
                     "`adopt: true` to create it")


def make_plans(ctx: Context, engine: Engine, definitions: Definitions, scanned: Sequence[ObservedConnector], *,
               prune: bool, resend: Sequence[str] = (), declared_in_file: Sequence[str] = ()) -> PlanRun:
    """Every plan, or a ProblemsError naming each connector apply would refuse (nothing sent yet).

    ``scanned``: the org's connectors as ``engine`` read them. ``resend``: connector names/Ids
    whose declared credential is re-sent even if nothing visible changed. ``declared_in_file``: the
    Ids the whole file declares when ``definitions`` is a selection of it (`plan -f FILE NAME`), so
    that the connectors left out are not "managed, not declared".
    """
    started = time.perf_counter()
    observed = {o.id: o for o in scanned}
    by_name: dict[str, list[ObservedConnector]] = defaultdict(list)
    for item in observed.values():
        by_name[item.name].append(item)
    unreadable = {odd["connector_id"]: odd for odd in unreadable_records(engine)}
    note_unreadable(ctx, [odd for key, odd in unreadable.items()
                          if key not in {d.connector_id for d in definitions.connectors}])
    ctx.warm_fingerprints([d.connector for d in definitions.connectors], engine.org)
    planned: list[Planned] = []
    problems: list[Problem] = []
    for declared in definitions.connectors:
        if declared.connector_id in unreadable:
            problems.append(Problem(declared.path, unreadable[declared.connector_id]["message"], "unreadable_record"))
            continue
        connector = declared.connector
        current = observed.get(declared.connector_id)
        try:
            if declared.adopt:
                connector, current = adoption_target(declared, observed, by_name, engine.org)
            plan = engine.plan(connector, observed=current, adopt=declared.adopt, refresh=False,
                               resend_credentials=bool({connector.name, connector.connector_id} & set(resend)),
                               same_name=by_name.get(connector.name, []))
        except ConnectorExistsError as error:
            problems.append(Problem(declared.path, str(error), "exists"))
            continue
        except (ForeignOwnerError, NameClashError, AdoptError) as error:
            problems.append(Problem(declared.path, str(error), type(error).__name__))
            continue
        except ConnectorValidationError as error:
            problems.extend(Problem(f"{declared.path}.{p.path}" if p.path else declared.path, p.message, p.rule)
                            for p in error.problems)
            continue
        if connector is not declared.connector:
            plan.warnings.append(Notice(PLAN_NOTE, f"adopting connector {connector.connector_id} by its name; add "
                                        f"`id: {connector.connector_id}` to {declared.path}"))
        planned.append(Planned(declared, plan, current, connector))
    if problems:
        raise ProblemsError(problems, f"{definitions.source.name}: {len(problems)} problem(s); nothing was sent")
    declared_ids = ({p.plan.connector_id for p in planned} | {d.connector_id for d in definitions.connectors}
                    | set(declared_in_file))
    # Only the file's own set: another file's connectors are neither pruned nor "managed, not declared".
    undeclared = [o for o in observed.values()
                  if o.cli_set == definitions.cli_set and o.id not in declared_ids]
    if prune:
        planned += [Planned(None, engine.plan(None, observed=o, refresh=False), o) for o in undeclared]
        undeclared = []
    log.info("planned %d connector(s) in %.3f s: %d change(s)", len(planned), time.perf_counter() - started,
             sum(1 for p in planned if p.plan.has_changes))
    return PlanRun(engine.org, definitions, prune, planned, undeclared)


def _prepare(ctx: Context, file: str, names: Sequence[str], *, prune_flag: bool = False,
             resend: bool = False) -> tuple[Engine, PlanRun]:
    # The app-password dates are the engine's to apply per plan: they refuse creates and credential
    # writes only, so a declared legacy connector left as it is never blocks the rest (a prune, say).
    def may_prune(definitions: Definitions) -> None:
        refusal = prune_refusal(definitions.set_name) if prune_flag else None
        if refusal:
            raise UsageError(f"--prune refused: {refusal}")

    definitions, engine, scanned = ctx.load_and_scan(file, check_timeline=False, check=may_prune)
    selected = definitions.select(names)
    # Pruning needs the whole file: with names, connectors left out are not "undeclared".
    prune = (definitions.prune or prune_flag) and not names
    resend_names = [n for d in selected.connectors for n in (d.connector.name, d.connector_id)] if resend else []
    return engine, make_plans(ctx, engine, selected, scanned, prune=prune, resend=resend_names,
                              declared_in_file=[d.connector_id for d in definitions.connectors])


def _render_plan(ctx: Context, run: PlanRun) -> None:
    from ..render import plan_view

    ctx.out.line(f"Set {run.definitions.cli_set}: this file manages the CLI's connectors of set "
                 f"{run.definitions.cli_set} in org {run.org}; other sets and fronts are left alone.")
    ctx.out.render(*plan_view([p.to_dict() for p in run.planned]))
    if run.unpruned:
        ctx.out.line(
            f"note: {len(run.unpruned)} connector(s) of set {run.definitions.cli_set} are not in the file and are "
            f"kept (prune is off): {', '.join(o.id for o in run.unpruned)}",
            "yellow",
        )


def run_plan(ctx: Context) -> int:
    names = list(ctx.args.names)
    resend = bool(ctx.flag("resend_credentials", False))
    _engine, run = _prepare(ctx, ctx.args.file, names, prune_flag=ctx.args.prune, resend=resend)
    document = run.to_dict()
    if ctx.args.out:
        plan_file.save(ctx.args.out, plan_file.plan_document(run, names=names, resend_credentials=resend))
        document["saved_to"] = ctx.args.out
    if ctx.json:
        ctx.out.json(document)
    else:
        _render_plan(ctx, run)
        if ctx.args.out:
            ctx.out.line(f"Plan saved to {ctx.args.out} (no secrets in it); apply exactly it with "
                         f"`sg-bitbucket apply {ctx.args.out}`.")
    if ctx.args.detailed_exitcode and run.changes:
        return EXIT_CHANGES
    return EXIT_OK


def _apply_one(engine: Engine, item: Planned) -> dict[str, Any]:
    declared = item.declared
    # Per-entry `preflight: false` turns it off; otherwise the engine's global setting decides.
    preflight = False if declared is not None and not declared.preflight else None
    result = engine.apply(item.connector, item.plan, observed=item.observed, preflight=preflight)
    return {
        "preflight": result.preflight.status.value if result.preflight is not None else None,
        "warnings": list(result.warnings),
    }


def _apply_arguments(ctx: Context) -> tuple[str, list[str], plan_file.SavedPlan | None]:
    """(definitions file, names, saved plan or None): `apply -f FILE [NAME...]` or `apply PLAN.json`."""
    names = list(ctx.args.names)
    if ctx.args.file:
        return ctx.args.file, names, None
    if len(names) != 1:
        raise UsageError("apply needs -f FILE [NAME...], or one saved plan: `sg-bitbucket apply PLAN.json`")
    saved = plan_file.load(names[0])
    if ctx.args.prune or ctx.flag("resend_credentials", False):
        raise UsageError("a saved plan already says what is pruned and re-sent; apply it without --prune or "
                         "--resend-credentials")
    return saved.file, list(saved.names), saved


def run_apply(ctx: Context) -> int:
    file, names, saved = _apply_arguments(ctx)
    resend = saved.resend_credentials if saved else bool(ctx.flag("resend_credentials", False))
    engine, run = _prepare(ctx, file, names, prune_flag=bool(saved and saved.prune) or ctx.args.prune,
                           resend=resend)
    if saved is not None:
        plan_file.check_fresh(saved, plan_file.plan_document(run, names=names, resend_credentials=resend),
                              ctx.args.names[0])
    changes = run.changes
    if not ctx.json:
        _render_plan(ctx, run)
    if not changes:
        if ctx.json:
            ctx.out.json({**run.to_dict(), "results": []})
        return EXIT_OK
    # A saved plan was reviewed when it was made: applying it is the approval.
    if saved is None and not ctx.args.auto_approve and not ctx.confirm(
        f"Apply {len(changes)} change(s) to org {run.org}? Only 'y' or 'yes' proceeds."
    ):
        ctx.out.err("Apply cancelled; nothing was changed.")
        return EXIT_ERROR
    started = time.perf_counter()
    with ctx.out.progress(len(changes), "Applying") as advance:
        outcomes = run_bounded(changes, lambda item: _apply_one(engine, item),
                               parallelism=ctx.args.parallelism, on_done=advance)
    log.info("applied %d change(s) in %.3f s at --parallelism %d: %d failed", len(changes),
             time.perf_counter() - started, ctx.args.parallelism, sum(isinstance(o, Exception) for o in outcomes))
    results: list[dict[str, Any]] = []
    for item, outcome in zip(changes, outcomes, strict=True):
        entry: dict[str, Any] = {"connector_id": item.plan.connector_id, "name": item.plan.name,
                                 "action": item.plan.action.value}
        if isinstance(outcome, Exception):
            entry.update(status="failed", error=ctx.scrub(str(outcome)), warnings=[])
        else:
            entry.update(status="ok", **outcome)
        results.append(entry)
    if ctx.json:
        failed = sum(1 for r in results if r["status"] != "ok")
        ctx.out.json({**run.to_dict(), "results": results,
                      "apply": {"done": len(results) - failed, "failed": failed, "partial": 0 < failed < len(results)}})
    else:
        from ..render import apply_view

        ctx.out.render(*apply_view(results))
    return EXIT_ERROR if any(r["status"] != "ok" for r in results) else EXIT_OK
