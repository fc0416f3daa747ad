"""`SG_BITBUCKET_IAC_LOG` in both providers, where each real engine shows a provider's log (issue 22, part 6).

* Terraform: the plugin writes hclog JSON lines on stderr; with `TF_LOG_PROVIDER=debug` Terraform prints
  them as its provider log, each at its own level (`[DEBUG] provider.terraform-provider-sgbitbucket: GET ...`).
* Pulumi: the dynamic provider writes plain lines on stderr; the Pulumi CLI shows them with the run.

Every secret (credential, API key) holds the sentinel; no line may carry it. Without the setting, nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import tf_harness
from engines import require_engine
from seeding import API_TOKEN_SCOPES
from tf_harness import Terraform

from sg_bitbucket_iac.emulator import Emulator

pytestmark = pytest.mark.e2e

ORG = "acme"


@pytest.fixture
def emu(sentinel: str) -> Iterator[Emulator]:
    with Emulator() as emulator:
        emulator.admin("POST", "/orgs", {"org": ORG, "api_keys": [f"sgo_{sentinel}_key"]})
        emulator.admin("POST", "/bitbucket/workspaces", {"slug": "acme"})
        emulator.admin("POST", "/bitbucket/credentials", {
            "kind": "api_token", "secret": f"{sentinel}-token", "email": "alice@acme.io", "username": "alice",
            "scopes": API_TOKEN_SCOPES, "workspaces": ["acme"]})
        yield emulator


def test_terraform_shows_the_providers_log_at_its_levels(emu: Emulator, sentinel: str, tmp_path: Path,
                                                         request: pytest.FixtureRequest) -> None:
    binary = tf_harness.scenario_terraform(request.config, "the provider log is checked with a real Terraform")
    tf = Terraform.create(binary, tmp_path / "tf", {
        "STACKGUARDIAN_API_KEY": f"sgo_{sentinel}_key", "STACKGUARDIAN_API_URI": emu.stackguardian_url})
    tf.write("main.tf", tf_harness.provider_block(ORG, emu.bitbucket_url) + tf_harness.api_token_block())
    token = {"TF_VAR_token": f"{sentinel}-token"}
    quiet = tf.run("plan", env={**token, "TF_LOG_PROVIDER": "debug"})
    assert "sg_bitbucket_iac" not in quiet.output  # off unless asked for
    applied = tf.run("apply", "-auto-approve", env={**token, "SG_BITBUCKET_IAC_LOG": "debug",
                                                    "TF_LOG_PROVIDER": "debug"})
    provider_lines = [line for line in applied.stderr.splitlines()
                      if "provider.terraform-provider-sgbitbucket:" in line]
    requests = [line for line in provider_lines if "@module=sg_bitbucket_iac.stackguardian" in line]
    assert any(re.search(r"\[DEBUG\] provider\.terraform-provider-sgbitbucket: GET /api/v1/orgs/acme/integrations/"
                         r"listall/ -> 200", line) for line in requests), "\n".join(provider_lines)
    assert any("POST /api/v1/orgs/acme/integrations/ -> 200" in line for line in requests)
    assert any("[INFO]  provider.terraform-provider-sgbitbucket: Bitbucket preflight" in line
               for line in provider_lines)
    for text in tf.human_output():
        assert sentinel not in text


def test_pulumi_shows_the_providers_log_with_the_run(emu: Emulator, sentinel: str, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("pulumi")
    import pulumi
    from pulumi import automation as auto
    from pulumi_harness import SHIM, PulumiProject

    from sg_bitbucket_iac.pulumi import ApiTokenAuth, BitbucketConnector

    binary = require_engine("pulumi", "the Pulumi e2e tier runs the real CLI")
    require_engine(SHIM, "the CLI runs dynamic providers through it")
    for name in ("SG_API_TOKEN", "STACKGUARDIAN_API_KEY", "SG_BASE_URL", "STACKGUARDIAN_API_URI", "SG_ORG",
                 "STACKGUARDIAN_ORG_NAME", "BITBUCKET_API_URL"):
        monkeypatch.delenv(name, raising=False)
    project = PulumiProject.create(binary, tmp_path, project="logs", extra_env={"SG_BITBUCKET_IAC_LOG": "debug"},
                                   config={
        "stackguardian:apiKey": auto.ConfigValue(f"sgo_{sentinel}_key", secret=True),
        "stackguardian:org": auto.ConfigValue(ORG),
        "stackguardian:apiUrl": auto.ConfigValue(emu.stackguardian_url),
        "stackguardian:bitbucketApiUrl": auto.ConfigValue(emu.bitbucket_url),
        "token": auto.ConfigValue(f"{sentinel}-token", secret=True),
    })

    def program() -> None:
        BitbucketConnector("main", name="bitbucket-main", workspace="acme",
                           auth=ApiTokenAuth(username="alice", email="alice@acme.io",
                                             api_token=pulumi.Config().require_secret("token")))

    run, _ = project.up(program)
    shown = run.stdout + run.stderr
    request = "sg-bitbucket-iac DEBUG sg_bitbucket_iac.stackguardian: POST /api/v1/orgs/acme/integrations/ -> 200"
    assert request in shown, shown
    assert "sg-bitbucket-iac INFO sg_bitbucket_iac.preflight: Bitbucket preflight" in shown
    for text in project.printed():
        assert sentinel not in text
