"""One `.terraform.lock.hcl` for a team: two installations at different paths, two mirrors, on every engine.

Alice and Bob each install sg-bitbucket-iac in a venv of their own (Bob's is a second venv at
another path, built from a copy of this checkout) and each write a mirror with their own
`sg-bitbucket terraform-mirror`. Alice commits her lock file; Bob's `init` verifies it against
his mirror and his `plan` runs his installation. Bob configures the CLI through `~/.terraformrc`
/ `~/.tofurc` and Alice through `TF_CLI_CONFIG_FILE`, the README's two ways. Then:

* without the installation on PATH, `plan` fails with the launcher's one line (naming the command
  to run), shown by the engine itself;
* a package upgrade (an installation at version 0.1.1): the lock file's 0.1.0 is refused by `init`
  where the mirror holds 0.1.1 only, and the installation refuses to serve as 0.1.0 where the old
  version's folder is still there; `init -upgrade` fixes both, and the two lock files agree again.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tf_harness
from tf_harness import PROVIDER_SCRIPT, Engine, Terraform, second_installation, write_mirror

from sg_bitbucket_iac import __version__
from sg_bitbucket_iac.emulator import Emulator

ORG = "acme"
API_KEY = "sgo_lockfile_key"
UPGRADE = "0.1.1"
LOCK = ".terraform.lock.hcl"


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        yield emulator


@pytest.fixture(scope="module")
def bob(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Bob's installation: the same version in another venv at another path."""
    return second_installation(tmp_path_factory.mktemp("bob-installation"))


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The next release, installed: version 0.1.1."""
    return second_installation(tmp_path_factory.mktemp("upgraded-installation"), version=UPGRADE)


def configuration(emu: Emulator, name: str) -> str:
    return tf_harness.provider_block(ORG, emu.bitbucket_url) + f'''
resource "sgbitbucket_connector" "main" {{
  name      = "{name}"
  workspace = "acme"
  auth_type = "api_token"
  username  = "alice"
  email     = "alice@acme.io"
  api_token = var.token
  preflight = false
}}
'''


def locked(tf: Terraform) -> tuple[str, list[str]]:
    """The version and the hashes the lock file records for sgbitbucket."""
    text = (tf.workdir / LOCK).read_text()
    block = text[text.index("stackguardian/sgbitbucket"):]
    block = block[:block.index("\n}")]
    version = re.search(r'version\s*=\s*"([^"]+)"', block)
    assert version is not None, text
    return version.group(1), re.findall(r'"(h1:[^"]+)"', block)


def one_line(text: str) -> str:
    """Engines wrap diagnostics to the terminal width: compare with whitespace runs made single spaces."""
    return " ".join(text.split())


@pytest.mark.e2e
def test_one_lock_file_verifies_on_two_machines_and_moves_with_an_upgrade(
        engine: Engine, emu: Emulator, bob: Path, upgraded: Path, tmp_path: Path) -> None:
    assert engine.binary is not None
    started = time.monotonic()
    home_rc = ".tofurc" if engine.kind == "tofu" else ".terraformrc"
    settings = {"STACKGUARDIAN_API_KEY": API_KEY, "STACKGUARDIAN_API_URI": emu.stackguardian_url,
                "TF_VAR_token": "SENTINEL-" + secrets.token_hex(8)}
    config = configuration(emu, re.sub(r"[^a-z0-9]", "", engine.id) + "-lockfile")

    # Alice: her venv (this one), her mirror, TF_CLI_CONFIG_FILE. She commits the lock file.
    alice = Terraform.create(engine.binary, tmp_path / "alice", settings,
                             mirror_config=write_mirror(tmp_path / "alice" / "mirror"))
    alice.write("main.tf", config)
    alice.run("init")
    alice.run("plan", "-detailed-exitcode", expect=2)
    version, hashes = locked(alice)
    assert version == __version__ and len(hashes) == 1

    # Bob: another venv at another path, his own mirror, ~/.terraformrc or ~/.tofurc; Alice's lock file.
    assert (bob / PROVIDER_SCRIPT).is_file() and str(tf_harness.venv_bin()) not in str(bob)
    bobs = Terraform.create(engine.binary, tmp_path / "bob", settings, provider_bin=bob, home_rc=home_rc,
                            mirror_config=write_mirror(tmp_path / "bob" / "mirror", bin_dir=bob))
    bobs.write("main.tf", config)
    (bobs.workdir / LOCK).write_text((alice.workdir / LOCK).read_text())
    bobs.run("init")  # verifies Alice's h1: hash against Bob's mirror
    assert (bobs.workdir / LOCK).read_text() == (alice.workdir / LOCK).read_text()
    assert bobs.env["PATH"].split(":")[0] == str(bob) and str(tf_harness.venv_bin()) not in bobs.env["PATH"]
    bobs.run("plan", "-detailed-exitcode", expect=2)

    # No installation on PATH: the launcher's one line reaches the user through the engine.
    missing = bobs.run("plan", env={"PATH": "/usr/bin:/bin"}, expect=1)
    expected = (f"sgbitbucket provider {__version__}: cannot find terraform-provider-sgbitbucket on PATH. Install "
                f"it with `pip install 'sg-bitbucket-iac[terraform]=={__version__}'` and put its bin folder on PATH "
                "(activate its venv), or set SG_BITBUCKET_IAC_TERRAFORM_PROVIDER to its path")
    assert expected in one_line(missing.output), missing.output

    # Alice upgrades: a mirror with 0.1.1 only. The locked 0.1.0 is not there; `init -upgrade` moves the lock.
    mirror_config = write_mirror(tmp_path / "alice" / "mirror-next", bin_dir=upgraded)
    Path(alice.env["TF_CLI_CONFIG_FILE"]).write_text(mirror_config)
    alice.env["PATH"] = alice.env["PATH"].replace(str(tf_harness.venv_bin()), str(upgraded), 1)
    refused = alice.run("init", expect=1)
    assert f"the previously-selected version {__version__} is no longer available" in one_line(refused.output)
    alice.run("init", "-upgrade")
    upgraded_version, upgraded_hashes = locked(alice)
    assert upgraded_version == UPGRADE and upgraded_hashes != hashes
    alice.run("plan", "-detailed-exitcode", expect=2)

    # Bob upgrades too, rewriting his mirror (0.1.0 stays beside 0.1.1): before `init -upgrade` the
    # installation refuses to run as the locked 0.1.0 and says what to run; after it, Bob's lock is Alice's.
    bobs.env["PATH"] = bobs.env["PATH"].replace(str(bob), str(upgraded), 1)
    write_mirror(tmp_path / "bob" / "mirror", bin_dir=upgraded)
    stale = bobs.run("plan", expect=1)
    assert (f"terraform-provider-sgbitbucket: the engine selected version {__version__}, but the installation it "
            f"found ({(upgraded / PROVIDER_SCRIPT).resolve()}) is {UPGRADE}; run `sg-bitbucket terraform-mirror "
            "DIR` with the installation you mean and then `terraform init -upgrade`") in one_line(stale.output)
    bobs.run("init", "-upgrade")
    assert locked(bobs) == (upgraded_version, upgraded_hashes)
    for result in (*alice.results, *bobs.results):
        assert settings["TF_VAR_token"] not in result.output
    print(f"{engine.id}: lock-file run took {time.monotonic() - started:.1f}s")
