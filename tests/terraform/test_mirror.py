"""`sg-bitbucket terraform-mirror DIR`: the unpacked layout Terraform and OpenTofu install from."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from sg_bitbucket_iac import __version__
from sg_bitbucket_iac.cli.app import main
from sg_bitbucket_iac.errors import ConfigurationError
from sg_bitbucket_iac.terraform import mirror


def test_the_mirror_holds_one_executable_per_registry_at_the_package_version(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["terraform-mirror", str(tmp_path / "m"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    target = mirror.platform_target()
    expected = [tmp_path / "m" / host / "stackguardian" / "sgbitbucket" / __version__ / target /
                "terraform-provider-sgbitbucket" for host in ("registry.terraform.io", "registry.opentofu.org")]
    assert [Path(p) for p in report["executables"]] == expected
    assert report["version"] == __version__ and report["providers"] == [
        "registry.terraform.io/stackguardian/sgbitbucket", "registry.opentofu.org/stackguardian/sgbitbucket"]
    for executable in expected:
        assert executable.stat().st_mode & stat.S_IXUSR
        text = executable.read_text()
        assert text.startswith("#!/bin/sh\n")
        assert f"exec {sys.executable} -P -m sg_bitbucket_iac.terraform.main \"$@\"" in text
    assert f'path    = "{tmp_path / "m"}"' in report["cli_config"]
    assert "filesystem_mirror" in report["cli_config"] and "dev_overrides" not in report["cli_config"]
    # Rewriting is idempotent and leaves no temporary file behind.
    assert main(["terraform-mirror", str(tmp_path / "m")]) == 0
    assert "terraform init" in capsys.readouterr().out
    assert sorted(p.name for p in expected[0].parent.iterdir()) == ["terraform-provider-sgbitbucket"]


def test_the_launcher_quotes_an_unusual_python_path() -> None:
    text = mirror.launcher("/opt/my venv/bin/python")
    assert "exec '/opt/my venv/bin/python' -P -m" in text


def test_the_cli_config_escapes_hcl_in_the_path(tmp_path: Path) -> None:
    odd = mirror.Mirror(Path('/tmp/a "b" ${c}'), "0.1.0", "linux_amd64", ())
    assert 'path    = "/tmp/a \\"b\\" $${c}"' in odd.cli_config()


def test_only_semantic_versions_can_be_mirrored() -> None:
    assert mirror.provider_version("1.2.3") == "1.2.3"
    assert mirror.provider_version("1.2.3-rc.1") == "1.2.3-rc.1"
    with pytest.raises(ConfigurationError, match="semantic version"):
        mirror.provider_version("0.1.0.dev3")


def test_platform_names_follow_terraform(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mirror.platform, "machine", lambda: "aarch64")
    monkeypatch.setattr(mirror.sys, "platform", "darwin")
    assert mirror.platform_target() == "darwin_arm64"
    monkeypatch.setattr(mirror.platform, "machine", lambda: "sparc64")
    with pytest.raises(ConfigurationError, match="unsupported machine"):
        mirror.platform_target()


@pytest.mark.skipif(os.name != "posix", reason="the launcher is a POSIX shell script")
def test_the_launcher_runs_this_installations_provider(tmp_path: Path) -> None:
    import subprocess

    (executable, _) = mirror.write_mirror(tmp_path).executables
    # `--help` is not a provider flag: tf prints the handshake only when started by Terraform, so ask
    # Python itself through the launcher's interpreter line instead.
    interpreter = executable.read_text().splitlines()[-1].split()[1]
    probe = subprocess.run([interpreter, "-P", "-c", "import sg_bitbucket_iac.terraform.main as m; print(m.__file__)"],
                           capture_output=True, text=True, timeout=60, check=True)
    assert Path(probe.stdout.strip()).resolve() == Path(mirror.__file__).with_name("main.py").resolve()
