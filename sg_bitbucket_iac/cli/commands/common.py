"""What every command shares: settings, the engine, definitions, secrets from the user, bounded parallelism.

Kept free of heavy imports at module level (engine, rich, yaml are imported inside functions): a
command imports it first, before its own heavy parts. ``app.py`` imports it only once a command runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from ...errors import UsageError

if TYPE_CHECKING:
    from ...engine import Engine
    from ...model import Connector, Problem
    from ...secrets import Secret
    from ...settings import Settings
    from ...wire import ObservedConnector
    from ..definitions import Definitions
    from ..output import Output


# CLI-only knob (tests, rehearsals): the preflight's 429/5xx backoff factor; 1.0 gives 1 s, 2 s, 4 s.
PREFLIGHT_BACKOFF_ENV = "SG_BITBUCKET_IAC_PREFLIGHT_BACKOFF"
# Below this length a "secret" is too short to scrub from output without mangling ordinary words.
_MIN_SCRUB_LENGTH = 8

log = logging.getLogger("sg_bitbucket_iac.cli")
T = TypeVar("T")
R = TypeVar("R")


# The model names credential fields by their YAML path; commands that take them as flags say so.
_FLAG_FOR_PATH = {
    "workspace": "--workspace",
    "auth.type": "--auth-type/--to",
    "auth.username": "--username",
    "auth.email": "--email",
    "auth.scope": "--scope",
    "auth.repository": "--repository",
    "auth.project": "--project",
    "auth.api_token": "secret (--secret-env or stdin)",
    "auth.access_token": "secret (--secret-env or stdin)",
    "auth.app_password": "secret (--secret-env or stdin)",
}


def problems_as_flags(problems: Iterable[Problem]) -> list[Problem]:
    """Rename YAML paths (auth.email) to the flags a flag-driven command took (--email)."""
    from ...errors import Problem

    return [Problem(_FLAG_FOR_PATH.get(p.path, p.path), p.message, p.rule) for p in problems]


def run_bounded(
    items: Sequence[T],
    work: Callable[[T], R],
    *,
    parallelism: int,
    on_done: Callable[[], None] | None = None,
) -> list[R | Exception]:
    """``work`` over ``items`` with at most ``parallelism`` at once; results (or errors) in input order.

    One item's failure never stops the others: the caller reports each outcome.
    """

    def guarded(item: T) -> R | Exception:
        try:
            return work(item)
        except Exception as error:  # reported per item by the caller
            return error
        finally:
            if on_done is not None:
                on_done()

    if parallelism <= 1 or len(items) <= 1:
        return [guarded(item) for item in items]
    from concurrent.futures import ThreadPoolExecutor  # not at import: it costs `--help` a third of its start

    with ThreadPoolExecutor(max_workers=min(parallelism, len(items)), thread_name_prefix="sg-bitbucket") as pool:
        return list(pool.map(guarded, items))


def unreadable_records(engine: Engine) -> list[dict[str, Any]]:
    """The records the engine's last org scan could not read: Id and what is wrong, for reports."""
    return [{"connector_id": odd.connector_id, "problems": odd.findings, "message": str(odd)}
            for odd in engine.odd_records]


def note_unreadable(ctx: Context, records: Sequence[Mapping[str, Any]]) -> None:
    """One note per unreadable record on stderr (the report on stdout stays parseable)."""
    if ctx.json:
        return
    for record in records:
        ctx.out.line(f"note: skipped {record['message']}", "yellow", err=True)


def warm_fingerprints(connectors: Sequence[Connector], org: str, on_done: Callable[[], None] | None = None) -> None:
    """Compute the credential fingerprints on every core before the engine asks for them one by one.

    A fingerprint is deliberately slow (scrypt, tens of milliseconds) and memoised per process, and
    hashlib releases the GIL while it runs: 1,000 connectors take half the time on two cores.
    """
    connectors = slow_to_fingerprint(connectors)
    if len(connectors) > 1:
        run_bounded(connectors, lambda connector: connector.credential_fingerprint(org),
                    parallelism=os.cpu_count() or 2, on_done=on_done)


