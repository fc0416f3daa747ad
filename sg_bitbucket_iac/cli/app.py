"""`sg-bitbucket`: declarative Bitbucket connectors for StackGuardian (plan, apply, drift, audit, migrate).

This module only parses the command line and maps outcomes to exit codes; each command lives in
``cli/commands/<name>.py`` and is imported when it runs, so ``--help`` stays fast (no rich, yaml,
boto3 or engine at import). Common flags are accepted before or after the subcommand: they are
declared on a parent parser with ``default=SUPPRESS``, so a value given in one place is never
overwritten by the other's default.

Exit codes: 0 ok / no changes, 1 error, 2 changes or drift present (``plan --detailed-exitcode``,
``drift``, ``audit``), 3 a check inconclusive and none failed (``preflight``, ``validate``), 141 the
reader of stdout went away (``| head``: quiet, as a tool ended by SIGPIPE). With
``--json`` every command prints one JSON document on stdout, errors included (``{"errors": [...]}``).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, NoReturn, TextIO

from .exit_codes import EXIT_ERROR

if TYPE_CHECKING:  # the commands' shared module costs --help a quarter of its start: imported once a command runs
    from .commands.common import Context

SUPPRESS = argparse.SUPPRESS
INTERRUPTED = 130

# command -> "module:function" under sg_bitbucket_iac.cli, imported on use.
HANDLERS = {
    "preflight": "commands.preflight:run",
    "validate": "commands.validate:run",
    "plan": "commands.plan_apply:run_plan",
    "apply": "commands.plan_apply:run_apply",
    "drift": "commands.drift:run",
    "audit": "commands.audit:run",
    "migrate": "commands.migrate:run",
    "import": "commands.import_connector:run",
    "schema": "commands.schema:run",
    "terraform-mirror": "commands.terraform_mirror:run",
    "pulumi-plugin": "commands.pulumi_plugin:run",
    "demo": "demo:run",
}


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a usage error, but 2 means "changes present" here: usage errors exit 1."""

    last_error: str = ""

    def error(self, message: str) -> NoReturn:
        _Parser.last_error = message
        if not _JSON_REQUESTED:
            self.print_usage(sys.stderr)
        self.exit(EXIT_ERROR, "" if _JSON_REQUESTED else f"error: {message}\n")


# Set by main() before parsing, so that a usage error under --json is one JSON document too.
_JSON_REQUESTED = False


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _common_parent() -> _Parser:
    parent = _Parser(add_help=False)
    group = parent.add_argument_group("common options (before or after the command)")
    group.add_argument("--org", default=SUPPRESS, help="StackGuardian org (else the file's `org:`, else SG_ORG)")
    group.add_argument("--api-url", default=SUPPRESS, metavar="URL",
                       help="StackGuardian API base (else SG_BASE_URL; default https://api.app.stackguardian.io)")
    group.add_argument("--bitbucket-api-url", default=SUPPRESS, metavar="URL",
                       help="Bitbucket API base for preflight (else BITBUCKET_API_URL)")
    group.add_argument("--json", action="store_true", default=SUPPRESS, help="machine-readable report on stdout")
    group.add_argument("--no-color", action="store_true", default=SUPPRESS, help="no colour, even on a terminal")
    group.add_argument("--no-preflight", action="store_true", default=SUPPRESS,
                       help="do not check credentials against Bitbucket before sending them")
    group.add_argument("--timeout", default=SUPPRESS, metavar="SECONDS",
                       help="how long to wait for each answer from StackGuardian or Bitbucket "
                            "(else SG_BITBUCKET_IAC_TIMEOUT; default 30 and 10)")
    return parent


def _definitions_parent() -> _Parser:
    parent = _Parser(add_help=False)
    parent.add_argument("--allow-plaintext-secrets", action="store_true", default=SUPPRESS,
                        help="accept secrets written in the file itself instead of ${...} references")
    parent.add_argument("--allow-secret-files-outside", action="append", default=SUPPRESS, metavar="DIR",
                        help="let ${file:...} references read files in DIR (repeatable); by default only files in "
                        "the definitions file's folder tree are read")
    return parent


