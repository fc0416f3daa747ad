"""One owner per connector across fronts, with the real Terraform binary (issue 12).

A connector the CLI created and Terraform then imported belongs to Terraform: a CLI definitions
file with `prune: true` that no longer lists it leaves it alone, and `drift` does not report it
as undeclared. Terraform is `/usr/local/bin/terraform` (1.11.4 here) when present, else whatever
`tf_harness.find_terraform` picks; its version is printed, so one binary never stands in for
another silently. The CLI runs in-process (`app.main`) against the same emulator.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tf_harness
from seeding import API_TOKEN_SCOPES
from tf_harness import Terraform

from sg_bitbucket_iac.cli import app
from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import OWNER_TAG

ORG = "acme"
API_KEY = "sgo_ownership_e2e"
RECORD = f"/stackguardian/orgs/{ORG}/integrations/{{}}"
DEFINITIONS = """\
org: acme
set: platform
prune: {prune}
connectors:
{entries}"""
ENTRY = """\
  - name: {name}
    workspace: acme
    auth: {{type: api_token, username: alice, email: alice@acme.io, api_token: "${{env:BB_TOKEN}}"}}
"""


@pytest.fixture(scope="module")
def terraform_binary(request: pytest.FixtureRequest) -> Path:
    return tf_harness.scenario_terraform(request.config, "the ownership scenario runs a real Terraform")


@pytest.fixture
def token() -> str:
    return "SENTINEL-" + secrets.token_hex(12)


@pytest.fixture
def emu(token: str) -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "projects": [{"key": "PLAT"}],
                                                         "repositories": [{"slug": "infra", "project": "PLAT"}]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": token, "email": "alice@acme.io", "username": "alice",
            "scopes": API_TOKEN_SCOPES, "workspaces": ["acme"]})
        yield emulator


def cli(emu: Emulator, token: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """One CLI command in-process; (exit code, stdout + stderr)."""
    capsys.readouterr()
    code = app.main(list(args), environ={
        "SG_API_TOKEN": API_KEY, "SG_BASE_URL": emu.stackguardian_url, "SG_ORG": ORG,
        "BITBUCKET_API_URL": emu.bitbucket_url, "SG_BITBUCKET_IAC_PREFLIGHT_BACKOFF": "0", "BB_TOKEN": token,
    })
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def definitions(tmp_path: Path, *names: str, prune: bool) -> str:
    path = tmp_path / f"{'-'.join(names)}.yaml"
    path.write_text(DEFINITIONS.format(prune=str(prune).lower(),
                                       entries="".join(ENTRY.format(name=n) for n in names)))
    return str(path)


def terraform_config(emu: Emulator) -> str:
    return tf_harness.provider_block(ORG, emu.bitbucket_url) + tf_harness.api_token_block()


def raw(emu: Emulator, connector_id: str) -> dict[str, Any]:
    return emu.admin("GET", RECORD.format(connector_id))


@pytest.mark.e2e
def test_cli_created_connector_imported_by_terraform_survives_a_cli_prune(
    terraform_binary: Path, emu: Emulator, token: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    both = definitions(tmp_path, "bitbucket-main", "bitbucket-other", prune=False)
    code, output = cli(emu, token, capsys, "apply", "-f", both, "--auto-approve")
    assert code == 0, output
    assert raw(emu, "bitbucket_main")["ContextTags"][OWNER_TAG] == "cli"

    tf = Terraform.create(terraform_binary, tmp_path / "tf", {
        "STACKGUARDIAN_API_KEY": API_KEY, "STACKGUARDIAN_API_URI": emu.stackguardian_url})
    tf.write("main.tf", terraform_config(emu))
    var = {"TF_VAR_token": token}
    imported = tf.run("import", "sgbitbucket_connector.main", "bitbucket_main", env=var)
    assert "owned by cli; the next apply makes terraform its owner" in " ".join(imported.output.split())
    assert raw(emu, "bitbucket_main")["ContextTags"][OWNER_TAG] == "cli"  # an import writes nothing
    refreshed = tf.run("plan", "-refresh-only", env=var)
    assert "modified since the last apply" not in refreshed.output
    tf.run("apply", "-auto-approve", env=var)  # moves the owner and sets the imported connector's secret
    tags = raw(emu, "bitbucket_main")["ContextTags"]
    assert tags[OWNER_TAG] == "terraform"
    assert not {"sg-bitbucket-iac/managed", "sg-bitbucket-iac/applied", "sg-bitbucket-iac/fingerprint"} & set(tags)

    only_other = definitions(tmp_path, "bitbucket-other", prune=True)
    code, output = cli(emu, token, capsys, "plan", "-f", only_other, "--json")
    assert code == 0, output
    plan = json.loads(output[:output.rindex("}") + 1])
    assert [(c["connector_id"], c["action"]) for c in plan["connectors"]] == [("bitbucket_other", "no-op")]
    code, output = cli(emu, token, capsys, "apply", "-f", only_other, "--auto-approve")
    assert code == 0, output
    assert raw(emu, "bitbucket_main")["ContextTags"][OWNER_TAG] == "terraform"
    code, output = cli(emu, token, capsys, "drift", "-f", only_other, "--json")
    assert code == 0, output
    assert "bitbucket_main" not in output

    assert tf.run("plan", "-detailed-exitcode", env=var, expect=(0, 2)).returncode == 0
    # The CLI may not write to it any more, until it takes it back with `adopt: true`.
    code, output = cli(emu, token, capsys, "apply", "-f", both, "--auto-approve")
    assert code == 1 and "owned by terraform" in output, output
    for text in [*tf.human_output(), output]:
        assert token not in text


@pytest.mark.e2e
def test_terraform_re_sends_a_credential_swapped_outside(
    terraform_binary: Path, emu: Emulator, token: str, tmp_path: Path
) -> None:
    from datetime import UTC, datetime, timedelta

    swapped = token + "-swapped"
    emu.admin("POST", "/bitbucket/credentials", {
        "kind": "api_token", "secret": swapped, "email": "alice@acme.io", "username": "alice",
        "scopes": API_TOKEN_SCOPES, "workspaces": ["acme"]})
    tf = Terraform.create(terraform_binary, tmp_path / "tf", {
        "STACKGUARDIAN_API_KEY": API_KEY, "STACKGUARDIAN_API_URI": emu.stackguardian_url})
    tf.write("main.tf", terraform_config(emu))
    var = {"TF_VAR_token": token}
    tf.run("apply", "-auto-approve", env=var)
    assert raw(emu, "bitbucket_main")["ContextTags"][OWNER_TAG] == "terraform"
    later = (datetime.now(UTC) + timedelta(minutes=1)).isoformat().replace("+00:00", "Z")
    emu.admin("POST", "/clock", {"now": later})  # the UI edit comes after our write, on StackGuardian's clock
    emu.admin("PATCH", RECORD.format("bitbucket_main"), {"Settings": {"kind": "BITBUCKET_ORG", "config": [{
        "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{swapped}", "bitbucketEmail": "alice@acme.io"}]}})
    emu.admin("POST", "/clock", {"now": None})
    planned = tf.run("plan", "-out=resend.bin", env=var)
    assert "modified since the last apply" in planned.output
    changes = [c["change"]["actions"] for c in tf.show_plan("resend.bin")["resource_changes"]]
    assert changes == [["update"]]
    tf.run("apply", "resend.bin", env=var)
    assert raw(emu, "bitbucket_main")["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{token}"
    assert tf.run("plan", "-detailed-exitcode", env=var, expect=(0, 2)).returncode == 0
    for text in tf.human_output():
        assert token not in text and swapped not in text
