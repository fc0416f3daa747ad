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


def test_import_writes_nothing_and_the_apply_moves_the_owner(sim: TerraformSim, workspace: Emulator,
                                                            tokens: dict[str, str]) -> None:
    cli_tags = {OWNER_TAG: "cli", MANAGED_TAG: "true", FINGERPRINT_TAG: "x", "sg-bitbucket-iac/workspace": "acme"}
    seed(workspace, "bitbucket_main", "bitbucket-main", tokens["api"], cli_tags)
    workspace.admin("DELETE", "/stats")
    state, diags = sim.import_("bitbucket_main")
    assert state is not None and state["owner"] == "cli"
    assert any("owned by cli; the next apply makes terraform its owner" in d.detail for d in diags.diagnostics)
    refreshed, diags = sim.read(state)  # a refresh keeps the take-over pending, and says nothing new
    assert refreshed is not None and refreshed["owner"] == "cli" and not diags.diagnostics
    planned, diags, _ = sim.plan(refreshed, api_token_config(tokens["api"]))
    assert not diags.has_errors() and planned["owner"] == "terraform"
    assert any("was owned by cli; now owned by terraform" in d.detail for d in diags.diagnostics)
    assert set(workspace.admin("GET", "/stats")["stackguardian"]["by_method"]) == {"GET"}
    assert tags_of(workspace) == cli_tags  # import, refresh and plan wrote nothing

    applied, diags = sim.apply(refreshed, planned)
    assert applied is not None and not diags.has_errors() and applied["owner"] == "terraform"
    tags = tags_of(workspace)
    assert tags[OWNER_TAG] == "terraform" and MANAGED_TAG not in tags and FINGERPRINT_TAG not in tags
    _, diags, changed = sim.plan(applied, api_token_config(tokens["api"]))
    assert not changed and not diags.diagnostics
    again, diags = sim.import_("bitbucket_main")  # already Terraform's: nothing pending, nothing said
    assert again is not None and again["owner"] == "terraform" and not diags.diagnostics and sim.private == b""


def test_a_failed_apply_keeps_the_take_over_pending(sim: TerraformSim, workspace: Emulator,
                                                   tokens: dict[str, str]) -> None:
    seed(workspace, "bitbucket_main", "bitbucket-main", tokens["api"], {OWNER_TAG: "pulumi"})
    state, _ = sim.import_("bitbucket_main")
    assert state is not None
    planned, diags, _ = sim.plan(state, api_token_config(tokens["api"]))
    assert not diags.has_errors() and planned["owner"] == "terraform"
    workspace.admin("POST", "/faults", {"api": "stackguardian", "method": "PATCH", "path_regex": "integrations",
                                        "status": 400, "times": 1})
    failed, diags = sim.apply(state, planned)
    assert diags.has_errors() and failed == state and tags_of(workspace)[OWNER_TAG] == "pulumi"
    planned, diags, _ = sim.plan(state, api_token_config(tokens["api"]))  # still a take-over, not a refusal
    assert not diags.has_errors() and planned["owner"] == "terraform"
    applied, diags = sim.apply(state, planned)
    assert applied is not None and not diags.has_errors() and tags_of(workspace)[OWNER_TAG] == "terraform"


def test_a_connector_taken_by_another_front_is_refused_not_taken_back(sim: TerraformSim, workspace: Emulator,
                                                                     tokens: dict[str, str]) -> None:
    state = sim.plan_and_apply(None, api_token_config(tokens["api"]))
    tags = tags_of(workspace)
    workspace.admin("PATCH", f"{RECORDS}/bitbucket_main", {"ContextTags": {**tags, OWNER_TAG: "cli"}})
    refreshed, _ = sim.read(state)
    assert refreshed is not None and refreshed["owner"] == "cli"  # a refresh shows who owns it now
    # The edit moved ModifiedAt, so the plan would re-send the credential: refused, nothing taken back.
    _, diags, changed = sim.plan(refreshed, api_token_config(tokens["api"]))
    assert changed == {"api_token"}
    (error,) = [d for d in diags.diagnostics if d.severity == "error"]
    assert "owned by cli" in error.detail and tags_of(workspace)[OWNER_TAG] == "cli"


def test_plan_refuses_a_cli_owned_connector(sim: TerraformSim, workspace: Emulator, tokens: dict[str, str]) -> None:
    seed(workspace, "bitbucket_main", "bitbucket-main", tokens["api"], {OWNER_TAG: "cli"})
    _, diags, _ = sim.plan(None, api_token_config(tokens["api"]))
    (error,) = [d for d in diags.diagnostics if d.severity == "error"]
    assert "owned by cli" in error.detail
    assert "import <address> bitbucket_main` (or an `import {}` block with that id)" in error.detail
    assert tokens["api"] not in str(diags)


def test_plan_refuses_a_name_used_under_another_id(sim: TerraformSim, workspace: Emulator,
                                                  tokens: dict[str, str]) -> None:
    seed(workspace, "bitbucket-main", "bitbucket-main", tokens["api"], {})
    _, diags, _ = sim.plan(None, api_token_config(tokens["api"]))
    (error,) = [d for d in diags.diagnostics if d.severity == "error"]
    assert "already used by connector bitbucket-main" in error.detail
    assert 'import <address> bitbucket-main`' in error.detail and "`id:" not in error.detail
    records = workspace.admin("GET", RECORDS)["records"]
    assert [r["Id"] for r in records] == ["bitbucket-main"]
