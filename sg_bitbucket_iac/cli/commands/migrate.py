"""`sg-bitbucket migrate`: move a connector off its credential (typically an app password) in place.

The connector keeps its Id (workflows reference it) and gets a whole new credential set of the
new type, through the engine's plan/apply with adopt semantics: a full credential replacement,
preflight before the write. It never moves the owner (``sg-bitbucket-iac/owner``): a connector
nobody owns stays so; one a definitions file manages (owner ``cli``) keeps the CLI's applied
snapshot and fingerprint true, and migrate prints the entry to put in the file (so that `plan` is
clean once the file says the same); one Terraform or Pulumi owns is refused (their state would
switch it back: change it in their code). Without ``--auto-approve`` it
is a dry run: it shows the change (and the new credential's preflight) and exits 0.

``--all-app-passwords --mapping FILE`` does the same for every app-password connector of the org;
every one of them must have an entry, and the whole mapping is checked before anything is sent.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...engine import Engine
from ...errors import ConnectorValidationError, Problem, ProblemsError, UsageError
from ...identifiers import Identifier
from ...model import AuthType, Connector, parse_connector
from ...ownership import check_foreign_tool
from ...secrets import Secret
from ...wire import ObservedConnector
from ..definitions import load_migration_mapping
from ..exit_codes import EXIT_ERROR, EXIT_OK
from .common import Context, note_unreadable, problems_as_flags, run_bounded, unreadable_records
from .import_connector import as_list_item, entry_of, secret_env_name


def migration_connector(
    observed: ObservedConnector, to: AuthType, workspace: Any, fields: dict[str, Any], secret: Secret
) -> Connector:
    """The connector as it is (name, description, tags, Id) with the new credential set; model-validated."""
    return parse_connector({
        "name": observed.name,
        "id": observed.id,
        "description": observed.description,
        "tags": list(observed.tags),
        "workspace": workspace,
        "auth": {"type": to.value, **fields, to.secret_field: secret},
    })


def _secret_reference(ctx: Context, observed: ObservedConnector, to: AuthType) -> str:
    variable = ctx.flag("secret_env") or secret_env_name(observed, to)
    return "${env:" + str(variable) + "}"


def _migrate(ctx: Context, engine: Engine, observed: ObservedConnector, connector: Connector) -> dict[str, Any]:
    # Terraform's or Pulumi's state would undo the switch on their next apply: it belongs in their code.
    check_foreign_tool(observed.id, observed.context_tags, "`sg-bitbucket migrate`")
    plan = engine.plan(connector, observed=observed, adopt=True, refresh=False)
    entry: dict[str, Any] = {
        "connector_id": observed.id,
        "name": observed.name,
        "from": observed.auth_type.value if observed.auth_type else None,
        "to": connector.auth_type.value,
        "plan": plan.to_dict(),
        "warnings": list(plan.warnings),
    }
    if observed.managed:
        # A definitions file manages it: migrate keeps the CLI's applied snapshot and fingerprint true,
        # and the file must say the same, or its next apply would switch the connector back.
        entry["managed_by_definitions"] = True
        entry["definition"] = entry_of(connector, _secret_reference(ctx, observed, connector.auth_type))
        entry["warnings"].append(
            f"connector {observed.id} is managed by a definitions file (owner cli): replace its entry with the one "
            "printed here, or the next `sg-bitbucket apply` switches it back")
    if not ctx.args.auto_approve:
        check = engine.preflight(connector, new_connector=False)
        entry.update(status="dry-run", preflight=check.to_dict() if check is not None else None)
        return entry
    result = engine.apply(connector, plan, observed=observed)
    entry.update(status="migrated", preflight=result.preflight.to_dict() if result.preflight else None,
                 warnings=list(result.warnings))
    return entry


def _single(ctx: Context) -> list[dict[str, Any]]:
    args = ctx.args
    if args.mapping:
        raise UsageError("--mapping goes with --all-app-passwords")
    if not args.to:
        raise UsageError("--to is required: api_token or access_token")
    Identifier.CONNECTOR_ID.check(args.connector, "--connector")
    engine = ctx.engine(mark_managed=False)
    observed = engine.read(args.connector)
    if observed is None or not observed.is_bitbucket:
        raise UsageError(f"no Bitbucket connector {args.connector!r} in org {engine.org}",
                         hint="`sg-bitbucket audit` lists them")
    to = AuthType(args.to)
    workspace = args.workspace or observed.workspace
    if not workspace:
        raise UsageError("--workspace is required: the connector's ContextTags do not name its workspace")
    fields = {name: getattr(args, name) for name in ("username", "email", "scope", "repository", "project")
              if getattr(args, name) is not None}
    secret = ctx.read_secret(f"new {to.value.replace('_', ' ')}")
    try:
        connector = migration_connector(observed, to, workspace, fields, secret)
    except ConnectorValidationError as error:
        raise ProblemsError(problems_as_flags(error.problems)) from None
    return [_migrate(ctx, engine, observed, connector)]


def _mapped_path(path: str, target_path: str, secret_field: str) -> str:
    """Model paths (auth.email, workspace) as the mapping file spells them (connectors.X.email)."""
    if path == f"auth.{secret_field}":
        return f"{target_path}.secret"
    return f"{target_path}.{path.removeprefix('auth.')}"


def _all_app_passwords(ctx: Context) -> list[dict[str, Any]]:
    args = ctx.args
    if not args.mapping:
        raise UsageError("--all-app-passwords needs --mapping FILE (connector Id -> new credential)")
    if args.to or args.connector:
        raise UsageError("with --all-app-passwords each connector's target comes from --mapping, not flags")
    targets = load_migration_mapping(Path(args.mapping),
                                     allow_plaintext_secrets=bool(ctx.flag("allow_plaintext_secrets", False)),
                                     environ=ctx.environ, allow_secret_files_outside=ctx.secret_file_dirs)
    for target in targets:
        ctx.remember_secret(target.secret.reveal())
    engine = ctx.engine(mark_managed=False)
    observed = {o.id: o for o in engine.list_observed()}
    note_unreadable(ctx, unreadable_records(engine))
    by_id = {t.connector_id: t for t in targets}
    problems = [Problem(o.id, "an app-password connector without an entry in the mapping file", "unmapped")
                for o in sorted(observed.values(), key=lambda o: o.id)
                if o.auth_type is AuthType.APP_PASSWORD and o.id not in by_id]
    work: list[tuple[ObservedConnector, Connector]] = []
    skipped: list[dict[str, Any]] = []
    for target in targets:
        current = observed.get(target.connector_id)
        if current is None:
            problems.append(Problem(target.path, f"no Bitbucket connector with this Id in org {engine.org}",
                                    "not_found"))
            continue
        workspace = target.workspace or current.workspace
        try:
            connector = migration_connector(current, target.to, workspace, target.fields, target.secret)
        except ConnectorValidationError as error:
            problems.extend(Problem(_mapped_path(p.path, target.path, target.to.secret_field), p.message, p.rule)
                            for p in error.problems)
            continue
        if current.auth_type is not AuthType.APP_PASSWORD:
            skipped.append({"connector_id": current.id, "name": current.name, "status": "skipped",
                            "from": current.auth_type.value if current.auth_type else None,
                            "to": target.to.value, "warnings": ["not an app-password connector (already migrated?)"]})
            continue
        work.append((current, connector))
    if problems:
        raise ProblemsError(problems, f"{Path(args.mapping).name}: {len(problems)} problem(s); nothing was sent")
    with ctx.out.progress(len(work), "Migrating") as advance:
        outcomes = run_bounded(work, lambda item: _migrate(ctx, engine, *item), parallelism=args.parallelism,
                               on_done=advance)
    reports: list[dict[str, Any]] = []
    for (current, connector), outcome in zip(work, outcomes, strict=True):
        if isinstance(outcome, Exception):
            reports.append({"connector_id": current.id, "name": current.name, "status": "failed",
                            "from": AuthType.APP_PASSWORD.value, "to": connector.auth_type.value,
                            "error": str(outcome), "warnings": []})
        else:
            reports.append(outcome)
    return [*reports, *skipped]


def run(ctx: Context) -> int:
    reports = _all_app_passwords(ctx) if ctx.args.all_app_passwords else _single(ctx)
    dry_run = not ctx.args.auto_approve
    if ctx.json:
        ctx.out.json({"dry_run": dry_run, "connectors": reports})
    else:
        _render(ctx, reports, dry_run)
    return EXIT_ERROR if any(r["status"] == "failed" for r in reports) else EXIT_OK


def _render(ctx: Context, reports: list[dict[str, Any]], dry_run: bool) -> None:
    from ..render import plan_view, preflight_view

    if not reports:
        ctx.out.line("No app-password connectors to migrate.", "green")
    for report in reports:
        ctx.out.line(f"{report['connector_id']} ({report['name']}): {report['from']} -> {report['to']}", "bold")
        if report.get("plan"):
            ctx.out.render(*plan_view([report["plan"]])[:-1])
        if report.get("preflight"):
            ctx.out.render(*preflight_view(report["preflight"]))
        if report.get("definition"):
            ctx.out.line(f"{report['connector_id']} is managed by a definitions file: put this entry in it "
                         "(under `connectors:`), or its next apply switches the connector back:", "bold yellow")
            ctx.out.markdown(as_list_item(report["definition"]))
        if report["status"] == "failed":
            ctx.out.line(f"FAILED: {report['error']}", "bold red")
        elif report["status"] == "skipped":
            ctx.out.line("skipped: " + "; ".join(report["warnings"]), "yellow")
        elif report["status"] == "migrated":
            ctx.out.line("migrated: same connector Id, new credential set", "bold green")
    if dry_run and any(r["status"] == "dry-run" for r in reports):
        ctx.out.line("Dry run: nothing was changed. Rerun with --auto-approve to migrate.", "bold yellow")
