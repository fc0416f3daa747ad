"""Terraform front, issue 12: owner on create, import takes over, foreign owners and name clashes at plan."""

from __future__ import annotations

from typing import Any

from tf_helpers import ORG, TerraformSim, api_token_config

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import FINGERPRINT_TAG, MANAGED_TAG, OWNER_TAG

RECORDS = f"/stackguardian/orgs/{ORG}/integrations"


def seed(emulator: Emulator, connector_id: str, name: str, token: str, tags: dict[str, str]) -> None:
    emulator.admin("POST", f"{RECORDS}/bulk", {"records": [{
        "Id": connector_id, "ResourceName": name, "Tags": [], "ContextTags": tags,
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}", "bitbucketEmail": "alice@acme.io"}]},
    }]})


def tags_of(emulator: Emulator, connector_id: str = "bitbucket_main") -> dict[str, Any]:
    result: dict[str, Any] = emulator.admin("GET", f"{RECORDS}/{connector_id}")["ContextTags"]
    return result


def test_create_writes_the_owner(sim: TerraformSim, workspace: Emulator, tokens: dict[str, str]) -> None:
    sim.plan_and_apply(None, api_token_config(tokens["api"]))
    assert tags_of(workspace)[OWNER_TAG] == "terraform"


def test_import_moves_the_owner_and_says_so(sim: TerraformSim, workspace: Emulator, tokens: dict[str, str]) -> None:
    seed(workspace, "bitbucket_main", "bitbucket-main", tokens["api"],
         {OWNER_TAG: "cli", MANAGED_TAG: "true", FINGERPRINT_TAG: "x", "sg-bitbucket-iac/workspace": "acme"})
    state, diags = sim.import_("bitbucket_main")
    assert state is not None
    assert any("was owned by cli; now owned by terraform" in d.detail for d in diags.diagnostics)
    tags = tags_of(workspace)
    assert tags[OWNER_TAG] == "terraform" and MANAGED_TAG not in tags and FINGERPRINT_TAG not in tags
    refreshed, diags = sim.read(state)  # the take-over is our own write, not an edit made outside
    assert refreshed is not None and not diags.diagnostics
    again, diags = sim.import_("bitbucket_main")  # already Terraform's: nothing written, nothing said
    assert again is not None and not diags.diagnostics


def test_plan_refuses_a_cli_owned_connector(sim: TerraformSim, workspace: Emulator, tokens: dict[str, str]) -> None:
    seed(workspace, "bitbucket_main", "bitbucket-main", tokens["api"], {OWNER_TAG: "cli"})
    _, diags, _ = sim.plan(None, api_token_config(tokens["api"]))
    (error,) = [d for d in diags.diagnostics if d.severity == "error"]
    assert "owned by cli" in error.detail and "terraform import" in error.detail
    assert tokens["api"] not in str(diags)


def test_plan_refuses_a_name_used_under_another_id(sim: TerraformSim, workspace: Emulator,
                                                  tokens: dict[str, str]) -> None:
    seed(workspace, "bitbucket-main", "bitbucket-main", tokens["api"], {})
    _, diags, _ = sim.plan(None, api_token_config(tokens["api"]))
    (error,) = [d for d in diags.diagnostics if d.severity == "error"]
    assert "already used by connector bitbucket-main" in error.detail
    assert "`terraform import <address> bitbucket-main`" in error.detail and "`id:" not in error.detail
    records = workspace.admin("GET", RECORDS)["records"]
    assert [r["Id"] for r in records] == ["bitbucket-main"]