def _file_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-f", "--file", required=True, metavar="FILE", help="YAML connector definitions")


def _credential_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workspace", metavar="WS", help="Bitbucket workspace slug")
    parser.add_argument("--username", metavar="U", help="Bitbucket username (api_token for git, app_password)")
    parser.add_argument("--email", metavar="E", help="Atlassian account email (api_token)")
    parser.add_argument("--scope", choices=("repository", "project", "workspace"),
                        help="what an access token was created for")
    parser.add_argument("--project", metavar="KEY", help="project key (project access token)")
    parser.add_argument("--secret-env", metavar="VAR",
                        help="read the secret from environment variable VAR (else stdin); never from the command line")


def _add_commands(subparsers: argparse._SubParsersAction[_Parser], parents: list[_Parser],
                  definitions: _Parser) -> None:
    def command(name: str, help_text: str, *, with_definitions: bool = False) -> argparse.ArgumentParser:
        sub = subparsers.add_parser(
            name, help=help_text, description=help_text,
            parents=[*parents, definitions] if with_definitions else parents,
        )
        sub.set_defaults(handler=HANDLERS.get(name))
        return sub

    sub = command("preflight", "check one Bitbucket credential (exit 0 pass, 1 fail, 3 inconclusive)")
    sub.add_argument("--auth-type", required=True, choices=("api_token", "access_token", "app_password"))
    _credential_arguments(sub)
    sub.add_argument("--repository", metavar="R", action="append",
                     help="repository slug the credential must reach (repeatable; one for an access token)")

    sub = command("validate", "check the definitions and preflight their credentials; writes nothing "
                              "(exit 3 when a check was inconclusive and none failed)",
                  with_definitions=True)
    _file_argument(sub)
    sub.add_argument("names", nargs="*", metavar="NAME", help="only these connectors (name or Id)")

    sub = command("plan", "show what apply would change, per connector and field", with_definitions=True)
    _file_argument(sub)
    sub.add_argument("names", nargs="*", metavar="NAME", help="only these connectors (name or Id); no prune then")
    sub.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes")
    sub.add_argument("--out", metavar="PLAN.json",
                     help="save the plan (no secrets in it) for `sg-bitbucket apply PLAN.json`")
    sub.add_argument("--resend-credentials", action="store_true",
                     help="plan a re-send of the declared credentials even if nothing visible changed")
    sub.add_argument("--prune", action="store_true",
                     help="preview what `apply --prune` deletes: connectors managed by sg-bitbucket that the file no "
                          "longer declares (the same as `prune: true` in the file)")

    sub = command("apply", "create/update (and with prune, delete) connectors to match the file, or apply a "
                           "saved plan: `apply PLAN.json`", with_definitions=True)
    sub.add_argument("-f", "--file", metavar="FILE", help="YAML connector definitions (or give PLAN.json instead)")
    sub.add_argument("names", nargs="*", metavar="NAME",
                     help="only these connectors (name or Id; no prune then), or one PLAN.json from `plan --out`, "
                          "which is refused if the definitions or a connector changed since")
    sub.add_argument("--resend-credentials", action="store_true",
                     help="re-send the declared credentials of the named connectors (all without names) even if "
                          "nothing visible changed, e.g. after an edit in the StackGuardian UI")
    sub.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    sub.add_argument("--parallelism", type=_positive_int, default=4, metavar="N",
                     help="connectors written at once (default 4)")
    sub.add_argument("--prune", action="store_true",
                     help="delete connectors managed by sg-bitbucket that the file no longer declares")

    sub = command("drift", "compare the file and the managed connectors with StackGuardian (exit 2 on drift)",
                  with_definitions=True)
    _file_argument(sub)
    sub.add_argument("--verify-credentials", action="store_true",
                     help="also preflight each declared credential against Bitbucket")
    sub.add_argument("--format", choices=("table", "json", "markdown"), help="report format (default table)")
    sub.add_argument("--parallelism", type=_positive_int, default=4, metavar="N", help=argparse.SUPPRESS)

    command("audit", "every Bitbucket connector of the org: auth type, health, app-password timeline "
                     "(exit 2 when one needs action)")

    sub = command("migrate", "switch a connector to api_token or access_token (full credential replacement); "
                             "a dry run without --auto-approve", with_definitions=True)
    target = sub.add_mutually_exclusive_group(required=True)
    target.add_argument("--connector", metavar="ID", help="the connector to migrate")
    target.add_argument("--all-app-passwords", action="store_true",
                        help="migrate every app-password connector as --mapping FILE says")
    sub.add_argument("--to", choices=("api_token", "access_token"), help="the new auth type")
    _credential_arguments(sub)
    sub.add_argument("--repository", metavar="R", help="repository slug (repository access token)")
    sub.add_argument("--mapping", metavar="FILE", help="YAML: connector Id -> new credential (--all-app-passwords)")
    sub.add_argument("--auto-approve", action="store_true", help="apply the change (else a dry run)")
    sub.add_argument("--parallelism", type=_positive_int, default=4, metavar="N",
                     help="connectors migrated at once with --all-app-passwords (default 4)")

    sub = command("import", "print a YAML definition of an existing connector (secrets as references): a list "
                            "item to paste under `connectors:`, or with --to-yaml a complete file")
    sub.add_argument("connector_id", metavar="ID", help="StackGuardian connector Id")
    sub.add_argument("--to-yaml", action="store_true", help="print a complete definitions file (> file.yaml)")

    command("schema", "print the JSON Schema of a definitions file, for editors: `sg-bitbucket schema > "
                      "connectors.schema.json`, then `# yaml-language-server: $schema=./connectors.schema.json` "
                      "as the file's first line")

    sub = command("terraform-mirror", "write this installation's Terraform provider into DIR as a filesystem "
                                      "mirror for `terraform init` / `tofu init`")
    sub.add_argument("directory", metavar="DIR", help="the mirror folder (created private if missing)")
    sub.add_argument("--allow-writable-by-others", action="store_true",
                     help="write into DIR even if other users can change it or a folder above it (they could "
                          "replace the executable Terraform runs)")

    sub = command("pulumi-plugin", "write the native Pulumi provider as a plugin tarball into DIR, for "
                                   "`pulumi plugin install resource sgbitbucket VERSION --file TARBALL`")
    sub.add_argument("directory", metavar="DIR", help="where the tarball goes (created if missing)")

    sub = subparsers.add_parser(
        "emulator", help="run the local StackGuardian + Bitbucket emulator until SIGINT/SIGTERM",
        description="Run the local StackGuardian + Bitbucket emulator; prints its URLs as one JSON line.",
    )
    from .commands import emulator as emulator_cli

    emulator_cli.add_emulator_arguments(sub)
    sub.set_defaults(emulator=emulator_cli.run_emulator)

    command("demo", "walk through validate, plan, apply, auth-type switch, drift, audit and migrate "
                    "on an embedded emulator")


