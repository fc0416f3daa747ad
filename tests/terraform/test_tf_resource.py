"""The resource's lifecycle functions against the in-process emulator (no Terraform binary)."""

from __future__ import annotations

from typing import Any

import pytest
from tf.types import Unknown
from tf_helpers import ORG, TerraformSim, access_token_config, api_token_config, configured_provider

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.configuration import configuration_identity
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource
from sg_bitbucket_iac.terraform.provider import SGBitbucketProvider


def raw_record(emulator: Emulator, connector_id: str = "bitbucket_main") -> dict[str, Any]:
    return emulator.admin("GET", f"/stackguardian/orgs/{ORG}/integrations/{connector_id}")


def sg_requests(emulator: Emulator) -> int:
    return int(emulator.admin("GET", "/stats")["stackguardian"]["total"])


@pytest.fixture
def preflight_sim(workspace: Emulator) -> TerraformSim:
    return TerraformSim(ConnectorResource(configured_provider(workspace, preflight=True)))


def test_create_plan_knows_id_and_fingerprint_then_apply_creates(sim: TerraformSim, workspace: Emulator,
                                                                  sentinel: str) -> None:
    planned, diags, _ = sim.plan(None, api_token_config(sentinel))
    assert not diags.diagnostics
    assert planned["id"] == planned["connector_id"] == "bitbucket_main"
    assert planned["credentials_fingerprint"].startswith("scrypt1:")
    assert planned["authenticated"] is Unknown and planned["modified_at"] is Unknown
    assert planned["access_token_scope"] is None
    state, diags = sim.apply(None, planned)
    assert state is not None and not diags.has_errors()
    assert state["modified_at"].endswith("Z") and state["api_token"] == sentinel
    config = raw_record(workspace)["Settings"]["config"][0]
    assert config == {"bitbucketAuthType": "API_TOKEN", "bitbucketCreds": f"alice:{sentinel}",
                      "bitbucketEmail": "alice@acme.io"}


def test_second_plan_is_empty_and_costs_no_request(sim: TerraformSim, workspace: Emulator, sentinel: str) -> None:
    cfg = api_token_config(sentinel, description="", tags=[])
    state = sim.plan_and_apply(None, cfg)
    refreshed, _ = sim.read(state)
    assert refreshed == state
    before = sg_requests(workspace)
    planned, diags, changed = sim.plan(refreshed, cfg)
    assert changed == set() and planned == refreshed and not diags.diagnostics
    assert sg_requests(workspace) == before


def test_rotation_updates_in_place_and_sends_the_new_token(sim: TerraformSim, workspace: Emulator,
                                                          sentinel: str) -> None:
    state = sim.plan_and_apply(None, api_token_config(sentinel))
    planned, _, changed = sim.plan(state, api_token_config(sentinel + "-rotated"))
    assert changed == {"api_token"}
    assert planned["credentials_fingerprint"] != state["credentials_fingerprint"]
    new_state, diags = sim.apply(state, planned)
    assert new_state is not None and not diags.has_errors()
    assert raw_record(workspace)["Settings"]["config"][0]["bitbucketCreds"] == f"alice:{sentinel}-rotated"


def test_auth_type_switch_is_an_in_place_full_credential_replacement(sim: TerraformSim, workspace: Emulator,
                                                                     sentinel: str) -> None:
    state = sim.plan_and_apply(None, api_token_config(sentinel))
    planned, diags, changed = sim.plan(state, access_token_config(sentinel + "-access"))
    assert not diags.has_errors()
    # Every credential attribute of both types changes; nothing forces replacement.
    assert changed == {"auth_type", "username", "email", "api_token", "access_token", "repository"}
    requires_replace = {a.name for a in ConnectorResource.get_schema().attributes if a.requires_replace}
    assert requires_replace == {"connector_id", "org"} and not requires_replace & changed
    assert planned["username"] is None and planned["email"] is None and planned["api_token"] is None
    assert planned["access_token_scope"] == "repository" and planned["id"] == "bitbucket_main"
    new_state, diags = sim.apply(state, planned)
    assert new_state is not None and not diags.has_errors(), str(diags)
    record = raw_record(workspace)
    assert record["Id"] == "bitbucket_main"
    assert record["Settings"]["config"] == [{"bitbucketAuthType": "ACCESS_TOKEN",
                                             "bitbucketAccessToken": sentinel + "-access"}]
    refreshed, _ = sim.read(new_state)
    assert refreshed == new_state
    _, _, changed = sim.plan(refreshed, access_token_config(sentinel + "-access"))
    assert changed == set()


