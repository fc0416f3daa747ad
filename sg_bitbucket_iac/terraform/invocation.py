"""Which engine runs this provider process (Terraform or OpenTofu), and which command: a destroy, or anything else.

`terraform destroy` (and `apply -destroy`, `plan -destroy`; OpenTofu alike) first runs a *normal*
plan to refresh the state (hashicorp/terraform#32208), which plans the configuration's resources
that do not exist yet as creates, and aborts the destroy on any error of that plan. The checks meant
for writing (preflight, a name already used, the app-password dates) would then block a destroy
that writes nothing of the kind. Nothing in the plugin protocol says a plan belongs to a destroy.
The command line of the engine does: both engines start a plugin as their own child (the mirror's
launcher `exec`s the provider), so it is the parent process's. It is read from `/proc` (Linux),
else from `ps`; when it cannot be read, the provider behaves as for a plan (the checks run) and
`destroy -refresh=false` skips that normal plan. `TF_CLI_ARGS` and `TF_CLI_ARGS_<command>`, which
both engines add to the command line, are read from the environment the plugin inherits.

The engine's version, sent in ConfigureProvider, does not tell Terraform from OpenTofu (OpenTofu
1.12.6 sends "1.13.0", a Terraform version too); the same command line does, by the engine's own
name (`terraform`, `tofu`), so the provider's advice names that engine's commands, and stays
engine-neutral when the command line cannot be read. The facts and their sources:
docs/evidence.md#terraforms-plan-calls-destroy-replacement-private-state.
"""

from __future__ import annotations

import functools
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# The commands that run a destroy plan; `plan` and `apply` do with `-destroy`.
_DESTROYING = frozenset({"destroy"})
_DESTROY_FLAG_COMMANDS = frozenset({"plan", "apply"})
_TRUE = frozenset({"", "true", "1", "t", "T", "TRUE", "True"})  # Go's strconv.ParseBool, plus a bare flag


@dataclass(frozen=True)
class Invocation:
    """The engine command this process serves, as far as its command line tells."""

    command: str | None  # `plan`, `apply`, `destroy`, ... (None: not known)
    destroying: bool
    engine: str | None = None  # `terraform` or `tofu`, as the engine's own name says (None: not known)


def engine_name(program: str) -> str | None:
    """`terraform` or `tofu` from the engine's program path (`/usr/bin/tofu`, `terraform-1.0.3`), else None."""
    base = Path(program).name.lower()
    for engine in ("tofu", "terraform"):
        if base == engine or base.startswith((engine + "-", engine + "_", engine + ".")):
            return engine
    return None


def parse(argv: Sequence[str], environ: Mapping[str, str] | None = None) -> Invocation:
    """The engine's command line (its own name first) and environment -> what it runs.

    Global options (`-chdir=DIR`, `-help`) come before the command; the command's own flags after
    it, including those of `TF_CLI_ARGS` and `TF_CLI_ARGS_<command>` (each engine inserts them).
    """
    env = os.environ if environ is None else environ
    args = list(argv[1:])
    command = next((a for a in args if not a.startswith("-")), None)
    engine = engine_name(argv[0]) if argv else None
    if command is None:
        return Invocation(None, False, engine)
    flags = [*args[args.index(command) + 1:], *_split(env.get("TF_CLI_ARGS")),
             *_split(env.get(f"TF_CLI_ARGS_{command}"))]
    destroying = command in _DESTROYING or (command in _DESTROY_FLAG_COMMANDS and _destroy_flag(flags))
    return Invocation(command, destroying, engine)


def _split(value: str | None) -> list[str]:
    try:
        return shlex.split(value) if value else []
    except ValueError:
        return []


def _destroy_flag(flags: Sequence[str]) -> bool:
    """`-destroy` or `--destroy`, optionally `=true`; the last one given wins, as Go's flag package does."""
    found = False
    for flag in flags:
        name, _, value = flag.lstrip("-").partition("=")
        if flag.startswith("-") and name == "destroy":
            found = value in _TRUE
    return found


def parent_command_line(pid: int | None = None) -> list[str] | None:
    """The command line of process ``pid`` (default: this process's parent); None when it cannot be read."""
    pid = os.getppid() if pid is None else pid
    if pid <= 1:
        return None
    proc = Path(f"/proc/{pid}/cmdline")
    if sys.platform.startswith("linux"):
        try:
            raw = proc.read_bytes()
        except OSError:
            return None
        return [part.decode(errors="replace") for part in raw.split(b"\0") if part] or None
    try:  # macOS, the BSDs: `ps` prints the arguments joined by spaces (a path with a space splits: harmless here)
        out = subprocess.run(["ps", "-o", "args=", "-p", str(pid)], capture_output=True, text=True, timeout=5,
                             check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return out.split() or None


@functools.lru_cache(maxsize=1)
def engine_invocation() -> Invocation:
    """What the engine that started this plugin runs (read once: a plugin serves one command)."""
    argv = parent_command_line()
    return parse(argv) if argv else Invocation(None, False)
