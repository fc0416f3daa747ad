"""Installing the plugin the way Pulumi users install providers, under the real CLI.

* on PATH from `pip install` (the console script): the YAML tests run that way;
* `pulumi plugin install resource sgbitbucket VERSION --file TARBALL` from the tarball
  `sg-bitbucket pulumi-plugin` writes, with `PULUMI_IGNORE_AMBIENT_PLUGINS=true` so that the CLI
  uses only installed plugins. The tarball is the same bytes wherever it is written; its launcher
  (sg_bitbucket_iac/launcher.py, the Terraform mirror's) finds the installation at run time, and
  says in one line what to do when it cannot.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("pulumi")

from engines import require_engine
from native_harness import VENV_BIN, NativeProject, provider_config, seed

from sg_bitbucket_iac import __version__
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi.native.docs import EXAMPLES
from sg_bitbucket_iac.pulumi.native.plugin_archive import EXECUTABLE, archive_name, write_archive

pytestmark = pytest.mark.e2e

ORG = "acme"
API_KEY = "sgo_install_key"
TOKEN = "install-token-0123456789abcdef"
PROGRAM = EXAMPLES["yaml"][1]  # the docs' (and README's) YAML example, as it stands


@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    require_engine("pulumi-language-yaml", "the install checks run a YAML program")
    return require_engine("pulumi", "`pulumi plugin install` is the real CLI's")


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", "2026-01-15T00:00:00Z")
    with Emulator() as emulator:
        seed(emulator, {"api": TOKEN}, orgs={ORG: API_KEY})
        yield emulator


def _write_elsewhere(folder: Path) -> bytes:
    """`sg-bitbucket pulumi-plugin` run from another folder, with another HOME and TMPDIR."""
    home = folder / "home"
    home.mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "TMPDIR": str(folder), "PWD": str(folder)}
    subprocess.run([str(VENV_BIN / "sg-bitbucket"), "pulumi-plugin", "out"], cwd=folder, env=env, check=True,
                   capture_output=True, timeout=60)
    return (folder / "out" / archive_name()).read_bytes()


def test_the_tarball_is_the_same_wherever_it_is_written(tmp_path: Path) -> None:
    here = write_archive(tmp_path / "here").read_bytes()
    there = _write_elsewhere(tmp_path / "there")
    assert hashlib.sha256(here).hexdigest() == hashlib.sha256(there).hexdigest()
    import gzip

    unpacked = gzip.decompress(here)
    for local in (sys.prefix, str(Path.home()), str(tmp_path), os.uname().nodename):
        assert local.encode() not in unpacked, f"the tarball names this machine: {local}"


def test_plugin_install_from_the_tarball_with_ambient_plugins_ignored(
    pulumi_cli: Path, tmp_path: Path, emu: Emulator
) -> None:
    """One stack, the environment changed between runs (each new stack costs three CLI starts)."""
    project = NativeProject.create(pulumi_cli, tmp_path / "p", ambient=False)
    project.program(PROGRAM)
    project.init(provider_config(emu, ORG), {"sgbitbucket:apiKey": API_KEY, "bbApiToken": TOKEN})
    project.run("plugin", "install", "resource", "sgbitbucket", __version__, "--file",
                str(write_archive(tmp_path / "dist")))
    assert (project.root / "home" / "plugins" / f"resource-sgbitbucket-v{__version__}" / EXECUTABLE).is_file()
    path = project.env["PATH"]

    # no installation the launcher can find: one line that says what to do
    failed = project.fails("preview")
    assert f"sgbitbucket Pulumi provider {__version__}: cannot find pulumi-resource-sgbitbucket on PATH" \
        in failed.output
    assert "SG_BITBUCKET_IAC_PULUMI_PROVIDER to its path" in failed.output

    # nothing on PATH, the console script named explicitly
    project.env["SG_BITBUCKET_IAC_PULUMI_PROVIDER"] = str(VENV_BIN / EXECUTABLE)
    project.run("preview")
    del project.env["SG_BITBUCKET_IAC_PULUMI_PROVIDER"]

    # the venv's bin on PATH, ambient plugins ignored: the installed launcher runs, and finds the venv
    project.env["PATH"] = f"{VENV_BIN}:{path}"
    preview = project.run("preview")
    assert "using pulumi-resource-sgbitbucket from $PATH" not in preview.output
    project.run("up", "--yes")
    assert emu.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main")["Id"] == "bitbucket_main"
    assert project.outputs() == {"connectorId": "bitbucket_main"}

    # a program that asks for another version: that tarball's launcher finds this installation, which refuses
    project.run("plugin", "install", "resource", "sgbitbucket", "9.9.9", "--file",
                str(write_archive(tmp_path / "dist", version="9.9.9")))
    project.program(PROGRAM.replace("      apiToken: ${bbApiToken}\n",
                                    "      apiToken: ${bbApiToken}\n    options:\n      version: 9.9.9\n"))
    failed = project.fails("preview")
    assert "pulumi-resource-sgbitbucket: the engine selected version 9.9.9, but the installation it found" \
        in failed.output
    assert f"is {__version__};" in failed.output  # what it found instead
