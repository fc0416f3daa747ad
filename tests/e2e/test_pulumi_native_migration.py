"""Moving a stack from the dynamic resource to the native one without touching the connector.

The README's steps, on the real CLI: a stack manages a connector with the dynamic
`BitbucketConnector`; `pulumi state delete` forgets it (the connector stays); the program declares
it with the native `Connector` and the `import` resource option. The connector keeps its Id and
creation time, nothing is created or deleted, the one update re-sends the declared credential (the
imported state has no fingerprint of it), and the next preview is clean.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pulumi")

import pulumi
from engines import require_engine
from native_harness import assert_no_leak, provider_config, seed, writes
from pulumi import automation as auto
from pulumi_harness import SHIM, TYPE, PulumiProject, raw_record

from sg_bitbucket_iac.emulator import Emulator
from sg_bitbucket_iac.pulumi import ApiTokenAuth, BitbucketConnector
from sg_bitbucket_iac.tags import OWNER_TAG

pytestmark = pytest.mark.e2e

ORG = "acme"


@pytest.fixture(scope="module")
def pulumi_cli() -> Path:
    require_engine(SHIM, "the dynamic resource runs through it")
    return require_engine("pulumi", "the move runs on the real CLI")


def test_dynamic_to_native_without_touching_the_connector(
    pulumi_cli: Path, python_sdk: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sgbitbucket = python_sdk  # the generated SDK, installed once per session (tests/e2e/conftest.py)
    sentinel = "SENTINEL-" + secrets.token_hex(8)
    token, api_key = f"{sentinel}-token-0123456789abcdef", f"sgo_{sentinel}"
    monkeypatch.setenv("SG_BITBUCKET_IAC_NOW", "2026-01-15T00:00:00Z")
    with Emulator() as emu:
        seed(emu, {"api": token}, orgs={ORG: api_key})
        config = {
            # the dynamic resource's namespace and the native provider's, both set during the move
            **{k.replace("sgbitbucket:", "stackguardian:"): auto.ConfigValue(v)
               for k, v in provider_config(emu, ORG).items()},
            **{k: auto.ConfigValue(v) for k, v in provider_config(emu, ORG).items()},
            "stackguardian:apiKey": auto.ConfigValue(api_key, secret=True),
            "sgbitbucket:apiKey": auto.ConfigValue(api_key, secret=True),
            "bbApiToken": auto.ConfigValue(token, secret=True),
        }
        project = PulumiProject.create(pulumi_cli, tmp_path, project="move", config=config)

        def dynamic() -> None:
            BitbucketConnector("main", name="bitbucket-main", workspace="acme", auth=ApiTokenAuth(
                username="alice", email="alice@acme.io", api_token=pulumi.Config().require_secret("bbApiToken")))

        def native() -> None:
            sgbitbucket.Connector(
                "main", name="bitbucket-main", workspace="acme", auth_type="api_token", username="alice",
                email="alice@acme.io", api_token=pulumi.Config().require_secret("bbApiToken"),
                opts=pulumi.ResourceOptions(import_="bitbucket_main"))

        project.up(dynamic)
        before = raw_record(emu, ORG, "bitbucket_main")
        assert before is not None
        urn = next(r["urn"] for r in project.export()["resources"] if r["type"] == TYPE)

        # 1. forget the dynamic resource (the connector stays)
        workspace = project.stack.workspace
        assert isinstance(workspace, auto.LocalWorkspace) and workspace.pulumi_command is not None
        deleted = workspace.pulumi_command.run(["state", "delete", urn, "--yes", "--stack", project.stack.name],
                                               workspace.work_dir, dict(workspace.env_vars))
        assert "deleted" in (deleted.stdout + deleted.stderr).lower()
        assert raw_record(emu, ORG, "bitbucket_main") is not None

        # 2. declare it natively with the import option: an import and one update, no create, no delete
        emu.admin("DELETE", "/stats")
        _run, up = project.up(native)
        assert up.summary.resource_changes == {"import": 1, "update": 1, "same": 1}, up.summary.resource_changes
        stats = emu.admin("GET", "/stats")["stackguardian"]["by_method"]
        assert stats.get("POST", 0) == 0 and stats.get("DELETE", 0) == 0 and writes(emu) == 1
        after = raw_record(emu, ORG, "bitbucket_main")
        assert after is not None
        assert after["CreatedAt"] == before["CreatedAt"] and after["ContextTags"][OWNER_TAG] == "pulumi"

        # 3. from then on the native resource is the stack's, and clean
        _, preview = project.preview(native)
        assert set(preview.change_summary) == {"same"}, preview.change_summary
        assert_no_leak([*project.printed()], token, api_key)
