"""A create stored in StackGuardian by a run that never recorded it, and a new org_name (issue 22 parts 3, 5).

The resource functions are driven as Terraform core drives them (``TerraformSim``); "the next run" is
a new provider, as Terraform starts one per command.
"""

from __future__ import annotations

from typing import Any

import pytest
from interruptions import lose_the_next_create
from tf.gen import tfplugin_pb2 as pb
from tf.utils import to_dynamic_value
from tf_helpers import ORG, TYPE, TerraformSim, access_token_config, api_token_config, configured_provider

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import CREATED_BY_TAG, OWNER_TAG
from sg_bitbucket_iac.terraform.configuration import configuration_identity
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider
from sg_bitbucket_iac.terraform.servicer import SGBitbucketServicer

RECORD = f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main"


def next_run(emulator: Emulator, **environ: str) -> tuple[SGBitbucketProvider, TerraformSim]:
    provider = configured_provider(emulator)
    if environ:  # another configuration: another workspace of the same root module
        provider.configuration = configuration_identity(environ)
    return provider, TerraformSim(ConnectorResource(provider))


def interrupted(sim: TerraformSim, provider: SGBitbucketProvider, workspace: Emulator,
                monkeypatch: pytest.MonkeyPatch, cfg: dict[str, Any]) -> None:
    planned, diags, _ = sim.plan(None, cfg)
    assert not diags.has_errors(), str(diags)
    assert provider.engine is not None
    lose_the_next_create(provider.engine, workspace, monkeypatch)
    state, diags = sim.apply(None, planned)
    assert state is None and diags.has_errors()  # the run failed: nothing in Terraform's state
    tags = workspace.admin("GET", RECORD)["ContextTags"]  # but StackGuardian stored it
    assert tags[OWNER_TAG] == "terraform" and tags[CREATED_BY_TAG].startswith("cm1:")


