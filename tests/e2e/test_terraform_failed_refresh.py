"""A real Terraform keeps its state when StackGuardian answers something unexpected during refresh.

Terraform's rule is that a plan is never built on a failed read: the provider reports the read as an
error diagnostic, so `terraform plan` (and `apply -refresh-only`) stop with exit 1, and the state keeps
every resource, unchanged. Before this was checked, a `200` whose body was an error object made the
provider answer "deleted outside", Terraform dropped the resource from state and planned to create it.

StackGuardian is reached through the hostile loopback server in front of the emulator; the engine is
the one test_terraform_e2e.py runs (TF_BINARY, else `terraform` on PATH, else the venv's 1.0.3).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from engines import engines_required
from hostile_server import HostileServer, Reply
from seeding import seed_api_token, seed_workspace
from tf_harness import PROVIDER_SCRIPT, Terraform, api_token_block, find_terraform, provider_block, venv_bin

from sg_bitbucket_iac.emulator import Emulator

ORG = "acme"
API_KEY = "sgo_e2e_key"


@pytest.fixture
def terraform_binary() -> Path:
    binary = find_terraform()
    if binary is None or not (venv_bin() / PROVIDER_SCRIPT).exists():
        message = "no terraform binary, or the provider is not installed in the venv (pip install -e .)"
        if engines_required():
            pytest.fail(message)
        pytest.skip(message)
    return binary


@pytest.fixture
def emulator_with_credential(sentinel: str) -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        seed_workspace(emulator)
        seed_api_token(emulator, sentinel)
        yield emulator


def state_of(tf: Terraform) -> dict[str, object]:
    return dict(json.loads((tf.workdir / "terraform.tfstate").read_text()))


@pytest.mark.e2e
def test_a_failed_refresh_keeps_the_state(
    terraform_binary: Path, emulator_with_credential: Emulator, hostile: Callable[..., HostileServer],
    sentinel: str, tmp_path: Path,
) -> None:
    emulator = emulator_with_credential
    server = hostile(upstream=emulator.stackguardian_url)
    tf = Terraform.create(terraform_binary, tmp_path, {
        "STACKGUARDIAN_API_KEY": API_KEY, "STACKGUARDIAN_API_URI": server.url,
        "SG_BITBUCKET_IAC_NOW": "2026-01-15T00:00:00Z", "SG_BITBUCKET_IAC_TIMEOUT": "2", "TF_VAR_token": sentinel})
    tf.write("main.tf", provider_block(ORG, emulator.bitbucket_url) + api_token_block())
    tf.run("apply", "-auto-approve")
    applied = state_of(tf)
    assert tf.run("state", "list").stdout.split() == ["sgbitbucket_connector.main"]

    # Every read now answers 200 with an error body (and a listall page, its list replaced by the text).
    before = len(server.requests)
    server.on("GET", r"/integrations/(listall/|[^/]+/$)", Reply.json({"msg": "Internal server error"}))
    for command in (("plan", "-detailed-exitcode"), ("apply", "-refresh-only", "-auto-approve"),
                    ("apply", "-auto-approve")):
        failed = tf.run(*command, expect=1)
        assert "answered something unexpected" in failed.stderr, failed.output
        assert "will be created" not in failed.stdout
    assert tf.run("state", "list").stdout.split() == ["sgbitbucket_connector.main"]
    assert state_of(tf)["resources"] == applied["resources"]  # kept, unchanged
    assert server.count("POST", ".", since=before) == server.count("DELETE", ".", since=before) == 0

    # Once StackGuardian answers as documented again, the same state plans clean.
    server.clear()
    tf.run("plan", "-detailed-exitcode", expect=0)
    for result in tf.results:
        assert sentinel not in result.output
