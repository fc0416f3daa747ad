"""A plugin tarball for `pulumi plugin install resource sgbitbucket VERSION --file TARBALL`.

Pulumi installs a resource plugin from a ``.tar.gz`` whose root holds the executable
``pulumi-resource-sgbitbucket``; the CLI then finds it in its plugin cache by name and version,
with no plugin on ``PATH`` (``PULUMI_IGNORE_AMBIENT_PLUGINS=true`` makes the CLI use only such
installed plugins).

The tarball must be the same on every machine for one package version (a team shares it, a CI
cache keys on it), so nothing in it names this machine: the executable is the plugin launcher of
sg_bitbucket_iac/launcher.py, the one the Terraform mirror uses. It runs, when Pulumi starts it,
``$SG_BITBUCKET_IAC_PULUMI_PROVIDER`` (the path of the console script) if set, else the
``pulumi-resource-sgbitbucket`` console script in PATH's absolute folders; the console script
refuses to serve as another version than the tarball's (:mod:`.server`). Whatever it cannot find
or does not match is one line on stdout, which the Pulumi CLI quotes ("wrote an invalid port to
stdout: ... parsing "<the line>"") instead of a bare "could not read plugin". The archive is
written byte for byte the same (fixed times, owners and modes, gzip without a name or time), by
sg_bitbucket_iac/private_folder.py's writer: atomically, never through a link. Not with its
ownership checks: Pulumi runs the plugin from its own plugin cache, never from this folder.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

from ... import __version__
from ...launcher import PluginLauncher
from ...private_folder import open_private_folder, write_file
from . import PACKAGE

EXECUTABLE = f"pulumi-resource-{PACKAGE}"
OVERRIDE_ENV = "SG_BITBUCKET_IAC_PULUMI_PROVIDER"
# Said by the console script when the tarball's launcher selected another version than the installation's.
VERSION_REMEDY = ("install sg-bitbucket-iac[pulumi] at the selected version where the launcher finds it (PATH, or "
                  f"{OVERRIDE_ENV}), or install this installation's own tarball (`sg-bitbucket pulumi-plugin DIR`, "
                  "then `pulumi plugin install`) and ask for its version")


def plugin_launcher(version: str = __version__) -> PluginLauncher:
    return PluginLauncher(
        title=f"{PACKAGE} Pulumi provider {version}",
        console_script=EXECUTABLE,
        override_env=OVERRIDE_ENV,
        version=version,
        install_hint=f"pip install 'sg-bitbucket-iac[pulumi]=={version}'",
        written_by="sg-bitbucket pulumi-plugin",
    )


def archive_name(version: str = __version__) -> str:
    return f"{EXECUTABLE}-v{version}.tar.gz"


def archive_bytes(version: str = __version__) -> bytes:
    """The tarball: one executable at its root, fixed metadata, gzip without name or time."""
    script = plugin_launcher(version).script().encode("utf-8")
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
    """Write the tarball into ``directory`` (created if missing); its path."""
    folder = Path(directory).expanduser().resolve()
    with open_private_folder(folder, allow_writable_by_others=True) as descriptor:
        write_file(descriptor, archive_name(version), archive_bytes(version), 0o644)
    return folder / archive_name(version)


def install_command(path: Path, version: str = __version__) -> str:
    return f"pulumi plugin install resource {PACKAGE} {version} --file {path}"