def slow_to_fingerprint(connectors: Sequence[Connector]) -> list[Connector]:
    """The connectors whose fingerprint is scrypt; the keyed fast scheme costs microseconds, no thread."""
    from ...secrets import SLOW_SCHEME, fingerprint_scheme

    return [c for c in connectors if fingerprint_scheme(*c.auth.credential_parts()) == SLOW_SCHEME]


class Context:
    """One command invocation: parsed flags, the environment, and lazily built settings/engine/output."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        environ: Mapping[str, str] | None = None,
        stdin: TextIO | None = None,
    ) -> None:
        self.args = args
        self.environ: Mapping[str, str] = os.environ if environ is None else environ
        self.stdin = stdin if stdin is not None else sys.stdin
        # Every secret this run has seen; output is scrubbed of them as a last line of defence.
        self.secrets_seen: set[str] = set()

    # ------------------------------------------------------------------ flags
    def flag(self, name: str, default: Any = None) -> Any:
        """A flag value; common flags are absent (argparse.SUPPRESS) unless given, before or after the command."""
        return getattr(self.args, name, default)

    @property
    def json(self) -> bool:
        return bool(self.flag("json", False))

    @property
    def preflight_enabled(self) -> bool:
        return self.settings.preflight

    # ------------------------------------------------------------------ settings and engines
    @cached_property
    def settings(self) -> Settings:
        from ...settings import Settings
        from ...wording import CLI_WORDING

        settings = Settings.resolve(
            api_url=self.flag("api_url"),
            org=self.flag("org"),
            bitbucket_api_url=self.flag("bitbucket_api_url"),
            preflight=False if self.flag("no_preflight", False) else None,
            request_timeout=self.flag("timeout"),
            environ=self.environ,
            names=CLI_WORDING.setting_names,
        )
        if settings.api_key:
            self.remember_secret(settings.api_key.reveal())
        return settings

    def now(self) -> datetime:
        """The product clock (SG_BITBUCKET_IAC_NOW of this run's environment, else real time)."""
        from ...timeline import now

        return now(self.settings.clock or datetime.now(UTC))

    @property
    def preflight_backoff(self) -> float:
        text = self.environ.get(PREFLIGHT_BACKOFF_ENV)
        if not text:
            return 1.0
        try:
            value = float(text)
        except ValueError:
            raise UsageError(f"{PREFLIGHT_BACKOFF_ENV}={text!r} is not a number of seconds") from None
        if value < 0:
            raise UsageError(f"{PREFLIGHT_BACKOFF_ENV} cannot be negative")
        return value

    def org_for(self, declared: str | None) -> str:
        """--org, else the file's `org`, else SG_ORG; a file and a flag that disagree is an error."""
        flag = self.flag("org")
        if declared and flag and declared != flag:
            raise UsageError(
                f"the definitions declare org {declared!r} but --org is {flag!r}",
                hint="drop --org, or fix `org:` in the file",
            )
        org = flag or declared or self.settings.org
        if not org:
            raise UsageError("no StackGuardian org", hint="set `org:` in the file, pass --org, or set SG_ORG")
        return str(org)

    def engine(self, *, org: str | None = None, mark_managed: bool, cli_set: str | None = None) -> Engine:
        """An engine on StackGuardian for ``org``; ``mark_managed``: it writes as the CLI, the owner of
        what a definitions file declares (and keeps its bookkeeping in ContextTags), for the file's set
        ``cli_set``; without it the engine belongs to no front (migrate, audit, import never move the owner)."""
        from ...engine import Engine
        from ...wording import CLI_WORDING

        settings = replace(self.settings, org=org or self.org_for(None))
        return Engine(settings, front=CLI_WORDING if mark_managed else None, preflight_backoff=self.preflight_backoff,
                      cli_set=cli_set)

    def preflight_engine(self) -> Engine:
        """An engine used only for Bitbucket preflight and date rules: no StackGuardian key or org needed."""
        from ...engine import Engine

        return Engine(self.settings, preflight_backoff=self.preflight_backoff)

    # ------------------------------------------------------------------ definitions and secrets
    def load_definitions(self, path: str, *, check_timeline: bool = True) -> Definitions:
        """The definitions file, entirely validated (secrets resolved) or a ProblemsError."""
        from ..definitions import load_definitions

        definitions = load_definitions(
            Path(path),
            allow_plaintext_secrets=bool(self.flag("allow_plaintext_secrets", False)),
            at=self.now() if check_timeline else None,
            environ=self.environ,
            allow_secret_files_outside=self.secret_file_dirs,
        )
        for declared in definitions.connectors:
            self.remember_secret(declared.connector.auth.secret.reveal())
        return definitions

    def load_and_scan(self, path: str, *, check_timeline: bool = True,
                      check: Callable[[Definitions], None] | None = None,
                      ) -> tuple[Definitions, Engine, list[ObservedConnector]]:
        """The definitions, an engine on their org that keeps state, and that org's connectors.

        In this order: a file with a problem (or that ``check`` refuses) sends no request at all, not
        even a read.
        """
        started = time.perf_counter()
        definitions = self.load_definitions(path, check_timeline=check_timeline)
        if check is not None:
            check(definitions)
        loaded = time.perf_counter()
        log.info("read %s: %d connector(s) in %.3f s", path, len(definitions.connectors), loaded - started)
        engine = self.engine(org=self.org_for(definitions.org), mark_managed=True, cli_set=definitions.cli_set)
        observed = self.scan(engine.list_observed(), "Reading connectors")
        log.info("read org %s: %d connector(s) in %.3f s", engine.org, len(observed), time.perf_counter() - loaded)
        return definitions, engine, observed

    @property
    def secret_file_dirs(self) -> list[Path]:
        """Folders named by --allow-secret-files-outside, where ${file:...} may read besides the definitions'."""
        return [Path(d) for d in self.flag("allow_secret_files_outside", None) or ()]

    def warm_fingerprints(self, connectors: Sequence[Connector], org: str) -> None:
        """:func:`warm_fingerprints` with a progress bar (the slow part of plan and drift for many connectors)."""
        slow = slow_to_fingerprint(connectors)
        with self.out.progress(len(slow), "Fingerprinting credentials") as advance:
            warm_fingerprints(slow, org, on_done=advance)

    def scan(self, items: Iterable[T], description: str) -> list[T]:
        """Collect a long listing (listall over thousands of connectors) with a live count on a terminal."""
        if not self.out.stderr_tty:
            return list(items)
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        collected: list[T] = []
        console = Console(stderr=True, no_color=bool(self.flag("no_color", False)))
        with Progress(SpinnerColumn(), TextColumn("{task.description}: {task.completed}"), TimeElapsedColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task(description, total=None)
            for item in items:
                collected.append(item)
                progress.advance(task)
        return collected

    def remember_secret(self, value: str | None) -> None:
        if value and len(value) >= _MIN_SCRUB_LENGTH:
            self.secrets_seen.add(value)

    def scrub(self, text: str) -> str:
        from ...redact import scrub_text

        return scrub_text(text, self.secrets_seen) if self.secrets_seen else text

    def read_secret(self, what: str) -> Secret:
        """The credential from --secret-env VAR, else stdin (a prompt on a terminal); never from argv."""
        from ...secrets import Secret

        variable = self.flag("secret_env")
        if variable:
            value = self.environ.get(variable)
            if value is None:
                raise UsageError(f"--secret-env {variable}: the environment variable is not set")
            value = value.strip()
            if not value:
                raise UsageError(f"--secret-env {variable}: the environment variable is empty")
        elif self.stdin.isatty():
            import getpass

            value = getpass.getpass(f"{what} (input hidden): ").strip()
        else:
            value = self.stdin.read().strip()
        if not value:
            raise UsageError(f"no {what} given", hint="pass --secret-env VAR, or pipe it on stdin")
        self.remember_secret(value)
        return Secret(value)

    # ------------------------------------------------------------------ output
    @cached_property
    def out(self) -> Output:
        from ..output import Output

        return Output(color=not self.flag("no_color", False), scrub=self.scrub)

    def confirm(self, question: str) -> bool:
        """y/N on a terminal. Without a terminal there is nobody to ask: that is an error, not a yes."""
        if not self.stdin.isatty():
            raise UsageError(
                "refusing to apply without confirmation: stdin is not a terminal",
                hint="review `sg-bitbucket plan`, then pass --auto-approve",
            )
        self.out.err(f"{question} [y/N] ", end="")
        answer = self.stdin.readline().strip().lower()
        return answer in ("y", "yes")
