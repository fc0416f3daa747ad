"""Issue 20 through the Terraform provider: a plan never writes, destroy is never blocked, a replacement
never clashes with itself, one odd record never blocks a plan. Through the servicer where private state
matters (import -> read -> plan -> apply, the two halves of a replacement), else through TerraformSim.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from tf.gen import tfplugin_pb2 as pb
from tf.utils import read_dynamic_value, to_dynamic_value
from tf_helpers import ORG, TYPE, TerraformSim, api_token_config, configured_provider

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.tags import OWNER_TAG
from sg_bitbucket_iac.terraform import replacements
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.private import Private
from sg_bitbucket_iac.terraform.servicer import SGBitbucketServicer

RECORDS = f"/stackguardian/orgs/{ORG}/integrations"
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def writes(emulator: Emulator) -> int:
    by_method = emulator.admin("GET", "/stats")["stackguardian"]["by_method"]
    return sum(by_method.get(method, 0) for method in WRITES)


def errors(response: Any) -> list[str]:
    return [f"{d.summary}: {d.detail}" for d in response.diagnostics if d.severity == pb.Diagnostic.ERROR]


@pytest.fixture
def servicer(workspace: Emulator) -> Iterator[SGBitbucketServicer]:
    provider = configured_provider(workspace)
    yield SGBitbucketServicer(provider)
    assert provider.engine is not None
    provider.engine.client.close()


def plan_call(servicer: SGBitbucketServicer, prior: dict[str, Any] | None, config: dict[str, Any],
              private: bytes = b"") -> pb.PlanResourceChange.Response:
    proposed = TerraformSim.proposed(prior, config)
    return servicer.PlanResourceChange(pb.PlanResourceChange.Request(
        type_name=TYPE, prior_state=to_dynamic_value(prior), proposed_new_state=to_dynamic_value(proposed),
        config=to_dynamic_value(config), prior_private=private), None)


def apply_call(servicer: SGBitbucketServicer, prior: dict[str, Any] | None, planned: pb.PlanResourceChange.Response,
               config: dict[str, Any]) -> pb.ApplyResourceChange.Response:
    return servicer.ApplyResourceChange(pb.ApplyResourceChange.Request(
        type_name=TYPE, prior_state=to_dynamic_value(prior), planned_state=planned.planned_state,
        config=to_dynamic_value(config), planned_private=planned.planned_private), None)


def seed(emulator: Emulator, connector_id: str, name: str, token: str, tags: dict[str, str]) -> None:
    emulator.admin("POST", f"{RECORDS}/bulk", {"records": [{
        "Id": connector_id, "ResourceName": name, "Tags": [], "ContextTags": tags,
        "Settings": {"kind": "BITBUCKET_ORG", "config": [{
            "bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{token}", "bitbucketEmail": "alice@acme.io"}]},
    }]})


# --------------------------------------------------------------------------- private state
def test_private_state_round_trips_and_ignores_what_it_cannot_read() -> None:
    assert Private().encode() == b""
    for private in (Private(takeover=True), Private(replaces="main_v1"), Private(True, "x-1")):
        assert Private.decode(private.encode()) == private
    for junk in (b"\xff", b"[1]", b'{"takeover": "yes", "replaces": "a/b"}', b'{"replaces": 3}'):
        assert Private.decode(junk) == Private()


def test_import_read_plan_apply_carry_the_take_over_and_only_apply_writes(
    servicer: SGBitbucketServicer, workspace: Emulator, tokens: dict[str, str]
) -> None:
    seed(workspace, "bitbucket_main", "bitbucket-main", tokens["api"], {OWNER_TAG: "cli"})
    workspace.admin("DELETE", "/stats")
    imported = servicer.ImportResourceState(pb.ImportResourceState.Request(type_name=TYPE, id="bitbucket_main"), None)
    (resource,) = imported.imported_resources
    assert Private.decode(resource.private) == Private(takeover=True)
    read = servicer.ReadResource(pb.ReadResource.Request(type_name=TYPE, current_state=resource.state,
                                                         private=resource.private), None)
    assert read.private == resource.private and not errors(read)
    state = read_dynamic_value(read.new_state)
    assert state["owner"] == "cli"
    config = api_token_config(tokens["api"])
    planned = plan_call(servicer, state, config, read.private)
    assert not errors(planned) and read_dynamic_value(planned.planned_state)["owner"] == "terraform"
    assert planned.planned_private == read.private
    assert writes(workspace) == 0  # import, refresh and plan: only GETs
    applied = apply_call(servicer, state, planned, config)
    assert not errors(applied) and applied.private == b""  # taken over: nothing pending any more
    assert read_dynamic_value(applied.new_state)["owner"] == "terraform"
    assert workspace.admin("GET", f"{RECORDS}/bitbucket_main")["ContextTags"][OWNER_TAG] == "terraform"


def test_schema_0_states_belong_to_terraform() -> None:
    resource = ConnectorResource(None)  # type: ignore[arg-type]
    upgraded = resource.upgrade(None, 0, {"id": "bitbucket_main", "name": "x"})  # type: ignore[arg-type]
    assert upgraded is not None and upgraded["owner"] == "terraform"
    assert resource.upgrade(None, 1, {"id": "c", "owner": "cli"}) == {"id": "c", "owner": "cli"}  # type: ignore[arg-type]


# --------------------------------------------------------------------------- replacement
def _replacement_plan(servicer: SGBitbucketServicer, state: dict[str, Any],
                      config: dict[str, Any]) -> pb.PlanResourceChange.Response:
    """What Terraform does for a new connector_id: plan the update, then the create with its private state."""
    update_half = plan_call(servicer, state, config)
    assert [list(p.steps) for p in update_half.requires_replace]
    assert Private.decode(update_half.planned_private) == Private(replaces=state["id"])
    return plan_call(servicer, None, config, update_half.planned_private)


def test_a_new_connector_id_plans_and_applies_without_clashing_with_the_connector_it_replaces(
    sim: TerraformSim, servicer: SGBitbucketServicer, workspace: Emulator, tokens: dict[str, str]
) -> None:
    state = sim.plan_and_apply(None, api_token_config(tokens["api"], connector_id="main_v1"))
    config = api_token_config(tokens["api"], connector_id="main_v2")
    create_half = _replacement_plan(servicer, state, config)
    assert not errors(create_half), errors(create_half)
    # Delete first (the default): the apply plans the create again, with no private state, once the
    # old connector is gone.
    sim.delete(state)
    apply_phase = plan_call(servicer, None, config)
    assert not errors(apply_phase)
    applied = apply_call(servicer, None, apply_phase, config)
    assert not errors(applied) and read_dynamic_value(applied.new_state)["id"] == "main_v2"
    assert replacements.replaced_by_plan(ORG, "main_v2", "bitbucket-main") is None  # done: the note is gone


def test_create_before_destroy_creates_the_new_one_while_the_old_one_holds_the_name(
    sim: TerraformSim, workspace: Emulator, tokens: dict[str, str]
) -> None:
    state = sim.plan_and_apply(None, api_token_config(tokens["api"], connector_id="main_v1"))
    config = api_token_config(tokens["api"], connector_id="main_v2")
    planning = SGBitbucketServicer(configured_provider(workspace))  # `terraform plan`'s provider process
    assert not errors(_replacement_plan(planning, state, config))
    applying = SGBitbucketServicer(configured_provider(workspace))  # the apply's: no private state for the create
    apply_phase = plan_call(applying, None, config)
    assert not errors(apply_phase), errors(apply_phase)
    applied = apply_call(applying, None, apply_phase, config)
    assert not errors(applied)
    names = [r["Id"] for r in workspace.admin("GET", RECORDS)["records"] if r["ResourceName"] == "bitbucket-main"]
    assert names == ["main_v1", "main_v2"]  # for the moment create_before_destroy asks for
    sim.delete(state)
    assert [r["Id"] for r in workspace.admin("GET", RECORDS)["records"]] == ["main_v2"]


def test_without_the_plans_note_the_apply_still_refuses_a_name_in_use(
    sim: TerraformSim, workspace: Emulator, tokens: dict[str, str]
) -> None:
    """Plan and apply on different machines: the apply cannot tell the old connector from someone
    else's, so it refuses (nothing written), naming it."""
    state = sim.plan_and_apply(None, api_token_config(tokens["api"], connector_id="main_v1"))
    config = api_token_config(tokens["api"], connector_id="main_v2")
    assert not errors(_replacement_plan(SGBitbucketServicer(configured_provider(workspace)), state, config))
    replacements.forget(ORG, "main_v2")
    apply_phase = plan_call(SGBitbucketServicer(configured_provider(workspace)), None, config)
    assert any("already used by connector main_v1" in e for e in errors(apply_phase))


