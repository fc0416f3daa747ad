"""The Terraform resource with preflight on, for credentials made exactly as StackGuardian's guide says.

Every kind and level (tests/guide_credentials.py): the guide's set plans and creates the connector;
a set missing one scope of the row fails the plan on the secret attribute, naming the scope in the
guide's words, and a create that is attempted anyway (a credential unknown at plan) fails the same
way before anything is written.
"""

from __future__ import annotations

import pytest
from guide_credentials import APP_PASSWORDS_STILL_WORK, GuideCredential, guide_cases, scopes_without
from tf_helpers import TerraformSim, config, configured_provider

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.terraform.connector_resource import ConnectorResource

PROJECT = "PLAT"  # the project tests/seeding.py creates, holding repository infra


def writes(emulator: Emulator) -> int:
    by_method = emulator.admin("GET", "/stats")["stackguardian"]["by_method"]
    return sum(by_method.get(m, 0) for m in ("POST", "PATCH", "PUT", "DELETE"))


@pytest.mark.parametrize(("guide", "left_out"), guide_cases())
def test_create_with_preflight_on(workspace: Emulator, sentinel: str, monkeypatch: pytest.MonkeyPatch,
                                  guide: GuideCredential, left_out: str | None) -> None:
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", APP_PASSWORDS_STILL_WORK)
    workspace.admin("POST", "/clock", {"now": APP_PASSWORDS_STILL_WORK})
    secret = f"{sentinel}-{guide.id}"
    guide.seed(workspace, secret, scopes_without(guide, left_out), project=PROJECT)
    provider = configured_provider(workspace, preflight=True)
    sim = TerraformSim(ConnectorResource(provider))
    cfg = config(name="guide-connector", workspace="acme", **guide.flat_fields(secret, PROJECT))
    words = guide.failure_without(left_out) if left_out else None
    try:
        planned, diags, _ = sim.plan(None, cfg)
        assert secret not in str(diags)
        if words is None:
            assert not diags.has_errors(), str(diags)
            state, diags = sim.apply(None, planned)
            assert state is not None and not diags.has_errors(), str(diags)
            assert state["authenticated"] is True and state["auth_type"] == guide.kind
            assert workspace.admin("GET", "/stackguardian/orgs/acme/integrations/guide_connector")["Id"]
            return
        named = f"lacks {words} ({left_out})"
        errors = [d for d in diags.diagnostics if d.severity == "error"]
        assert [e.path for e in errors] == [[guide.secret_field]]
        assert named in errors[0].detail
        state, diags = sim.apply(None, sim.proposed(None, cfg))
        assert state is None and secret not in str(diags)
        assert [d.summary for d in diags.diagnostics] == ["Credential preflight failed; nothing was written"]
        assert named in diags.diagnostics[0].detail
        assert writes(workspace) == 0
    finally:
        assert provider.engine is not None
        provider.engine.client.close()
