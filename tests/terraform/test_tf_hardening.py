"""Issue 11 through the Terraform provider: key whitespace, odd records on refresh, faults on create."""

from __future__ import annotations

from typing import Any

import msgpack
from tf.gen import tfplugin_pb2 as pb
from tf.utils import Diagnostics
from tf_helpers import API_KEY, ORG, TerraformSim, api_token_config, configured_provider

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider
from sg_bitbucket_iac.terraform.servicer import _RPCS_WITH_DIAGNOSTICS, SGBitbucketServicer


def diag_text(diags: Diagnostics) -> str:
    return str(diags) + " ".join(f"{d.summary} {d.detail}" for d in getattr(diags, "diagnostics", []))


def test_api_key_with_a_trailing_newline_works(workspace: Emulator, tokens: dict[str, str]) -> None:
    provider = configured_provider(workspace, api_key=API_KEY + "\n")
    state = TerraformSim(ConnectorResource(provider)).plan_and_apply(None, api_token_config(tokens["api"]))
    assert state["id"] == "bitbucket_main"


def test_api_key_with_control_characters_is_a_diagnostic_without_the_value(workspace: Emulator) -> None:
    provider = SGBitbucketProvider(environ={})
    diags = Diagnostics()
    provider.configure_provider(diags, {"api_key": "sgo_\x1b[2Jsecretpart", "org_name": ORG,
                                        "api_uri": workspace.stackguardian_url,
                                        "bitbucket_api_url": workspace.bitbucket_url, "preflight": False})
    assert diags.has_errors()
    text = diag_text(diags)
    assert "api_key contains control characters" in text and "secretpart" not in text


def test_refresh_of_an_odd_record_says_what_is_wrong_and_keeps_the_rest(sim: TerraformSim, workspace: Emulator,
                                                                        tokens: dict[str, str]) -> None:
    state = sim.plan_and_apply(None, api_token_config(tokens["api"]))
    workspace.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main",
                    {"Authentication": {"authenticated": True, "authenticatedAt": 1e20}})
    refreshed, diags = sim.read(state)
    assert refreshed is not None and not diags.has_errors()
    text = diag_text(diags)
    assert "bitbucket_main" in text and "Authentication.authenticatedAt is 1e+20" in text
    assert "Traceback" not in text and tokens["api"] not in text
    assert refreshed["name"] == "bitbucket-main" and refreshed["api_token"] is None  # re-sent by the next apply


def test_a_record_whose_kind_cannot_be_read_is_still_refused(sim: TerraformSim, workspace: Emulator,
                                                              tokens: dict[str, str]) -> None:
    state = sim.plan_and_apply(None, api_token_config(tokens["api"]))
    record = workspace.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main")
    workspace.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main",
                    {"Settings": {**record["Settings"], "kind": ["BITBUCKET_ORG"]}})
    refreshed, diags = sim.read(state)
    assert refreshed == state and diags.has_errors()
    assert "Settings.kind is a list, not a string" in diag_text(diags)


def test_create_whose_answer_is_lost_after_store_converges(sim: TerraformSim, workspace: Emulator,
                                                           tokens: dict[str, str]) -> None:
    rule: dict[str, Any] = {"api": "stackguardian", "method": "POST", "path_regex": r"integrations/?$",
                            "status": 503, "after": True, "times": 1}
    workspace.admin("POST", "/faults", rule)
    state = sim.plan_and_apply(None, api_token_config(tokens["api"]))
    records = workspace.admin("GET", f"/stackguardian/orgs/{ORG}/integrations")["records"]
    assert [r["Id"] for r in records] == [state["id"]]
    assert records[0]["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api']}"


def test_a_token_from_file_with_a_trailing_newline_applies_and_plans_clean(sim: TerraformSim, workspace: Emulator,
                                                                           tokens: dict[str, str]) -> None:
    cfg = api_token_config(tokens["api"] + "\n")  # what `api_token = file("token.txt")` gives
    state = sim.plan_and_apply(None, cfg)
    record = workspace.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/{state['id']}")
    assert record["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{tokens['api']}"
    _planned, diags, changed = sim.plan(state, cfg)
    assert not diags.has_errors() and not changed


def test_every_diagnostic_reaches_terraform_with_control_characters_escaped(workspace: Emulator,
                                                                              tokens: dict[str, str]) -> None:
    # A server error text (here the name lookup before a create) is quoted in the diagnostic's detail.
    workspace.admin("POST", "/faults", {"api": "stackguardian", "path_regex": "listall", "status": 400,
                                        "body": {"msg": "name \x1b[2Jcleared\x07 the screen"}})
    servicer = SGBitbucketServicer(configured_provider(workspace))
    proposed = pb.DynamicValue(msgpack=msgpack.packb(api_token_config(tokens["api"])))
    response = servicer.PlanResourceChange(pb.PlanResourceChange.Request(
        type_name="sgbitbucket_connector", prior_state=pb.DynamicValue(), proposed_new_state=proposed,
        config=proposed), None)
    details = [d.detail for d in response.diagnostics if d.severity == pb.Diagnostic.ERROR]
    assert any("\\x1b[2Jcleared\\x07" in detail for detail in details), details
    assert not any(ch in d.summary + d.detail for d in response.diagnostics for ch in "\x1b\x07")
    for rpc in _RPCS_WITH_DIAGNOSTICS:  # and so for every call, not only this one
        assert getattr(SGBitbucketServicer.__dict__[rpc], "__wrapped__", None) is not None, rpc

