"""The plugin tarball: the same bytes everywhere, and a launcher that finds the installation at run time."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from sg_bitbucket_iac import __version__
from sg_bitbucket_iac.launcher import LAUNCHED_VERSION_ENV, LAUNCHER_MARKER
from sg_bitbucket_iac.pulumi.native import plugin_archive

VENV_BIN = Path(sys.executable).parent


def unpack(tmp_path: Path, version: str = __version__) -> Path:
    with tarfile.open(fileobj=io.BytesIO(plugin_archive.archive_bytes(version)), mode="r:gz") as tar:
        assert tar.getnames() == ["pulumi-resource-sgbitbucket"]
        member = tar.getmember("pulumi-resource-sgbitbucket")
        assert (member.mode, member.mtime, member.uid, member.uname) == (0o755, 0, 0, "")
        tar.extractall(tmp_path, filter="data")
    return tmp_path / "pulumi-resource-sgbitbucket"


def launch(launcher: Path, *args: str, path: str = "/usr/bin:/bin", **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(launcher), *args], env={"PATH": path, "HOME": str(launcher.parent), **env},
                          capture_output=True, text=True, timeout=120, check=False)


def test_the_archive_is_deterministic_and_written_atomically(tmp_path: Path) -> None:
    assert plugin_archive.archive_bytes() == plugin_archive.archive_bytes()
    written = plugin_archive.write_archive(tmp_path / "new")
    assert written.name == f"pulumi-resource-sgbitbucket-v{__version__}.tar.gz"
    assert written.read_bytes() == plugin_archive.archive_bytes()
    assert os.listdir(tmp_path / "new") == [written.name]


def test_the_archive_holds_the_shared_plugin_launcher() -> None:
    """The launcher of sg_bitbucket_iac/launcher.py (the Terraform mirror's), for this provider: one implementation."""
    script = plugin_archive.plugin_launcher().script()
    assert script.splitlines()[1] == LAUNCHER_MARKER
    assert f"{LAUNCHED_VERSION_ENV}={__version__}" in script and plugin_archive.OVERRIDE_ENV in script


def test_the_launcher_runs_the_named_console_script(tmp_path: Path) -> None:
    done = launch(unpack(tmp_path), "--version",
                  SG_BITBUCKET_IAC_PULUMI_PROVIDER=str(VENV_BIN / "pulumi-resource-sgbitbucket"))
    assert done.returncode == 0 and done.stdout.strip() == f"sgbitbucket {__version__}", done.stderr


def test_the_launcher_finds_the_console_script_on_path(tmp_path: Path) -> None:
    done = launch(unpack(tmp_path), "--version", path=f"{VENV_BIN}:/usr/bin:/bin")
    assert done.returncode == 0 and done.stdout.strip() == f"sgbitbucket {__version__}", done.stderr


def test_the_launcher_says_what_to_do_when_it_finds_nothing(tmp_path: Path) -> None:
    done = launch(unpack(tmp_path), "--version")
    assert done.returncode == 1
    (line,) = done.stdout.strip().splitlines()  # stdout: the Pulumi CLI quotes what it read there
    assert line.startswith(f"sgbitbucket Pulumi provider {__version__}: cannot find pulumi-resource-sgbitbucket")
    assert f"pip install 'sg-bitbucket-iac[pulumi]=={__version__}'" in line
    assert "SG_BITBUCKET_IAC_PULUMI_PROVIDER" in line


def test_an_installation_of_another_version_refuses_in_one_line(tmp_path: Path) -> None:
    done = launch(unpack(tmp_path, "9.9.9"), "--version", path=f"{VENV_BIN}:/usr/bin:/bin")
    assert done.returncode == 1
    (line,) = done.stdout.strip().splitlines()
    assert line.startswith("pulumi-resource-sgbitbucket: the engine selected version 9.9.9, but the installation")
    assert f"is {__version__}; install sg-bitbucket-iac[pulumi] at the selected version" in line


def test_the_cli_command_prints_the_install_command(tmp_path: Path) -> None:
    done = subprocess.run([str(VENV_BIN / "sg-bitbucket"), "pulumi-plugin", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert f"pulumi plugin install resource sgbitbucket {__version__} --file {tmp_path}" in done.stdout
