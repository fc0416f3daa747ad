"""The plugin tarball: the same bytes everywhere, and a launcher that finds the installation at run time."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from sg_bitbucket_iac import __version__
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


def test_the_launcher_runs_the_named_python(tmp_path: Path) -> None:
    done = launch(unpack(tmp_path), "--version", SG_BITBUCKET_IAC_PYTHON=sys.executable)
    assert done.returncode == 0 and done.stdout.strip() == f"sgbitbucket {__version__}", done.stderr


def test_the_launcher_finds_the_console_script_on_path(tmp_path: Path) -> None:
    done = launch(unpack(tmp_path), "--version", path=f"{VENV_BIN}:/usr/bin:/bin")
    assert done.returncode == 0 and done.stdout.strip() == f"sgbitbucket {__version__}", done.stderr


def test_the_launcher_says_what_to_do_when_it_finds_nothing(tmp_path: Path) -> None:
    done = launch(unpack(tmp_path, "9.9.9"), "--version", path=f"{VENV_BIN}:/usr/bin:/bin")
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "no sg-bitbucket-iac 9.9.9 installation found" in lines[0]
    assert f"({__version__})" in lines[0] and "pip install 'sg-bitbucket-iac[pulumi]==9.9.9'" in lines[0]


def test_the_cli_command_prints_the_install_command(tmp_path: Path) -> None:
    done = subprocess.run([str(VENV_BIN / "sg-bitbucket"), "pulumi-plugin", str(tmp_path), "--json"],
                          capture_output=True, text=True, timeout=60, check=True)
    assert f"pulumi plugin install resource sgbitbucket {__version__} --file {tmp_path}" in done.stdout
