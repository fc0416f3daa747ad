"""A plugin launcher that is the same file on every machine: it finds this package's console script at run time.

Engines install plugins as folders they hash (Terraform's `.terraform.lock.hcl` records an ``h1:``
hash of the package folder; a Pulumi plugin tarball is checked the same way). A launcher that named
the absolute path of the venv that wrote it would hash differently on every machine, so a committed
lock file would fail everywhere else. This launcher holds only the plugin's name and version and
finds the installation when the engine starts it, in a fixed order:

1. the environment variable ``override_env`` (the path of the console script), when set;
2. the console script in PATH's absolute folders, first match (a relative entry such as ``.`` would
   let a file in the engine's working directory run; a launcher found there is skipped, so a
   mirror folder on PATH cannot make it start itself).

It then exports :data:`LAUNCHED_VERSION_ENV` so that the console script can refuse to serve as another
version than the one the engine selected (:func:`version_mismatch`). Whatever cannot be found or
does not match is said in one line on stdout, the stream the engine reads first: Terraform and
OpenTofu show it as "Unrecognized remote plugin message: <line>" instead of "Failed to read any
lines from plugin's stdout".

Reused by the Terraform mirror (sg_bitbucket_iac/terraform/mirror.py); meant for any plugin of this
package that an engine installs from a hashed folder. POSIX shell only (no Windows launcher).
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

LAUNCHED_VERSION_ENV = "SG_BITBUCKET_IAC_LAUNCHED_VERSION"
# The second line of every launcher: how a launcher recognises another one on PATH.
LAUNCHER_MARKER = "# sg-bitbucket-iac plugin launcher: finds the installation at run time"
_SAFE_WORD = re.compile(r"^[A-Za-z0-9_.+-]+$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")


@dataclass(frozen=True)
class PluginLauncher:
    """What a launcher needs to know; every field is fixed per package version, never per machine."""

    title: str  # who speaks in the error lines, e.g. "sgbitbucket provider 0.1.0"
    console_script: str  # e.g. "terraform-provider-sgbitbucket"
    override_env: str  # e.g. "SG_BITBUCKET_IAC_TERRAFORM_PROVIDER"
    version: str
    install_hint: str  # the command that installs the console script, e.g. "pip install '...'"
    written_by: str  # the command that wrote the launcher, for the header comment

    def __post_init__(self) -> None:
        # Everything below lands in a shell script: accept only words that need no quoting there.
        for value in (self.console_script, self.version):
            if not _SAFE_WORD.match(value):
                raise ValueError(f"unsafe launcher value {value!r}")
        if not _ENV_NAME.match(self.override_env):
            raise ValueError(f"unsafe environment variable name {self.override_env!r}")
        for text in (self.title, self.install_hint, self.written_by):
            if "\n" in text or "\r" in text:
                raise ValueError(f"launcher text {text!r} must be one line")

    def not_found_line(self) -> str:
        return (f"{self.title}: cannot find {self.console_script} on PATH. Install it with `{self.install_hint}` and "
                f"put its bin folder on PATH (activate its venv), or set {self.override_env} to its path")

    def script(self) -> str:
        """The launcher's text (POSIX sh). No path, user or host in it: one file per version everywhere."""
        var, name, title = self.override_env, self.console_script, self.title
        bad_override = (f" is not the executable {name} of an installation; set it to one (e.g. .venv/bin/{name}) "
                        "or unset it")
        return f"""#!/bin/sh
{LAUNCHER_MARKER}
# {title}, written by `{self.written_by}`. It runs the first of:
#   1. ${var} (the path of {name}), when set;
#   2. {name} in PATH's absolute folders (launchers like this one are skipped).
# The same file on every machine, so a lock file that records its hash verifies everywhere.
{LAUNCHED_VERSION_ENV}={self.version}
export {LAUNCHED_VERSION_ENV}
is_launcher() {{
  {{ IFS= read -r _first && IFS= read -r _second; }} < "$1" 2>/dev/null && [ "$_second" = "{LAUNCHER_MARKER}" ]
}}
if [ -n "${{{var}:-}}" ]; then
  if [ -f "${var}" ] && [ -x "${var}" ] && ! is_launcher "${var}"; then
    exec "${var}" "$@"
  fi
  printf '%s\\n' {shlex.quote(f"{title}: {var}=")}"${var}"{shlex.quote(bad_override)}
  exit 1
fi
set -f
IFS=:
for _dir in $PATH; do
  case $_dir in /*) ;; *) continue ;; esac
  if [ -f "$_dir/{name}" ] && [ -x "$_dir/{name}" ] && ! is_launcher "$_dir/{name}"; then
    exec "$_dir/{name}" "$@"
  fi
done
printf '%s\\n' {shlex.quote(self.not_found_line())}
exit 1
"""


def version_mismatch(version: str, console_script: str, remedy: str,
                     environ: MutableMapping[str, str] | None = None) -> str | None:
    """The line to print when a launcher selected another version than this installation's, else None.

    Started by a launcher, the console script compares the version the engine selected (and hashed
    into its lock file) with its own; started without one (dev_overrides, by hand) there is nothing
    to compare. The variable is removed so that it reaches no process the plugin starts.
    """
    env = os.environ if environ is None else environ
    launched = env.pop(LAUNCHED_VERSION_ENV, None)
    if launched is None or launched == version:
        return None
    here = os.path.realpath(sys.argv[0]) if sys.argv and sys.argv[0] else console_script
    return (f"{console_script}: the engine selected version {launched}, but the installation it found ({here}) "
            f"is {version}; {remedy}")


def console_script_path(name: str, environ: Mapping[str, str] | None = None) -> str | None:
    """Where a launcher would find `name` now (the same lookup as the script), or None."""
    env = os.environ if environ is None else environ
    for folder in env.get("PATH", "").split(os.pathsep):
        if not os.path.isabs(folder):
            continue
        candidate = os.path.join(folder, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK) and not _is_launcher(candidate):
            return candidate
    return None


def _is_launcher(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            lines = handle.read(4096).split(b"\n")
    except OSError:
        return False
    return len(lines) > 1 and lines[1] == LAUNCHER_MARKER.encode()