def test_a_plain_create_still_refuses_a_name_another_terraform_connector_holds(
    servicer: SGBitbucketServicer, workspace: Emulator, tokens: dict[str, str]
) -> None:
    seed(workspace, "other_v1", "bitbucket-main", tokens["api"], {OWNER_TAG: "terraform"})
    response = plan_call(servicer, None, api_token_config(tokens["api"], connector_id="main_v2"))
    assert any("already used by connector other_v1" in e for e in errors(response))


# --------------------------------------------------------------------------- destroy
def test_a_destroys_normal_plan_checks_nothing_meant_for_writing(workspace: Emulator, tokens: dict[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """`terraform destroy` plans the configuration first (as creates, for what does not exist yet):
    a weak token, a name in use and an app password after the cut-off refuse nothing, ask nothing."""
    seed(workspace, "taken_elsewhere", "bitbucket-taken", tokens["api"], {})
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", "2026-06-10T00:00:00Z")
    provider = configured_provider(workspace, destroying=True, preflight=True)
    sim = TerraformSim(ConnectorResource(provider))
    configs = [api_token_config(tokens["api"] + "-unknown-to-bitbucket", name="bitbucket-weak"),
               api_token_config(tokens["api"], name="bitbucket-taken"),
               api_token_config(None, name="bitbucket-legacy", auth_type="app_password", email=None,
                                app_password=tokens["api"])]
    workspace.admin("DELETE", "/stats")
    for config in configs:
        planned, diags, _ = sim.plan(None, config)
        assert not diags.has_errors(), str(diags)
        assert planned["id"] == planned["connector_id"]
    stats = workspace.admin("GET", "/stats")
    assert stats["stackguardian"]["total"] == 0 and stats["bitbucket"]["total"] == 0
    # The same plans outside a destroy refuse each of them.
    plain = TerraformSim(ConnectorResource(configured_provider(workspace, preflight=True)))
    for config in configs:
        assert plain.plan(None, config)[1].has_errors()


# --------------------------------------------------------------------------- odd records
def test_an_odd_record_refreshes_plans_a_re_send_and_the_apply_repairs_it(
    sim: TerraformSim, workspace: Emulator, tokens: dict[str, str]
) -> None:
    config = api_token_config(tokens["api"])
    state = sim.plan_and_apply(None, config)
    record = workspace.admin("GET", f"{RECORDS}/bitbucket_main")
    workspace.admin("PATCH", f"{RECORDS}/bitbucket_main", {"Settings": {
        "kind": "BITBUCKET_ORG", "config": [{**record["Settings"]["config"][0], "bitbucketEmail": 123}]}})
    refreshed, diags = sim.read(state)
    assert refreshed is not None and not diags.has_errors()
    (warning,) = [d for d in diags.diagnostics if "cannot be read" in d.summary]  # (and: modified since)
    assert "Settings.config[0].bitbucketEmail is a number, not a string" in warning.detail
    assert "next apply re-sends" in warning.detail and tokens["api"] not in str(diags)
    assert refreshed["api_token"] is None and refreshed["credentials_fingerprint"] is None
    planned, diags, changed = sim.plan(refreshed, config)
    assert not diags.has_errors() and "api_token" in changed
    applied, diags = sim.apply(refreshed, planned)
    assert applied is not None and not diags.has_errors(), str(diags)
    assert workspace.admin("GET", f"{RECORDS}/bitbucket_main")["Settings"]["config"][0]["bitbucketEmail"] == (
        "alice@acme.io")
    again, diags = sim.read(applied)
    assert again is not None and not diags.diagnostics
    assert not sim.plan(again, config)[2]
