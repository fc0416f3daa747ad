"""An unpacked filesystem mirror of this installation's provider, for `terraform init` / `tofu init`.

Terraform and OpenTofu install providers from a `filesystem_mirror` laid out as
``HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE*`` ("unpacked" layout), record them in
`.terraform.lock.hcl` (an ``h1:`` hash of that folder) and then start them like any provider: no
`dev_overrides`, so no "development overrides are in effect" warning. The same configuration's
``source = "stackguardian/sgbitbucket"`` means registry.terraform.io for Terraform and
registry.opentofu.org for OpenTofu, so the mirror holds both.

The executable is a two-line shell script that runs this installation's Python on the provider's
entry point: a mirror works on the machine (and with the venv) that wrote it, like the pip
console script does. `-P` keeps Terraform's working directory off `sys.path`, so a stray `tf.py`
next to a configuration cannot replace a module of ours. Nothing here imports `tf`.
"""

from __future__ import annotations

import os
import platform
import re
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import ConfigurationError
from . import PROVIDER_NAME

NAMESPACE = "stackguardian"
REGISTRY_HOSTS = ("registry.terraform.io", "registry.opentofu.org")
PROVIDER_SOURCES = tuple(f"{host}/{NAMESPACE}/{PROVIDER_NAME}" for host in REGISTRY_HOSTS)
EXECUTABLE = f"terraform-provider-{PROVIDER_NAME}"
ENTRY_MODULE = "sg_bitbucket_iac.terraform.main"
# Terraform's GOARCH names for what `platform.machine()` reports.
_ARCH = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64", "i386": "386",
         "i686": "386", "armv7l": "arm", "armv6l": "arm"}
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$")


@dataclass(frozen=True)
class Mirror:
    """What was written: the folder to name in `filesystem_mirror`, and one executable per registry host."""

    path: Path
    version: str
    target: str
    executables: tuple[Path, ...]

    def cli_config(self) -> str:
        """The `provider_installation` block that makes `init` take sgbitbucket from this mirror."""
        sources = ", ".join(f'"{source}"' for source in PROVIDER_SOURCES)
        return (
            "provider_installation {\n"
            "  filesystem_mirror {\n"
            f"    path    = {_hcl_string(str(self.path))}\n"
            f"    include = [{sources}]\n"
            "  }\n"
            "  direct {\n"
            f"    exclude = [{sources}]\n"
            "  }\n"
            "}\n"
        )


def _hcl_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("${", "$${").replace("%{", "%%{")
    return f'"{escaped}"'


def platform_target() -> str:
    """`linux_amd64`, `darwin_arm64`, ...: the folder Terraform looks in for this machine."""
    machine = platform.machine().lower()
    arch = _ARCH.get(machine)
    if arch is None:
        raise ConfigurationError(f"unsupported machine type {machine!r} for a Terraform provider mirror")
    return f"{sys.platform.replace('win32', 'windows')}_{arch}"


def provider_version(version: str = __version__) -> str:
    """The package version, which must be a semantic version for Terraform to accept it."""
    if not _SEMVER.match(version):
        raise ConfigurationError(
            f"package version {version!r} is not a semantic version (MAJOR.MINOR.PATCH), which Terraform "
            "requires of a provider version; install a release build of sg-bitbucket-iac")
    return version


def launcher(python: str = sys.executable) -> str:
    """The executable's text: this Python, the provider's entry point, Terraform's arguments."""
    return (
        "#!/bin/sh\n"
        f"# sgbitbucket provider {__version__}, written by `sg-bitbucket terraform-mirror`: runs the provider\n"
        "# of the installation below. Rerun that command after moving or recreating it.\n"
        f'exec {shlex.quote(python)} -P -m {ENTRY_MODULE} "$@"\n'
    )


def write_mirror(directory: str | os.PathLike[str], python: str = sys.executable) -> Mirror:
    """Write (or rewrite) the mirror under `directory`; other versions already there are kept."""
    root = Path(directory).expanduser().resolve()
    version, target = provider_version(), platform_target()
    text = launcher(python)
    written = []
    for source in PROVIDER_SOURCES:
        folder = root / source / version / target
        folder.mkdir(parents=True, exist_ok=True)
        executable = folder / EXECUTABLE
        temporary = folder / f".{EXECUTABLE}.tmp"
        temporary.write_text(text)
        temporary.chmod(0o755)
        temporary.replace(executable)  # atomic: a concurrent `init` never hashes half a file
        written.append(executable)
    return Mirror(root, version, target, tuple(written))
