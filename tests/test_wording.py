"""Each front's words (wording.py): one table per front, and a new front is one more table."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from sg_bitbucket_iac.engine.precheck import check_policy
from sg_bitbucket_iac.errors import ConnectorValidationError
from sg_bitbucket_iac.model import parse_connector
from sg_bitbucket_iac.tags import Front
from sg_bitbucket_iac.wording import (
    CLI_WORDING,
    NATIVE_PULUMI_WORDING,
    PULUMI_WORDING,
    TERRAFORM_WORDING,
    FrontWording,
    credential_remedy,
    for_owner,
    terraform_wording,
)

TABLES = (CLI_WORDING, TERRAFORM_WORDING, PULUMI_WORDING, NATIVE_PULUMI_WORDING)


@pytest.mark.parametrize("table", TABLES, ids=("cli", "terraform", "pulumi", "pulumi-native"))
def test_every_table_says_everything(table: FrontWording) -> None:
    for item in fields(table):
        if item.name not in ("field_names", "migrate_unnamed", "takeback", "drift_fixes", "leave"):
            assert getattr(table, item.name), item.name
    assert "c1" in table.declare_existing.format(id="c1") and "c1" in table.exists.format(id="c1")
    assert table.how_to_migrate("c1").startswith("switch it to an API token or an access token")
    assert "<ID>" not in table.how_to_migrate(None)
    assert "c1" in table.conflict("c1") and table.how_to_resend("main")
    assert for_owner(table.owner).owner is table.owner


def test_each_front_names_its_own_tools() -> None:
    assert "sg-bitbucket migrate --connector c1" in CLI_WORDING.how_to_migrate("c1")
    assert "`terraform import <address> c1`" in TERRAFORM_WORDING.declare_existing.format(id="c1")
    assert "`<terraform|tofu> import <address> c1`" in terraform_wording(None).declare_existing.format(id="c1")
    assert 'an `import {}` block with that id' in TERRAFORM_WORDING.declare_existing.format(id="c1")
    tofu = terraform_wording("tofu")
    assert tofu.take_over("c1").startswith("`tofu import <address> c1`")
    assert terraform_wording("terraform").take_over("c1", in_state=True).startswith(
        "`terraform state rm <address>`, then `terraform import <address> c1`")
    assert PULUMI_WORDING.take_over("c1", in_state=True) == PULUMI_WORDING.take_over("c1")
    assert "adopt=True" in PULUMI_WORDING.takeover and "pulumi up" in PULUMI_WORDING.how_to_resend("main")
    assert TERRAFORM_WORDING.field("scope") == "access_token_scope" and CLI_WORDING.field("scope") == "scope"
    assert for_owner(None) is CLI_WORDING
    assert credential_remedy(None, "c1") == "`sg-bitbucket migrate --connector c1 --to api_token|access_token ...`"
    assert credential_remedy(Front.TERRAFORM, "c1") == TERRAFORM_WORDING.change_credential


def test_the_terraform_table_names_the_engine_only_when_it_knows_it() -> None:
    """Terraform and OpenTofu run the same provider; it names an engine's commands only when the engine's
    command line says which it is (invocation.py): otherwise every text says "apply" and `<terraform|tofu>`."""
    for engine, other in ((None, None), ("terraform", "tofu"), ("tofu", "terraform")):
        table = terraform_wording(engine)
        texts = [table.take_over("c1"), table.take_over("c1", in_state=True), table.leave,
                 table.declare_existing.format(id="c1"), table.exists.format(id="c1"), table.how_to_resend("c1"),
                 table.change_credential, table.how_to_migrate("c1"), table.how_to_migrate(None),
                 table.conflict("c1")]
        for text in texts:
            assert "{tf}" not in text, text
            unnamed = text.replace("<terraform|tofu>", "")
            if engine is None:
                assert "terraform" not in unnamed.lower() and "tofu" not in unnamed.lower(), text
            else:
                assert other not in unnamed, text
        assert "the next apply" in table.how_to_resend("c1")
    assert terraform_wording("terraform") == TERRAFORM_WORDING


def test_the_native_provider_is_one_more_table_with_the_same_owner() -> None:
    """A front with camelCase properties: the backend speaks its words with no other change."""
    native = NATIVE_PULUMI_WORDING
    assert native.owner is Front.PULUMI  # takes connectors over from the dynamic resource and back, same rules
    assert for_owner(Front.PULUMI) is PULUMI_WORDING  # what others say of a Pulumi-owned connector
    assert PULUMI_WORDING.change_credential == native.change_credential  # ... holds for both Pulumi fronts
    assert [native.field(f) for f in ("id", "type", "scope", "api_token", "access_token", "app_password", "email")] \
        == ["connectorId", "authType", "accessTokenScope", "apiToken", "accessToken", "appPassword", "email"]
    assert "pulumi import sgbitbucket:index:Connector NAME c1" in native.declare_existing.format(id="c1")
    assert "pulumi import sgbitbucket:index:Connector NAME c1" in native.exists.format(id="c1")
    assert "`adopt: true`" in native.takeover and "adopt=True" in native.takeover
    assert "pulumi up" in native.how_to_resend("main")
    with pytest.raises(ConnectorValidationError) as caught:
        parse_connector({"name": "n", "workspace": "acme", "auth": {"type": "access_token", "access_token": "t",
                                                                     "scope": "repository"}},
                        names=native.field_names)
    assert "accessTokenScope 'repository' needs `repository`" in str(caught.value)
    legacy = parse_connector({"name": "n", "workspace": "acme",
                              "auth": {"type": "app_password", "username": "bob", "app_password": "t"}})
    (problem,) = check_policy(legacy, at=datetime(2026, 6, 10, tzinfo=UTC), wording=native).problems
    assert "set authType to api_token" in problem.message and "appPassword" in problem.message


def test_the_drift_fixes_name_the_file_and_the_connector() -> None:
    fix = CLI_WORDING.drift_fix("credentials_failing", file="'my file.yaml'", connector_id="c1")
    assert fix is not None and fix.startswith("`sg-bitbucket apply -f 'my file.yaml' c1 --resend-credentials`")
    owned = CLI_WORDING.drift_fix("foreign_owner", file="f.yaml", connector_id="c1", owner="terraform")
    assert owned is not None and "takes it over from terraform" in owned and "{" not in owned
    assert CLI_WORDING.drift_fix("no such finding", file="f.yaml", connector_id="c1") is None
    assert TERRAFORM_WORDING.drift_fixes == {}  # only the CLI has a drift command


def test_every_drift_finding_has_a_fix() -> None:
    from sg_bitbucket_iac.engine.drift import DECLARED_CREDENTIALS_FAILING, DriftStatus

    findings = {s.value for s in DriftStatus} - {"in_sync"} | {DECLARED_CREDENTIALS_FAILING}
    assert findings <= set(CLI_WORDING.drift_fixes), findings - set(CLI_WORDING.drift_fixes)


def test_each_front_names_its_settings_its_own_way() -> None:
    assert CLI_WORDING.setting_names["api_url"] == "--api-url"
    assert TERRAFORM_WORDING.setting_names["api_url"] == "api_uri"
    assert PULUMI_WORDING.setting_names["api_key"] == "stackguardian:apiKey"
    assert NATIVE_PULUMI_WORDING.setting_names["api_url"] == "sgbitbucket:apiUrl"  # the native provider's namespace


def test_leaving_a_connector_in_a_fronts_state_never_deletes_it() -> None:
    terraform = terraform_wording("terraform")
    hint = terraform.foreign_owner_hint("cli", "c1", in_state=True)
    assert hint.startswith("leave it to cli (`terraform state rm <address>`, then remove its resource block")
    assert "take it over with `terraform state rm <address>`, then `terraform import <address> c1`" in hint
    assert terraform.foreign_owner_hint("cli", "c1") == (
        "leave it to cli, or take it over with `terraform import <address> c1` (or an `import {}` block with that "
        "id), then `terraform apply`")
    for pulumi in (PULUMI_WORDING, NATIVE_PULUMI_WORDING):
        assert "`pulumi state delete <urn>`" in pulumi.foreign_owner_hint("cli", "c1", in_state=True)
    assert CLI_WORDING.foreign_owner_hint("terraform", "c1", in_state=True).startswith("leave it to terraform, or")