def test_rename_keeps_the_derived_id(sim: TerraformSim, workspace: Emulator, sentinel: str) -> None:
    state = sim.plan_and_apply(None, api_token_config(sentinel))
    planned, _, changed = sim.plan(state, api_token_config(sentinel, name="bitbucket main (renamed)"))
    assert changed == {"name"} and planned["connector_id"] == "bitbucket_main"
    new_state, diags = sim.apply(state, planned)
    assert new_state is not None and not diags.has_errors()
    assert raw_record(workspace)["ResourceName"] == "bitbucket main (renamed)"


def test_existing_connector_not_in_state_fails_the_plan_with_an_import_hint(sim: TerraformSim,
                                                                           sentinel: str) -> None:
    sim.plan_and_apply(None, api_token_config(sentinel))
    # Planned by another configuration (another workspace): its own creates are not taken (see
    # test_tf_interrupted_create.py for the same configuration's).
    sim.resource.provider.configuration = configuration_identity({"TF_WORKSPACE": "another"})
    _, diags, _ = sim.plan(None, api_token_config(sentinel))
    (error,) = diags.diagnostics
    assert error.path == ["connector_id"] and 'import <address> bitbucket_main`' in error.detail
    assert sentinel not in str(diags)


def test_out_of_band_edit_shows_in_read(sim: TerraformSim, workspace: Emulator, sentinel: str) -> None:
    state = sim.plan_and_apply(None, api_token_config(sentinel))
    workspace.admin("PATCH", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main",
                    {"Description": "edited in the UI", "Tags": ["ui"]})
    refreshed, _ = sim.read(state)
    assert refreshed is not None
    assert refreshed["description"] == "edited in the UI" and refreshed["tags"] == ["ui"]
    # Edited outside after our write (ModifiedAt later): the secret is forgotten so the next plan re-sends it.
    assert refreshed["modified_at"] != state["modified_at"] and refreshed["api_token"] is None
    assert refreshed["credentials_fingerprint"] is None
    _, _, changed = sim.plan(refreshed, api_token_config(sentinel))
    assert changed == {"description", "tags", "api_token"}


def test_read_returns_none_when_deleted_outside_and_plan_then_creates(sim: TerraformSim, workspace: Emulator,
                                                                     sentinel: str) -> None:
    state = sim.plan_and_apply(None, api_token_config(sentinel))
    workspace.admin("DELETE", f"/stackguardian/orgs/{ORG}/integrations/bitbucket_main")
    refreshed, diags = sim.read(state)
    assert refreshed is None and not diags.diagnostics
    planned, diags, _ = sim.plan(None, api_token_config(sentinel))
    assert not diags.diagnostics and planned["id"] == "bitbucket_main"


def test_delete_is_fine_when_already_gone(sim: TerraformSim, workspace: Emulator, sentinel: str) -> None:
    state = sim.plan_and_apply(None, api_token_config(sentinel))
    assert not sim.delete(state).diagnostics
    assert not sim.delete(state).diagnostics
    assert sim.read(state)[0] is None


def test_import_then_one_apply_then_clean(sim: TerraformSim, workspace: Emulator, sentinel: str) -> None:
    sim.plan_and_apply(None, access_token_config(sentinel + "-access", description="Main"))
    imported, diags = sim.import_("bitbucket_main")
    assert imported is not None and not diags.diagnostics
    assert imported["access_token"] is None and imported["credentials_fingerprint"] is None
    assert (imported["workspace"], imported["repository"], imported["access_token_scope"]) == (
        "acme", "infra", "repository")
    refreshed, _ = sim.read(imported)
    assert refreshed == imported
    cfg = access_token_config(sentinel + "-access", description="Main")
    planned, diags, changed = sim.plan(refreshed, cfg)
    assert changed == {"access_token"} and not diags.has_errors()
    state, diags = sim.apply(refreshed, planned)
    assert state is not None and not diags.has_errors()
    refreshed, _ = sim.read(state)
    assert refreshed is not None
    assert sim.plan(refreshed, cfg)[2] == set()


def test_import_of_a_missing_or_foreign_connector_is_an_error(sim: TerraformSim) -> None:
    state, diags = sim.import_("nope")
    assert state is None and "No connector nope" in str(diags)


