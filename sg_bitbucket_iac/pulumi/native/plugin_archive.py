"""A plugin tarball for `pulumi plugin install resource sgbitbucket VERSION --file TARBALL`.

Pulumi installs a resource plugin from a ``.tar.gz`` whose root holds the executable
``pulumi-resource-sgbitbucket``; the CLI then finds it in its plugin cache by name and version,
with no plugin on ``PATH`` (``PULUMI_IGNORE_AMBIENT_PLUGINS=true`` makes the CLI use only such
installed plugins).

The tarball must be the same on every machine for one package version (a team shares it, a CI
cache keys on it), so nothing in it names this machine: the executable is a POSIX shell launcher
that finds, **at run time**, a Python of an ``sg-bitbucket-iac`` installation of the same version,
in this order:

1. ``SG_BITBUCKET_IAC_PYTHON`` (a Python executable), when set;
2. the ``pulumi-resource-sgbitbucket`` console script on ``PATH`` (its venv's Python: the
   ``python`` beside it, else its ``#!`` line), skipping this launcher itself;
3. ``python3`` on ``PATH`` (an activated venv).

A candidate is used only when it imports ``sg_bitbucket_iac`` at this version; otherwise the
launcher prints one line naming what it found and the fix, instead of Pulumi's bare "could not
read plugin stdout". The archive is written byte for byte the same (fixed times, owners and
modes, gzip without a name or time).
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

from ... import __version__
from .schema import PACKAGE

EXECUTABLE = f"pulumi-resource-{PACKAGE}"
PYTHON_ENV = "SG_BITBUCKET_IAC_PYTHON"

_LAUNCHER = r"""#!/bin/sh
# __EXECUTABLE__ __VERSION__: the sgbitbucket Pulumi provider of an sg-bitbucket-iac installation.
# Written by `sg-bitbucket pulumi-plugin` (sg_bitbucket_iac/pulumi/native/plugin_archive.py); the same
# bytes on every machine. It runs the provider with the first Python that has sg-bitbucket-iac
# __VERSION__: $__PYTHON_ENV__, else the __EXECUTABLE__ console script on PATH, else python3 on PATH.
want="__VERSION__"
self="$(cd "$(dirname "$0")" && pwd -P)/$(basename "$0")"
seen=""

version_of() {
  "$1" -c 'import sys, sg_bitbucket_iac as p; sys.stdout.write(p.__version__)' 2>/dev/null
}

run_with() {  # run_with PYTHON ARGS...: exec the provider when PYTHON has the wanted version
  py="$1"
  shift
  [ -n "$py" ] && [ -x "$py" ] || return 0
  have="$(version_of "$py")" || { seen="$seen${seen:+, }$py (no sg_bitbucket_iac)"; return 0; }
  if [ "$have" = "$want" ]; then
    exec "$py" -P -m sg_bitbucket_iac.pulumi.native.server "$@"
  fi
  seen="$seen${seen:+, }$py ($have)"
}

python_of_script() {  # the Python a pip console script runs with
  dir="$(dirname "$1")"
  if [ -x "$dir/python" ]; then echo "$dir/python"; return; fi
  first="$(head -n 1 "$1")"
  case "$first" in
    '#!/bin/sh'*) sed -n "2s/^'''exec' '\{0,1\}\"\{0,1\}\([^\"' ]*\).*/\1/p" "$1" ;;
    '#!'*) echo "${first#\#!}" | cut -d ' ' -f 1 ;;
  esac
}

if [ -n "${__PYTHON_ENV__:-}" ]; then
  run_with "$__PYTHON_ENV__" "$@"
fi
IFS_SAVED="$IFS"
set -f
IFS=:
for dir in $PATH; do
  IFS="$IFS_SAVED"
  script="${dir:-.}/__EXECUTABLE__"
  if [ -f "$script" ] && [ -x "$script" ] && ! [ "$script" -ef "$self" ]; then
    run_with "$(python_of_script "$script")" "$@"
  fi
  IFS=:
done
IFS="$IFS_SAVED"
set +f
run_with "$(command -v python3 2>/dev/null)" "$@"

fix="install it (pip install 'sg-bitbucket-iac[pulumi]==__VERSION__') and activate its venv"
echo "__EXECUTABLE__ __VERSION__: no sg-bitbucket-iac __VERSION__ installation found${seen:+ (found: $seen)};" \
  "$fix, or set __PYTHON_ENV__ to its Python" >&2
exit 1
"""


def launcher(version: str = __version__) -> str:
    """The launcher script for ``version`` (identical on every machine)."""
    return (_LAUNCHER.replace("__EXECUTABLE__", EXECUTABLE).replace("__VERSION__", version)
            .replace("__PYTHON_ENV__", PYTHON_ENV))


def archive_name(version: str = __version__) -> str:
    return f"{EXECUTABLE}-v{version}.tar.gz"


def archive_bytes(version: str = __version__) -> bytes:
    """The tarball: one executable at its root, fixed metadata, gzip without name or time."""
    script = launcher(version).encode("utf-8")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(EXECUTABLE)
        info.size, info.mode, info.mtime = len(script), 0o755, 0
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(script))
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return packed.getvalue()


def write_archive(directory: str | os.PathLike[str], version: str = __version__) -> Path:
    """Write the tarball into ``directory`` (created if missing) atomically; its path."""
    folder = Path(directory).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / archive_name(version)
    partial = folder / f".{target.name}.partial-{os.getpid()}"
    try:
        with open(partial, "xb") as out:
            out.write(archive_bytes(version))
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def install_command(path: Path, version: str = __version__) -> str:
    return f"pulumi plugin install resource {PACKAGE} {version} --file {path}"