def build_parser() -> argparse.ArgumentParser:
    common = _common_parent()
    parser = _Parser(
        prog="sg-bitbucket",
        description="StackGuardian Bitbucket VCS connectors as code: declare them in YAML, then "
                    "plan/apply/drift/audit/migrate. Exit codes: 0 ok, 1 error, 2 changes or drift, "
                    "3 a check inconclusive and none failed (preflight, validate). With --json every command "
                    "prints one JSON document on stdout, errors included.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"sg-bitbucket {_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_commands(subparsers, [common], _definitions_parent())
    return parser


def _version() -> str:
    from .. import __version__

    return __version__


def _handler(spec: str) -> Callable[[Context], int]:
    module_name, _, function = spec.partition(":")
    module = importlib.import_module(f"{__package__}.{module_name}")
    handler: Callable[[Context], int] = getattr(module, function)
    return handler


def error_entries(error: Exception) -> tuple[list[dict[str, str | None]], str]:
    """(one entry per problem as {"path", "message"}, a summary line) for any error a command raises."""
    from ..errors import SGBitbucketError

    problems = getattr(error, "problems", None)
    summary = ""
    if isinstance(problems, list) and problems:
        entries: list[dict[str, str | None]] = [
            {"path": getattr(p, "path", "") or None, "message": getattr(p, "message", str(p))} for p in problems
        ]
        summary = getattr(error, "message", "")
        if summary.endswith("problem(s)"):
            summary = ""
    elif isinstance(error, SGBitbucketError | ValueError):
        entries = [{"path": None, "message": str(error)}]
    else:
        entries = [{"path": None, "message": f"unexpected {type(error).__name__}: {error}"}]
    return entries, summary


def _report_error(error: Exception, ctx: Context) -> int:
    """One line per problem on stderr (`error: path: message`), and with --json one document on stdout; exit 1."""
    entries, summary = error_entries(error)
    if ctx.json:  # the document for machines; the same lines on stderr for the person reading the CI log
        _print_json_errors(entries, summary, ctx.scrub)
    lines = [f"error: {e['path']}: {e['message']}" if e["path"] else f"error: {e['message']}" for e in entries]
    if summary:
        lines.append(summary)
    from ..redact import escape_control

    sys.stderr.write(escape_control(ctx.scrub("\n".join(lines))) + "\n")
    return EXIT_ERROR


def _print_json_errors(entries: list[dict[str, str | None]], summary: str,
                       scrub: Callable[[str], str] = lambda text: text) -> None:
    import json

    document: dict[str, object] = {"errors": [{k: scrub(v) if v else v for k, v in e.items()} for e in entries]}
    if summary:
        document["summary"] = scrub(summary)
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: TextIO | None = None,
) -> int:
    """Run one command; ``environ`` replaces os.environ for settings (the demo injects its clock so)."""
    try:
        return _run(argv, environ=environ, stdin=stdin)
    except BrokenPipeError:
        return _reader_went_away()


def _run(argv: Sequence[str] | None, *, environ: Mapping[str, str] | None, stdin: TextIO | None) -> int:
    global _JSON_REQUESTED
    arguments = list(sys.argv[1:] if argv is None else argv)
    _JSON_REQUESTED = "--json" in arguments
    parser = build_parser()
    try:
        args = parser.parse_args(arguments)
    except SystemExit as stop:  # --help (0) or a usage error (1): returned, so in-process callers get a code
        code = stop.code if isinstance(stop.code, int) else EXIT_ERROR
        if code != 0 and _JSON_REQUESTED:
            _print_json_errors([{"path": None, "message": f"usage: {_Parser.last_error}"}], "")
        return code
    if getattr(args, "emulator", None) is not None:
        return int(args.emulator(args))
    spec = getattr(args, "handler", None)
    if not spec:
        if _JSON_REQUESTED:
            _print_json_errors([{"path": None, "message": "usage: no command given (see sg-bitbucket --help)"}], "")
        else:
            parser.print_help(sys.stderr)
        return EXIT_ERROR
    from .commands.common import Context

    ctx = Context(args, environ=environ, stdin=stdin)
    from .. import logs

    try:
        logs.configure(ctx.environ, ctx.secrets_seen)
        return _handler(spec)(ctx)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return INTERRUPTED
    except BrokenPipeError:
        raise  # the reader of stdout went away: main() ends quietly
    except Exception as error:  # every failure becomes one clear line per problem and exit 1
        return _report_error(error, ctx)
    finally:
        logs.unconfigure()


def _reader_went_away() -> int:
    """`sg-bitbucket ... | head`: the reader closed the pipe. Stop quietly, as CLI tools killed by SIGPIPE do.

    Python ignores SIGPIPE, so a write to a closed pipe raises BrokenPipeError instead of ending the
    process. The recipe of Python's `signal` documentation ("Note on SIGPIPE"): point stdout at
    /dev/null, so that the interpreter's last flush at exit cannot fail again and print a
    traceback. The exit code is what a shell reports for a tool ended by SIGPIPE (128 + 13 = 141,
    as `yes | head` gives under `set -o pipefail`), not 1: nothing failed, the reader had enough.
    """
    import os
    import signal

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # stdout replaced in-process (tests): nothing to redirect
        pass
    return 128 + int(signal.SIGPIPE)


if __name__ == "__main__":
    sys.exit(main())
