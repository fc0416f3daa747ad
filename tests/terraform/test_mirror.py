"""`sg-bitbucket terraform-mirror DIR`: the unpacked layout Terraform and OpenTofu install from.

The mirror is the same bytes on every machine for one version (a committed lock file verifies
everywhere), its launcher finds the installation at run time in a documented order, and the folder
is written without ever following a link or trusting a folder other users can change. The real
engines run the same mirror in tests/e2e/test_terraform_lockfile.py.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from sg_bitbucket_iac import __version__
from sg_bitbucket_iac.cli.app import main
from sg_bitbucket_iac.errors import ConfigurationError
from sg_bitbucket_iac.launcher import LAUNCHED_VERSION_ENV, PluginLauncher, console_script_path, version_mismatch
from sg_bitbucket_iac.private_folder import UnsafeFolderError
from sg_bitbucket_iac.terraform import mirror

HOSTS = ("registry.terraform.io", "registry.opentofu.org")


def package_folders(root: Path, version: str = __version__) -> list[Path]:
    target = mirror.platform_target()
    return [root / host / "stackguardian" / "sgbitbucket" / version / target for host in HOSTS]


def h1(folder: Path) -> str:
    """Terraform's `h1:` package hash (golang.org/x/mod/sumdb/dirhash Hash1) of an unpacked package."""
    lines = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        lines.append(f"{digest}  {path.relative_to(folder).as_posix()}\n")
    return "h1:" + base64.b64encode(hashlib.sha256("".join(lines).encode()).digest()).decode()