def test_app_password_after_cutoff_fails_the_plan_of_a_create_and_warns_before(
    sim: TerraformSim, sentinel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg = api_token_config(None, auth_type="app_password", email=None, app_password=sentinel)
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", "2026-06-10T00:00:00Z")
    for values in (cfg, {**cfg, "app_password": Unknown}):  # the secret known, or known only at apply
        assert not sim.validate(values).diagnostics  # validation also runs before a destroy: no date there
        _, diags, _ = sim.plan(None, values)
        (error,) = diags.diagnostics
        assert error.path == ["auth_type"] and "2026-06-09" in error.detail and "auth_type =" in error.detail
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", "2026-01-15T00:00:00Z")
    _, diags, _ = sim.plan(None, cfg)
    assert not diags.has_errors() and diags.has_warnings()
    assert [d.path for d in diags.diagnostics] == [["auth_type"]]
    assert sentinel not in str(diags)


def test_preflight_runs_at_plan_and_a_failure_is_an_error_on_the_secret(preflight_sim: TerraformSim,
                                                                         tokens: dict[str, str],
                                                                         workspace: Emulator) -> None:
    bad = tokens["api"] + "-unknown"
    _, diags, _ = preflight_sim.plan(None, api_token_config(bad))
    errors = [d for d in diags.diagnostics if d.severity == "error"]
    assert [e.path for e in errors] == [["api_token"]] and "preflight" in errors[0].summary.lower()
    assert bad not in str(diags) and tokens["api"] not in str(diags)
    # The same credential with preflight off for this resource plans without asking Bitbucket.
    _, diags, _ = preflight_sim.plan(None, api_token_config(bad, preflight=False))
    assert not diags.has_errors()
    # A good credential passes at plan and at apply (the second check comes from the process cache).
    before = workspace.admin("GET", "/stats")["bitbucket"]["total"]
    state = preflight_sim.plan_and_apply(None, api_token_config(tokens["api"]))
    assert state["authenticated"] is True
    asked = workspace.admin("GET", "/stats")["bitbucket"]["total"] - before
    assert asked > 0
    # A plan that sends no credential (description only) does not ask Bitbucket.
    before = workspace.admin("GET", "/stats")["bitbucket"]["total"]
    _, diags, _ = preflight_sim.plan(state, api_token_config(tokens["api"], description="x"))
    assert not diags.has_errors() and workspace.admin("GET", "/stats")["bitbucket"]["total"] == before


def test_access_token_switch_preflights_the_new_credential(preflight_sim: TerraformSim,
                                                            tokens: dict[str, str]) -> None:
    state = preflight_sim.plan_and_apply(None, api_token_config(tokens["api"]))
    planned, diags, _ = preflight_sim.plan(state, access_token_config(tokens["access"]))
    assert not diags.has_errors(), str(diags)
    new_state, diags = preflight_sim.apply(state, planned)
    assert new_state is not None and not diags.has_errors(), str(diags)
    assert new_state["auth_type"] == "access_token"


def test_secret_never_reaches_diagnostics_from_a_failing_backend(sim: TerraformSim, sentinel: str,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    provider: SGBitbucketProvider = sim.resource.provider
    assert provider.engine is not None

    def leaky(*_: Any, **__: Any) -> Any:
        raise RuntimeError(f"socket closed while sending alice:{sentinel}")

    monkeypatch.setattr(provider.engine.client, "create", leaky)
    planned, _, _ = sim.plan(None, api_token_config(sentinel))
    state, diags = sim.apply(None, planned)
    assert state is None and diags.has_errors()
    assert sentinel not in str(diags) and "RuntimeError" in str(diags)


def test_unknown_values_plan_as_unknown_and_skip_the_backend(sim: TerraformSim, workspace: Emulator) -> None:
    before = sg_requests(workspace)
    planned, diags, _ = sim.plan(None, api_token_config(Unknown))
    assert not diags.diagnostics
    assert planned["connector_id"] == planned["id"] == "bitbucket_main"
    assert planned["credentials_fingerprint"] is Unknown
    assert sg_requests(workspace) == before


def test_changing_connector_id_forces_replacement_without_asking_the_backend(sim: TerraformSim,
                                                                             sentinel: str) -> None:
    state = sim.plan_and_apply(None, api_token_config(sentinel))
    planned, diags, changed = sim.plan(state, api_token_config(sentinel, connector_id="other_id"))
    assert "connector_id" in changed and not diags.diagnostics
    assert planned["modified_at"] is Unknown and planned["id"] == "bitbucket_main"
