"""`sg-bitbucket preflight`: check one credential against Bitbucket, before anyone puts it in a connector."""

from __future__ import annotations

from ...errors import ConnectorValidationError, ProblemsError, UsageError
from ...identifiers import Identifier
from ...model import credentials_from
from ..exit_codes import exit_for_checks
from .common import Context, problems_as_flags


def run(ctx: Context) -> int:
    args = ctx.args
    if not args.workspace:
        raise UsageError("--workspace is required: preflight checks the credential for one workspace")
    repositories: list[str] = list(args.repository or [])
    if args.auth_type == "access_token" and len(repositories) > 1:
        raise UsageError("an access token is checked for one --repository (a repository token sees only its own)")
    # Path segments of the probes: refused before a secret is read or a request sent.
    Identifier.WORKSPACE.check(args.workspace, "--workspace")
    for slug in repositories:
        Identifier.REPOSITORY.check(slug, "--repository")
    secret = ctx.read_secret(f"{args.auth_type.replace('_', ' ')}")
    values = {
        "workspace": args.workspace,
        "username": args.username,
        "email": args.email,
        "scope": args.scope,
        # For an access token the repository is part of the credential (what it is confined to);
        # for the other types it only names what to probe.
        "repository": repositories[0] if repositories and args.auth_type == "access_token" else None,
        "project": args.project,
        args.auth_type: secret,
    }
    try:
        auth = credentials_from(args.auth_type, values)
    except ConnectorValidationError as error:
        raise ProblemsError(problems_as_flags(error.problems)) from None
    result = ctx.preflight_engine().check_credential(
        auth, args.workspace, repositories=repositories if args.auth_type != "access_token" else ())
    if ctx.json:
        ctx.out.json(result.to_dict())
    else:
        from ..render import preflight_view

        ctx.out.render(*preflight_view(result.to_dict()))
    return exit_for_checks(failed=result.failed, inconclusive=result.inconclusive)