# --------------------------------------------------------------------------- layout and output
def test_the_mirror_holds_one_launcher_per_registry_at_the_package_version(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["terraform-mirror", str(tmp_path / "m"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = [folder / "terraform-provider-sgbitbucket" for folder in package_folders(tmp_path / "m")]
    assert [Path(p) for p in report["executables"]] == expected
    assert report["version"] == __version__ and report["providers"] == [f"{h}/stackguardian/sgbitbucket" for h in HOSTS]
    for executable in expected:
        assert executable.stat().st_mode & stat.S_IXUSR
        assert executable.read_text() == mirror.launcher()
    assert f'path    = "{tmp_path / "m"}"' in report["cli_config"]
    assert "filesystem_mirror" in report["cli_config"] and "dev_overrides" not in report["cli_config"]
    # Rewriting is idempotent and leaves nothing but the launcher (Terraform hashes the whole folder).
    assert main(["terraform-mirror", str(tmp_path / "m")]) == 0
    out = capsys.readouterr().out
    assert "terraform init" in out and "TF_CLI_CONFIG_FILE" in out and "~/.tofurc" in out
    assert "TOFU_CLI_CONFIG_FILE" not in out  # OpenTofu ignores it
    assert sorted(p.name for p in expected[0].parent.iterdir()) == ["terraform-provider-sgbitbucket"]


def test_the_mirror_names_no_path_of_this_machine_so_every_copy_hashes_the_same(tmp_path: Path) -> None:
    first = mirror.write_mirror(tmp_path / "alice" / "mirror")
    second = mirror.write_mirror(tmp_path / "bob" / "elsewhere")
    text = first.executables[0].read_text()
    for local in (str(Path.home()), str(Path(sys.executable).parent), str(tmp_path)):
        assert local not in text
    hashes = {h1(executable.parent) for executable in (*first.executables, *second.executables)}
    assert len(hashes) == 1
    # Another version is another file (and hash); both versions stay side by side.
    mirror.write_mirror(tmp_path / "alice" / "mirror", version="0.1.1")
    old = package_folders(tmp_path / "alice" / "mirror")[0]
    new = package_folders(tmp_path / "alice" / "mirror", "0.1.1")[0]
    assert h1(old) in hashes and h1(new) not in hashes
    assert "SG_BITBUCKET_IAC_LAUNCHED_VERSION=0.1.1\n" in (new / "terraform-provider-sgbitbucket").read_text()


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


def test_the_output_warns_when_terraform_would_not_find_this_installation(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv(mirror.OVERRIDE_ENV, raising=False)
    assert main(["terraform-mirror", str(tmp_path / "m")]) == 0
    captured = capsys.readouterr()
    ours = mirror.installed_console_script()
    assert f"put {ours.parent} on PATH" in captured.err and f"{mirror.OVERRIDE_ENV}={ours}" in captured.err
    monkeypatch.setenv("PATH", f"{ours.parent}:/usr/bin:/bin")
    assert main(["terraform-mirror", str(tmp_path / "m"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["warnings"] == [] and report["launcher_finds"] == str(ours)


# --------------------------------------------------------------------------- the launcher at run time
def fake_installation(folder: Path, name: str = "terraform-provider-sgbitbucket") -> Path:
    """A console script that says where it is and which version the launcher asked for."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(f'#!/bin/sh\necho "ran {folder} launched=${LAUNCHED_VERSION_ENV} args=$*"\n')
    script.chmod(0o755)
    return script


def run_launcher(launcher: Path, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(launcher), "-x", "y z"], capture_output=True, text=True, timeout=30,
                          env={"PATH": path, **env})


@pytest.fixture
def launcher_file(tmp_path: Path) -> Path:
    (executable, _) = mirror.write_mirror(tmp_path / "mirror").executables
    return executable


def test_the_launcher_runs_the_first_console_script_on_path_with_the_version_it_serves(
        launcher_file: Path, tmp_path: Path) -> None:
    first, second = fake_installation(tmp_path / "a" / "bin"), fake_installation(tmp_path / "b" / "bin")
    result = run_launcher(launcher_file, f"{first.parent}:{second.parent}:/usr/bin:/bin")
    assert result.returncode == 0, result
    assert result.stdout == f"ran {first.parent} launched={__version__} args=-x y z\n"


def test_the_environment_variable_wins_over_path(launcher_file: Path, tmp_path: Path) -> None:
    on_path, chosen = fake_installation(tmp_path / "a" / "bin"), fake_installation(tmp_path / "b" / "bin")
    result = run_launcher(launcher_file, f"{on_path.parent}:/usr/bin:/bin", **{mirror.OVERRIDE_ENV: str(chosen)})
    assert result.stdout.startswith(f"ran {chosen.parent} ")


def test_relative_path_entries_and_other_launchers_are_skipped(launcher_file: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """`.` in PATH would run a file of Terraform's working directory; a mirror folder on PATH would start
    its own launcher again and again."""
    fake_installation(tmp_path / "work")  # in the working directory
    real = fake_installation(tmp_path / "venv" / "bin")
    path = f".:work:{launcher_file.parent}::{real.parent}:/usr/bin:/bin"
    result = subprocess.run([str(launcher_file)], capture_output=True, text=True, timeout=30, cwd=tmp_path / "work",
                            env={"PATH": path})
    assert result.stdout.startswith(f"ran {real.parent} ")
    monkeypatch.setenv("PATH", path)
    monkeypatch.chdir(tmp_path / "work")
    assert console_script_path("terraform-provider-sgbitbucket") == str(real)  # the CLI's hint agrees


def test_without_an_installation_the_launcher_says_what_to_run_in_one_line(launcher_file: Path,
                                                                           tmp_path: Path) -> None:
    result = run_launcher(launcher_file, "/usr/bin:/bin")
    assert result.returncode == 1 and result.stderr == ""
    assert result.stdout.count("\n") == 1
    assert result.stdout == (
        f"sgbitbucket provider {__version__}: cannot find terraform-provider-sgbitbucket on PATH. Install it with "
        f"`pip install 'sg-bitbucket-iac[terraform]=={__version__}'` and put its bin folder on PATH (activate its "
        "venv), or set SG_BITBUCKET_IAC_TERRAFORM_PROVIDER to its path\n")
    bad = run_launcher(launcher_file, "/usr/bin:/bin", **{mirror.OVERRIDE_ENV: str(tmp_path / "nothing $(here)")})
    assert bad.returncode == 1 and bad.stdout.count("\n") == 1
    assert f"SG_BITBUCKET_IAC_TERRAFORM_PROVIDER={tmp_path / 'nothing $(here)'} is not the executable" in bad.stdout


def test_the_launcher_starts_this_installations_provider(launcher_file: Path) -> None:
    """The real console script behind the launcher answers with the go-plugin handshake line."""
    ours = mirror.installed_console_script()
    process = subprocess.Popen([str(launcher_file)], stdout=subprocess.PIPE, text=True, start_new_session=True,
                               env={"PATH": f"{ours.parent}:/usr/bin:/bin", "HOME": str(launcher_file.parent)})
    try:
        assert process.stdout is not None
        handshake = process.stdout.readline()
    finally:
        os.killpg(process.pid, 9)
        process.wait()
    assert handshake.startswith("1|6|unix|") and "|grpc|" in handshake


def test_the_provider_refuses_to_serve_as_another_version_than_the_engine_selected(
        tmp_path: Path) -> None:
    ours = mirror.installed_console_script()
    result = subprocess.run([str(ours)], capture_output=True, text=True, timeout=60,
                            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), LAUNCHED_VERSION_ENV: "9.9.9"})
    assert result.returncode == 1 and result.stdout.count("\n") == 1
    assert result.stdout.startswith("terraform-provider-sgbitbucket: the engine selected version 9.9.9, but the "
                                    f"installation it found ({ours.resolve()}) is {__version__};")
    assert "terraform init -upgrade" in result.stdout


def test_version_mismatch_compares_and_forgets_the_launched_version() -> None:
    environ = {LAUNCHED_VERSION_ENV: "1.0.0"}
    assert version_mismatch("1.0.0", "x", "fix it", environ) is None and environ == {}
    assert version_mismatch("1.0.0", "x", "fix it", {}) is None  # started without a launcher
    line = version_mismatch("1.0.1", "x", "fix it", {LAUNCHED_VERSION_ENV: "1.0.0"})
    assert line is not None and "selected version 1.0.0" in line and line.endswith("is 1.0.1; fix it")


@pytest.mark.parametrize("field, value", [("console_script", "a b"), ("version", "1.0;rm"),
                                          ("override_env", "lower-case"), ("title", "two\nlines")])
def test_the_launcher_refuses_values_that_would_need_shell_quoting(field: str, value: str) -> None:
    good = {"title": "t", "console_script": "c", "override_env": "E", "version": "1.0.0",
            "install_hint": "pip install 'x'", "written_by": "w"}
    with pytest.raises(ValueError):
        PluginLauncher(**{**good, field: value})


# --------------------------------------------------------------------------- the folder (issue 21)
def test_a_file_is_refused_as_the_mirror_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file").write_text("mine")
    assert main(["terraform-mirror", str(tmp_path / "file")]) == 1
    assert f"{tmp_path / 'file'} is a file, not a folder" in capsys.readouterr().err
    assert (tmp_path / "file").read_text() == "mine"
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "registry.terraform.io").write_text("in the way")
    with pytest.raises(UnsafeFolderError, match=re.escape("registry.terraform.io is a file, not a folder")):
        mirror.write_mirror(tmp_path / "dir")


def test_a_new_mirror_folder_is_private(tmp_path: Path) -> None:
    mirror.write_mirror(tmp_path / "new" / "mirror")
    assert stat.S_IMODE((tmp_path / "new" / "mirror").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700  # created for it: private too


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o757])
def test_a_folder_others_can_write_to_is_refused_unless_the_flag_says_so(
        tmp_path: Path, mode: int, capsys: pytest.CaptureFixture[str]) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    assert main(["terraform-mirror", str(shared)]) == 1
    err = capsys.readouterr().err
    assert f"{shared} can be written by other users" in err and "--allow-writable-by-others" in err
    assert list(shared.iterdir()) == []  # nothing written
    assert main(["terraform-mirror", str(shared), "--allow-writable-by-others"]) == 0
    assert (package_folders(shared)[0] / "terraform-provider-sgbitbucket").is_file()


def test_an_ancestor_others_can_write_to_is_refused_unless_it_is_sticky(tmp_path: Path) -> None:
    """Whoever can write to a folder above the mirror can rename the mirror away and put another in its place;
    a sticky folder (like /tmp) forbids renaming other users' entries."""
    parent = tmp_path / "parent"
    (parent / "mirror").mkdir(parents=True)
    parent.chmod(0o777)
    with pytest.raises(UnsafeFolderError, match=re.escape(f"{parent} can be written by other users")):
        mirror.write_mirror(parent / "mirror")
    parent.chmod(0o1777)
    mirror.write_mirror(parent / "mirror")


def test_a_folder_of_another_user_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "theirs"
    folder.mkdir()
    if os.geteuid() == 0:
        os.chown(folder, 4242, 4242)
    else:  # only root can give a folder away: be someone else instead
        real = os.geteuid()
        monkeypatch.setattr(os, "geteuid", lambda: real + 4242)
    with pytest.raises(UnsafeFolderError, match=re.escape(str(folder)) + " belongs to .*who could replace"):
        mirror.write_mirror(folder)
    mirror.write_mirror(folder, allow_writable_by_others=True)


def test_links_inside_the_mirror_are_never_followed(tmp_path: Path) -> None:
    """A link planted where a mirror folder or the executable belongs: nothing is written through it."""
    victim = tmp_path / "victim"
    victim.mkdir()
    root = tmp_path / "mirror"
    root.mkdir()
    (root / "registry.terraform.io").symlink_to(victim)
    with pytest.raises(UnsafeFolderError, match=re.escape("registry.terraform.io is a link")):
        mirror.write_mirror(root)
    assert list(victim.iterdir()) == []
    (root / "registry.terraform.io").unlink()

    folder = package_folders(root)[0]
    mirror.write_mirror(root)
    target = tmp_path / "victim" / "bashrc"
    target.write_text("precious")
    executable = folder / "terraform-provider-sgbitbucket"
    executable.unlink()
    executable.symlink_to(target)
    mirror.write_mirror(root)
    assert target.read_text() == "precious"
    assert not executable.is_symlink() and executable.read_text() == mirror.launcher()


def test_the_executable_is_replaced_whole_and_leftovers_of_an_interrupted_write_go(tmp_path: Path) -> None:
    mirror.write_mirror(tmp_path)
    folder = package_folders(tmp_path)[0]
    executable = folder / "terraform-provider-sgbitbucket"
    before = executable.stat().st_ino
    (folder / ".terraform-provider-sgbitbucket.0123456789ab.tmp").write_text("half")
    (folder / ".terraform-provider-sgbitbucket.tmp").write_text("half, older writer")
    mirror.write_mirror(tmp_path)
    assert executable.stat().st_ino != before  # a new file renamed into place, never rewritten in place
    assert [p.name for p in folder.iterdir()] == ["terraform-provider-sgbitbucket"]


def test_anything_else_in_the_package_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    mirror.write_mirror(tmp_path)
    folder = package_folders(tmp_path)[0]
    (folder / "notes.txt").write_text("someone's")
    with pytest.raises(UnsafeFolderError, match=re.escape("holds notes.txt besides the provider; Terraform hashes")):
        mirror.write_mirror(tmp_path)
    assert (folder / "notes.txt").read_text() == "someone's"