def test_the_next_run_finishes_a_create_its_configuration_left_unrecorded(
        sim: TerraformSim, provider: SGBitbucketProvider, workspace: Emulator, tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = api_token_config(tokens["api"])
    interrupted(sim, provider, workspace, monkeypatch, cfg)
    # Someone swaps the secret in the UI meanwhile: accepting re-sends the declared one anyway.
    workspace.admin("PATCH", RECORD, {"Settings": {"kind": "BITBUCKET_ORG", "config": [{
        "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{tokens['api2']}",
        "bitbucketEmail": "alice@acme.io"}]}})
    assert workspace.admin("GET", RECORD)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api2']}"
    _provider, again = next_run(workspace)
    planned, diags, _ = again.plan(None, cfg)
    assert not diags.has_errors(), str(diags)
    assert any("interrupted after StackGuardian stored the create" in d.detail for d in diags.diagnostics), str(diags)
    state, diags = again.apply(None, planned)
    assert state is not None and not diags.has_errors(), str(diags)
    records = workspace.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]
    assert [r["Id"] for r in records] == ["bitbucket_main"]
    assert records[0]["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api']}"
    assert state["credentials_fingerprint"] == planned["credentials_fingerprint"] and state["org"] == ORG
    refreshed, diags = again.read(state)
    assert refreshed is not None and not diags.has_errors()
    _planned, diags, changed = again.plan(refreshed, cfg)
    assert not diags.has_errors() and changed <= {"modified_at", "authenticated"}, changed


def test_an_access_token_with_an_inferred_scope_is_finished_too(
        sim: TerraformSim, provider: SGBitbucketProvider, workspace: Emulator, tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = access_token_config(tokens["access"])  # scope unset: inferred from `repository`
    interrupted(sim, provider, workspace, monkeypatch, cfg)
    _provider, again = next_run(workspace)
    planned, diags, _ = again.plan(None, cfg)
    assert not diags.has_errors(), str(diags)
    state, diags = again.apply(None, planned)
    assert state is not None and state["access_token_scope"] == "repository" and not diags.has_errors(), str(diags)


@pytest.mark.parametrize("other", ["workspace", "credential", "edited", "owner"])
def test_no_other_configurations_or_changed_connector_is_taken(
        sim: TerraformSim, provider: SGBitbucketProvider, workspace: Emulator, tokens: dict[str, str],
        monkeypatch: pytest.MonkeyPatch, other: str) -> None:
    cfg = api_token_config(tokens["api"])
    interrupted(sim, provider, workspace, monkeypatch, cfg)
    environ = {"TF_WORKSPACE": "staging"} if other == "workspace" else {}
    if other == "credential":
        cfg = api_token_config(tokens["api2"])
    elif other == "edited":
        workspace.admin("PATCH", RECORD, {"Description": "edited in the UI"})
    elif other == "owner":
        tags = workspace.admin("GET", RECORD)["ContextTags"]
        workspace.admin("PATCH", RECORD, {"ContextTags": {**tags, OWNER_TAG: "pulumi"}})
    _provider, again = next_run(workspace, **environ)
    _planned, diags, _ = again.plan(None, cfg)
    assert diags.has_errors()
    text = str(diags)
    if other == "owner":
        assert "owned by pulumi" in text, text
    else:
        assert "already exists" in text and "import {}` block" in text, text


def test_a_new_org_name_plans_a_replacement_that_deletes_the_old_connector(
        sim: TerraformSim, workspace: Emulator, tokens: dict[str, str]) -> None:
    workspace.admin("POST", "/orgs", {"org": "beta", "api_keys": ["sgo_test_key"]})
    cfg = api_token_config(tokens["api"])
    state = sim.plan_and_apply(None, cfg)
    assert state["org"] == ORG
    moved = configured_provider(workspace, org_name="beta")
    resource = TerraformSim(ConnectorResource(moved))
    refreshed, diags = resource.read(state)  # read in the org the state names, not the new one
    assert refreshed is not None and refreshed["org"] == ORG and not diags.has_errors()
    planned, diags, _ = resource.plan(refreshed, cfg)
    assert planned["org"] == "beta"
    [warning] = [d for d in diags.diagnostics if "moves to org" in d.summary]
    assert f"deletes connector bitbucket_main in org {ORG} and creates it in org beta" in warning.detail
    # Terraform replaces it (the servicer marks `org` as requiring it): delete in the old org, create anew.
    assert not resource.delete(refreshed).has_errors()
    created = resource.plan_and_apply(None, cfg)
    assert created["org"] == "beta"
    assert workspace.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"] == []
    assert [r["Id"] for r in workspace.admin("GET", "/stackguardian/orgs/beta/integrations")["records"]] == [
        "bitbucket_main"]


def test_a_state_from_before_org_existed_gets_it_on_refresh_and_plans_clean(
        sim: TerraformSim, tokens: dict[str, str]) -> None:
    cfg = api_token_config(tokens["api"])
    state = {**sim.plan_and_apply(None, cfg), "org": None}  # written by a version without `org`
    _planned, diags, changed = sim.plan(state, cfg)  # `-refresh=false`: nothing to write, no change of org
    assert not diags.has_errors() and not changed
    refreshed, diags = sim.read(state)
    assert refreshed is not None and refreshed["org"] == ORG and not diags.has_errors()
    planned, diags, changed = sim.plan(refreshed, cfg)
    assert not diags.has_errors() and not changed and planned["org"] == ORG
    # An update of such a state, not refreshed, records the org instead of replacing anything.
    planned, diags, changed = sim.plan(state, api_token_config(tokens["api"], description="new"))
    assert not diags.has_errors() and changed == {"description"} and planned["org"] == ORG
    updated, diags = sim.apply(state, planned)
    assert updated is not None and updated["org"] == ORG and not diags.has_errors()


def replacing(servicer: SGBitbucketServicer, prior: dict[str, Any], cfg: dict[str, Any]) -> set[str]:
    """The attributes a PlanResourceChange through the servicer says force a replacement."""
    request = pb.PlanResourceChange.Request(type_name=TYPE, prior_state=to_dynamic_value(prior),
                                            proposed_new_state=to_dynamic_value(TerraformSim.proposed(prior, cfg)),
                                            config=to_dynamic_value(cfg))
    response = servicer.PlanResourceChange(request, None)
    assert not [d for d in response.diagnostics if d.severity == pb.Diagnostic.ERROR], response.diagnostics
    return {step.attribute_name for path in response.requires_replace for step in path.steps}


def test_the_servicer_replaces_when_the_plan_moves_the_org_off_a_recorded_one(
        sim: TerraformSim, workspace: Emulator, tokens: dict[str, str]) -> None:
    workspace.admin("POST", "/orgs", {"org": "beta", "api_keys": ["sgo_test_key"]})
    cfg = api_token_config(tokens["api"])
    prior = sim.plan_and_apply(None, cfg)
    assert replacing(SGBitbucketServicer(configured_provider(workspace)), prior, cfg) == set()
    moved = SGBitbucketServicer(configured_provider(workspace, org_name="beta"))
    assert replacing(moved, prior, cfg) == {"org"}
    assert replacing(moved, {**prior, "org": None}, cfg) == set()  # an older state: nothing to move off
