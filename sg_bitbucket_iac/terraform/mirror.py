"""An unpacked filesystem mirror of this provider, for `terraform init` / `tofu init`, the same on every machine.

Terraform and OpenTofu install providers from a `filesystem_mirror` laid out as
``HOST/NAMESPACE/TYPE/VERSION/OS_ARCH/terraform-provider-TYPE*`` ("unpacked" layout), record them in
`.terraform.lock.hcl` (an ``h1:`` hash of that folder) and then start them like any provider: no
`dev_overrides`, so no "development overrides are in effect" warning. The same configuration's
``source = "stackguardian/sgbitbucket"`` means registry.terraform.io for Terraform and
registry.opentofu.org for OpenTofu, so the mirror holds both.

The package folder holds one file, the launcher of sg_bitbucket_iac/launcher.py: it names no path
of this machine, so every mirror of one package version hashes the same and a committed lock file
verifies on every machine (and every OS: ``h1:`` hashes names and contents, not the platform). It
finds the `terraform-provider-sgbitbucket` console script when Terraform starts it
(``$SG_BITBUCKET_IAC_TERRAFORM_PROVIDER``, else PATH), and the console script refuses to serve as
another version than the one Terraform selected. The folder is written by
sg_bitbucket_iac/private_folder.py: never through a link, never into a folder others can change.
Nothing here imports `tf`.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..errors import ConfigurationError
from ..launcher import PluginLauncher, console_script_path
from ..private_folder import UnsafeFolderError, is_temporary, open_private_folder, write_file
from . import PROVIDER_NAME

NAMESPACE = "stackguardian"
REGISTRY_HOSTS = ("registry.terraform.io", "registry.opentofu.org")
PROVIDER_SOURCES = tuple(f"{host}/{NAMESPACE}/{PROVIDER_NAME}" for host in REGISTRY_HOSTS)
EXECUTABLE = f"terraform-provider-{PROVIDER_NAME}"  # the mirror's launcher and the console script alike
OVERRIDE_ENV = "SG_BITBUCKET_IAC_TERRAFORM_PROVIDER"
ALLOW_FLAG = "--allow-writable-by-others"
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


def provider_launcher(version: str = __version__) -> PluginLauncher:
    return PluginLauncher(
        title=f"sgbitbucket provider {version}",
        console_script=EXECUTABLE,
        override_env=OVERRIDE_ENV,
        version=version,
        install_hint=f"pip install 'sg-bitbucket-iac[terraform]=={version}'",
        written_by="sg-bitbucket terraform-mirror",
    )


def launcher(version: str = __version__) -> str:
    """The executable's text: the same for every installation of `version`."""
    return provider_launcher(version).script()


def installed_console_script() -> Path:
    """This installation's `terraform-provider-sgbitbucket` (the folder pip put its console scripts in)."""
    return Path(sysconfig.get_path("scripts")) / EXECUTABLE


def launcher_would_run(environ: dict[str, str] | None = None) -> str | None:
    """What a launcher started now with this environment would run (None: it would say it found nothing)."""
    env = dict(os.environ if environ is None else environ)
    override = env.get(OVERRIDE_ENV)
    if override:
        return override
    return console_script_path(EXECUTABLE, env)


def write_mirror(directory: str | os.PathLike[str], *, version: str = __version__,
                 allow_writable_by_others: bool = False) -> Mirror:
    """Write (or rewrite) the mirror under `directory`; other versions already there are kept.

    `version` is the package's own except in tests that rehearse an upgrade.
    """
    if os.name != "posix" or not os.supports_dir_fd >= {os.open, os.mkdir, os.rename}:
        raise ConfigurationError("terraform-mirror writes a POSIX shell launcher and needs a POSIX system (Linux, "
                                 "macOS, WSL); elsewhere, run the provider through dev_overrides")
    root = Path(directory).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise UnsafeFolderError(f"{root} is a file, not a folder; name a folder for the mirror (it is created if "
                                "missing)")
    version, target = provider_version(version), platform_target()
    text = launcher(version).encode()
    written = []
    for source in PROVIDER_SOURCES:
        with open_private_folder(root, (*source.split("/"), version, target),
                                 allow_writable_by_others=allow_writable_by_others, flag=ALLOW_FLAG) as folder:
            _clear_package_folder(folder, root / source / version / target)
            write_file(folder, EXECUTABLE, text, 0o755)
        written.append(root / source / version / target / EXECUTABLE)
    return Mirror(root, version, target, tuple(written))


def _clear_package_folder(folder: int, where: Path) -> None:
    """Terraform hashes the whole package folder: leftovers of an interrupted write go, anything else is an error."""
    strangers = []
    for entry in os.listdir(folder):
        if entry == EXECUTABLE:
            continue
        if is_temporary(entry, EXECUTABLE):
            os.unlink(entry, dir_fd=folder)
        else:
            strangers.append(entry)
    if strangers:
        raise UnsafeFolderError(
            f"{where} holds {', '.join(sorted(strangers))} besides the provider; Terraform hashes the whole folder, "
            "so the lock file would not match other machines: remove it and run terraform-mirror again")
